// ContactLedger — contact domain.
import Foundation
import JSONText

/// Reads the contact events a replay meets most straight from their payload's text.
///
/// Parsing a payload into a tree (a dictionary per object, a string per key) and then decoding it
/// through `Decodable` (a metadata lookup and a keyed container per value) cost most of a replayed
/// event. These readers walk the text with a ``JSONTextReader``, compare keys as bytes and make only
/// the values they keep. They give up (nil) on anything they do not expect (another member, a member
/// twice, an escaped key, another type of value), and the payload then goes through `Decodable`, which
/// accepts or refuses it. So they never accept what `Decodable` refuses, and tests hold their results
/// equal.
extension LedgerEvent {
    /// The event of `type` read from the payload `data`, or nil when the type is not one read here or
    /// the payload is not shaped as expected (or not JSON).
    static func directlyRead(type: String, schemaVersion: Int, data: some Collection<UInt8>) -> LedgerEvent? {
        data.withContiguousStorageIfAvailable { buffer -> LedgerEvent? in
            var reader = PayloadReader(reader: JSONTextReader(bytes: buffer, fractions: .decimal))
            do {
                guard let event = try reader.event(type: type, schemaVersion: schemaVersion) else { return nil }
                try reader.reader.finish()
                return event
            } catch {
                return nil
            }
        } ?? nil
    }
}

/// Reads the members of the payload shapes ``LedgerEvent/directlyRead(type:schemaVersion:data:)`` knows.
/// Each read answers nil for a shape it does not expect, and throws for text that is not JSON.
private struct PayloadReader {
    var reader: JSONTextReader

    mutating func event(type: String, schemaVersion: Int) throws(JSONTextError) -> LedgerEvent? {
        switch type {
        case "contact_created":
            return try self.contactCreated().map(LedgerEvent.contactCreated)
        case "contact_name_changed":
            return try self.onlyString(.name).map(LedgerEvent.contactNameChanged(name:))
        case "contact_language_changed":
            return try self.onlyString(.language).map(LedgerEvent.contactLanguageChanged(language:))
        case "contact_status_changed" where schemaVersion >= 2:
            return try self.onlyString(.status).flatMap(ContactStatus.init(rawValue:)).map(LedgerEvent.contactStatusChanged(status:))
        case "contact_urns_changed":
            guard try self.enterObject(), try self.member() == .urns, let urns = try self.strings(), try self.member() == nil else { return nil }
            return .contactURNsChanged(urns: urns)
        case "contact_field_changed":
            return try self.fieldChanged().map(LedgerEvent.contactFieldChanged)
        default:
            return nil
        }
    }

    /// A member named as ``member()`` tells it: one of the keys the shapes here use.
    enum Key: Int {
        case uuid, id, name, language, status, urns, field, value, key, text, number, datetime, state, district, ward
        /// Any other key, or one with an escape.
        case other

        static let all: [(StaticString, Key)] = [
            ("uuid", .uuid), ("id", .id), ("name", .name), ("language", .language), ("status", .status), ("urns", .urns),
            ("field", .field), ("value", .value), ("key", .key), ("text", .text), ("number", .number),
            ("datetime", .datetime), ("state", .state), ("district", .district), ("ward", .ward),
        ]

        init(_ bytes: UnsafeBufferPointer<UInt8>?) {
            guard let bytes else {
                self = .other
                return
            }
            for (text, key) in Self.all where bytes.equals(text) {
                self = key
                return
            }
            self = .other
        }
    }

    /// Reads an object's opening brace; false for any other value.
    mutating func enterObject() throws(JSONTextError) -> Bool {
        guard self.reader.current == UInt8(ascii: "{") else { return false }
        try self.reader.enterObject()
        return true
    }

    /// The next member's key, read with its colon; nil once past the object's end.
    mutating func member() throws(JSONTextError) -> Key? {
        guard try self.reader.nextMember() else { return nil }
        return Key(try self.reader.readPlainKey())
    }

    /// `{"<key>": "<string>"}` and nothing else.
    mutating func onlyString(_ key: Key) throws(JSONTextError) -> String? {
        guard try self.enterObject(), try self.member() == key, let text = try self.reader.readString(), try self.member() == nil else {
            return nil
        }
        return text
    }

    /// A string or null: `.some(nil)` for null, nil for any other value.
    mutating func optionalString() throws(JSONTextError) -> String?? {
        if try self.reader.readNull() { return .some(nil) }
        return try self.reader.readString().map { .some($0) }
    }

    /// Reads a string or null into `target`; false (the shape is not expected) for any other value.
    mutating func optionalString(into target: inout String?) throws(JSONTextError) -> Bool {
        guard let read = try self.optionalString() else { return false }
        target = read
        return true
    }

    /// An array of strings, or nil.
    mutating func strings() throws(JSONTextError) -> [String]? {
        guard self.reader.current == UInt8(ascii: "[") else { return nil }
        try self.reader.enterArray()
        var strings: [String] = []
        while try self.reader.nextElement() {
            guard let text = try self.reader.readString() else { return nil }
            strings.append(text)
        }
        return strings
    }

    /// The keys met so far in one object: a key met twice makes the reader give up (the tree, and so
    /// `Decodable`, keeps the last).
    struct SeenKeys {
        private var bits: UInt32 = 0

        /// Records `key`; false when it was met before.
        mutating func first(_ key: Key) -> Bool {
            let bit = UInt32(1) << UInt32(key.rawValue)
            defer { self.bits |= bit }
            return self.bits & bit == 0
        }
    }

    mutating func contactCreated() throws(JSONTextError) -> ContactCreated? {
        guard try self.enterObject() else { return nil }
        var uuid: ContactUUID?
        var id: Int64?
        var name: String?
        var language: String?
        var status: ContactStatus?
        var urns: [String]?
        var seen = SeenKeys()
        while let key = try self.member() {
            guard seen.first(key) else { return nil }
            switch key {
            case .uuid:
                guard let text = try self.reader.readString(), let read = ContactUUID(text) else { return nil }
                uuid = read
            case .id:
                guard case .integer(let read) = try self.reader.readValue() else { return nil }
                id = read
            case .name:
                guard try self.optionalString(into: &name) else { return nil }
            case .language:
                guard try self.optionalString(into: &language) else { return nil }
            case .status:
                guard let text = try self.reader.readString(), let read = ContactStatus(rawValue: text) else { return nil }
                status = read
            case .urns:
                guard let read = try self.strings() else { return nil }
                urns = read
            default:
                return nil
            }
        }
        guard let uuid, let id, let status, let urns else { return nil }
        return ContactCreated(uuid: uuid, id: id, name: name, language: language, status: status, urns: urns)
    }

    mutating func fieldChanged() throws(JSONTextError) -> ContactFieldChanged? {
        guard try self.enterObject() else { return nil }
        var field: ContactFieldChanged.Field?
        var value: FieldValue?
        var seen = SeenKeys()
        while let key = try self.member() {
            guard seen.first(key) else { return nil }
            switch key {
            case .field:
                guard try self.enterObject() else { return nil }
                var fieldKey: String?
                var fieldName: String?
                var fieldSeen = SeenKeys()
                while let member = try self.member() {
                    guard fieldSeen.first(member) else { return nil }
                    guard let read = try self.reader.readString() else { return nil }
                    switch member {
                    case .key: fieldKey = read
                    case .name: fieldName = read
                    default: return nil
                    }
                }
                guard let fieldKey, let fieldName else { return nil }
                field = ContactFieldChanged.Field(key: fieldKey, name: fieldName)
            case .value:
                if try self.reader.readNull() { continue }
                guard let read = try self.fieldValue() else { return nil }
                value = read
            default:
                return nil
            }
        }
        guard let field else { return nil }
        return ContactFieldChanged(field: field, value: value)
    }

    /// A stored field value, as `FieldValue.init(from:)` reads it; nil where that would throw or where
    /// the shape is unexpected.
    mutating func fieldValue() throws(JSONTextError) -> FieldValue? {
        guard try self.enterObject() else { return nil }
        var text: String?
        var number: Decimal?
        var datetime: Date?
        var state: String?
        var district: String?
        var ward: String?
        var seen = SeenKeys()
        while let key = try self.member() {
            guard seen.first(key) else { return nil }
            switch key {
            case .text:
                guard let read = try self.reader.readString() else { return nil }
                text = read
            case .number:
                switch try self.reader.readValue() {
                case .null: number = nil
                case .integer(let integer): number = Decimal(integer)
                case .decimal(let decimal): number = decimal
                default: return nil
                }
            case .datetime:
                guard let read = try self.optionalString() else { return nil }
                if let read {
                    switch FieldDateTimeFormat.stored(from: read) {
                    case .instant(let date): datetime = date
                    case .dropped: datetime = nil
                    case nil: return nil
                    }
                }
            case .state:
                guard try self.optionalString(into: &state) else { return nil }
            case .district:
                guard try self.optionalString(into: &district) else { return nil }
            case .ward:
                guard try self.optionalString(into: &ward) else { return nil }
            default:
                return nil
            }
        }
        guard let text else { return nil }
        return FieldValue(text: text, number: number, datetime: datetime, state: state, district: district, ward: ward)
    }
}
