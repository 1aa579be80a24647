// ContactLedger — contact domain tests.
@testable import ContactDomain
import Foundation
import TestSupport
import Testing

/// The replay path reads the common contact payloads straight from their text; it must give what the
/// `Decodable` path gives, or nil (then `Decodable` judges), and never accept what `Decodable` refuses.
struct EventPayloadDirectReaderTests {
    /// The direct reader gives nil or exactly the `Decodable` result, never another event.
    static func expectNilOrDecodable(type: String, _ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        let schemaVersion = LedgerEvent.schemaVersion(of: type)
        guard let read = LedgerEvent.directlyRead(type: type, schemaVersion: schemaVersion, data: bytes) else { return }
        let judged = try? LedgerEvent.decodedThroughDecodable(type: type, schemaVersion: schemaVersion, data: bytes)
        #expect(read == judged, "\(type) \(String(decoding: bytes, as: UTF8.self))", sourceLocation: sourceLocation)
    }

    static let directTypes: Set<String> = [
        "contact_created", "contact_name_changed", "contact_language_changed", "contact_status_changed",
        "contact_urns_changed", "contact_field_changed",
    ]

    @Test(arguments: EventPayloadEncodingTests.events)
    func readsWhatDecodableReads(_ event: LedgerEvent) throws {
        let bytes = try event.encodedData()
        let read = LedgerEvent.directlyRead(type: event.type, schemaVersion: event.schemaVersion, data: bytes)
        if Self.directTypes.contains(event.type) {
            #expect(read == event)
        } else {
            #expect(read == nil)
        }
        #expect(try LedgerEvent.decodedThroughDecodable(type: event.type, schemaVersion: event.schemaVersion, data: bytes) == event)
    }

    /// Every prefix, white space at every offset, trailing bytes, and every byte replaced by each of a
    /// set of troublesome ones.
    @Test(arguments: EventPayloadEncodingTests.events.filter { directTypes.contains($0.type) })
    func alteredBytesGiveNilOrTheDecodableEvent(_ event: LedgerEvent) throws {
        let bytes = try event.encodedData()
        for length in 0..<bytes.count {
            #expect(LedgerEvent.directlyRead(type: event.type, schemaVersion: event.schemaVersion, data: Array(bytes[..<length])) == nil)
        }
        for offset in 0...bytes.count {
            var spaced = bytes
            spaced.insert(UInt8(ascii: " "), at: offset)
            Self.expectNilOrDecodable(type: event.type, spaced)
        }
        for tail in [" ", "\n", "x", "}", ",", "{}", "\u{0}"] {
            Self.expectNilOrDecodable(type: event.type, bytes + Array(tail.utf8))
        }
        let replacements: [UInt8] = Array("0 9-+.e\"\\,:{}[]n/".utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xFF]
        for offset in bytes.indices {
            for byte in replacements where byte != bytes[offset] {
                var changed = bytes
                changed[offset] = byte
                Self.expectNilOrDecodable(type: event.type, changed)
            }
        }
    }

    /// Other orders, members twice, escaped keys, members the shape does not have, other value types.
    @Test func variantTextsGiveNilOrTheDecodableEvent() throws {
        let uuid = EventPayloadEncodingTests.contact.rawValue
        let variants: [(String, String)] = [
            ("contact_created", #"{"urns":[],"status":"active","id":7,"uuid":"\#(uuid)"}"#),
            ("contact_created", #"{"uuid":"\#(uuid)","id":7,"id":8,"status":"active","urns":[]}"#),
            ("contact_created", #"{"uuid":"\#(uuid)","\u0069d":7,"id":8,"status":"active","urns":[]}"#),
            ("contact_created", #"{"uuid":"\#(uuid)","id":7,"status":"active","urns":[],"extra":true}"#),
            ("contact_created", #"{"uuid":"\#(uuid)","id":7,"status":"active"}"#),
            ("contact_created", #"{"uuid":"\#(uuid)","id":7e0,"status":"active","urns":[]}"#),
            ("contact_created", #"{"uuid":"\#(uuid.uppercased())","id":7,"status":"active","urns":[]}"#),
            ("contact_created", #"{"uuid":"\#(uuid)","id":-0,"status":"active","urns":["a","b"],"name":"\u00e9","language":null}"#),
            ("contact_created", #"[{"uuid":"\#(uuid)","id":7,"status":"active","urns":[]}]"#),
            ("contact_name_changed", #"{"name":"a","name":"b"}"#),
            ("contact_name_changed", #"{"n\u0061me":"a"}"#),
            ("contact_name_changed", #"{"name":"a","other":1}"#),
            ("contact_name_changed", #"{"name":"a\"b\u00e9\ud83d\ude00"}"#),
            ("contact_name_changed", #"{"name":"\ud83d"}"#),
            ("contact_name_changed", #"{}"#),
            ("contact_status_changed", #"{"status":"blocked"}"#),
            ("contact_status_changed", #"{"status":"B"}"#),
            ("contact_urns_changed", #"{"urns":["tel:+1",null]}"#),
            ("contact_urns_changed", #"{"urns":[],"urns":["x"]}"#),
            ("contact_field_changed", #"{"value":{"text":"1","number":1},"field":{"name":"A","key":"a"}}"#),
            ("contact_field_changed", #"{"field":{"key":"a","name":"A","key":"b"},"value":null}"#),
            ("contact_field_changed", #"{"field":{"key":"a","name":"A"},"value":{"text":"1","number":1,"number":2}}"#),
            ("contact_field_changed", #"{"field":{"key":"a","name":"A"},"value":{"text":"1","number":1.0e1}}"#),
            ("contact_field_changed", #"{"field":{"key":"a","name":"A"},"value":{"text":"1","number":true}}"#),
            ("contact_field_changed", #"{"field":{"key":"a","name":"A"},"value":{"text":"1","datetime":"2020-06-26T10:00:00.000000Z"}}"#),
            ("contact_field_changed", #"{"field":{"key":"a","name":"A"},"value":{"text":"1","state":null,"district":"d","ward":"w","extra":1}}"#),
            ("contact_field_changed", #"{"field":{"key":"a","name":"A"},"value":{"text":"1","state":"s","district":null,"ward":"w"}}"#),
        ]
        for (type, text) in variants {
            Self.expectNilOrDecodable(type: type, Array(text.utf8))
            let schemaVersion = LedgerEvent.schemaVersion(of: type)
            // Through the public path, what Decodable refuses stays refused.
            let judged = try? LedgerEvent.decodedThroughDecodable(type: type, schemaVersion: schemaVersion, data: Array(text.utf8))
            #expect((try? LedgerEvent.decode(type: type, schemaVersion: schemaVersion, data: Array(text.utf8))) == judged, "\(text)")
        }
        // A member twice or an escaped key is left to Decodable, which keeps the last one.
        let twice = Array(#"{"name":"a","name":"b"}"#.utf8)
        #expect(LedgerEvent.directlyRead(type: "contact_name_changed", schemaVersion: 1, data: twice) == nil)
        #expect(try LedgerEvent.decode(type: "contact_name_changed", schemaVersion: 1, data: twice) == .contactNameChanged(name: "b"))
        let escaped = Array(#"{"n\u0061me":"a"}"#.utf8)
        #expect(LedgerEvent.directlyRead(type: "contact_name_changed", schemaVersion: 1, data: escaped) == nil)
        #expect(try LedgerEvent.decode(type: "contact_name_changed", schemaVersion: 1, data: escaped) == .contactNameChanged(name: "a"))
    }

    /// Random payload texts built from the shapes' keys and values, some well formed and some not.
    @Test func randomTextsGiveNilOrTheDecodableEvent() {
        var random = SeededGenerator(seed: 0xC0FFEE)
        let keys = ["uuid", "id", "name", "language", "status", "urns", "field", "value", "key", "text", "number", "datetime", "state", "ward", "zz"]
        let values = [
            "null", "1", "-2", "1.5", "true", "\"active\"", "\"a\\\"b\"", "[]", "[\"tel:+1\"]", "{}",
            "\"\(EventPayloadEncodingTests.contact.rawValue)\"", "{\"key\":\"k\",\"name\":\"K\"}", "{\"text\":\"t\",\"number\":3}",
        ]
        for _ in 0..<4_000 {
            let count = Int.random(in: 0...5, using: &random)
            let members = (0..<count).map { _ in
                "\"\(keys.randomElement(using: &random) ?? "id")\":\(values.randomElement(using: &random) ?? "null")"
            }
            let text = "{" + members.joined(separator: ",") + "}"
            for type in Self.directTypes { Self.expectNilOrDecodable(type: type, Array(text.utf8)) }
        }
    }
}
