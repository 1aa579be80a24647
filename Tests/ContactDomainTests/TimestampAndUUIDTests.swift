// ContactLedger — contact domain tests.
import ContactDomain
import Foundation
import TestSupport
import Testing

/// RFC 3339 text of timestamps and the random UUIDs the write path mints.
struct TimestampAndUUIDTests {
    @Test(arguments: [
        (Int64(0), "1970-01-01T00:00:00.000000Z"),
        (Int64(1), "1970-01-01T00:00:00.000001Z"),
        (Int64(-1), "1969-12-31T23:59:59.999999Z"),
        (Int64(1_795_000_000_123_456), "2026-11-18T11:06:40.123456Z"),
        (Int64(253_402_300_799_999_999), "9999-12-31T23:59:59.999999Z"),
        (Int64(-62_135_596_800_000_000), "0001-01-01T00:00:00.000000Z"),
    ])
    func formatsRFC3339(microseconds: Int64, text: String) {
        #expect(Timestamp(microseconds: microseconds).description == text)
    }

    @Test func yearsPastFourDigitsStillFormat() {
        // 10000-01-01T00:00:00Z: outside what four digits hold, written in full.
        #expect(Timestamp(microseconds: 253_402_300_800_000_000).description == "10000-01-01T00:00:00.000000Z")
    }

    @Test func descriptionParsesBackToTheSameInstant() {
        var generator = SeededGenerator(seed: 20261125)
        for _ in 0..<5_000 {
            let microseconds = Int64.random(in: -2_000_000_000_000_000...4_000_000_000_000_000, using: &generator)
            let timestamp = Timestamp(microseconds: microseconds)
            #expect(Timestamp(rfc3339: timestamp.description) == timestamp, "\(microseconds)")
        }
    }

    @Test func randomUUIDsAreVersion4AndDistinct() {
        var seen = Set<String>()
        for _ in 0..<10_000 {
            let text = UUID.random().lowercasedString
            let characters = Array(text)
            #expect(characters.count == 36)
            #expect(characters[14] == "4")
            #expect("89ab".contains(characters[19]))
            #expect(text == text.lowercased())
            seen.insert(text)
        }
        #expect(seen.count == 10_000)
    }

    /// The text is Foundation's form, lowercased, for any bytes.
    @Test func theLowercaseTextIsFoundationsFormLowercased() {
        for _ in 0..<2_000 {
            let uuid = UUID()
            #expect(uuid.lowercasedString == uuid.uuidString.lowercased())
            #expect(UUID(uuidString: uuid.lowercasedString) == uuid)
        }
        let edges = [UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), UUID(uuid: (255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255))]
        #expect(edges.map(\.lowercasedString) == ["00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"])
    }

    /// Contact and group UUID texts are read as Foundation reads them, for every text of the
    /// `8-4-4-4-12` form in any case, and stored lowercase.
    @Test func uuidTextsAreReadAsFoundationReadsThem() {
        for _ in 0..<2_000 {
            let uuid = UUID()
            let mixed = String(uuid.uuidString.map { Bool.random() ? Character($0.lowercased()) : $0 })
            for text in [uuid.uuidString, uuid.lowercasedString, mixed] {
                #expect(ContactUUID(text)?.rawValue == uuid.lowercasedString, "\(text)")
                #expect(GroupUUID(text)?.rawValue == uuid.lowercasedString, "\(text)")
            }
        }
    }

    /// A contact UUID hashes, compares and orders by its bits: as its text does, whether it was minted
    /// or read from any case of the text.
    @Test func contactUUIDsCompareAndOrderAsTheirTexts() {
        let minted = (0..<2_000).map { _ in ContactUUID.random() }
        let edges = ["00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", "7fffffff-ffff-ffff-8000-000000000000"]
        let all = minted + edges.compactMap { ContactUUID($0) }
        #expect(all.count == minted.count + edges.count)
        for uuid in all {
            let read = ContactUUID(uuid.rawValue.uppercased())
            #expect(read == uuid)
            #expect(read?.hashValue == uuid.hashValue)
        }
        #expect(all.sorted().map(\.rawValue) == all.map(\.rawValue).sorted())
        #expect(Set(all).count == Set(all.map(\.rawValue)).count)
        #expect(ContactUUID(edges[0]) != ContactUUID(edges[1]))
        // Texts differing in one digit, in each half of the bits.
        #expect(ContactUUID("00000000-0000-0000-0000-000000000001") != ContactUUID(edges[0]))
        #expect(ContactUUID("00000000-0000-0001-0000-000000000000") != ContactUUID(edges[0]))
        #expect(ContactUUID("00000000-0000-0001-0000-000000000000")! > ContactUUID("00000000-0000-0000-ffff-ffffffffffff")!)
    }

    /// An event's contact is the UUID its stream names after `contact/`, read as ``ContactUUID`` reads a
    /// text: in any case, stored lowercase; any other stream names no contact.
    @Test func aStreamNamesTheContactItsUUIDReads() {
        for _ in 0..<500 {
            let uuid = ContactUUID.random()
            let mixed = String(uuid.rawValue.map { Bool.random() ? Character($0.uppercased()) : $0 })
            for stream in [EventHeader.contactStream(uuid), "contact/" + mixed] {
                let named = Self.header(stream: stream).contactUUID
                #expect(named == uuid, "\(stream)")
                #expect(named?.rawValue == uuid.rawValue, "\(stream)")
            }
        }
        let uuid = ContactUUID.random().rawValue
        let inner = String(uuid.dropFirst().dropLast())
        let others: [String] = [
            "workspace/\(uuid)", "contacts/\(uuid)", "Contact/\(uuid)", "contact/", "contact", "", "contact/\(uuid)0",
            "contact/\(uuid.dropLast())", "contact/{\(inner)}", "contact//\(uuid.dropFirst())",
            "contact/\(uuid.replacingOccurrences(of: "-", with: "_"))", "contacté\(uuid.dropFirst())", "contact/\u{301}\(uuid.dropFirst())",
        ]
        for stream in others {
            #expect(Self.header(stream: stream).contactUUID == nil, "\(stream)")
        }
    }

    private static func header(stream: String) -> EventHeader {
        EventHeader(
            seq: 1, id: "", stream: stream, version: 1, type: "contact_name_changed", schemaVersion: 1, workspace: "w",
            createdOn: Timestamp(microseconds: 0), actor: nil, peer: nil, idempotencyKey: nil
        )
    }

    /// A text with one character changed is a UUID only when Foundation also reads it, as the same UUID.
    @Test func aChangedUUIDTextIsAcceptedOnlyWhereFoundationAgrees() {
        let alphabet = Array("0123456789abcdefABCDEFgG-+ x{}é")
        var accepted = 0
        for _ in 0..<5_000 {
            var characters = Array(UUID().uuidString)
            characters[Int.random(in: 0..<characters.count)] = alphabet.randomElement() ?? "-"
            let text = String(characters)
            if let read = ContactUUID(text) {
                accepted += 1
                #expect(UUID(uuidString: text).map { $0.lowercasedString } == read.rawValue, "\(text)")
            }
        }
        #expect(accepted > 0, "some changes keep a hexadecimal digit where one was")
        for text in ["", "123e4567e89b12d3a456426614174000", "{123e4567-e89b-12d3-a456-426614174000}", "123e4567-e89b-12d3-a456-4266141740001"] {
            #expect(ContactUUID(text) == nil, "\(text)")
        }
    }

    /// Texts Foundation's `sscanf` misreads as another UUID (a space, a sign or `0x` in a group) are
    /// not UUIDs: the ledger refuses them rather than store an id the caller never sent.
    @Test(arguments: [
        " 23e4567-e89b-12d3-a456-426614174000", "+23e4567-e89b-12d3-a456-426614174000", "-23e4567-e89b-12d3-a456-426614174000",
        "0x3e4567-e89b-12d3-a456-426614174000", "1 3e4567-e89b-12d3-a456-426614174000",
    ])
    func misreadTextsAreRefused(_ text: String) {
        #expect(ContactUUID(text) == nil)
        #expect(GroupUUID(text) == nil)
    }
}
