// ContactLedger — contact domain.
import Foundation
import JSONText

/// Every fact the ledger records, with its stable type name and stored shape.
///
/// The stored bytes are chosen by hand here (type names, `schema_version`, payload keys), never by
/// synthesized enum coding, because the log outlives the code: renaming a case must not change them.
/// Older schema versions are upcast in ``decode(type:schemaVersion:data:)``.
public enum LedgerEvent: Sendable, Hashable {
    case contactCreated(ContactCreated)
    case contactNameChanged(name: String)
    case contactLanguageChanged(language: String)
    case contactStatusChanged(status: ContactStatus)
    case contactFieldChanged(ContactFieldChanged)
    case contactURNsChanged(urns: [String])
    case contactGroupsChanged(ContactGroupsChanged)
    case messageReceived(Message)
    case messageCreated(Message)
    case contactDeleted(ContactDeleted)
    case workspaceConfigured(WorkspaceConfigured)
    case fieldCreated(FieldCreated)
    case fieldUpdated(FieldUpdated)
    case fieldDeleted(key: String)
    case groupCreated(GroupCreated)
    case groupUpdated(GroupUpdated)
    case groupDeleted(uuid: GroupUUID)
    /// A smart group's evaluation over every contact of its workspace finished: its membership is
    /// complete from here on, until its query or the workspace's settings change again.
    case groupEvaluated(uuid: GroupUUID)
    case locationsSet(hierarchy: LocationNode)

    /// The stable type name stored in the envelope.
    public var type: String {
        switch self {
        case .contactCreated: "contact_created"
        case .contactNameChanged: "contact_name_changed"
        case .contactLanguageChanged: "contact_language_changed"
        case .contactStatusChanged: "contact_status_changed"
        case .contactFieldChanged: "contact_field_changed"
        case .contactURNsChanged: "contact_urns_changed"
        case .contactGroupsChanged: "contact_groups_changed"
        case .messageReceived: "msg_received"
        case .messageCreated: "msg_created"
        case .contactDeleted: "contact_deleted"
        case .workspaceConfigured: "workspace_configured"
        case .fieldCreated: "field_created"
        case .fieldUpdated: "field_updated"
        case .fieldDeleted: "field_deleted"
        case .groupCreated: "group_created"
        case .groupUpdated: "group_updated"
        case .groupDeleted: "group_deleted"
        case .groupEvaluated: "group_evaluated"
        case .locationsSet: "locations_set"
        }
    }

    /// Every type name, the contact events first (a replay meets them most; see
    /// ``EventHeader/readCanonical(_:seq:previous:)``).
    public static let typeNames: [String] = [
        "contact_field_changed", "contact_name_changed", "contact_created", "contact_urns_changed",
        "contact_language_changed", "contact_status_changed", "contact_groups_changed", "msg_received", "msg_created",
        "contact_deleted", "workspace_configured", "field_created", "field_updated", "field_deleted",
        "group_created", "group_updated", "group_deleted", "group_evaluated", "locations_set",
    ]

    /// Every type name, for validating `types` filters.
    public static let allTypes = Set(typeNames)

    /// The schema version the current code writes for `type`. Bump it with an upcaster in
    /// ``decode(type:schemaVersion:data:)`` when a payload's shape changes; the log is never rewritten.
    ///
    /// `contact_status_changed` is at version 2: version 1 carried RapidPro's one-letter status codes
    /// (`A`, `B`, `S`, `V`, as its database stores them); version 2 carries the words.
    public static func schemaVersion(of type: String) -> Int {
        switch type {
        case "contact_status_changed": 2
        default: 1
        }
    }

    /// The schema version this event is written with.
    public var schemaVersion: Int { Self.schemaVersion(of: self.type) }

    /// Whether the payload may hold a contact's personal data (erased when the contact is deleted).
    public var carriesPersonalData: Bool {
        switch self {
        case .contactCreated, .contactNameChanged, .contactFieldChanged, .contactURNsChanged, .messageReceived,
            .messageCreated, .contactLanguageChanged:
            true
        default:
            false
        }
    }

    private struct NamePayload: Codable { var name: String }
    private struct LanguagePayload: Codable { var language: String }
    private struct StatusPayload: Codable { var status: ContactStatus }
    private struct StatusCodePayload: Codable { var status: String }

    /// Version 1 of `contact_status_changed`: RapidPro's one-letter codes (words are accepted too).
    private static func upcastStatusV1(_ code: String) throws -> ContactStatus {
        switch code {
        case "A": return .active
        case "B": return .blocked
        case "S": return .stopped
        case "V": return .archived
        default:
            guard let status = ContactStatus(rawValue: code) else { throw EventDecodingError.unknownType("contact_status_changed") }
            return status
        }
    }
    private struct URNsPayload: Codable { var urns: [String] }
    private struct MessagePayload: Codable { var msg: Message }
    private struct KeyPayload: Codable { var key: String }
    private struct GroupUUIDPayload: Codable { var uuid: GroupUUID }
    private struct LocationsPayload: Codable { var hierarchy: LocationNode }

    /// The payload (`data`) as JSON. Datetime field values are written in `timeZone`.
    public func encodedData(timeZone: TimeZone = .gmt) throws -> [UInt8] {
        if let bytes = self.directlyEncodedData(timeZone: timeZone) { return bytes }
        return try self.encodedDataThroughCodable(timeZone: timeZone)
    }

    /// The payload as `JSONEncoder` writes it: the reference the direct writer is held to, and the
    /// writer of the less frequent types.
    public func encodedDataThroughCodable(timeZone: TimeZone = .gmt) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.userInfo[FieldValue.timeZoneUserInfoKey] = timeZone
        func encode(_ value: some Encodable) throws -> [UInt8] { Array(try encoder.encode(value)) }
        switch self {
        case .contactCreated(let payload): return try encode(payload)
        case .contactNameChanged(let name): return try encode(NamePayload(name: name))
        case .contactLanguageChanged(let language): return try encode(LanguagePayload(language: language))
        case .contactStatusChanged(let status): return try encode(StatusPayload(status: status))
        case .contactFieldChanged(let payload): return try encode(payload)
        case .contactURNsChanged(let urns): return try encode(URNsPayload(urns: urns))
        case .contactGroupsChanged(let payload): return try encode(payload)
        case .messageReceived(let message), .messageCreated(let message): return try encode(MessagePayload(msg: message))
        case .contactDeleted(let payload): return try encode(payload)
        case .workspaceConfigured(let payload): return try encode(payload)
        case .fieldCreated(let payload): return try encode(payload)
        case .fieldUpdated(let payload): return try encode(payload)
        case .fieldDeleted(let key): return try encode(KeyPayload(key: key))
        case .groupCreated(let payload): return try encode(payload)
        case .groupUpdated(let payload): return try encode(payload)
        case .groupDeleted(let uuid), .groupEvaluated(let uuid): return try encode(GroupUUIDPayload(uuid: uuid))
        case .locationsSet(let hierarchy): return try encode(LocationsPayload(hierarchy: hierarchy))
        }
    }

    /// Decodes a stored payload of `type` written with `schemaVersion`, upcasting older versions.
    public static func decode(type: String, schemaVersion: Int, data: [UInt8]) throws -> LedgerEvent {
        try data.withUnsafeBytes { payload in try Self.decode(type: type, schemaVersion: schemaVersion, payload: payload) }
    }

    /// Decodes a stored payload where it lies (in the log's pages, for a replay), as
    /// ``decode(type:schemaVersion:data:)`` does.
    public static func decode(type: String, schemaVersion: Int, payload: UnsafeRawBufferPointer) throws -> LedgerEvent {
        guard schemaVersion <= Self.schemaVersion(of: type) else { throw EventDecodingError.newerSchema(type: type) }
        let bytes = payload.assumingMemoryBound(to: UInt8.self)
        if let event = Self.directlyRead(type: type, schemaVersion: schemaVersion, data: bytes) { return event }
        return try Self.decodedThroughDecodable(type: type, schemaVersion: schemaVersion, data: bytes)
    }

    /// Decodes a stored payload through its `Decodable` shape: the judge of every payload the direct
    /// readers give up on (``directlyRead(type:schemaVersion:data:)``).
    static func decodedThroughDecodable(type: String, schemaVersion: Int, data: some Collection<UInt8>) throws -> LedgerEvent {
        // Parsed once into a value and decoded from it: `JSONDecoder`'s fixed cost per call was most of
        // what decoding a small payload cost. Fractions stay decimals.
        let value = try JSONTextParser.parse(data, fractions: .decimal)
        let decoder = JSONValueDecoder()
        func decode<T: Decodable>(_: T.Type) throws -> T { try decoder.decode(T.self, from: value) }
        switch type {
        case "contact_created": return .contactCreated(try decode(ContactCreated.self))
        case "contact_name_changed": return .contactNameChanged(name: try decode(NamePayload.self).name)
        case "contact_language_changed": return .contactLanguageChanged(language: try decode(LanguagePayload.self).language)
        case "contact_status_changed" where schemaVersion < 2:
            return .contactStatusChanged(status: try Self.upcastStatusV1(decode(StatusCodePayload.self).status))
        case "contact_status_changed": return .contactStatusChanged(status: try decode(StatusPayload.self).status)
        case "contact_field_changed": return .contactFieldChanged(try decode(ContactFieldChanged.self))
        case "contact_urns_changed": return .contactURNsChanged(urns: try decode(URNsPayload.self).urns)
        case "contact_groups_changed": return .contactGroupsChanged(try decode(ContactGroupsChanged.self))
        case "msg_received": return .messageReceived(try decode(MessagePayload.self).msg)
        case "msg_created": return .messageCreated(try decode(MessagePayload.self).msg)
        case "contact_deleted": return .contactDeleted(try decode(ContactDeleted.self))
        case "workspace_configured": return .workspaceConfigured(try decode(WorkspaceConfigured.self))
        case "field_created": return .fieldCreated(try decode(FieldCreated.self))
        case "field_updated": return .fieldUpdated(try decode(FieldUpdated.self))
        case "field_deleted": return .fieldDeleted(key: try decode(KeyPayload.self).key)
        case "group_created": return .groupCreated(try decode(GroupCreated.self))
        case "group_updated": return .groupUpdated(try decode(GroupUpdated.self))
        case "group_deleted": return .groupDeleted(uuid: try decode(GroupUUIDPayload.self).uuid)
        case "group_evaluated": return .groupEvaluated(uuid: try decode(GroupUUIDPayload.self).uuid)
        case "locations_set": return .locationsSet(hierarchy: try decode(LocationsPayload.self).hierarchy)
        default: throw EventDecodingError.unknownType(type)
        }
    }
}

/// Why a stored event could not be decoded.
public enum EventDecodingError: Error, Hashable, Sendable {
    case unknownType(String)
    case newerSchema(type: String)
    case malformedHeader
}
