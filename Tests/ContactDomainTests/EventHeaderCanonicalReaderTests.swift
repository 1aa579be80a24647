// ContactLedger — contact domain tests.
@testable import ContactDomain
import Foundation
import TestSupport
import Testing

/// The replay path reads headers straight from their bytes when they are laid out as `encoded()`
/// writes them; it must give what the generic decode gives (less the members replay drops), or nil.
struct EventHeaderCanonicalReaderTests {
    /// What the reader must give for `bytes`: the generic decode with `id`, the idempotency key and the
    /// peer's gid and pid blanked and the record's `seq`; nil when the generic decode refuses them.
    static func expected(_ bytes: [UInt8], seq: UInt64) -> EventHeader? {
        guard var header = try? EventHeader.decode(bytes) else { return nil }
        header.seq = seq
        header.id = ""
        header.idempotencyKey = nil
        header.peer = header.peer.map { Peer(uid: $0.uid, gid: 0, pid: 0) }
        return header
    }

    /// The reader gives nil or exactly the expected header, never another one.
    static func expectNilOrGeneric(_ bytes: [UInt8], seq: UInt64 = 7, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let read = EventHeader.readCanonical(bytes, seq: seq) else { return }
        #expect(read == expected(bytes, seq: seq), "\(String(decoding: bytes, as: UTF8.self))", sourceLocation: sourceLocation)
    }

    static func header(
        seq: UInt64 = 12, id: String = "0b8e6f3a-1f0e-4c55-9a53-2d1f6a1b7c11",
        stream: String = "contact/5d0f1c8e-33a4-4b6e-8f1c-0c7e4e0a9b21", version: UInt64 = 3, type: String = "contact_updated",
        schemaVersion: Int = 1, workspace: String = "default", createdOn: Timestamp = Timestamp(microseconds: 1_764_547_200_123_456),
        actor: String? = nil, peer: Peer? = nil, idempotencyKey: String? = nil
    ) -> EventHeader {
        EventHeader(
            seq: seq, id: id, stream: stream, version: version, type: type, schemaVersion: schemaVersion, workspace: workspace,
            createdOn: createdOn, actor: actor, peer: peer, idempotencyKey: idempotencyKey
        )
    }

    static func at(_ text: String) -> Timestamp {
        guard let timestamp = Timestamp(rfc3339: text) else { fatalError("test timestamp \(text)") }
        return timestamp
    }

    /// Headers the reader takes.
    static let readable: [EventHeader] = [
        header(),
        header(actor: "ops@example.org", peer: Peer(uid: 1000, gid: 1000, pid: 31_337), idempotencyKey: "retry-1"),
        header(actor: String(repeating: "a", count: 256)),
        header(actor: "", idempotencyKey: ""),
        header(actor: "Zoë 日本 😀 ops/bob"),
        header(peer: Peer(uid: UInt32.max, gid: UInt32.max, pid: Int32.max)),
        header(peer: Peer(uid: 0, gid: 0, pid: 0)),
        header(stream: "workspace/ngo.main-1", type: "field_created", workspace: "ngo.main-1"),
        header(stream: "workspace/café-ζ", workspace: "café-ζ 😀"),
        header(seq: UInt64.max, id: "", stream: "", version: UInt64.max, type: "", schemaVersion: Int.max, workspace: ""),
        header(seq: 0, version: 0, schemaVersion: 0),
        header(createdOn: Timestamp(microseconds: 0)),
        header(createdOn: Timestamp(microseconds: -1)),
        header(createdOn: at("2026-11-25T09:30:00.000000Z")),
        header(createdOn: at("2026-11-25T09:30:00.999000Z")),
        header(createdOn: at("2026-11-25T09:30:00.999999Z")),
        header(createdOn: at("2024-02-29T23:59:59.999999Z")),
        header(createdOn: at("2000-02-29T00:00:00.000001Z")),
        header(createdOn: at("0999-07-04T12:00:00.500000Z")),
        header(createdOn: at("0001-01-01T00:00:00.000000Z")),
        header(createdOn: at("9999-12-31T23:59:59.999999Z")),
    ]

    /// Headers the reader leaves to the generic path: escapes, non-ASCII in a skipped string, signs,
    /// and a year `description` writes past four digits.
    static let unreadable: [EventHeader] = [
        header(actor: "ops/\"bob\""),
        header(actor: "back\\slash"),
        header(actor: "line\nbreak"),
        header(actor: "bell\u{7}"),
        header(stream: "contact/\"x\""),
        header(type: "a\tb"),
        header(workspace: "w\\1"),
        header(id: "id\"1"),
        header(id: "ïd"),
        header(idempotencyKey: "retry\\1"),
        header(idempotencyKey: "clé"),
        header(peer: Peer(uid: 1, gid: 1, pid: -1)),
        header(schemaVersion: -1),
        header(createdOn: Timestamp(microseconds: 253_402_300_800_000_000)),
    ]

    @Test(arguments: readable)
    func readsWhatTheGenericDecodeReads(_ header: EventHeader) throws {
        let bytes = header.encoded()
        let read = try #require(EventHeader.readCanonical(bytes, seq: 99))
        #expect(read == Self.expected(bytes, seq: 99))
        #expect(read.actor == header.actor && read.stream == header.stream && read.createdOn == header.createdOn)
        #expect(read.peer?.uid == header.peer?.uid && read.id.isEmpty && read.idempotencyKey == nil && read.seq == 99)
    }

    /// Reading with a previous header (whose strings are reused where the bytes are the same) gives
    /// what reading alone gives, whatever that header is; a reused string is the previous one's.
    @Test func aPreviousHeaderChangesNothingButWhereStringsLive() throws {
        let previous = Self.readable + [
            Self.header(stream: "contact/5d0f1c8e-33a4-4b6e-8f1c-0c7e4e0a9b22"), Self.header(stream: "contact/5d0f1c8e"),
            Self.header(type: "contact_name_changed"), Self.header(workspace: "defaulT", actor: "ops@example.or"),
        ]
        for header in Self.readable {
            let bytes = header.encoded()
            let alone = try #require(EventHeader.readCanonical(bytes, seq: 5))
            for before in previous {
                let read = bytes.withUnsafeBytes { EventHeader.readCanonical($0, seq: 5, previous: before) }
                #expect(read == alone, "\(header) after \(before)")
            }
        }
        let first = Self.header(type: "contact_field_changed")
        let second = Self.header(version: 4, type: "contact_name_changed")
        let read = try #require(second.encoded().withUnsafeBytes { EventHeader.readCanonical($0, seq: 13, previous: first) })
        func storage(_ text: String) -> UnsafePointer<UInt8>? { text.utf8.withContiguousStorageIfAvailable { $0.baseAddress } ?? nil }
        #expect(storage(read.stream) == storage(first.stream))
        #expect(storage(read.type) == storage(try #require(LedgerEvent.typeNames.first { $0 == "contact_name_changed" })))
    }

    /// The log's stream index reads only a header's stream and version: the same as the whole header
    /// gives, readable by the fast path or not, and nothing from bytes that are no header.
    @Test(arguments: readable + unreadable)
    func streamAndVersionAreTheHeadersOwn(_ header: EventHeader) throws {
        let read = try #require(header.encoded().withUnsafeBytes { EventHeader.streamAndVersion(of: $0, seq: 3) })
        #expect(read.stream == Array(header.stream.utf8))
        #expect(read.version == header.version)
        var cut = header.encoded()
        cut.removeLast()
        #expect(cut.withUnsafeBytes { EventHeader.streamAndVersion(of: $0, seq: 3) } == nil)
    }

    /// A stream whose bytes are not UTF-8 names no stream, on either path.
    @Test func aStreamOfInvalidUTF8NamesNone() throws {
        var bytes = Self.header(stream: "contact/x").encoded()
        let at = try #require(bytes.firstRange(of: Array("contact/x".utf8))).upperBound - 1
        bytes[at] = 0xFF
        #expect(bytes.withUnsafeBytes { EventHeader.streamAndVersion(of: $0, seq: 3) } == nil)
    }

    @Test(arguments: unreadable)
    func leavesEscapesSignsAndLongYearsToTheGenericPath(_ header: EventHeader) {
        #expect(EventHeader.readCanonical(header.encoded(), seq: 1) == nil)
    }

    /// Every prefix, white space at every offset, trailing bytes, and every byte replaced by each of a
    /// set of troublesome ones.
    @Test(arguments: [readable[1], readable[4], readable[9]])
    func alteredBytesGiveNilOrTheGenericHeader(_ header: EventHeader) {
        let bytes = header.encoded()
        for length in 0..<bytes.count {
            #expect(EventHeader.readCanonical(Array(bytes[..<length]), seq: 7) == nil)
        }
        for offset in 0...bytes.count {
            for space in [UInt8(ascii: " "), 0x0A] {
                var spaced = bytes
                spaced.insert(space, at: offset)
                Self.expectNilOrGeneric(spaced)
            }
        }
        for tail in [" ", "\n", "x", "}", ",", "{}", "\u{0}"] {
            #expect(EventHeader.readCanonical(bytes + Array(tail.utf8), seq: 7) == nil)
        }
        let replacements: [UInt8] = Array("0 9-+.e\"\\,:{}n/".utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xFF]
        for offset in bytes.indices {
            for byte in replacements where byte != bytes[offset] {
                var changed = bytes
                changed[offset] = byte
                Self.expectNilOrGeneric(changed)
            }
        }
    }

    /// The canonical text of one header, with its parts given as JSON text.
    static func text(
        actor: String = "null", createdOn: String = "\"2026-11-25T09:30:00.123456Z\"", id: String = "\"e1\"",
        idempotencyKey: String? = nil, peer: String = #"{"gid":5,"pid":6,"uid":7}"#, schemaVersion: String = "1",
        seq: String = "12", stream: String = "\"contact/c1\"", type: String = "\"contact_created\"", version: String = "3",
        workspace: String = "\"default\""
    ) -> String {
        let key = idempotencyKey.map { #","idempotency_key":\#($0)"# } ?? ""
        return #"{"actor":\#(actor),"created_on":\#(createdOn),"id":\#(id)\#(key),"peer":\#(peer),"schema_version":\#(schemaVersion),"#
            + #""seq":\#(seq),"stream":\#(stream),"type":\#(type),"version":\#(version),"workspace":\#(workspace)}"#
    }

    @Test func theHandWrittenTextIsTheCanonicalOne() throws {
        let bytes = Array(Self.text().utf8)
        let decoded = try EventHeader.decode(bytes)
        #expect(decoded.encoded() == bytes)
        #expect(EventHeader.readCanonical(bytes, seq: 12) == Self.expected(bytes, seq: 12))
        let keyed = Array(Self.text(idempotencyKey: "\"k\"").utf8)
        #expect(try EventHeader.decode(keyed).encoded() == keyed)
        #expect(EventHeader.readCanonical(keyed, seq: 12) == Self.expected(keyed, seq: 12))
    }

    @Test(arguments: [
        // Numbers JSON or the generic decode would read differently, or not at all.
        text(version: "03"), text(version: "-3"), text(version: "+3"), text(version: "3.0"), text(version: "3e0"),
        text(version: "18446744073709551616"), text(version: "18446744073709551615"), text(version: "99999999999999999999999"),
        text(version: "\"3\""), text(version: ""), text(seq: "-0"), text(seq: "00"), text(seq: "1.5"),
        text(schemaVersion: "-1"), text(schemaVersion: "9223372036854775808"), text(schemaVersion: "9223372036854775807"),
        text(peer: #"{"gid":5,"pid":2147483648,"uid":7}"#), text(peer: #"{"gid":5,"pid":-6,"uid":7}"#),
        text(peer: #"{"gid":4294967296,"pid":6,"uid":7}"#), text(peer: #"{"gid":5,"pid":6,"uid":4294967296}"#),
        text(peer: #"{"gid":5,"pid":6,"uid":4294967295}"#), text(peer: #"{"uid":7,"pid":6,"gid":5}"#),
        text(peer: #"{"uid":7}"#), text(peer: "{}"), text(peer: "nul"), text(peer: "true"), text(peer: "[]"),
        // Strings.
        text(actor: "nul"), text(actor: "\"\""), text(actor: "7"), text(stream: #""contact\/c1""#), text(stream: #""contact\u002fc1""#),
        text(stream: "null"), text(id: "null"), text(id: "7"), text(id: #""a\"b""#), text(idempotencyKey: "null"),
        text(idempotencyKey: #""k\n""#), text(workspace: "\"d\u{1}\""), text(workspace: "\"\u{7F}\""),
        // Other forms of the same instant, and texts no calendar holds.
        text(createdOn: "\"2026-11-25T09:30:00.123Z\""), text(createdOn: "\"2026-11-25T09:30:00Z\""),
        text(createdOn: "\"2026-11-25T09:30:00.1234560Z\""), text(createdOn: "\"2026-11-25T09:30:00.123456+00:00\""),
        text(createdOn: "\"2026-11-25T10:30:00.123456+01:00\""), text(createdOn: "\"2026-11-25t09:30:00.123456Z\""),
        text(createdOn: "\"2026-11-25 09:30:00.123456Z\""), text(createdOn: "\"2026-11-25T09:30:00.123456z\""),
        text(createdOn: "\"2026-11-25\""), text(createdOn: "\"2026-02-29T09:30:00.123456Z\""),
        text(createdOn: "\"2026-02-31T09:30:00.123456Z\""), text(createdOn: "\"2026-04-31T09:30:00.123456Z\""),
        text(createdOn: "\"2026-11-25T23:59:60.000000Z\""), text(createdOn: "\"2026-11-25T24:00:00.000000Z\""),
        text(createdOn: "\"2026-13-01T09:30:00.123456Z\""), text(createdOn: "\"2026-00-01T09:30:00.123456Z\""),
        text(createdOn: "\"2026-11-00T09:30:00.123456Z\""), text(createdOn: "\"+026-11-25T09:30:00.123456Z\""),
        text(createdOn: "\"2026-11-25T09:30:0a.123456Z\""), text(createdOn: "null"), text(createdOn: "1764547200"),
        text(createdOn: "\"1900-02-29T00:00:00.000000Z\""), text(createdOn: "\"2100-02-29T00:00:00.000000Z\""),
        // Another order, a member twice, one missing, one more.
        #"{"created_on":"2026-11-25T09:30:00.123456Z","actor":null,"id":"e1","peer":null,"schema_version":1,"seq":12,"stream":"s","type":"t","version":3,"workspace":"w"}"#,
        #"{"actor":null,"created_on":"2026-11-25T09:30:00.123456Z","id":"e1","peer":null,"schema_version":1,"seq":12,"stream":"s","type":"t","workspace":"w","version":3}"#,
        #"{"actor":null,"created_on":"2026-11-25T09:30:00.123456Z","id":"e1","id":"e2","peer":null,"schema_version":1,"seq":12,"stream":"s","type":"t","version":3,"workspace":"w"}"#,
        #"{"actor":null,"created_on":"2026-11-25T09:30:00.123456Z","id":"e1","peer":null,"schema_version":1,"seq":12,"stream":"s","type":"t","version":3,"workspace":"w","workspace":"v"}"#,
        #"{"actor":null,"created_on":"2026-11-25T09:30:00.123456Z","id":"e1","peer":null,"schema_version":1,"seq":12,"stream":"s","type":"t","version":3}"#,
        #"{"actor":null,"created_on":"2026-11-25T09:30:00.123456Z","id":"e1","peer":null,"schema_version":1,"stream":"s","type":"t","version":3,"workspace":"w"}"#,
        #"{"created_on":"2026-11-25T09:30:00.123456Z","id":"e1","peer":null,"schema_version":1,"seq":12,"stream":"s","type":"t","version":3,"workspace":"w"}"#,
        #"{"actor":null,"created_on":"2026-11-25T09:30:00.123456Z","extra":1,"id":"e1","peer":null,"schema_version":1,"seq":12,"stream":"s","type":"t","version":3,"workspace":"w"}"#,
        #"{"actor":null,"created_on":"2026-11-25T09:30:00.123456Z","id":"e1","peer":null,"schema_version":1,"seq":12,"stream":"s","type":"t","version":3,"workspace":"w","zz":1}"#,
        #" {"actor":null,"created_on":"2026-11-25T09:30:00.123456Z","id":"e1","peer":null,"schema_version":1,"seq":12,"stream":"s","type":"t","version":3,"workspace":"w"}"#,
        #"{"actor":null,"created_on":"2026-11-25T09:30:00.123456Z","id":"e1","peer":null,"schema_version":1,"seq":12,"stream":"s","type":"t","version":3,"workspace":"w"} "#,
        #"{"actor": null,"created_on":"2026-11-25T09:30:00.123456Z","id":"e1","peer":null,"schema_version":1,"seq":12,"stream":"s","type":"t","version":3,"workspace":"w"}"#,
        #"[{"actor":null,"created_on":"2026-11-25T09:30:00.123456Z","id":"e1","peer":null,"schema_version":1,"seq":12,"stream":"s","type":"t","version":3,"workspace":"w"}]"#,
    ])
    func variantTextsGiveNilOrTheGenericHeader(_ text: String) {
        Self.expectNilOrGeneric(Array(text.utf8))
    }

    /// Texts the reader must leave to the generic path even where the generic decode takes them.
    @Test(arguments: [
        text(version: "3.0"), text(stream: #""contact\/c1""#), text(createdOn: "\"2026-11-25T09:30:00.123Z\""),
        text(createdOn: "\"2026-11-25T10:30:00.123456+01:00\""), text(createdOn: "\"2026-11-25T23:59:60.000000Z\""),
        text(createdOn: "\"2026-02-31T09:30:00.123456Z\""), text(peer: #"{"uid":7,"pid":6,"gid":5}"#),
        text(peer: #"{"gid":5,"pid":-6,"uid":7}"#), text(version: "18446744073709551616"),
    ])
    func takesOnlyTheCanonicalForm(_ text: String) {
        #expect(EventHeader.readCanonical(Array(text.utf8), seq: 1) == nil)
    }

    @Test func readsTheLargestNumbers() throws {
        let bytes = Array(Self.text(peer: #"{"gid":4294967295,"pid":2147483647,"uid":4294967295}"#, schemaVersion: "9223372036854775807", seq: "18446744073709551615", version: "18446744073709551615").utf8)
        let read = try #require(EventHeader.readCanonical(bytes, seq: 5))
        #expect(read == Self.expected(bytes, seq: 5))
        #expect(read.version == UInt64.max && read.schemaVersion == Int.max && read.peer?.uid == UInt32.max)
    }

    /// Random headers: the reader takes exactly those without escapes, non-ASCII skipped strings,
    /// negative numbers or five-digit years, and gives the generic header for each.
    @Test func randomHeadersRoundTrip() throws {
        var generator = SeededGenerator(seed: SeededGenerator.announcedSeed("EventHeaderCanonicalReaderTests"))
        let plain = "abcdefghijklmnopqrstuvwxyz0123456789-/._"
        let pieces = ["a", "Z", "0", "-", "/", ".", " ", "_", "é", "日", "😀", "\"", "\\", "\n", "\u{1}", "\u{7F}"]
        func text(_ maximum: Int) -> String {
            (0..<Int.random(in: 0...maximum, using: &generator)).map { _ in
                // Mostly plain ASCII, as real headers are; one in ten is what needs escaping or validating.
                Int.random(in: 0..<10, using: &generator) == 0 ? pieces.randomElement(using: &generator) ?? ""
                    : plain.randomElement(using: &generator).map(String.init) ?? ""
            }.joined()
        }
        func number<Integer: FixedWidthInteger>(_ type: Integer.Type) -> Integer {
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: Integer.min
            case 1: Integer.max
            case 2: Integer.random(in: 0...9, using: &generator)
            default: Integer.random(in: .min ... .max, using: &generator)
            }
        }
        func escapeFree(_ text: String) -> Bool { !text.unicodeScalars.contains { $0 == "\"" || $0 == "\\" || $0.value < 0x20 } }
        var taken = 0
        for _ in 0..<3_000 {
            let peer = Bool.random(using: &generator) ? nil : Peer(uid: number(UInt32.self), gid: number(UInt32.self), pid: number(Int32.self))
            let header = EventHeader(
                seq: number(UInt64.self), id: Bool.random(using: &generator) ? UUID().uuidString.lowercased() : text(8),
                stream: Bool.random(using: &generator) ? "contact/\(UUID().uuidString.lowercased())" : "workspace/\(text(12))",
                version: number(UInt64.self), type: text(20), schemaVersion: Int.random(in: 0...3, using: &generator) == 0 ? number(Int.self) : 1,
                workspace: text(16),
                createdOn: Timestamp(microseconds: Int64.random(in: -62_200_000_000_000_000...253_500_000_000_000_000, using: &generator)),
                actor: Bool.random(using: &generator) ? nil : text(40), peer: peer,
                idempotencyKey: Bool.random(using: &generator) ? nil : text(10)
            )
            let bytes = header.encoded()
            let read = EventHeader.readCanonical(bytes, seq: 77)
            let readable = [header.actor ?? "", header.stream, header.type, header.workspace].allSatisfy(escapeFree)
                && [header.id, header.idempotencyKey ?? ""].allSatisfy { escapeFree($0) && $0.utf8.allSatisfy { $0 < 0x80 } }
                && (header.peer?.pid ?? 0) >= 0 && header.schemaVersion >= 0
                && (-62_167_219_200_000_000...253_402_300_799_999_999).contains(header.createdOn.microseconds)
            #expect((read != nil) == readable, "\(String(decoding: bytes, as: UTF8.self))")
            if let read {
                #expect(read == Self.expected(bytes, seq: 77), "\(String(decoding: bytes, as: UTF8.self))")
                taken += 1
            }
        }
        // Most random headers are readable; were none, the fast path would be tested on nothing.
        #expect(taken > 300)
    }
}

/// The exact parser of the text `Timestamp.description` writes.
struct TimestampCanonicalTextTests {
    static func canonical(_ text: String) -> Timestamp? {
        Array(text.utf8).withUnsafeBufferPointer { Timestamp(canonical: $0) }
    }

    @Test func readsEveryInstantItsDescriptionWrites() {
        var generator = SeededGenerator(seed: 20_261_125)
        // Years 0 to 9999, the four-digit ones.
        for _ in 0..<20_000 {
            let timestamp = Timestamp(microseconds: Int64.random(in: -62_167_219_200_000_000...253_402_300_799_999_999, using: &generator))
            #expect(Self.canonical(timestamp.description) == timestamp, "\(timestamp.microseconds)")
        }
        for microseconds: Int64 in [-62_167_219_200_000_000, 253_402_300_799_999_999, 0, -1, 1, 951_782_400_000_000, 4_107_542_400_000_000] {
            let timestamp = Timestamp(microseconds: microseconds)
            #expect(Self.canonical(timestamp.description) == timestamp, "\(timestamp.description)")
        }
    }

    /// Every day of every month of years around the leap rules: a real date reads as `init(rfc3339:)`
    /// reads it; a day past the month's end is refused (where `timegm` would carry it over).
    @Test(arguments: [0, 1, 4, 99, 100, 400, 999, 1600, 1900, 1969, 1970, 2000, 2023, 2024, 2100, 9999])
    func agreesWithTheRFC3339ParserOnEveryDay(year: Int) {
        let lengths = [31, year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        for month in 1...12 {
            for day in 0...31 {
                let text = String(format: "%04d-%02d-%02dT13:07:59.000042Z", year, month, day)
                let fast = Self.canonical(text)
                if (1...lengths[month - 1]).contains(day) {
                    #expect(fast != nil, "\(text)")
                    #expect(fast == Timestamp(rfc3339: text), "\(text)")
                    #expect(fast?.description == text)
                } else {
                    #expect(fast == nil, "\(text)")
                }
            }
        }
    }

    @Test(arguments: [
        "", "2026-11-25T09:30:00.123456", "2026-11-25T09:30:00.123456ZZ", "2026-11-25T09:30:00.12345Z", "2026-11-25T09:30:00Z",
        "2026-11-25t09:30:00.123456Z", "2026-11-25 09:30:00.123456Z", "2026-11-25T09:30:00.123456z", "2026-11-25T09:30:00,123456Z",
        "2026-11-25T24:00:00.000000Z", "2026-11-25T23:60:00.000000Z", "2026-11-25T23:59:60.000000Z", "2026-13-25T09:30:00.123456Z",
        "2026/11/25T09:30:00.123456Z", "-026-11-25T09:30:00.123456Z", "2026-11-25T09:30:00.12345aZ", "10000-01-01T00:00:00.000000Z",
        "2026-11-25T09:30:00.123456+00:00",
    ])
    func refusesEveryOtherText(_ text: String) {
        #expect(Self.canonical(text) == nil)
    }
}
