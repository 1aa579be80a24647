// ContactLedger — command-line client.
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A progress bar redrawn in place on stderr, only when stderr is a terminal.
///
/// The line never reaches the terminal's last column: a line that wraps cannot be redrawn in place (`\r`
/// goes back to the start of its last row only), so the bar, 83 to 88 columns whatever the terminal, left
/// a new line on an 80-column terminal at every redraw. The bar gives way first, then the text is cut.
struct ProgressLine {
    /// The bar's width, in columns, when the terminal has room for it.
    static let barWidth = 30
    /// The narrowest bar worth drawing; on a terminal with less room, the line is the text alone.
    static let narrowestBar = 10
    /// The terminal's width when it does not tell (`TIOCGWINSZ` fails or answers 0, as a pseudo-terminal
    /// given no size does).
    static let defaultColumns = 80

    let enabled: Bool

    init(enabled: Bool) { self.enabled = enabled && isatty(STDERR_FILENO) == 1 }

    func show(done: Int, total: Int, detail: String) {
        guard self.enabled else { return }
        let line = Self.line(done: done, total: total, detail: detail, columns: Self.terminalColumns())
        FileHandle.standardError.write(Data("\r\(line)\u{1B}[K".utf8))
    }

    func finish() {
        guard self.enabled else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }

    /// The bar and its text, at most `columns - 1` terminal columns: one short of the width, since a line
    /// that fills the last column leaves some terminals about to wrap.
    static func line(done: Int, total: Int, detail: String, columns: Int) -> String {
        let fraction = total > 0 ? min(Double(done) / Double(total), 1) : 0
        let text = "\(Int(fraction * 100))% \(done)/\(total) · \(detail)"
        let room = max(columns - 1, 1)
        let width = min(Self.barWidth, room - Output.columns(text) - 1)
        guard width >= Self.narrowestBar else { return Output.truncate(text, to: room) }
        let filled = Int(fraction * Double(width))
        return String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled) + " " + text
    }

    /// The width of stderr's terminal, in columns (``defaultColumns`` when it does not say); asked at each
    /// redraw, since the window may be resized while the bar runs.
    private static func terminalColumns() -> Int {
        var size = winsize()
        guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return Self.defaultColumns }
        return Int(size.ws_col)
    }
}
