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

    /// `methods`: `system.methods`, the names of the methods the daemon serves.
    struct Methods: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lists the methods the daemon serves, one a line (any of them can be called with `call`)."
        )

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let result = try self.global.call("system.methods")
            self.global.emit(result) { result in
                for method in result.list("methods") { print(Output.text(method)) }
            }
        }
    }
}
