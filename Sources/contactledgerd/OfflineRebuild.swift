// ContactLedger — daemon executable.
import ArgumentParser
import Foundation
import LedgerDaemon

/// `contactledgerd rebuild --data-dir DIR`: rebuilds the read models from the log with the daemon
/// stopped, showing progress; for operators who prefer a maintenance window to an online rebuild.
struct OfflineRebuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuilds the read models from the log, offline (the daemon must be stopped).",
        discussion: "Takes the data directory's lock, so it refuses to run beside a daemon. Exit status 0 when done."
    )

    @Option(name: .long, help: ArgumentHelp("The data directory.", valueName: "path"))
    var dataDir: String = "./.contactledger"

    func run() throws {
        let interactive = isatty(STDERR_FILENO) == 1
        let started = Date()
        var lastShown = Date.distantPast
        let total = try Daemon.rebuildOffline(dataDirectory: self.dataDir) { position, head in
            let now = Date()
            guard now.timeIntervalSince(lastShown) > 0.2 || position == head else { return }
            lastShown = now
            let rate = Double(position) / max(now.timeIntervalSince(started), 0.001)
            let fraction = head == 0 ? 1 : Double(position) / Double(head)
            let bar = String(repeating: "█", count: Int(fraction * 30)) + String(repeating: "░", count: 30 - Int(fraction * 30))
            let line = "\(bar) \(Int(fraction * 100))% \(position)/\(head) · \(Int(rate)) events/s"
            FileHandle.standardError.write(Data((interactive ? "\r\(line)\u{1B}[K" : "\(line)\n").utf8))
        }
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
        print("rebuilt the read models from \(total) events in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }
}
