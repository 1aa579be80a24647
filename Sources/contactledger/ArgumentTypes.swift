// ContactLedger — command-line client.
import ArgumentParser
import Foundation
import RPC

/// A point in time as the contract takes it: an RFC 3339 timestamp or a log position (`seq`).
///
/// `2026-11-25T09:30:00Z` (or `2026-11-25`, the end of that day) is sent as the string; `1234` as
/// `{"seq": 1234}`. A negative seq is no point: an option of this type is parsed `.unconditional`, so
/// `-1` is refused as an invalid value of the option, not taken for an option ("Missing value").
enum PointInTime: ExpressibleByArgument {
    case timestamp(String)
    case seq(Int64)

    init?(argument: String) {
        if let seq = Int64(argument), seq >= 0 {
            self = .seq(seq)
        } else if Self.isTimestamp(argument) {
            self = .timestamp(argument)
        } else {
            return nil
        }
    }

    /// The JSON the contract expects.
    var jsonValue: JSONValue {
        switch self {
        case .timestamp(let text): .string(text)
        case .seq(let seq): ["seq": .integer(seq)]
        }
    }

    /// An RFC 3339 time (with `T`, `t` or a space), or a bare date, which the daemon reads as the end of
    /// that day: the forms `audit --since` takes.
    private static func isTimestamp(_ text: String) -> Bool {
        ContactLedgerCommand.Audit.microseconds(text) != nil
    }
}

/// `key=value` for a contact field; `key=` clears the field (sent as `null`).
struct FieldAssignment: ExpressibleByArgument {
    /// The field key.
    var key: String
    /// The value's text, or nil to clear the field.
    var value: String?

    init?(argument: String) {
        guard let equals = argument.firstIndex(of: "=") else { return nil }
        let key = String(argument[..<equals])
        let value = String(argument[argument.index(after: equals)...])
        guard !key.isEmpty else { return nil }
        self.key = key
        self.value = value.isEmpty ? nil : value
    }

    /// The value as JSON: the text, or `null`.
    var jsonValue: JSONValue {
        self.value.map(JSONValue.string) ?? .null
    }
}

/// The field types `fields.create` accepts.
enum FieldTypeArgument: String, CaseIterable, ExpressibleByArgument {
    case text, number, datetime, state, district, ward
}

/// A contact status.
enum ContactStatusArgument: String, CaseIterable, ExpressibleByArgument {
    case active, blocked, stopped, archived
}

/// `--limit` and `--cursor` of a paged list.
struct PageOptions: ParsableArguments {
    /// The largest page the daemon serves.
    static let maximumLimit = 1000

    // Unconditional: `--limit -1` reaches validate(), not ArgumentParser's "Missing value".
    @Option(parsing: .unconditional, help: ArgumentHelp("The most items to return, 1–1000 (the daemon's default: 50).", valueName: "n"))
    var limit: Int?

    @Option(help: ArgumentHelp("Continue from a previous page's next cursor.", valueName: "cursor"))
    var cursor: String?

    func validate() throws {
        if let limit = self.limit, !(1...Self.maximumLimit).contains(limit) {
            throw ValidationError("--limit \(limit) is out of range; give a number from 1 to \(Self.maximumLimit).")
        }
    }

    /// Adds `limit` and `cursor` to `params` when given.
    func apply(to params: inout [String: JSONValue]) {
        if let limit = self.limit { params["limit"] = .integer(Int64(limit)) }
        if let cursor = self.cursor { params["cursor"] = .string(cursor) }
    }
}

/// `--idempotency-key`, accepted by every command that writes.
struct IdempotencyOptions: ParsableArguments {
    /// The longest key the contract allows.
    static let maximumLength = 128

    @Option(
        help: ArgumentHelp(
            "Makes a retry safe: a repeated command with the same key returns the first answer.",
            valueName: "key"
        )
    )
    var idempotencyKey: String?

    func validate() throws {
        if let key = self.idempotencyKey, key.isEmpty || key.codePointCount > Self.maximumLength {
            throw ValidationError(
                "--idempotency-key '\(key)' must be 1 to \(Self.maximumLength) characters long."
            )
        }
    }

    /// Adds `idempotency_key` to `params` when given.
    func apply(to params: inout [String: JSONValue]) {
        if let key = self.idempotencyKey { params["idempotency_key"] = .string(key) }
    }
}

/// The write options of commands that target one contact: `--expected-version` and `--idempotency-key`.
struct ContactWriteOptions: ParsableArguments {
    // Unconditional: `--expected-version -1` reaches validate(), not ArgumentParser's "Missing value".
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Fail with a conflict unless the contact is still at this version.",
            valueName: "n"
        )
    )
    var expectedVersion: Int?

    @OptionGroup var idempotency: IdempotencyOptions

    func validate() throws {
        if let version = self.expectedVersion, version < 0 {
            throw ValidationError("--expected-version \(version) is negative; give the contact's version.")
        }
    }

    /// Adds `expected_version` and `idempotency_key` to `params` when given.
    func apply(to params: inout [String: JSONValue]) {
        if let version = self.expectedVersion { params["expected_version"] = .integer(Int64(version)) }
        self.idempotency.apply(to: &params)
    }
}

extension Array where Element == String {
    /// The strings as a JSON array.
    var jsonValue: JSONValue {
        .array(self.map(JSONValue.string))
    }
}
