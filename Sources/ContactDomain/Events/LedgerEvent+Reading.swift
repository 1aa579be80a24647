// ContactLedger — contact domain.
import Foundation
import JSONText

/// Reads the contact events a replay meets most straight from their parsed payload.
///
/// `Decodable` through a generic decoder costs a metadata lookup and a keyed container per value, more
/// than parsing the text; a replay of millions of events spent most of its decoding there. These
/// readers take the members they need from the parsed object and give up (nil) on anything they do not
/// expect, in which case the payload goes through `Decodable`, which accepts or refuses it. So they
/// never accept what `Decodable` refuses, and tests hold their results equal.
extension LedgerEvent {
    /// The event of `type` read from `payload`, or nil when the type is not one read here or the payload
    /// is not shaped as expected.
    static func directlyDecoded(type: String, schemaVersion: Int, payload: JSONValue) -> LedgerEvent? {
        guard case .object(let members) = payload else { return nil }
        switch type {
        case "contact_created":
            guard case .string(let uuidText)? = members["uuid"], let uuid = ContactUUID(uuidText),
                case .integer(let id)? = members["id"],
                case .string(let statusText)? = members["status"], let status = ContactStatus(rawValue: statusText),
                let urns = Self.strings(members["urns"]),
                let name = JSONValue.optionalString(members["name"]), let language = JSONValue.optionalString(members["language"])
            else { return nil }
            return .contactCreated(ContactCreated(uuid: uuid, id: id, name: name, language: language, status: status, urns: urns))
        case "contact_name_changed":
            guard case .string(let name)? = members["name"] else { return nil }
            return .contactNameChanged(name: name)
        case "contact_language_changed":
            guard case .string(let language)? = members["language"] else { return nil }
            return .contactLanguageChanged(language: language)
        case "contact_status_changed" where schemaVersion >= 2:
            guard case .string(let text)? = members["status"], let status = ContactStatus(rawValue: text) else { return nil }
            return .contactStatusChanged(status: status)
        case "contact_urns_changed":
            guard let urns = Self.strings(members["urns"]) else { return nil }
            return .contactURNsChanged(urns: urns)
        case "contact_field_changed":
            guard case .object(let field)? = members["field"], case .string(let key)? = field["key"], case .string(let name)? = field["name"]
            else { return nil }
            var value: FieldValue?
            switch members["value"] {
            case nil, .null?: value = nil
            case .object(let parts)?:
                guard let read = FieldValue(parts: parts) else { return nil }
                value = read
            default: return nil
            }
            return .contactFieldChanged(ContactFieldChanged(field: .init(key: key, name: name), value: value))
        default:
            return nil
        }
    }

    /// An array of strings, or nil.
    private static func strings(_ value: JSONValue?) -> [String]? {
        guard case .array(let items)? = value else { return nil }
        var strings: [String] = []
        strings.reserveCapacity(items.count)
        for item in items {
            guard case .string(let text) = item else { return nil }
            strings.append(text)
        }
        return strings
    }
}

extension FieldValue {
    /// A stored value read from its parsed members, as `init(from:)` reads it; nil where that would
    /// throw or where the shape is unexpected.
    init?(parts: [String: JSONValue]) {
        guard case .string(let text)? = parts["text"] else { return nil }
        var number: Decimal?
        switch parts["number"] {
        case nil, .null?: number = nil
        case .integer(let integer)?: number = Decimal(integer)
        case .decimal(let decimal)?: number = decimal
        default: return nil
        }
        guard let raw = JSONValue.optionalString(parts["datetime"]), let state = JSONValue.optionalString(parts["state"]),
            let district = JSONValue.optionalString(parts["district"]), let ward = JSONValue.optionalString(parts["ward"])
        else { return nil }
        var datetime: Date?
        if let raw {
            guard let date = FieldDateTimeFormat.date(from: raw) else { return nil }
            datetime = date
        }
        self.init(text: text, number: number, datetime: datetime, state: state, district: district, ward: ward)
    }
}
