// ContactLedger — contact domain.

/// A rule of the domain refused a command. Carries codes and ids only, never personal data.
public struct ContactError: Error, Sendable, Hashable {
    /// What kind of refusal this is; the RPC layer maps each to a JSON-RPC code.
    public enum Kind: String, Sendable, Hashable {
        case invalidParams
        case notFound
        case conflict
        case invalidState
        case limitExceeded
    }

    /// A detail value: text or integer.
    public enum Detail: Sendable, Hashable {
        case text(String)
        case integer(Int64)
        case list([String])
    }

    public var kind: Kind
    /// A machine-readable reason, e.g. `urn_taken`, `contact_active`, `invalid_path`.
    public var reason: String
    /// The JSON path of the parameter at fault, e.g. `modifiers[2].value`.
    public var field: String?
    /// More members of the error's `data` (`kind`, `id`, `status`, `limit`…).
    public var details: [String: Detail]

    public init(_ kind: Kind, reason: String, field: String? = nil, details: [String: Detail] = [:]) {
        self.kind = kind
        self.reason = reason
        self.field = field
        self.details = details
    }

    /// -32602 naming `field`.
    public static func invalid(_ field: String, _ reason: String) -> ContactError {
        ContactError(.invalidParams, reason: reason, field: field)
    }

    /// A refused URN naming `field`: -32006 with its limit for a path or display too long (a value too long,
    /// as for names and texts), -32602 otherwise.
    public static func urn(_ error: URNError, field: String) -> ContactError {
        if let limit = error.limit { return .limit(limit, field: field, reason: error.code) }
        return .invalid(field, error.code)
    }

    /// -32001 for a thing of `kind` with `id`.
    public static func notFound(_ kind: String, id: String, reason: String = "not_found") -> ContactError {
        ContactError(.notFound, reason: reason, details: ["kind": .text(kind), "id": .text(id)])
    }

    /// The most contacts an error of a bulk command lists in `contacts`; `count` says how many there are.
    public static let maximumNamedContacts = 100

    /// This error naming the contacts it is about, for a command acting on many: `contacts` (the first
    /// ``maximumNamedContacts`` of them, in the order given) and `count`.
    public func naming(contacts: [ContactUUID], count: Int) -> ContactError {
        var named = self
        named.details["contacts"] = .list(contacts.prefix(Self.maximumNamedContacts).map(\.rawValue))
        named.details["count"] = .integer(Int64(count))
        return named
    }

    /// -32006 for a limit.
    public static func limit(_ limit: Int, field: String?, reason: String) -> ContactError {
        ContactError(.limitExceeded, reason: reason, field: field, details: ["limit": .integer(Int64(limit))])
    }
}
