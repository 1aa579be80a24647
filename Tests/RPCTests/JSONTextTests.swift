// ContactLedger — JSON-RPC layer tests.
import Foundation
import RPC
import TestSupport
import Testing

/// The JSON text parser and writer against Foundation's `JSONSerialization` and `JSONEncoder`, which
/// they replace on the hot paths: the same values from the same text, text Foundation reads back as
/// the same values, and a refusal with an offset for every kind of invalid text.
struct JSONTextTests {
    /// Valid documents, parsed by both and compared.
    static let documents: [String] = [
        #"{"jsonrpc":"2.0","id":1,"method":"contacts.create","params":{"name":"Ana","urns":["tel:+250788123456"]}}"#,
        #"[1,-2,0,-0,3.5,-4.25e3,1E-7,9223372036854775807,-9223372036854775808,9223372036854775808,1e300]"#,
        #"  {"a" : [ true , false , null ] , "b" : { } , "c" : [ ] }  "#,
        #""\"\\\/\b\f\n\r\t\u0041\u00e9\u4e2d\ud83d\ude00""#,
        #"{"é":"ü","日本":"語","emoji":"😀","nul":"\u0000"}"#,
        #"{"dup":1,"dup":2}"#,
        "\t\r\n[\"x\"]\n",
        #"0.1"#, #"123456789012345678901234567890"#, #"-1.5E+2"#,
    ]

    @Test(arguments: documents)
    func parsesAsFoundationDoes(_ text: String) throws {
        let parsed = try JSONValue(parsing: Array(text.utf8))
        let foundation = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        #expect(Self.same(parsed, foundation), "\(parsed) vs \(foundation)")
    }

    @Test func integersStayExactAndOthersAreDoubles() throws {
        #expect(try JSONValue(parsing: Array("9223372036854775807".utf8)) == .integer(.max))
        #expect(try JSONValue(parsing: Array("-9223372036854775808".utf8)) == .integer(.min))
        // Longer integers keep their digits (up to 38), so an id is echoed as sent.
        #expect(try JSONValue(parsing: Array("9223372036854775808".utf8)) == .decimal(Decimal(string: "9223372036854775808")!))
        #expect(JSONLine.encode(try JSONValue(parsing: Array("123456789012345678901234567890".utf8))) == Array("123456789012345678901234567890".utf8))
        // Negative ones too: the sign is no digit (a negative 38-digit id came back as a double; README audit).
        for text in ["-12345678901234567890123456789012345678", "-99999999999999999999999999999999999999", "99999999999999999999999999999999999999"] {
            #expect(JSONLine.encode(try JSONValue(parsing: Array(text.utf8))) == Array(text.utf8), "\(text)")
        }
        #expect(try JSONValue(parsing: Array(("1" + String(repeating: "0", count: 40)).utf8)) == .double(1e40))
        #expect(try JSONValue(parsing: Array("2.50".utf8)) == .double(2.5))
        #expect(try JSONValue(parsing: Array("1e2".utf8)) == .double(100))
        #expect(try JSONValue(parsing: Array("-0".utf8)) == .integer(0))
        // Zero written with an exponent is zero however small the exponent.
        #expect(try JSONValue(parsing: Array("0.000e-400".utf8)) == .double(0))
    }

    /// Every refusal reason, with the offset where the text stops being JSON.
    /// Texts `JSONSerialization` accepts although RFC 8259 does not: a trailing comma, a byte order mark.
    /// Foundation accepts a trailing comma and a byte-order mark, and reads a number below a double's
    /// range as 0.
    static let foundationLeniencies: Set<[UInt8]> = [
        Array(#"{"a":1,}"#.utf8), [0xEF, 0xBB, 0xBF, 0x31], Array("[1, -1e-999999]".utf8), Array("2.5E-400".utf8),
    ]

    static let invalid: [(bytes: [UInt8], reason: JSONTextError.Reason, offset: Int)] = [
        (Array("".utf8), .unexpectedEnd, 0),
        (Array("   ".utf8), .unexpectedEnd, 3),
        (Array(#"{"a":1,}"#.utf8), .expectedKey, 7),
        (Array(#"{"a" 1}"#.utf8), .expectedColon, 5),
        (Array("[1 2]".utf8), .expectedCommaOrEnd, 3),
        (Array("[1,2".utf8), .unexpectedEnd, 4),
        (Array("{} x".utf8), .trailingContent, 3),
        (Array("tru".utf8), .unexpectedEnd, 3),
        (Array("trux".utf8), .unexpectedCharacter, 3),
        (Array("nil".utf8), .unexpectedCharacter, 1),
        (Array("'a'".utf8), .unexpectedCharacter, 0),
        (Array("01".utf8), .trailingContent, 1),
        (Array("1.".utf8), .invalidNumber, 2),
        (Array("-".utf8), .unexpectedEnd, 1),
        (Array("-a".utf8), .invalidNumber, 1),
        (Array("1e".utf8), .invalidNumber, 2),
        (Array("1e400".utf8), .numberOutOfRange, 0),
        // Not zero, but below a double's range: read as 0 it would echo a request id of 1e-400 as 0.
        (Array("[1, -1e-999999]".utf8), .numberOutOfRange, 4),
        (Array("2.5E-400".utf8), .numberOutOfRange, 0),
        (Array("\"a\u{1}b\"".utf8), .controlCharacterInString, 2),
        (Array(#""\x""#.utf8), .invalidEscape, 2),
        (Array(#""\u00G0""#.utf8), .invalidEscape, 5),
        (Array(#""\ud800""#.utf8), .invalidEscape, 7),
        (Array(#""\ud800\u0041""#.utf8), .invalidEscape, 13),
        (Array(#""\udc00""#.utf8), .invalidEscape, 7),
        (Array(#""abc"#.utf8), .unexpectedEnd, 4),
        ([0x22, 0xC3, 0x28, 0x22], .invalidUTF8, 1),
        ([0x22, 0x5C, 0x6E, 0xFF, 0x22], .invalidUTF8, 1),
        // Without an escape, the offset is the bad sequence's first byte, not the string's.
        ([0x22] + Array("0123456789".utf8) + [0xFF, 0x22], .invalidUTF8, 11),
        ([0x22] + Array("ok".utf8) + [0xF0, 0x9F, 0x98, 0x22], .invalidUTF8, 3),
        (Array(#"{"a":"é"#.utf8) + [0xC0, 0x80, 0x22, 0x7D], .invalidUTF8, 8),
        ([0xFF], .unexpectedCharacter, 0),
        ([0xEF, 0xBB, 0xBF, 0x31], .unexpectedCharacter, 0),
    ]

    /// `String(validUTF8:)` answers as the standard library's validating initializer on every kind of
    /// ill-formed UTF-8 (stray continuation, overlong form, surrogate, past U+10FFFF, truncated) and on
    /// well-formed text of every length of sequence.
    @Test(arguments: [
        [], Array("plain ascii".utf8), Array("é日本😀".utf8), [0x80], [0xC3, 0x28], [0xC0, 0x80], [0xED, 0xA0, 0x80],
        [0xF4, 0x90, 0x80, 0x80], [0xF0, 0x90, 0x80], [0x41, 0xE2, 0x82], [0xFF], [0xEF, 0xBF, 0xBD],
    ] as [[UInt8]])
    func validUTF8AgreesWithTheStandardLibrary(_ bytes: [UInt8]) {
        let ours = bytes.withUnsafeBufferPointer { String(validUTF8: $0) }
        #expect(ours == String(validating: bytes, as: UTF8.self))
    }

    /// `PlainStringRun` stops at the word of the first quote, backslash, control or non-ASCII byte, for
    /// every byte value at every position, and leaves a tail shorter than a word to the caller.
    @Test func plainStringRunStopsAtTheWordOfTheFirstSpecialByte() {
        for value in 0...255 {
            let byte = UInt8(value)
            let special = byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80
            for position in 0..<19 {
                var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 19)
                bytes[position] = byte
                let end = bytes.withUnsafeBufferPointer { PlainStringRun.end(in: $0, from: 0) }
                #expect(end == (special ? min(position / 8 * 8, 16) : 16), "byte \(byte) at \(position)")
            }
        }
        let tail = Array("abc".utf8).withUnsafeBufferPointer { PlainStringRun.end(in: $0, from: 1) }
        #expect(tail == 1)
    }

    /// `JSONTextOutput.string` writes what `JSONEncoder` writes (without escaping slashes) for strings
    /// with each kind of byte that needs an escape at every position of runs longer than a word, and
    /// with non-ASCII text around them.
    @Test func stringsAreWrittenAsJSONEncoderWritesThem() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let specials = ["\"", "\\", "\n", "\r", "\t", "\u{8}", "\u{C}", "\u{0}", "\u{1F}", "é", "日", "😀", "/"]
        var texts = ["", "plain", String(repeating: "x", count: 40)]
        for special in specials {
            for position in 0..<20 {
                texts.append(String(repeating: "a", count: position) + special + String(repeating: "b", count: 19 - position))
            }
        }
        for text in texts {
            var output = JSONTextOutput()
            output.string(text)
            #expect(String(decoding: output.bytes, as: UTF8.self) == String(decoding: try encoder.encode(text), as: UTF8.self))
        }
    }

    /// `JSONTextOutput.integer` writes the digits `String` makes, for every integer type the ledger
    /// writes, at the limits of each and around every power of ten.
    @Test func integersAreWrittenAsStringWritesThem() {
        func check(_ value: some BinaryInteger) {
            var output = JSONTextOutput()
            output.punctuation(UInt8(ascii: "["))
            output.integer(value)
            #expect(String(decoding: output.bytes, as: UTF8.self) == "[" + String(value), "\(type(of: value)) \(value)")
        }
        var magnitudes: [UInt64] = [0, 1, 9, UInt64.max, UInt64.max - 1]
        var power: UInt64 = 1
        for _ in 0..<19 {
            power *= 10
            magnitudes += [power - 1, power, power + 1]
        }
        for magnitude in magnitudes {
            check(magnitude)
            if let value = Int64(exactly: magnitude) {
                check(value)
                check(-value)
                check(Int(value))
            }
            if let value = UInt32(exactly: magnitude) { check(value) }
            if let value = Int32(exactly: magnitude) { check(-value) }
        }
        check(Int64.min)
        check(Int.min)
        check(Int32.min)
        check(Int8.min)
        check(UInt8.max)
    }

    /// Stored shapes are parsed with `.decimal` fractions: every digit survives, as `JSONDecoder` keeps
    /// them when it decodes a `Decimal`, and integers past `Int64` (a `UInt64` seq) decode exactly.
    @Test func decimalFractionsKeepEveryDigit() throws {
        let text = Array(#"{"n":123456789012345678901234567890.12345,"s":0.1,"e":-1.5e3,"u":18446744073709551615,"i":-7}"#.utf8)
        let value = try JSONTextParser.parse(text, fractions: .decimal)
        #expect(value["n"] == .decimal(try #require(Decimal(string: "123456789012345678901234567890.12345"))))
        #expect(value["s"] == .decimal(try #require(Decimal(string: "0.1"))))
        #expect(value["e"] == .decimal(-1500))
        #expect(value["u"] == .decimal(try #require(Decimal(string: "18446744073709551615"))))
        #expect(value["i"] == .integer(-7))
        struct Shape: Decodable, Equatable {
            var n: Decimal
            var s: Decimal
            var e: Double
            var u: UInt64
            var i: Int8
        }
        let decoded = try JSONValueDecoder().decode(Shape.self, from: value)
        #expect(decoded == (try JSONDecoder().decode(Shape.self, from: Data(text))))
        #expect(decoded.u == UInt64.max)
        // The default keeps fractions as doubles (JSON-RPC params and answers).
        #expect(try JSONTextParser.parse(Array("0.1".utf8)) == .double(0.1))
        #expect(throws: JSONTextError.self) { try JSONTextParser.parse(Array("1e999999".utf8), fractions: .decimal) }
    }

    /// Answers the CLI prints are parsed with `.decimalElseDouble`: fractions keep every digit, and a
    /// number past a decimal's range is its nearest double rather than a refusal of the whole answer.
    @Test func decimalElseDoubleKeepsDigitsAndReadsTheRest() throws {
        let text = Array(#"{"pi":3.141592653589793238462643383279,"tiny":-0.000001,"far":1e-300,"i":7}"#.utf8)
        let value = try JSONTextParser.parse(text, fractions: .decimalElseDouble)
        #expect(value["pi"] == .decimal(try #require(Decimal(string: "3.141592653589793238462643383279"))))
        #expect(value["tiny"].map { String(decoding: JSONTextWriter.bytes(of: $0), as: UTF8.self) } == "-0.000001")
        #expect(value["far"] == .double(1e-300))
        #expect(value["i"] == .integer(7))
        #expect(throws: JSONTextError.self) { try JSONTextParser.parse(Array("1e999999".utf8), fractions: .decimalElseDouble) }
    }

    @Test func refusesInvalidTextWithTheOffset() {
        for sample in Self.invalid {
            do {
                let value = try JSONValue(parsing: sample.bytes)
                Issue.record("parsed \(sample.bytes) as \(value)")
            } catch {
                #expect(error.reason == sample.reason, "\(String(decoding: sample.bytes, as: UTF8.self))")
                #expect(error.offset == sample.offset, "\(String(decoding: sample.bytes, as: UTF8.self))")
            }
            // Foundation agrees that none of these is JSON, but for its documented leniencies.
            if Self.foundationLeniencies.contains(sample.bytes) { continue }
            let foundation = try? JSONSerialization.jsonObject(with: Data(sample.bytes), options: [.fragmentsAllowed])
            #expect(foundation == nil, "\(sample.bytes)")
        }
    }

    /// A key met twice in one object keeps its last value by default (as Foundation), and is refused
    /// with the key and the offset of its second occurrence when asked; the same key in two objects is
    /// not a duplicate, and an escaped spelling of a key is the same key.
    @Test func duplicateKeysAreRefusedWhenAsked() throws {
        let twice = Array(#"{"shards": {"globex": "b.sock", "globex": "a.sock"}}"#.utf8)
        #expect(try JSONTextParser.parse(twice)["shards"]?["globex"] == .string("a.sock"))
        let cases: [(text: String, key: String, offset: Int)] = [
            (#"{"shards": {"globex": "b.sock", "globex": "a.sock"}}"#, "globex", 32),
            (#"{"a": 1, "b": 2, "a": 3}"#, "a", 17),
            (#"{"a\u0062": 1, "ab": 2}"#, "ab", 15),
            (#"[{}, {"x": [{"y": 1, "y": 1}]}]"#, "y", 21),
        ]
        for sample in cases {
            do {
                let value = try JSONTextParser.parse(Array(sample.text.utf8), duplicateKeys: .refused)
                Issue.record("parsed \(sample.text) as \(value)")
            } catch {
                #expect(error.reason == .duplicateKey, "\(sample.text)")
                #expect(error.key == sample.key, "\(sample.text)")
                #expect(error.offset == sample.offset, "\(sample.text)")
            }
        }
        let distinct = #"{"a": {"k": 1}, "b": {"k": 2}, "c": [{"k": 3}, {"k": 4}]}"#
        #expect(try JSONTextParser.parse(Array(distinct.utf8), duplicateKeys: .refused) == JSONValue(parsing: Array(distinct.utf8)))
    }

    /// A value rebuilt by walking it with the reader: objects member by member with their keys as bytes
    /// where they hold no escape, strings and nulls read on their own, anything else as a value.
    static func walk(_ reader: inout JSONTextReader) throws(JSONTextError) -> JSONValue {
        switch reader.current {
        case UInt8(ascii: "{"):
            try reader.enterObject()
            var members: [String: JSONValue] = [:]
            while try reader.nextMember() {
                var atKey = reader
                let key: String
                if let plain = try reader.readPlainKey() { key = String(decoding: plain, as: UTF8.self) } else { key = try atKey.readKey() }
                members[key] = try Self.walk(&reader)
            }
            return .object(members)
        case UInt8(ascii: "["):
            try reader.enterArray()
            var elements: [JSONValue] = []
            while try reader.nextElement() { elements.append(try Self.walk(&reader)) }
            return .array(elements)
        default:
            if try reader.readNull() { return .null }
            if let text = try reader.readString() { return .string(text) }
            return try reader.readValue()
        }
    }

    /// Walking text with the reader reads what the parser reads, and refuses what it refuses at the
    /// same offset for the same reason.
    @Test func theReaderWalksWhatTheParserParses() {
        let texts = Self.documents.map { Array($0.utf8) } + Self.invalid.map(\.bytes) + [
            Array(#"{"a\u0062":1,"c":{"d\"e":[null,"x\n"]}}"#.utf8), Array(#"{"a":1,"a":2}"#.utf8),
        ]
        for bytes in texts {
            let parsed = Result { () throws(JSONTextError) in try JSONTextParser.parse(bytes) }
            let walked = bytes.withUnsafeBufferPointer { buffer in
                Result { () throws(JSONTextError) -> JSONValue in
                    var reader = JSONTextReader(bytes: buffer)
                    let value = try Self.walk(&reader)
                    try reader.finish()
                    return value
                }
            }
            #expect(walked == parsed, "\(String(decoding: bytes, as: UTF8.self))")
        }
        // A key with an escape is not given as bytes (they would not be the key).
        Array(#"{"a\u0062":1}"#.utf8).withUnsafeBufferPointer { buffer in
            var reader = JSONTextReader(bytes: buffer)
            #expect(throws: Never.self) {
                try reader.enterObject()
                #expect(try reader.nextMember())
                #expect(try reader.readPlainKey() == nil)
                #expect(try reader.readValue() == .integer(1))
                #expect(try !reader.nextMember())
                try reader.finish()
            }
        }
    }

    @Test func nestingIsBounded() throws {
        let limit = JSONTextParser.maximumDepth
        let deepest = Array(repeating: UInt8(ascii: "["), count: limit) + Array(repeating: UInt8(ascii: "]"), count: limit)
        _ = try JSONValue(parsing: deepest)
        let tooDeep = Array(repeating: UInt8(ascii: "["), count: limit + 1) + Array(repeating: UInt8(ascii: "]"), count: limit + 1)
        do {
            _ = try JSONValue(parsing: tooDeep)
            Issue.record("parsed \(limit + 1) levels")
        } catch {
            #expect(error.reason == .tooDeep)
            #expect(error.offset == limit)
        }
    }

    @Test func writesWhatFoundationWrites() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        let doubles: [Double] = [0, 1, -1, 0.1, 2.5, 1e21, 1e-7, 123456.789, -0.0, 1.7976931348623157e308, Double.leastNonzeroMagnitude, 100]
        for double in doubles {
            let ours = String(decoding: JSONValue.double(double).jsonText, as: UTF8.self)
            let theirs = String(decoding: try encoder.encode(double), as: UTF8.self)
            #expect(ours == theirs)
        }
        let value: JSONValue = [
            "z": "a/b \"q\" \\ \n\r\t\u{8}\u{C}\u{1}\u{1F} é 😀", "a": [1, -2, true, nil, .double(2.5)], "m": ["y": [:], "b": []],
            "decimal": .decimal(Decimal(string: "12.50") ?? 0),
        ]
        #expect(String(decoding: value.jsonText, as: UTF8.self) == String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    /// Members go in the order of their keys' UTF-8 bytes: shorter first where one key begins the
    /// other, small (inline) and heap strings alike, non-ASCII after ASCII.
    @Test func membersAreWrittenInTheOrderOfTheirKeysBytes() {
        let keys = [
            "b", "a", "ab", "", "aé", "é", "ä", "Z", "z", "z" + String(repeating: "x", count: 40), "😀",
            String(repeating: "a", count: 15), String(repeating: "a", count: 16), "a b", "a~",
        ]
        let value = JSONValue.object(Dictionary(uniqueKeysWithValues: keys.enumerated().map { ($1, JSONValue.integer(Int64($0))) }))
        let ordered = keys.enumerated().sorted { Array($0.element.utf8).lexicographicallyPrecedes(Array($1.element.utf8)) }
        let expected = "{" + ordered.map { "\"\($0.element)\":\($0.offset)" }.joined(separator: ",") + "}"
        #expect(String(decoding: value.jsonText, as: UTF8.self) == expected)
    }

    /// Random values written by the writer and read back by the parser and by Foundation.
    @Test func randomValuesRoundTrip() throws {
        var generator = SeededGenerator(seed: 0x4A53_4F4E)
        for _ in 0..<2_000 {
            let value = Self.randomValue(depth: 0, using: &generator)
            let text = value.jsonText
            #expect(try JSONValue(parsing: text) == value)
            let foundation = try JSONSerialization.jsonObject(with: Data(text), options: [.fragmentsAllowed])
            #expect(Self.same(value, foundation))
        }
    }

    @Test func notFiniteDoublesAreNull() {
        #expect(JSONValue.array([.double(.nan), .double(.infinity)]).jsonText == Array("[null,null]".utf8))
    }

    // MARK: - Helpers

    static func randomValue(depth: Int, using generator: inout SeededGenerator) -> JSONValue {
        let kind = Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &generator)
        switch kind {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .integer(Int64.random(in: Int64.min...Int64.max, using: &generator))
        case 3:
            let double = Double.random(in: -1e12...1e12, using: &generator)
            return .double(double.rounded() == double ? double + 0.5 : double)
        case 4: return .string(Self.randomString(using: &generator))
        case 5: return .array((0..<Int.random(in: 0..<5, using: &generator)).map { _ in Self.randomValue(depth: depth + 1, using: &generator) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0..<5, using: &generator) {
                members[Self.randomString(using: &generator)] = Self.randomValue(depth: depth + 1, using: &generator)
            }
            return .object(members)
        }
    }

    static func randomString(using generator: inout SeededGenerator) -> String {
        let alphabet: [Character] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\u{0}", "\u{1F}", "é", "中", "😀", "\u{7F}"]
        return String((0..<Int.random(in: 0..<8, using: &generator)).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    /// Whether a parsed value equals what `JSONSerialization` read from the same text.
    static func same(_ value: JSONValue, _ object: Any) -> Bool {
        switch value {
        case .null: return object is NSNull
        case .bool(let flag): return (object as? Bool) == flag && !(object is Int && !(object is Bool))
        case .integer(let number):
            if let exact = object as? Int64 { return exact == number }
            return (object as? NSNumber)?.int64Value == number
        // JSONSerialization may read a fraction as a decimal: compare the digits it kept.
        case .double(let number): return (object as? NSNumber).flatMap { Double("\($0)") } == number
        case .decimal(let number): return (object as? NSNumber)?.decimalValue == number
        case .string(let text): return (object as? String) == text
        case .array(let elements):
            guard let array = object as? [Any], array.count == elements.count else { return false }
            return zip(elements, array).allSatisfy { Self.same($0, $1) }
        case .object(let members):
            guard let dictionary = object as? [String: Any], dictionary.count == members.count else { return false }
            return members.allSatisfy { key, member in dictionary[key].map { Self.same(member, $0) } ?? false }
        }
    }
}
