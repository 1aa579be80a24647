// ContactLedger — JSON text.
import Foundation

/// Parses JSON text (RFC 8259) straight into a ``JSONValue``.
///
/// Why not `JSONDecoder().decode(JSONValue.self, …)`: `Codable` cannot ask what kind of value comes
/// next, so decoding "any JSON" tries each kind in turn and pays a thrown `DecodingError` per miss.
/// Profiles put that at a third of a benchmark client's CPU and a tenth of the daemon's, for every
/// request and every answer. Typed values (events, records) still go through `JSONDecoder`.
///
/// Strict: one value with optional white space around it; UTF-8 only (invalid sequences, unescaped
/// control characters and lone surrogate escapes are refused); nesting at most ``maximumDepth``.
/// Integers that fit in `Int64` become `.integer`; other numbers `.double`, refused if not finite, or
/// `.decimal` with every digit kept when parsed with ``Fractions/decimal``.
public struct JSONTextParser {
    /// How numbers with a fraction or an exponent are kept.
    public enum Fractions: Sendable {
        /// As the nearest `Double` (JSON-RPC params and answers).
        case double
        /// As a `Decimal` of all their digits (stored shapes whose numbers are decimals).
        case decimal
    }

    /// The deepest nesting of arrays and objects accepted (as `JSONDecoder`).
    public static let maximumDepth = 512

    /// Parses `bytes`.
    ///
    /// - Throws: ``JSONTextError`` with the byte offset where the text stops being valid JSON.
    public static func parse(_ bytes: some Collection<UInt8>, fractions: Fractions = .double) throws(JSONTextError) -> JSONValue {
        let result: Result<JSONValue, JSONTextError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONTextError) in try Self.parse(buffer: buffer, fractions: fractions) }
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { buffer throws(JSONTextError) in try Self.parse(buffer: buffer, fractions: fractions) }
    }

    private static func parse(buffer: UnsafeBufferPointer<UInt8>, fractions: Fractions) throws(JSONTextError) -> JSONValue {
        var parser = Cursor(bytes: buffer, fractions: fractions)
        parser.skipWhiteSpace()
        let value = try parser.value(depth: 0)
        parser.skipWhiteSpace()
        guard parser.index == buffer.count else { throw parser.error(.trailingContent) }
        return value
    }

    /// A position in the text being parsed.
    private struct Cursor {
        static let trueText = Array("true".utf8)
        static let falseText = Array("false".utf8)
        static let nullText = Array("null".utf8)

        let bytes: UnsafeBufferPointer<UInt8>
        let fractions: Fractions
        var index = 0

        init(bytes: UnsafeBufferPointer<UInt8>, fractions: Fractions) {
            self.bytes = bytes
            self.fractions = fractions
        }

        func error(_ reason: JSONTextError.Reason) -> JSONTextError {
            JSONTextError(offset: self.index, reason: reason)
        }

        var current: UInt8? { self.index < self.bytes.count ? self.bytes[self.index] : nil }

        mutating func skipWhiteSpace() {
            while self.index < self.bytes.count {
                switch self.bytes[self.index] {
                case 0x20, 0x0A, 0x0D, 0x09: self.index += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) throws(JSONTextError) -> JSONValue {
            guard let byte = self.current else { throw self.error(.unexpectedEnd) }
            switch byte {
            case UInt8(ascii: "\""): return .string(try self.string())
            case UInt8(ascii: "{"): return try self.object(depth: depth + 1)
            case UInt8(ascii: "["): return try self.array(depth: depth + 1)
            case UInt8(ascii: "t"): try self.literal(Self.trueText); return .bool(true)
            case UInt8(ascii: "f"): try self.literal(Self.falseText); return .bool(false)
            case UInt8(ascii: "n"): try self.literal(Self.nullText); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try self.number()
            default: throw self.error(.unexpectedCharacter)
            }
        }

        mutating func literal(_ word: [UInt8]) throws(JSONTextError) {
            for expected in word {
                guard let byte = self.current else { throw self.error(.unexpectedEnd) }
                guard byte == expected else { throw self.error(.unexpectedCharacter) }
                self.index += 1
            }
        }

        mutating func object(depth: Int) throws(JSONTextError) -> JSONValue {
            guard depth <= JSONTextParser.maximumDepth else { throw self.error(.tooDeep) }
            self.index += 1
            var members: [String: JSONValue] = [:]
            self.skipWhiteSpace()
            if self.current == UInt8(ascii: "}") {
                self.index += 1
                return .object(members)
            }
            while true {
                guard self.current == UInt8(ascii: "\"") else {
                    throw self.error(self.current == nil ? .unexpectedEnd : .expectedKey)
                }
                let key = try self.string()
                self.skipWhiteSpace()
                guard self.current == UInt8(ascii: ":") else { throw self.error(self.current == nil ? .unexpectedEnd : .expectedColon) }
                self.index += 1
                self.skipWhiteSpace()
                members[key] = try self.value(depth: depth)
                self.skipWhiteSpace()
                switch self.current {
                case UInt8(ascii: ","):
                    self.index += 1
                    self.skipWhiteSpace()
                case UInt8(ascii: "}"):
                    self.index += 1
                    return .object(members)
                case nil: throw self.error(.unexpectedEnd)
                default: throw self.error(.expectedCommaOrEnd)
                }
            }
        }

        mutating func array(depth: Int) throws(JSONTextError) -> JSONValue {
            guard depth <= JSONTextParser.maximumDepth else { throw self.error(.tooDeep) }
            self.index += 1
            var elements: [JSONValue] = []
            self.skipWhiteSpace()
            if self.current == UInt8(ascii: "]") {
                self.index += 1
                return .array(elements)
            }
            while true {
                elements.append(try self.value(depth: depth))
                self.skipWhiteSpace()
                switch self.current {
                case UInt8(ascii: ","):
                    self.index += 1
                    self.skipWhiteSpace()
                case UInt8(ascii: "]"):
                    self.index += 1
                    return .array(elements)
                case nil: throw self.error(.unexpectedEnd)
                default: throw self.error(.expectedCommaOrEnd)
                }
            }
        }

        /// A string starting at the opening quote; leaves the index after the closing one.
        mutating func string() throws(JSONTextError) -> String {
            self.index += 1
            let start = self.index
            // The common case: no escapes, so the text is a slice of the input.
            while self.index < self.bytes.count {
                let byte = self.bytes[self.index]
                if byte == UInt8(ascii: "\"") {
                    let slice = UnsafeBufferPointer(rebasing: self.bytes[start..<self.index])
                    guard let text = String(validating: slice, as: UTF8.self) else {
                        self.index = start
                        throw self.error(.invalidUTF8)
                    }
                    self.index += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") { break }
                if byte < 0x20 { throw self.error(.controlCharacterInString) }
                self.index += 1
            }
            guard self.index < self.bytes.count else { throw self.error(.unexpectedEnd) }
            var unescaped = Array(self.bytes[start..<self.index])
            while self.index < self.bytes.count {
                let byte = self.bytes[self.index]
                switch byte {
                case UInt8(ascii: "\""):
                    guard let text = String(validating: unescaped, as: UTF8.self) else {
                        self.index = start
                        throw self.error(.invalidUTF8)
                    }
                    self.index += 1
                    return text
                case UInt8(ascii: "\\"):
                    try self.escape(into: &unescaped)
                case 0..<0x20:
                    throw self.error(.controlCharacterInString)
                default:
                    unescaped.append(byte)
                    self.index += 1
                }
            }
            throw self.error(.unexpectedEnd)
        }

        /// One escape sequence starting at its backslash, appended as UTF-8.
        mutating func escape(into output: inout [UInt8]) throws(JSONTextError) {
            self.index += 1
            guard let byte = self.current else { throw self.error(.unexpectedEnd) }
            self.index += 1
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(byte)
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "u"):
                let first = try self.hexQuad()
                var scalarValue = UInt32(first)
                if (0xD800...0xDBFF).contains(first) {
                    guard self.index + 1 < self.bytes.count, self.bytes[self.index] == UInt8(ascii: "\\"),
                        self.bytes[self.index + 1] == UInt8(ascii: "u")
                    else { throw self.error(.invalidEscape) }
                    self.index += 2
                    let second = try self.hexQuad()
                    guard (0xDC00...0xDFFF).contains(second) else { throw self.error(.invalidEscape) }
                    scalarValue = 0x10000 + ((UInt32(first) - 0xD800) << 10) + (UInt32(second) - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(first) {
                    throw self.error(.invalidEscape)
                }
                guard let scalar = Unicode.Scalar(scalarValue) else { throw self.error(.invalidEscape) }
                output.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                self.index -= 1
                throw self.error(.invalidEscape)
            }
        }

        mutating func hexQuad() throws(JSONTextError) -> UInt16 {
            guard self.index + 4 <= self.bytes.count else { throw self.error(.unexpectedEnd) }
            var value: UInt16 = 0
            for _ in 0..<4 {
                let byte = self.bytes[self.index]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw self.error(.invalidEscape)
                }
                value = value << 4 | UInt16(digit)
                self.index += 1
            }
            return value
        }

        mutating func number() throws(JSONTextError) -> JSONValue {
            let start = self.index
            var integral = true
            if self.current == UInt8(ascii: "-") { self.index += 1 }
            guard let first = self.current else { throw self.error(.unexpectedEnd) }
            if first == UInt8(ascii: "0") {
                self.index += 1
            } else if (UInt8(ascii: "1")...UInt8(ascii: "9")).contains(first) {
                self.skipDigits()
            } else {
                throw self.error(.invalidNumber)
            }
            if self.current == UInt8(ascii: ".") {
                integral = false
                self.index += 1
                guard self.skipDigits() > 0 else { throw self.error(.invalidNumber) }
            }
            if self.current == UInt8(ascii: "e") || self.current == UInt8(ascii: "E") {
                integral = false
                self.index += 1
                if self.current == UInt8(ascii: "+") || self.current == UInt8(ascii: "-") { self.index += 1 }
                guard self.skipDigits() > 0 else { throw self.error(.invalidNumber) }
            }
            let text = UnsafeBufferPointer(rebasing: self.bytes[start..<self.index])
            if integral, let value = Self.integer(text) { return .integer(value) }
            // In decimal mode, integers past Int64 (a UInt64 seq) keep their digits too.
            if self.fractions == .decimal {
                guard let value = Decimal(string: String(decoding: text, as: UTF8.self), locale: nil), value.isFinite else {
                    self.index = start
                    throw self.error(.numberOutOfRange)
                }
                return .decimal(value)
            }
            guard let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite else {
                self.index = start
                throw self.error(.numberOutOfRange)
            }
            return .double(value)
        }

        @discardableResult
        mutating func skipDigits() -> Int {
            let start = self.index
            while self.index < self.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self.bytes[self.index]) {
                self.index += 1
            }
            return self.index - start
        }

        /// The value of an optionally signed run of digits, or nil when it does not fit in `Int64`.
        static func integer(_ text: UnsafeBufferPointer<UInt8>) -> Int64? {
            let negative = text.first == UInt8(ascii: "-")
            var magnitude: UInt64 = 0
            for byte in text.dropFirst(negative ? 1 : 0) {
                let (shifted, overflowA) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, overflowB) = shifted.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
                if overflowA || overflowB { return nil }
                magnitude = sum
            }
            if negative {
                if magnitude == UInt64(Int64.max) + 1 { return Int64.min }
                return magnitude <= UInt64(Int64.max) ? -Int64(magnitude) : nil
            }
            return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
        }
    }
}

/// Where and why JSON text could not be parsed.
public struct JSONTextError: Error, Sendable, Hashable {
    /// Why the text is not valid JSON.
    public enum Reason: String, Sendable, Hashable {
        case unexpectedEnd = "unexpected_end"
        case unexpectedCharacter = "unexpected_character"
        case trailingContent = "trailing_content"
        case expectedKey = "expected_key"
        case expectedColon = "expected_colon"
        case expectedCommaOrEnd = "expected_comma_or_end"
        case controlCharacterInString = "control_character_in_string"
        case invalidEscape = "invalid_escape"
        case invalidUTF8 = "invalid_utf8"
        case invalidNumber = "invalid_number"
        case numberOutOfRange = "number_out_of_range"
        case tooDeep = "too_deep"
    }

    /// The byte offset in the text where parsing stopped.
    public var offset: Int
    public var reason: Reason
}

extension JSONValue {
    /// Parses JSON text; see ``JSONTextParser``.
    public init(parsing bytes: some Collection<UInt8>) throws(JSONTextError) {
        self = try JSONTextParser.parse(bytes)
    }
}
