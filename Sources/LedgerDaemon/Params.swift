// ContactLedger — daemon wiring.
import RPC

// The typed parameters of each method, as rpc-api.md names them. Every method accepts `workspace` and
// `actor`; commands accept `idempotency_key`; single-contact commands accept `expected_version`.

private let common: Set<String> = ["workspace", "actor"]
private let command: Set<String> = common.union(["idempotency_key"])

struct EmptyParams: MethodParams {
    static let memberNames = common
}

struct WorkspaceConfigureParams: MethodParams {
    static let memberNames = command.union(["default_country", "timezone", "date_format", "anonymous"])
    /// Absent (or null): unchanged; `""`: cleared.
    var defaultCountry: String??
    var timezone: String?
    var dateFormat: String?
    var anonymous: Bool?

    enum CodingKeys: String, CodingKey {
        case defaultCountry = "default_country"
        case timezone
        case dateFormat = "date_format"
        case anonymous
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        // `""` clears the country; null is taken as absent, as for every optional param (a client sending
        // each optional member as null cleared its country: contract audit).
        self.defaultCountry = try container.decodeIfPresent(String.self, forKey: .defaultCountry).map { .some($0) }
        self.timezone = try container.decodeIfPresent(String.self, forKey: .timezone)
        self.dateFormat = try container.decodeIfPresent(String.self, forKey: .dateFormat)
        self.anonymous = try container.decodeIfPresent(Bool.self, forKey: .anonymous)
    }
}

struct SetLocationsParams: MethodParams {
    static let memberNames = command.union(["hierarchy"])
    var hierarchy: JSONValue
}

struct FieldCreateParams: MethodParams {
    static let memberNames = command.union(["key", "name", "type"])
    var key: String
    var name: String?
    /// Required, as the contract has it (`{key, name?, type}`): a field made without one was text.
    var type: String
}

struct FieldUpdateParams: MethodParams {
    static let memberNames = command.union(["key", "name", "type", "featured", "priority"])
    var key: String
    var name: String?
    var type: String?
    var featured: Bool?
    var priority: Int?
}

struct FieldKeyParams: MethodParams {
    static let memberNames = command.union(["key"])
    var key: String
}

/// `fields.usage {key}`: a query, so no `idempotency_key`.
struct FieldUsageParams: MethodParams {
    static let memberNames = common.union(["key"])
    var key: String
}

struct GroupCreateParams: MethodParams {
    static let memberNames = command.union(["name", "query"])
    var name: String
    var query: String?
}

struct GroupUpdateParams: MethodParams {
    static let memberNames = command.union(["uuid", "name", "query"])
    var uuid: String
    var name: String?
    var query: String?
}

/// `groups.delete {uuid}`.
struct GroupUUIDParams: MethodParams {
    static let memberNames = command.union(["uuid"])
    var uuid: String
}

/// `groups.members {uuid, limit?, cursor?}`: a query, so no `idempotency_key`.
struct GroupMembersParams: MethodParams {
    static let memberNames = common.union(["uuid", "limit", "cursor"])
    var uuid: String
    var limit: Int?
    var cursor: String?
}

struct ContactCreateParams: MethodParams {
    static let memberNames = command.union(["name", "language", "status", "urns", "fields", "groups"])
    var name: String?
    var language: String?
    var status: String?
    var urns: [String]?
    var fields: [String: String?]?
    var groups: [String]?
}

struct ContactGetParams: MethodParams {
    static let memberNames = common.union(["uuid", "urn"])
    var uuid: String?
    var urn: String?
}

struct ModifierParams: Decodable {
    var type: String
    var name: String??
    var language: String??
    var status: String?
    var field: String?
    var value: String??
    var action: String?
    var urns: [String]?
    var groups: [String]?

    /// The members the modifier was given, so that one its type does not take is refused rather than
    /// ignored (a misspelt or misplaced member would otherwise change nothing, silently).
    var members: Set<String>

    /// The members each modifier type takes.
    static let membersByType: [String: Set<String>] = [
        "name": ["type", "name"], "language": ["type", "language"], "status": ["type", "status"],
        "field": ["type", "field", "value"], "urns": ["type", "action", "urns"], "groups": ["type", "action", "groups"],
    ]

    enum CodingKeys: String, CodingKey {
        case type, name, language, status, field, value, action, urns, groups
    }

    init(from decoder: any Decoder) throws {
        self.members = Set(try decoder.container(keyedBy: MemberName.self).allKeys.map(\.stringValue))
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.type = try container.decode(String.self, forKey: .type)
        self.name = container.contains(.name) ? .some(try container.decodeIfPresent(String.self, forKey: .name)) : nil
        self.language = container.contains(.language) ? .some(try container.decodeIfPresent(String.self, forKey: .language)) : nil
        self.status = try container.decodeIfPresent(String.self, forKey: .status)
        self.field = try container.decodeIfPresent(String.self, forKey: .field)
        self.value = container.contains(.value) ? .some(try container.decodeIfPresent(String.self, forKey: .value)) : nil
        self.action = try container.decodeIfPresent(String.self, forKey: .action)
        self.urns = try container.decodeIfPresent([String].self, forKey: .urns)
        self.groups = try container.decodeIfPresent([String].self, forKey: .groups)
    }
}

struct ContactModifyParams: MethodParams {
    static let memberNames = command.union(["uuid", "modifiers", "expected_version"])
    var uuid: String
    var modifiers: [ModifierParams]
    var expectedVersion: UInt64?

    enum CodingKeys: String, CodingKey {
        case uuid, modifiers
        case expectedVersion = "expected_version"
    }
}

struct ContactBulkModifyParams: MethodParams {
    static let memberNames = command.union(["uuids", "query", "modifiers"])
    var uuids: [String]?
    var query: String?
    var modifiers: [ModifierParams]
}

struct ContactUUIDParams: MethodParams {
    static let memberNames = command.union(["uuid", "expected_version"])
    var uuid: String
    var expectedVersion: UInt64?

    enum CodingKeys: String, CodingKey {
        case uuid
        case expectedVersion = "expected_version"
    }
}

/// Any member's name, to see every member an object was given.
private struct MemberName: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

/// A point in time: an RFC 3339 timestamp or `{"seq": n}`.
enum PointInTime: Decodable {
    case timestamp(String)
    case seq(UInt64)

    /// `{"seq": n}`, nothing else in it, `n` a seq (at most 2^63 - 1).
    private struct SeqObject: Decodable {
        var seq: UInt64

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: MemberName.self)
            if let other = container.allKeys.first(where: { $0.stringValue != "seq" }) {
                throw DecodingError.dataCorruptedError(forKey: other, in: container, debugDescription: "unknown_member")
            }
            let key = MemberName(stringValue: "seq")
            self.seq = try container.decode(UInt64.self, forKey: key)
            guard self.seq <= UInt64(Int64.max) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "out_of_range")
            }
        }
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            self = .timestamp(text)
        } else {
            self = .seq(try container.decode(SeqObject.self).seq)
        }
    }
}

struct HistoryParams: MethodParams {
    static let memberNames = common.union(["uuid", "after", "before", "types", "limit", "cursor", "order", "include_deleted"])
    /// `desc` (newest first, the default) or `asc`.
    var order: String?
    var uuid: String
    var after: PointInTime?
    var before: PointInTime?
    var types: [String]?
    var limit: Int?
    var cursor: String?
    /// An auditor's view of a deleted contact: its erased timeline rather than -32001 `deleted`.
    var includeDeleted: Bool?

    enum CodingKeys: String, CodingKey {
        case order, uuid, after, before, types, limit, cursor
        case includeDeleted = "include_deleted"
    }
}

struct AsOfParams: MethodParams {
    static let memberNames = common.union(["uuid", "at"])
    var uuid: String
    var at: PointInTime
}

struct DiffParams: MethodParams {
    static let memberNames = common.union(["uuid", "from", "to"])
    var uuid: String
    var from: PointInTime
    var to: PointInTime
}

struct MessagesParams: MethodParams {
    static let memberNames = common.union(["uuid", "limit", "cursor"])
    var uuid: String
    var limit: Int?
    var cursor: String?
}

struct ReceiveParams: MethodParams {
    static let memberNames = command.union(["urn", "text", "channel", "external_id"])
    var urn: String
    var text: String
    var channel: String?
    var externalID: String?

    enum CodingKeys: String, CodingKey {
        case urn, text, channel
        case externalID = "external_id"
    }
}

struct SendParams: MethodParams {
    static let memberNames = command.union(["uuid", "text", "urn", "expected_version"])
    var uuid: String
    var text: String
    var urn: String?
    var expectedVersion: UInt64?

    enum CodingKeys: String, CodingKey {
        case uuid, text, urn
        case expectedVersion = "expected_version"
    }
}

struct EventsReadParams: MethodParams {
    static let memberNames = common.union(["after_seq", "limit", "types", "cursor"])
    var afterSeq: UInt64?
    var limit: Int?
    var types: [String]?
    var cursor: String?

    enum CodingKeys: String, CodingKey {
        case afterSeq = "after_seq"
        case limit, types, cursor
    }
}

struct VerifyParams: MethodParams {
    static let memberNames = common.union(["from_seq", "to_seq"])
    var fromSeq: UInt64?
    var toSeq: UInt64?

    enum CodingKeys: String, CodingKey {
        case fromSeq = "from_seq"
        case toSeq = "to_seq"
    }
}

/// The members every call may carry besides its own.
struct CommonParams: Decodable {
    var workspace: String?
    var actor: String?
    var idempotencyKey: String?

    enum CodingKeys: String, CodingKey {
        case workspace, actor
        case idempotencyKey = "idempotency_key"
    }
}

struct SearchParams: MethodParams {
    static let memberNames = common.union(["query", "sort", "limit", "cursor", "as_of"])
    var query: String
    var sort: String?
    var limit: Int?
    var cursor: String?
    var asOf: PointInTime?

    enum CodingKeys: String, CodingKey {
        case query, sort, limit, cursor
        case asOf = "as_of"
    }
}

struct QueryParams: MethodParams {
    static let memberNames = common.union(["query"])
    var query: String
}

struct SubscribeParams: MethodParams {
    static let memberNames = common.union(["after_seq", "after_hash", "types"])
    var afterSeq: UInt64?
    /// The `hash` of the event at `after_seq` as the subscriber received it: checked against this log's.
    var afterHash: String?
    var types: [String]?

    enum CodingKeys: String, CodingKey {
        case afterSeq = "after_seq"
        case afterHash = "after_hash"
        case types
    }
}

struct UnsubscribeParams: MethodParams {
    static let memberNames = common.union(["subscription"])
    var subscription: String
}

struct AuditParams: MethodParams {
    static let memberNames = common.union(["peer_uid", "from", "to", "types", "field", "limit", "cursor"])
    /// Here `actor` filters: only changes made by this actor.
    var actor: String?
    var peerUID: UInt32?
    var from: PointInTime?
    var to: PointInTime?
    var types: [String]?
    var field: String?
    var limit: Int?
    var cursor: String?

    enum CodingKeys: String, CodingKey {
        case actor
        case peerUID = "peer_uid"
        case from, to, types, field, limit, cursor
    }
}

struct ProjectionParams: MethodParams {
    static let memberNames = common.union(["name"])
    var name: String
}

/// `projections.rebuild`: a command (it takes an idempotency key), though it appends nothing.
struct RebuildParams: MethodParams {
    static let memberNames = command.union(["name"])
    var name: String
}

/// `ledger.backup`: a command (it takes an idempotency key), though it appends nothing.
struct BackupParams: MethodParams {
    static let memberNames = command.union(["path"])
    var path: String
}
