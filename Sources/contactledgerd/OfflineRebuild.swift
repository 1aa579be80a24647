// ContactLedger — daemon executable.
import ArgumentParser
import Foundation
import LedgerDaemon
import Logging

/// `contactledgerd rebuild --data-dir DIR`: rebuilds the read models from the log with the daemon
/// stopped, showing progress; for operators who prefer a maintenance window to an online rebuild.
struct OfflineRebuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuilds the read models from the log, offline (the daemon must be stopped).",
        discussion: "Takes the data directory's lock, so it refuses to run beside a daemon. Exit status 0 when done."
    )

    @Option(name: .long, help: ArgumentHelp("A JSON config file (default: $CONTACTLEDGER_CONFIG, else none).", valueName: "path"))
    var config: String?

    @Option(
        name: .long,
        help: ArgumentHelp("The data directory (default: $CONTACTLEDGER_DATA_DIR, the config file's, else ./.contactledger).", valueName: "path")
    )
    var dataDir: String?

    /// The data directory as the daemon resolves it: the flag, the environment, the config file.
    func dataDirectory() throws -> String {
        do {
            let flags: [DaemonSettings.Key: DaemonSettings.Value] = self.dataDir.map { [.dataDirectory: .text($0)] } ?? [:]
            return try DaemonSettings.resolve(flags: flags, environment: ProcessInfo.processInfo.environment, configFile: self.config)
                .settings.dataDirectory
        } catch let error as DaemonSettings.SettingsError {
            throw ValidationError(error.message)
        }
    }

    func validate() throws {
        _ = try self.dataDirectory()
    }

    func run() throws {
        Daemon.keepNewFilesPrivate()
        let dataDirectory = try self.dataDirectory()
        Daemon.reportStorageAssertions(dataDirectory: dataDirectory, logger: Logger(label: "contactledgerd"))
        let interactive = isatty(STDERR_FILENO) == 1
        let started = Date()
        var lastShown = Date.distantPast
        let total: UInt64
        do {
            total = try Daemon.rebuildOffline(dataDirectory: dataDirectory) { position, head in
                let now = Date()
                guard now.timeIntervalSince(lastShown) > 0.2 || position == head else { return }
                lastShown = now
                let rate = Double(position) / max(now.timeIntervalSince(started), 0.001)
                let fraction = head == 0 ? 1 : Double(position) / Double(head)
                let bar = String(repeating: "█", count: Int(fraction * 30)) + String(repeating: "░", count: 30 - Int(fraction * 30))
                let eta = rate > 0 && position < head ? " · ETA \(Int((Double(head - position) / rate).rounded(.up))) s" : ""
                let line = "\(bar) \(Int(fraction * 100))% \(position)/\(head) · \(Int(rate)) events/s\(eta)"
                FileHandle.standardError.write(Data((interactive ? "\r\(line)\u{1B}[K" : "\(line)\n").utf8))
            }
        } catch {
            if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
            // The rebuild builds beside the read models that answer and swaps only when done.
            FileHandle.standardError.write(Data("rebuild failed: \(error). Nothing was swapped in: the read models are as they were\n".utf8))
            throw ExitCode.failure
        }
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
        print("rebuilt the read models from \(total) events in \(String(format: "%.1f", Date().timeIntervalSince(started))) s")
    }
}
