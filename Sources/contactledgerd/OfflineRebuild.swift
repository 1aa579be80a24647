// ContactLedger — daemon executable.
import ArgumentParser
import Foundation
import LedgerDaemon
import Logging

/// `contactledgerd rebuild --data-dir DIR`: rebuilds the read models from the log with the daemon
/// stopped, showing progress; for operators who prefer a maintenance window to an online rebuild. An
/// interrupted run (Ctrl-C, SIGTERM, a kill) is gone on with by the next.
struct OfflineRebuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuilds the read models from the log, offline (the daemon must be stopped).",
        discussion: """
            Takes the data directory's lock, so it refuses to run beside a daemon. Exit status 0 when done, 1 when it failed, \
            130 (SIGINT) or 143 (SIGTERM) when interrupted: it commits what it applied, and the next run goes on from there \
            (a kill loses what it applied since its last commit). A second signal stops it at once.
            """
    )

    @Option(name: .long, help: ArgumentHelp("A JSON config file (default: $CONTACTLEDGER_CONFIG, else none).", valueName: "path"))
    var config: String?

    @Option(
        name: .long,
        help: ArgumentHelp("The data directory (default: $CONTACTLEDGER_DATA_DIR, the config file's, else ./.contactledger).", valueName: "path")
    )
    var dataDir: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Seconds the replay runs between commits, 0.1 to 3600: a kill loses what it applied since the last (default: $CONTACTLEDGER_REBUILD_COMMIT_SECONDS, the config file's, else 60).",
            valueName: "seconds"
        )
    )
    var rebuildCommitSeconds: String?

    /// The settings as the daemon resolves them: the flags, the environment, the config file.
    func settings() throws -> DaemonSettings {
        var flags: [DaemonSettings.Key: DaemonSettings.Value] = [:]
        for case (let key, let text?) in [(DaemonSettings.Key.dataDirectory, self.dataDir), (.rebuildCommitSeconds, self.rebuildCommitSeconds)] {
            flags[key] = .text(text)
        }
        do {
            return try DaemonSettings.resolve(flags: flags, environment: ProcessInfo.processInfo.environment, configFile: self.config).settings
        } catch let error as DaemonSettings.SettingsError {
            throw ValidationError(error.message)
        }
    }

    func validate() throws {
        _ = try self.settings()
    }

    func run() throws {
        Daemon.keepNewFilesPrivate()
        let settings = try self.settings()
        Daemon.reportStorageAssertions(dataDirectory: settings.dataDirectory, logger: Logger(label: "contactledgerd"))
        let interruption = Interruption(signals: [SIGINT, SIGTERM])
        let interactive = isatty(STDERR_FILENO) == 1
        // On the continuous clock: a wall clock stepped during a rebuild moves neither the rate nor the ETA.
        let started = ContinuousClock.now
        var resumedFrom: UInt64 = 0
        var lastShown: ContinuousClock.Instant?
        var announcedFinish = false
        let outcome: OfflineRebuilder.Outcome
        do {
            let rebuilder = OfflineRebuilder(dataDirectory: settings.dataDirectory, commitSeconds: settings.rebuildCommitSeconds)
            outcome = try rebuilder.run(
                shouldStop: { interruption.firstSignal != nil },
                started: { position, head in
                    resumedFrom = position
                    guard position > 0 else { return }
                    FileHandle.standardError.write(Data("going on from seq \(position) of \(head), where an interrupted rebuild stopped\n".utf8))
                },
                progress: { position, head in
                    let now = ContinuousClock.now
                    guard lastShown.map({ $0.duration(to: now) > .milliseconds(200) }) ?? true || position == head else { return }
                    lastShown = now
                    // The rate of this run: what an interrupted one applied took none of its time.
                    let rate = Double(position - min(position, resumedFrom)) / max(started.duration(to: now) / .seconds(1), 0.001)
                    let fraction = head == 0 ? 1 : Double(position) / Double(head)
                    let filled = Int(fraction * 30)
                    let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: 30 - filled)
                    let eta = rate > 0 && position < head ? " · ETA \(Int((Double(head - position) / rate).rounded(.up))) s" : ""
                    let line = "\(bar) \(Int(fraction * 100))% \(position)/\(head) · \(Int(rate)) events/s\(eta)"
                    FileHandle.standardError.write(Data((interactive ? "\r\(line)\u{1B}[K" : "\(line)\n").utf8))
                    // What follows the last event takes a while on a big ledger (the last commit, the swap, the
                    // old generation's pages freed), with nothing to count: said, rather than a bar at 100%.
                    if position == head {
                        announcedFinish = true
                        FileHandle.standardError.write(Data("\(interactive ? "\n" : "")every event applied; committing and swapping in the rebuilt read models\n".utf8))
                    }
                }
            )
        } catch {
            if interactive, !announcedFinish { FileHandle.standardError.write(Data("\n".utf8)) }
            // The rebuild builds beside the read models that answer and swaps only when done.
            FileHandle.standardError.write(Data("rebuild failed: \(error). Nothing was swapped in: the read models are as they were\n".utf8))
            throw ExitCode.failure
        }
        if interactive, !announcedFinish { FileHandle.standardError.write(Data("\n".utf8)) }
        guard outcome.isComplete else {
            FileHandle.standardError.write(
                Data(
                    ("rebuild interrupted at seq \(outcome.position) of \(outcome.head): nothing was swapped in, the read models are as they were. "
                        + "Run `contactledgerd rebuild` again to go on from there (a daemon started meanwhile empties the half-built read models)\n").utf8
                )
            )
            throw ExitCode(128 + (interruption.firstSignal ?? SIGINT))
        }
        let replayed = outcome.position - outcome.resumedFrom
        let resumed = outcome.resumedFrom > 0 ? " (going on from seq \(outcome.resumedFrom))" : ""
        print("rebuilt the read models from \(replayed) events\(resumed) in \(String(format: "%.1f", started.duration(to: .now) / .seconds(1))) s")
    }
}
