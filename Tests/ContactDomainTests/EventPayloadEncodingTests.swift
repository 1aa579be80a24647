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
        #expect(try decoded.encodedData() == event.encodedData())
    }
}
