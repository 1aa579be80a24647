// ContactLedger — contact domain tests.
import ContactDomain
import Foundation
import Testing

/// The contact events' payloads are written directly for speed; they must stay the bytes their
/// `Codable` conformances give through `JSONEncoder`, and decode back to the same events.
struct EventPayloadEncodingTests {
    static let contact = ContactUUID("5d0f1c8e-33a4-4b6e-8f1c-0c7e4e0a9b21") ?? ContactUUID.random()
    static let group = GroupReference(uuid: GroupUUID("0b8e6f3a-1f0e-4c55-9a53-2d1f6a1b7c11") ?? GroupUUID.random(), name: "Ïnfo \"desk\" / 2")
    static let odd = "a/b \"q\" \\ é 日本 😀\n\r\t\u{8}\u{C}\u{1}\u{7F}"

    static let events: [LedgerEvent] = [
        .contactCreated(ContactCreated(uuid: contact, id: 1, name: "Ann", language: "eng", status: .active, urns: ["tel:+250788123456", "whatsapp:250788123456"])),
        .contactCreated(ContactCreated(uuid: contact, id: 9_223_372_036_854_775_807, name: nil, language: nil, status: .blocked, urns: [])),
        .contactCreated(ContactCreated(uuid: contact, id: -3, name: odd, language: "fra", status: .stopped, urns: ["ext:\(odd)"])),
        .contactNameChanged(name: odd),
        .contactLanguageChanged(language: "kin"),
        .contactStatusChanged(status: .archived),
        .contactURNsChanged(urns: []),
        .contactURNsChanged(urns: ["tel:+1", "mailto:a@b.c"]),
        .contactGroupsChanged(ContactGroupsChanged(groupsAdded: [group], groupsRemoved: nil)),
        .contactGroupsChanged(ContactGroupsChanged(groupsAdded: nil, groupsRemoved: [group, group])),
        .contactGroupsChanged(ContactGroupsChanged(groupsAdded: [group], groupsRemoved: [group])),
        .contactGroupsChanged(ContactGroupsChanged(groupsAdded: nil, groupsRemoved: nil)),
        .contactFieldChanged(ContactFieldChanged(field: .init(key: "age", name: "Âge"), value: nil)),
        .contactFieldChanged(ContactFieldChanged(field: .init(key: "t", name: odd), value: FieldValue(text: odd))),
        .contactFieldChanged(ContactFieldChanged(field: .init(key: "n", name: "N"), value: FieldValue(text: "1.50", number: Decimal(string: "1.50")))),
        .contactFieldChanged(ContactFieldChanged(field: .init(key: "n", name: "N"), value: FieldValue(text: "-0.001", number: Decimal(string: "-0.001")))),
        .contactFieldChanged(ContactFieldChanged(field: .init(key: "n", name: "N"), value: FieldValue(text: "big", number: Decimal(string: "123456789012345678901234567890.12345")))),
        .contactFieldChanged(ContactFieldChanged(field: .init(key: "n", name: "N"), value: FieldValue(text: "0", number: 0))),
        .contactFieldChanged(
            ContactFieldChanged(
                field: .init(key: "when", name: "When"),
                value: FieldValue(text: "2020-06-26 10:00", number: 2020, datetime: Date(timeIntervalSince1970: 1_593_165_600.123456))
            )
        ),
        .contactFieldChanged(
            ContactFieldChanged(
                field: .init(key: "where", name: "Where"),
                value: FieldValue(text: "Kigali", state: "Rwanda > Kigali", district: "Rwanda > Kigali > Gasabo", ward: "Rwanda > Kigali > Gasabo > Remera")
            )
        ),
    ]

    static let timeZones: [TimeZone] = [.gmt, TimeZone(identifier: "Africa/Kigali") ?? .gmt, TimeZone(identifier: "America/St_Johns") ?? .gmt]

    @Test(arguments: events)
    func writesWhatJSONEncoderWrites(_ event: LedgerEvent) throws {
        for timeZone in Self.timeZones {
            let direct = try event.encodedData(timeZone: timeZone)
            let reference = try event.encodedDataThroughCodable(timeZone: timeZone)
            #expect(String(decoding: direct, as: UTF8.self) == String(decoding: reference, as: UTF8.self))
        }
        let decoded = try LedgerEvent.decode(type: event.type, schemaVersion: event.schemaVersion, data: try event.encodedData())
        #expect(decoded == event)
        #expect(try decoded.encodedData() == event.encodedData())
    }

    /// The contact events are read straight from the parsed payload, with `Decodable` as the judge of
    /// anything unexpected: what it refuses stays refused, what it accepts reads the same.
    @Test func payloadsAreAcceptedAndRefusedAsDecodableDoes() throws {
        let uuid = Self.contact.rawValue
        let refused: [(String, String)] = [
            ("contact_created", #"{"uuid":"\#(uuid)","id":"1","status":"active","urns":[]}"#),
            ("contact_created", #"{"uuid":"not-a-uuid","id":1,"status":"active","urns":[]}"#),
            ("contact_created", #"{"uuid":"\#(uuid)","id":1,"status":"gone","urns":[]}"#),
            ("contact_created", #"{"uuid":"\#(uuid)","id":1,"status":"active","urns":[1]}"#),
            ("contact_created", #"{"uuid":"\#(uuid)","id":1,"status":"active","urns":[],"name":5}"#),
            ("contact_created", #"{"uuid":"\#(uuid)","id":1.5,"status":"active","urns":[]}"#),
            ("contact_name_changed", #"{"name":null}"#),
            ("contact_status_changed", #"{"status":"A"}"#),
            ("contact_urns_changed", #"{"urns":"tel:+1"}"#),
            ("contact_field_changed", #"{"field":{"key":"a"},"value":null}"#),
            ("contact_field_changed", #"{"field":{"key":"a","name":"A"},"value":{"text":1}}"#),
            ("contact_field_changed", #"{"field":{"key":"a","name":"A"},"value":{"text":"x","number":"x"}}"#),
            ("contact_field_changed", #"{"field":{"key":"a","name":"A"},"value":{"text":"x","datetime":"yesterday"}}"#),
            ("contact_field_changed", #"{"field":{"key":"a","name":"A"},"value":{"text":"x","ward":7}}"#),
            ("contact_field_changed", #"{"field":{"key":"a","name":"A"},"value":[]}"#),
        ]
        for (type, payload) in refused {
            #expect(throws: (any Error).self, "\(type) \(payload)") {
                try LedgerEvent.decode(type: type, schemaVersion: LedgerEvent.schemaVersion(of: type), data: Array(payload.utf8))
            }
        }
        let accepted: [(String, String, LedgerEvent)] = [
            ("contact_created", #"{"uuid":"\#(uuid)","id":7,"status":"active","urns":["ext:a"],"extra":{"x":[1]}}"#,
             .contactCreated(ContactCreated(uuid: Self.contact, id: 7, name: nil, language: nil, status: .active, urns: ["ext:a"]))),
            ("contact_created", #"{"uuid":"\#(uuid)","id":7,"status":"stopped","urns":[],"name":null,"language":"eng"}"#,
             .contactCreated(ContactCreated(uuid: Self.contact, id: 7, name: nil, language: "eng", status: .stopped, urns: []))),
            ("contact_field_changed", #"{"field":{"key":"a","name":"A"}}"#,
             .contactFieldChanged(ContactFieldChanged(field: .init(key: "a", name: "A"), value: nil))),
            ("contact_field_changed", #"{"field":{"key":"a","name":"A"},"value":{"text":"0.1","number":0.1,"state":null}}"#,
             .contactFieldChanged(ContactFieldChanged(field: .init(key: "a", name: "A"), value: FieldValue(text: "0.1", number: Decimal(string: "0.1"))))),
            ("contact_field_changed", #"{"field":{"key":"a","name":"A"},"value":{"text":"12","number":12}}"#,
             .contactFieldChanged(ContactFieldChanged(field: .init(key: "a", name: "A"), value: FieldValue(text: "12", number: 12)))),
        ]
        for (type, payload, expected) in accepted {
            #expect(try LedgerEvent.decode(type: type, schemaVersion: LedgerEvent.schemaVersion(of: type), data: Array(payload.utf8)) == expected, "\(type) \(payload)")
        }
        // Version 1 of the status change is upcast by the Decodable path.
        #expect(try LedgerEvent.decode(type: "contact_status_changed", schemaVersion: 1, data: Array(#"{"status":"B"}"#.utf8)) == .contactStatusChanged(status: .blocked))
    }
}
