// ContactLedger — command-line client.
import ArgumentParser
import Foundation
import RPC

extension ContactLedgerCommand {
    /// `verify [--from SEQ] [--to SEQ]`: `ledger.verify`.
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Checks the log's hash chain; exits with status 3 if it is broken.",
            discussion: "Prints whether the range verified, the first broken seq if any, and the log's head."
        )

        // Unconditional: `--from -1` reaches validate(), not ArgumentParser's "Missing value".
        @Option(parsing: .unconditional, help: ArgumentHelp("The first seq to check (default: the start of the log).", valueName: "seq"))
        var from: Int64?

        @Option(parsing: .unconditional, help: ArgumentHelp("The last seq to check (default: the head).", valueName: "seq"))
        var to: Int64?

        @OptionGroup var global: GlobalOptions

        func validate() throws {
            // Seqs start at 1, as the daemon's ledger.verify says (-32602 out_of_range for 0).
            if let from = self.from, from < 1 { throw ValidationError("--from \(from) is not a seq; seqs start at 1.") }
            if let to = self.to, to < 1 { throw ValidationError("--to \(to) is not a seq; seqs start at 1.") }
            if let from = self.from, let to = self.to, from > to {
                throw ValidationError("--from \(from) is after --to \(to); give the lower seq first.")
            }
        }

        /// Seqs checked per call, so the progress bar moves on a long log.
        static let chunk: Int64 = 50_000

        func run() throws {
            // Routed first as `verify`: the head it asks for was refused as system.health's.
            _ = try self.global.reportingUnroutableCalls { try self.global.socketPath(for: "verify") }
            let head = try self.global.call("system.health")["head_seq"]?.integerValue ?? 0
            // A `--to` past the head is the daemon's to refuse (past_head: the log holds less than an
            // anchor recorded), not to be cut to the head and verified.
            if let to = self.to, to > head { _ = try self.global.call("ledger.verify", ["to_seq": .integer(to)]) }
            let first = max(self.from ?? 1, 1)
            let last = min(self.to ?? head, head)
            let progress = ProgressLine(enabled: !self.global.json)
            var result: JSONValue = ["verified": true, "head_seq": .integer(head), "checked": 0]
            var checked: Int64 = 0
            var start = first
            repeat {
                let end = min(start + Self.chunk - 1, last)
                var params: [String: JSONValue] = ["from_seq": .integer(start)]
                if last >= start { params["to_seq"] = .integer(end) }
                result = try self.global.call("ledger.verify", params)
                checked += result["checked"]?.integerValue ?? 0
                let broken = Self.brokenSeq(result)
                progress.show(done: Int(max(end - first + 1, 0)), total: Int(max(last - first + 1, 0)), detail: broken.map { "broken at seq \($0)" } ?? "verified")
                if broken != nil { break }
                start = end + 1
            } while start <= last
            progress.finish()
            if case .object(var members) = result {
                members["checked"] = .integer(checked)
                result = .object(members)
            }
            let brokenSeq = Self.brokenSeq(result)
            self.global.emit(result) { result in
                Output.printObject(result, leading: ["verified", "broken_seq", "reason", "seq", "checked", "head_seq", "head_hash"])
            }
            if let brokenSeq {
                let reason = result["reason"]?.stringValue.map { " (\($0))" } ?? ""
                Output.printError(": the hash chain is broken at seq \(brokenSeq)\(reason)")
                throw ExitCode.ledgerBroken
            }
        }

        /// The first broken seq the answer reports (`broken_seq`, or `seq` with `verified: false`), or nil when
        /// the range verified.
        static func brokenSeq(_ result: JSONValue) -> String? {
            if let broken = result["broken_seq"], broken != .null { return Output.text(broken) }
            if result["verified"] == .bool(false) { return Output.text(result["seq"]) }
            return nil
        }
    }

    /// `projections …`: the read models' status and rebuilds.
    struct Projections: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "projections",
            abstract: "Shows the read models' status, or rebuilds or verifies one.",
            subcommands: [Status.self, Rebuild.self, VerifyProjection.self],
            defaultSubcommand: Status.self
        )
    }
}

extension ContactLedgerCommand.Projections {
    /// `projections [status]`: `projections.status`.
    struct Status: ParsableCommand {
        /// Why the last rebuild failed, until one completes (`-` for none).
        static let lastError = Table.Column.computed("last error") { $0["last_error"]?["reason"]?.stringValue ?? "-" }

        /// The rebuild under way: its phase, how far it is (its own position, not the answering model's), its
        /// rate and ETA; `-` for none. The table showed none of it, and `progress` as a bare fraction.
        static let rebuild = Table.Column.computed("rebuild") { row in
            guard let rebuild = row["rebuild"], rebuild != .null else { return "-" }
            let phase = Self.phase(of: rebuild) ?? "-"
            return "\(phase) \(Output.text(rebuild["position"]))/\(Output.text(row["head_seq"])) · \(Self.pace(of: rebuild))"
        }

        /// A rebuild's phase in words (`staging`, `catching up`…), which says why its position stands still.
        static func phase(of rebuild: JSONValue?) -> String? {
            rebuild?["phase"]?.stringValue.map { $0.replacingOccurrences(of: "_", with: " ") }
        }

        /// A rebuild's rate and ETA: `31207 events/s · ETA 14 s` (`-` for either not known yet).
        static func pace(of rebuild: JSONValue?) -> String {
            let rate = rebuild?["events_per_s"].map(Output.text) ?? "-"
            let eta = rebuild?["eta_s"].flatMap { $0 == .null ? nil : "ETA \(Output.text($0)) s" } ?? "ETA -"
            return "\(rate) events/s · \(eta)"
        }

        /// `progress` (a fraction) as a percentage, rounded down (99% until it is done).
        static let progress = Table.Column.computed("progress") { row in
            guard let fraction = row["progress"]?.doubleValue else { return Output.text(row["progress"]) }
            return "\(Int((fraction * 100).rounded(.down)))%"
        }

        /// `lag {events, seconds}` as "N events, S s".
        static let lag = Table.Column.computed("lag") { row in
            guard let lag = row["lag"], lag != .null else { return "-" }
            return "\(Output.text(lag["events"])) events, \(Output.text(lag["seconds"])) s"
        }

        /// Every projection's status, as `projections` and the end of `projections rebuild` print it.
        static let table = Table(columns: [
            .key("name"), .key("version"), .key("stored_version", "stored"), .key("mode"), .key("state"), .key("position"),
            .key("head_seq", "head"), Self.progress, Self.lag, Self.rebuild, .key("last_rebuilt_on", "last rebuilt"), Self.lastError,
        ])

        static let configuration = CommandConfiguration(
            abstract: "Shows each projection's state, position and lag (the default)."
        )

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let result = try self.global.call("projections.status")
            self.global.emit(result) { result in
                Self.table.print(result.list("projections"), empty: "(no projections)")
            }
        }
    }

    /// `projections rebuild NAME`: `projections.rebuild`, then `projections.status` until it is done.
    ///
    /// A rebuild that fails leaves the projection as it was, with `last_error` until one completes: the
    /// command then says why and exits 1. With `--json` it follows too, and prints the final
    /// `projections.status` (it printed the start's answer and returned while the rebuild ran on).
    struct Rebuild: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Starts an online rebuild of a projection and follows it with a progress bar until it is done (--detach: returns at once).",
            discussion: """
                When it is done, prints the projections' status (with --json: the projections.status result, \
                and no bar); exit status 1 when the rebuild failed. With --detach, prints the start's answer.
                """
        )

        @Argument(help: ArgumentHelp("The projection's name, as projections lists it.", valueName: "name"))
        var name: String

        @OptionGroup var global: GlobalOptions
        @OptionGroup var idempotency: IdempotencyOptions

        @Flag(help: "Return at once instead of following the rebuild with a progress bar.")
        var detach = false

        func run() throws {
            var params: [String: JSONValue] = ["name": .string(self.name)]
            self.idempotency.apply(to: &params)
            let result = try self.global.call("projections.rebuild", params)
            guard !self.detach else {
                self.global.emit(result) { Output.printObject($0, leading: ["name", "state"]) }
                return
            }
            let progress = ProgressLine(enabled: !self.global.json)
            while true {
                let status = try self.global.call("projections.status").list("projections").first { $0["name"]?.stringValue == self.name }
                let state = status?["state"]?.stringValue ?? "unknown"
                let rebuild = status?["rebuild"]
                // A rebuild that has not reported yet is at 0, not at the live projection's position.
                let livePosition = state == "rebuilding" ? 0 : status?["position"]?.integerValue ?? 0
                let position = Int(rebuild?["position"]?.integerValue ?? livePosition)
                let head = Int(status?["head_seq"]?.integerValue ?? 0)
                // The phase says why the position stands still (a staging commit, the copy).
                let phase = Status.phase(of: rebuild) ?? state
                progress.show(done: position, total: head, detail: "\(phase) · \(Status.pace(of: rebuild))")
                if state != "rebuilding" { break }
                usleep(200_000)
            }
            progress.finish()
            let final = try self.global.call("projections.status")
            self.global.emit(final) { final in
                Status.table.print(final.list("projections"), empty: "(no projections)")
            }
            let failure = final.list("projections").first { $0["name"]?.stringValue == self.name }?["last_error"]
            if let reason = failure?["reason"]?.stringValue {
                Output.printError(": the rebuild of \(self.name) failed (\(reason)); the projection answers as it was")
                throw ExitCode(1)
            }
        }
    }

    /// `projections verify NAME`: `projections.verify`.
    struct VerifyProjection: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Rebuilds a projection into scratch space and lists its differences from the live one.",
            discussion: "Exit status 3 when there are differences (0 when there are none)."
        )

        @Argument(help: ArgumentHelp("The projection's name.", valueName: "name"))
        var name: String

        @OptionGroup var global: GlobalOptions

        func run() throws {
            let result = try self.global.call("projections.verify", ["name": .string(self.name)])
            self.global.emit(result) { result in
                let differences = result.list("differences")
                if differences.isEmpty {
                    print("\(self.name): no differences")
                } else {
                    print("\(self.name): \(differences.count) difference(s)")
                    for difference in differences { print("  \(Output.text(difference))") }
                }
            }
            if !result.list("differences").isEmpty { throw ExitCode.projectionDiffers }
        }
    }
}
