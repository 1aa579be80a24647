// ContactLedger — contact domain.
import Foundation
import JSONText

extension LedgerEvent {
    /// The payload JSON of the contact events an import or a create writes many of, written directly;
    /// nil for the other types, which go through `JSONEncoder`.
    ///
    /// The bytes equal what `JSONEncoder` writes for the same payload with `.sortedKeys` and
    /// `.withoutEscapingSlashes` (a test holds them equal for every type written here), so a stored log
    /// reads the same whichever wrote it; the `Codable` conformances stay the definition.
    func directlyEncodedData(timeZone: TimeZone) -> [UInt8]? {
        var output = JSONTextOutput(capacity: 192)
        output.punctuation(UInt8(ascii: "{"))
        switch self {
        case .contactCreated(let created):
            output.key("id", first: true)
            output.integer(created.id)
            output.key("language")
            Self.optional(created.language, to: &output)
            output.key("name")
            Self.optional(created.name, to: &output)
            output.key("status")
            output.string(created.status.rawValue)
            output.key("urns")
            Self.strings(created.urns, to: &output)
            output.key("uuid")
            output.string(created.uuid.rawValue)
        case .contactNameChanged(let name):
            output.key("name", first: true)
            output.string(name)
        case .contactLanguageChanged(let language):
            output.key("language", first: true)
            output.string(language)
        case .contactStatusChanged(let status):
            output.key("status", first: true)
            output.string(status.rawValue)
        case .contactURNsChanged(let urns):
            output.key("urns", first: true)
            Self.strings(urns, to: &output)
        case .contactFieldChanged(let change):
            output.key("field", first: true)
            output.punctuation(UInt8(ascii: "{"))
            output.key("key", first: true)
            output.string(change.field.key)
            output.key("name")
            output.string(change.field.name)
            output.punctuation(UInt8(ascii: "}"))
            output.key("value")
            if let value = change.value { Self.fieldValue(value, timeZone: timeZone, to: &output) } else { output.null() }
        case .contactGroupsChanged(let change):
            var first = true
            if let added = change.groupsAdded {
                output.key("groups_added", first: first)
                Self.groups(added, to: &output)
                first = false
            }
            if let removed = change.groupsRemoved {
                output.key("groups_removed", first: first)
                Self.groups(removed, to: &output)
            }
        default:
            return nil
        }
        output.punctuation(UInt8(ascii: "}"))
        return output.bytes
    }

    private static func optional(_ text: String?, to output: inout JSONTextOutput) {
        if let text { output.string(text) } else { output.null() }
    }

    private static func strings(_ texts: [String], to output: inout JSONTextOutput) {
        output.punctuation(UInt8(ascii: "["))
        for (index, text) in texts.enumerated() {
            if index > 0 { output.punctuation(UInt8(ascii: ",")) }
            output.string(text)
        }
        output.punctuation(UInt8(ascii: "]"))
    }

    private static func groups(_ groups: [GroupReference], to output: inout JSONTextOutput) {
        output.punctuation(UInt8(ascii: "["))
        for (index, group) in groups.enumerated() {
            if index > 0 { output.punctuation(UInt8(ascii: ",")) }
            output.punctuation(UInt8(ascii: "{"))
            output.key("name", first: true)
            output.string(group.name)
            output.key("uuid")
            output.string(group.uuid.rawValue)
            output.punctuation(UInt8(ascii: "}"))
        }
        output.punctuation(UInt8(ascii: "]"))
    }

    /// A field value's readings in key order, absent ones left out (as ``FieldValue/encode(to:)``).
    private static func fieldValue(_ value: FieldValue, timeZone: TimeZone, to output: inout JSONTextOutput) {
        output.punctuation(UInt8(ascii: "{"))
        var first = true
        func member(_ key: StaticString, _ text: String?) {
            guard let text else { return }
            output.key(key, first: first)
            output.string(text)
            first = false
        }
        member("datetime", value.formattedDatetime(in: timeZone))
        member("district", value.district)
        if let number = value.number {
            output.key("number", first: first)
            output.raw(number.description.utf8)
            first = false
        }
        member("state", value.state)
        member("text", value.text)
        member("ward", value.ward)
        output.punctuation(UInt8(ascii: "}"))
    }
}
