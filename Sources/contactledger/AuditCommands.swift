// ContactLedger — command-line client.
import ArgumentParser
import Foundation
import RPC

extension ContactLedgerCommand {
    /// `audit [--actor A] [--uid N] [--since 7d|RFC3339] [--until …] [--type T]… [--field KEY]`: `audit.changes`.
    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Lists who changed what and when, across contacts.",
            discussion: """
                --actor (the global option) filters: only changes made by that actor. --since and --until take an \
                RFC 3339 time, a seq number, a duration back from now (30m, 12h, 7d), or a date (YYYY-MM-DD: \
                --since from its first instant, --until to its last, both in UTC).
                """
        )

        // Unconditional, as every numeric option: `--uid -1` and `--since -1` reach validate(), which says
        // what they take, rather than ArgumentParser's "Missing value" (it took -1 for an option).
        @Option(parsing: .unconditional, help: ArgumentHelp("Only changes made by this peer uid.", valueName: "uid"))
        var uid: Int64?

        @Option(parsing: .unconditional, help: ArgumentHelp("From this point on (inclusive).", valueName: "when"))
        var since: String?

        @Option(parsing: .unconditional, help: ArgumentHelp("Up to this point (inclusive).", valueName: "when"))
        var until: String?

        @Option(name: .customLong("type"), help: ArgumentHelp("Only these event types (repeatable).", valueName: "type"))
        var types: [String] = []

        @Option(help: ArgumentHelp("Only changes of this field key.", valueName: "key"))
        var field: String?

        // The paged lists' --limit and --cursor: a --limit out of 1–1000 is refused here (exit status 64)
        // as theirs is, not sent for the daemon to refuse (-32602, -32006).
        @OptionGroup var page: PageOptions
        @OptionGroup var global: GlobalOptions

        /// A point: a seq, an RFC 3339 time, or a duration back from now.
        static func point(_ text: String) throws -> JSONValue {
            if let seq = Int64(text) {
                guard seq >= 0 else { throw ValidationError("'\(text)' is not a point: a seq is 0 or more.") }
                return ["seq": .integer(seq)]
            }
            let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
            if let unit = text.last, let scale = units[unit], let amount = Double(text.dropLast()) {
                let date = Date().addingTimeInterval(-amount * scale)
                let formatter = ISO8601DateFormatter()
                formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
                return .string(formatter.string(from: date))
            }
            // A date, or a date then `T`, `t` or a space and a time (RFC 3339 allows the space).
            let separator = text.count > 10 ? text[text.index(text.startIndex, offsetBy: 10)] : nil
            guard text.count == 10 || ["T", "t", " "].contains(separator) else {
                throw ValidationError("'\(text)' is not a time: give RFC 3339, a seq, a date, or a duration like 7d.")
            }
            return .string(text)
        }

        /// The `from` point that makes `--since` inclusive: `audit.changes` lists the changes after the
        /// state at `from`, so a change at the point itself (seq N, or an event created at time T) needs
        /// the point just before it: seq N − 1, or T less a microsecond (the log's resolution). A date
        /// starts at its first instant: the daemon reads a bare date as its end, and `--since` a date
        /// listed nothing of that day.
        static func pointJustBefore(_ text: String) throws -> JSONValue {
            let point = try Self.point(text)
            if let seq = point["seq"]?.integerValue { return ["seq": .integer(max(seq - 1, 0))] }
            guard let time = point.stringValue,
                let micros = Self.microseconds(time.count == 10 ? time + "T00:00:00Z" : time)
            else { return point }
            return .string(Self.rfc3339(microseconds: micros - 1))
        }

        /// An RFC 3339 time (or a bare date: the end of that day, as the daemon reads it) in microseconds
        /// since 1970; digits past the microsecond dropped, as the daemon drops them.
        static func microseconds(_ text: String) -> Int64? {
            if text.count == 10 { return Self.microseconds(text + "T23:59:59.999999Z") }
            var whole = text
            var fraction = ""
            if let dot = text.firstIndex(of: ".") {
                let digits = text[text.index(after: dot)...].prefix { $0.isNumber }
                fraction = String(digits.prefix(6))
                whole = String(text[..<dot]) + String(text[text.index(after: dot)...].dropFirst(digits.count))
            }
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime]
            // RFC 3339 allows a lowercase t and z, and a space for the T; the formatter takes only T and Z.
            guard let date = formatter.date(from: whole.uppercased().replacingOccurrences(of: " ", with: "T")) else { return nil }
            let micros = Int64(fraction.padding(toLength: 6, withPad: "0", startingAt: 0)) ?? 0
            return Int64(date.timeIntervalSince1970.rounded()) * 1_000_000 + micros
        }

        /// Microseconds since 1970 as `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
        static func rfc3339(microseconds: Int64) -> String {
            let seconds = microseconds >= 0 ? microseconds / 1_000_000 : (microseconds - 999_999) / 1_000_000
            let fraction = microseconds - seconds * 1_000_000
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime]
            let whole = formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            let digits = String(fraction)
            return String(whole.dropLast()) + "." + String(repeating: "0", count: 6 - digits.count) + digits + "Z"
        }

        func validate() throws {
            if let uid = self.uid, !(0...Int64(UInt32.max)).contains(uid) {
                throw ValidationError("--uid must be a user id, 0 or more, not \(uid).")
            }
            if let since = self.since { _ = try Self.point(since) }
            if let until = self.until { _ = try Self.point(until) }
        }

        func run() throws {
            var params: [String: JSONValue] = [:]
            if let uid = self.uid { params["peer_uid"] = .integer(uid) }
            if let since = self.since { params["from"] = try Self.pointJustBefore(since) }
            if let until = self.until { params["to"] = try Self.point(until) }
            if !self.types.isEmpty { params["types"] = .array(self.types.map { .string($0) }) }
            if let field = self.field { params["field"] = .string(field) }
            self.page.apply(to: &params)
            let result = try self.global.call("audit.changes", params)
            self.global.emit(result) { result in
                // An empty page with a cursor: the page's search stopped before the end, not the answer.
                let empty = result["next_cursor"]?.stringValue.map { "(none up to seq \($0); more may follow)" } ?? "(no changes)"
                ContactLedgerCommand.Events.table.print(result.list("items"), empty: empty)
                Output.printNextPage(result)
            }
        }
    }

    /// `backup PATH`: `ledger.backup`, a consistent hot copy.
    struct Backup: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Takes a consistent, compacted copy of the ledger while it runs.",
            discussion: "PATH must be a new or empty directory that the daemon can write. Restore: stop the daemon, start contactledgerd --data-dir PATH, run contactledger verify."
        )

        @Argument(help: ArgumentHelp("The directory to copy into.", valueName: "path"))
        var path: String

        @OptionGroup var global: GlobalOptions
        @OptionGroup var idempotency: IdempotencyOptions

        func run() throws {
            let absolute = self.path.hasPrefix("/") ? self.path : FileManager.default.currentDirectoryPath + "/" + self.path
            var params: [String: JSONValue] = ["path": .string(absolute)]
            self.idempotency.apply(to: &params)
            let result = try self.global.call("ledger.backup", params)
            self.global.emit(result) { Output.printObject($0, leading: ["path", "head_seq", "head_hash", "bytes"]) }
        }
    }
}
