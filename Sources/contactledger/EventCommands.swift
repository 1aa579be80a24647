// ContactLedger — command-line client.
import ArgumentParser
import Foundation
import RPC

extension ContactLedgerCommand {
    /// `events …`: the workspace's raw event log.
    struct Events: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "events",
            abstract: "Reads the workspace's events in log order.",
            subcommands: [Read.self],
            defaultSubcommand: Read.self
        )

        /// The columns of an event table.
        static let table = Table(columns: [
            .key("seq"),
            .key("created_on", "time"),
            .key("type"),
            .key("stream"),
            .computed("actor", maxWidth: 30) { ContactLedgerCommand.Contacts.actor(of: $0) },
            .computed("data", maxWidth: ContactLedgerCommand.Contacts.summaryWidth) {
                ContactLedgerCommand.Contacts.dataSummary(of: $0)
            },
        ])

        /// One event envelope as one line of ``table`` (seq, time, type, stream, actor and a data summary)
        /// in columns of fixed widths: `tail` prints each event as it comes, with control characters in
        /// its data shown as `events read` shows them (they went to the terminal raw).
        static func line(_ event: JSONValue) -> String {
            Self.table.line(event, widths: [8, 27, 26, 44, 16])
        }
    }

    /// `tail [--after SEQ] [--type T]…`: `events.subscribe`, printing each event until interrupted.
    struct Tail: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follows the workspace's events live, one line each, until interrupted.",
            discussion: """
                Subscribes with events.subscribe: first the catch-up after --after, then live events, in order. \
                With --json each event is printed as one compact JSON line. Stop it with Ctrl-C.
                """
        )

        // Unconditional: `--after -5` reaches validate(), which says what a seq must be, rather than
        // ArgumentParser's "Missing value" (it took -5 for an option).
        @Option(
            parsing: .unconditional,
            help: ArgumentHelp(
                "Start after this seq (catch up from there); default: only new events.",
                valueName: "seq"
            )
        )
        var after: Int64?

        @Option(help: ArgumentHelp("Only events of this type (repeatable).", valueName: "type"))
        var type: [String] = []

        @OptionGroup var global: GlobalOptions

        func validate() throws {
            if let after = self.after, after < 0 {
                throw ValidationError("--after must be 0 or more (a seq; 0 for the whole log), not \(after).")
            }
        }

        func run() throws {
            var params: [String: JSONValue] = [:]
            params["after_seq"] = self.after.map(JSONValue.integer)
            if !self.type.isEmpty { params["types"] = self.type.jsonValue }
            // The last seq printed (or started after): where a cut-off tail resumes.
            var last = self.after
            try self.global.withConnection { connection in
                // The catch-up may come before the answer, to a closure that cannot throw: the first
                // event that cannot be written ends the tail once the answer is in.
                var unwritten: ExitCode?
                let answer = try connection.call("events.subscribe", params) { message in
                    guard unwritten == nil else { return }
                    do throws(ExitCode) {
                        last = try self.show(message) ?? last
                    } catch {
                        unwritten = error
                    }
                }
                if let unwritten { throw unwritten }
                last = last ?? answer["after_seq"]?.integerValue
                while true {
                    let message: JSONValue
                    do {
                        message = try connection.nextMessage()
                    } catch RPCClient.TransportError.closed {
                        Output.printError(": the daemon closed the connection after seq \(last ?? 0); resume with --after \(last ?? 0)")
                        throw ExitCode.transportError
                    }
                    if message["method"]?.stringValue == "events.error" {
                        let params = message["params"]
                        switch params?["reason"]?.stringValue {
                        case "too_slow":
                            // Cut off for falling too far behind (a reader slower than the writers).
                            let lag = params?["lag"]?.integerValue ?? 0
                            Output.printError(": the daemon cut this tail off, \(lag) events behind, after seq \(last ?? 0); resume with --after \(last ?? 0)")
                        case "log_damaged":
                            let seq = params?["seq"]?.integerValue.map { String($0) } ?? "?"
                            let damage = params?["damage"]?.stringValue ?? "?"
                            Output.printError(": the log is damaged at seq \(seq) (\(damage)); the tail stopped after seq \(last ?? 0). Run contactledger verify")
                        case let reason:
                            Output.printError(": the daemon ended this tail (\(reason ?? "no reason")) after seq \(last ?? 0)")
                        }
                        throw ExitCode.rpcError
                    }
                    last = try self.show(message) ?? last
                }
            }
        }

        /// Prints one `events.event` notification and flushes, so a pipe sees each event at once;
        /// returns its seq (nil for any other message).
        ///
        /// - Throws: ``ArgumentParser/ExitCode/outputFailed`` when it could not be written: a tail to a
        ///   full disk ran on, losing every event.
        private func show(_ message: JSONValue) throws(ExitCode) -> Int64? {
            guard message["method"]?.stringValue == "events.event", let event = message["params"]?["event"] else {
                return nil
            }
            print(self.global.json ? Output.json(event, pretty: false) : ContactLedgerCommand.Events.line(event))
            try Output.flushStandardOutput()
            return event["seq"]?.integerValue
        }
    }
}

extension ContactLedgerCommand.Events {
    /// `events read`: `events.read`.
    struct Read: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lists the workspace's raw events after a seq.")

        // Unconditional, as tail's: `--after -5` is told what a seq must be.
        @Option(parsing: .unconditional, help: ArgumentHelp("Only events after this seq.", valueName: "seq"))
        var after: Int64?

        @Option(help: ArgumentHelp("Only events of this type (repeatable).", valueName: "type"))
        var type: [String] = []

        @OptionGroup var page: PageOptions
        @OptionGroup var global: GlobalOptions

        func validate() throws {
            if let after = self.after, after < 0 {
                throw ValidationError("--after must be 0 or more (a seq; 0 for the whole log), not \(after).")
            }
        }

        func run() throws {
            var params: [String: JSONValue] = [:]
            params["after_seq"] = self.after.map(JSONValue.integer)
            if !self.type.isEmpty { params["types"] = self.type.jsonValue }
            self.page.apply(to: &params)
            let result = try self.global.call("events.read", params)
            self.global.emit(result) { result in
                let events = result.arrayValue ?? result.list("events")
                ContactLedgerCommand.Events.table.print(events, empty: "(no events)")
                if let cursor = result["next_cursor"]?.stringValue {
                    print("\nmore: --cursor \(cursor)")
                } else if events.count == self.page.limit, let last = events.last?["seq"]?.integerValue {
                    print("\nmore: --after \(last)")
                }
            }
        }
    }
}
