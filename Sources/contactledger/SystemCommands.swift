// ContactLedger — command-line client.
import ArgumentParser
import RPC

extension ContactLedgerCommand {
    /// `health`: `system.health`.
    struct Health: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Shows whether the daemon is up, its version and log head."
        )

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let result = try self.global.call("system.health")
            self.global.emit(result) { Output.printObject($0, leading: ["status", "version", "head_seq", "uptime_s"]) }
        }
    }

    /// `stats`: `system.stats`.
    struct Stats: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Shows the daemon's counts, map size, readers and commit latencies."
        )

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let result = try self.global.call("system.stats")
            self.global.emit(result) { Output.printObject($0) }
        }
    }
}
