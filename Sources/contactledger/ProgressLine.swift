// ContactLedger — command-line client.
import Foundation

/// A progress bar redrawn in place on stderr, only when stderr is a terminal.
struct ProgressLine {
    let enabled: Bool

    init(enabled: Bool) { self.enabled = enabled && isatty(STDERR_FILENO) == 1 }

    func show(done: Int, total: Int, detail: String) {
        guard self.enabled else { return }
        let width = 30
        let fraction = total > 0 ? min(Double(done) / Double(total), 1) : 0
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let line = "\r\(bar) \(Int(fraction * 100))% \(done)/\(total) · \(detail)\u{1B}[K"
        FileHandle.standardError.write(Data(line.utf8))
    }

    func finish() {
        guard self.enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
