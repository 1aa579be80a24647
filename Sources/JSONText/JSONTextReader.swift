// ContactLedger — JSON text.
import Foundation

/// Reads JSON text one piece at a time, as strictly as ``JSONTextParser`` (which is built on it), without
/// building a ``JSONValue`` for what the caller reads itself.
///
/// Why: a replay reads millions of small stored objects of known shape. Building each as a tree (a
/// dictionary per object, a string per key) cost more than the rest of reading the record; read member
/// by member, a key is compared as bytes and only the values kept are made.
///
/// The caller walks the text: ``enterObject()`` then ``nextMember()`` / ``readKey()`` (or
/// ``readPlainKey()``) and one value per member until ``nextMember()`` answers false; ``enterArray()``
/// then ``nextElement()`` and one value per element; ``readString()``, ``readNull()``, ``readValue()``
/// for values; ``finish()`` at the end. Every step checks the text it consumes, so a walk that reaches
/// ``finish()`` has read valid JSON. Valid only while the bytes it reads are.
public struct JSONTextReader {
    static let trueText: StaticString = "true"
    static let falseText: StaticString = "false"
    static let nullText: StaticString = "null"

    let bytes: UnsafeBufferPointer<UInt8>
    let fractions: JSONTextParser.Fractions
    /// Whether ``readValue()`` refuses an object that has a key twice.
    let duplicateKeys: JSONTextParser.DuplicateKeys
    /// The offset of the next byte to read.
    public private(set) var index = 0
    /// Objects and arrays open around the reader.
    private var depth = 0
    /// Whether an object or array was just entered (its first member or element is next).
    private var entered = false

    /// A reader at the start of `bytes` (white space before the first value is skipped).
    public init(
        bytes: UnsafeBufferPointer<UInt8>, fractions: JSONTextParser.Fractions = .double, duplicateKeys: JSONTextParser.DuplicateKeys = .lastWins
    ) {
        self.bytes = bytes
        self.fractions = fractions
        self.duplicateKeys = duplicateKeys
        self.skipWhiteSpace()
    }

    func error(_ reason: JSONTextError.Reason) -> JSONTextError {
        JSONTextError(offset: self.index, reason: reason)
    }

    /// The next byte to read (white space between values is skipped), nil at the end.
    public var current: UInt8? { self.index < self.bytes.count ? self.bytes[self.index] : nil }

    mutating func skipWhiteSpace() {
        while self.index < self.bytes.count {
            switch self.bytes[self.index] {
            case 0x20, 0x0A, 0x0D, 0x09: self.index += 1
            default: return
            }
        }
    }

    /// Checks that only white space follows the value read.
    public mutating func finish() throws(JSONTextError) {
        self.skipWhiteSpace()
        guard self.index == self.bytes.count else { throw self.error(.trailingContent) }
    }

    // MARK: Objects and arrays

    /// Reads the opening brace of an object.
    public mutating func enterObject() throws(JSONTextError) {
        guard let byte = self.current else { throw self.error(.unexpectedEnd) }
        guard byte == UInt8(ascii: "{") else { throw self.error(.unexpectedCharacter) }
        try self.enter()
    }

    /// Reads the opening bracket of an array.
    public mutating func enterArray() throws(JSONTextError) {
        guard let byte = self.current else { throw self.error(.unexpectedEnd) }
        guard byte == UInt8(ascii: "[") else { throw self.error(.unexpectedCharacter) }
        try self.enter()
    }

    private mutating func enter() throws(JSONTextError) {
        guard self.depth < JSONTextParser.maximumDepth else { throw self.error(.tooDeep) }
        self.depth += 1
        self.index += 1
        self.entered = true
        self.skipWhiteSpace()
    }

    /// Moves to the next member of the object being read: true with the reader at its key, false once
    /// past the object's closing brace.
    public mutating func nextMember() throws(JSONTextError) -> Bool {
        guard try self.next(closing: UInt8(ascii: "}")) else { return false }
        guard self.current == UInt8(ascii: "\"") else { throw self.error(self.current == nil ? .unexpectedEnd : .expectedKey) }
        return true
    }

    /// Moves to the next element of the array being read: true with the reader at it, false once past
    /// the array's closing bracket.
    public mutating func nextElement() throws(JSONTextError) -> Bool {
        try self.next(closing: UInt8(ascii: "]"))
    }

    /// Takes the comma before a member or element after the first, or the closing byte.
    private mutating func next(closing: UInt8) throws(JSONTextError) -> Bool {
        if self.entered {
            self.entered = false
            guard self.current == closing else { return true }
        } else {
            self.skipWhiteSpace()
            switch self.current {
            case UInt8(ascii: ","):
                self.index += 1
                self.skipWhiteSpace()
                return true
            case closing: break
            case nil: throw self.error(.unexpectedEnd)
            default: throw self.error(.expectedCommaOrEnd)
            }
        }
        self.index += 1
        self.depth -= 1
        return false
    }

    /// Reads a member's key and its colon.
    public mutating func readKey() throws(JSONTextError) -> String {
        let key = try self.string()
        try self.colon()
        return key
    }

    /// Reads a member's key and its colon; returns the key's bytes when it holds no escape (the bytes
    /// are the key), nil when it does (the key is read all the same).
    public mutating func readPlainKey() throws(JSONTextError) -> UnsafeBufferPointer<UInt8>? {
        let start = self.index + 1
        let plain = try self.skipString()
        let key = plain ? UnsafeBufferPointer(rebasing: self.bytes[start..<self.index - 1]) : nil
        try self.colon()
        return key
    }

    private mutating func colon() throws(JSONTextError) {
        self.skipWhiteSpace()
        guard self.current == UInt8(ascii: ":") else { throw self.error(self.current == nil ? .unexpectedEnd : .expectedColon) }
        self.index += 1
        self.skipWhiteSpace()
    }

    // MARK: Values

    /// Reads `null` if it comes next; false (nothing read) for any other value.
    public mutating func readNull() throws(JSONTextError) -> Bool {
        guard self.current == UInt8(ascii: "n") else { return false }
        try self.literal(Self.nullText)
        return true
    }

    /// Reads a string if one comes next; nil (nothing read) for any other value.
    public mutating func readString() throws(JSONTextError) -> String? {
        guard self.current == UInt8(ascii: "\"") else { return nil }
        return try self.string()
    }

    /// Reads the next value, whatever it is, as a ``JSONValue``.
    public mutating func readValue() throws(JSONTextError) -> JSONValue {
        guard let byte = self.current else { throw self.error(.unexpectedEnd) }
        switch byte {
        case UInt8(ascii: "\""): return .string(try self.string())
        case UInt8(ascii: "{"):
            try self.enterObject()
            var members: [String: JSONValue] = [:]
            while try self.nextMember() {
                let start = self.index
                let key = try self.readKey()
                // Looked up only when refusing: the last-wins reading (every request) pays nothing.
                if self.duplicateKeys == .refused, members[key] != nil {
                    throw JSONTextError(offset: start, reason: .duplicateKey, key: key)
                }
                members[key] = try self.readValue()
            }
            return .object(members)
        case UInt8(ascii: "["):
            try self.enterArray()
            var elements: [JSONValue] = []
            while try self.nextElement() { elements.append(try self.readValue()) }
            return .array(elements)
        case UInt8(ascii: "t"): try self.literal(Self.trueText); return .bool(true)
        case UInt8(ascii: "f"): try self.literal(Self.falseText); return .bool(false)
        case UInt8(ascii: "n"): try self.literal(Self.nullText); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try self.number()
        default: throw self.error(.unexpectedCharacter)
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONTextError) {
        let count = word.utf8CodeUnitCount
        let start = word.utf8Start
        for offset in 0..<count {
            guard let byte = self.current else { throw self.error(.unexpectedEnd) }
            guard byte == start[offset] else { throw self.error(.unexpectedCharacter) }
            self.index += 1
        }
    }

    /// Moves past a string starting at its opening quote, checking it as ``string()`` does; true when it
    /// holds no escape.
    private mutating func skipString() throws(JSONTextError) -> Bool {
        guard self.current == UInt8(ascii: "\"") else { throw self.error(self.current == nil ? .unexpectedEnd : .expectedKey) }
        let start = self.index + 1
        var scan = PlainStringRun.end(in: self.bytes, from: start)
        while scan < self.bytes.count {
            let byte = self.bytes[scan]
            if byte == UInt8(ascii: "\"") {
                // Checked as UTF-8 as `string()` checks it, without making the string.
                let run = UnsafeBufferPointer(rebasing: self.bytes[start..<scan])
                guard Self.isValidUTF8(run) else {
                    self.index = start + (Self.firstInvalidUTF8(in: run) ?? 0)
                    throw self.error(.invalidUTF8)
                }
                self.index = scan + 1
                return true
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            scan += 1
        }
        _ = try self.string()
        return false
    }

    /// Whether `bytes` are valid UTF-8 (ASCII checked first, the common case).
    static func isValidUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        if bytes.allSatisfy({ $0 < 0x80 }) { return true }
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// The offset of the first byte of the first invalid UTF-8 sequence in `bytes`, for the error's
    /// offset; nil when they are valid.
    static func firstInvalidUTF8(in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .error: return offset
            case .emptyInput: return nil
            }
        }
    }

    /// A string starting at the opening quote; leaves the index after the closing one.
    mutating func string() throws(JSONTextError) -> String {
        self.index += 1
        let start = self.index
        self.index = PlainStringRun.end(in: self.bytes, from: start)
        // The common case: no escapes, so the text is a slice of the input.
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            if byte == UInt8(ascii: "\"") {
                let slice = UnsafeBufferPointer(rebasing: self.bytes[start..<self.index])
                guard let text = String(validUTF8: slice) else {
                    self.index = start + (Self.firstInvalidUTF8(in: slice) ?? 0)
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
                guard let text = unescaped.withUnsafeBufferPointer({ String(validUTF8: $0) }) else {
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
        // In decimal mode, integers past Int64 (a UInt64 seq) keep their digits too; in either mode an
        // integer of up to 38 digits does (a JSON-RPC id must be echoed as sent, not as the nearest double).
        // (38 digits, its sign not counted: a negative one of 38 came back as a double.)
        let digits = text.first == UInt8(ascii: "-") ? text.count - 1 : text.count
        if self.fractions != .double || (integral && digits <= 38) {
            if let value = Decimal(string: String(decoding: text, as: UTF8.self), locale: nil), value.isFinite {
                return .decimal(value)
            }
            guard self.fractions == .decimalElseDouble else {
                self.index = start
                throw self.error(.numberOutOfRange)
            }
        }
        // Past a double's range either way: infinite, or 0 for digits that are not all zero (1e-400 was
        // read as 0, so a request id of 1e-400 was answered with id 0).
        guard let value = Double(String(decoding: text, as: UTF8.self)), value.isFinite, value != 0 || Self.isZero(text) else {
            self.index = start
            throw self.error(.numberOutOfRange)
        }
        return .double(value)
    }

    /// Whether a number's digits before its exponent are all zero.
    private static func isZero(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        text.prefix { $0 != UInt8(ascii: "e") && $0 != UInt8(ascii: "E") }.allSatisfy { !(UInt8(ascii: "1")...UInt8(ascii: "9")).contains($0) }
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

extension UnsafeBufferPointer<UInt8> {
    /// Whether these bytes are exactly `text`'s UTF-8 (a key compared without making a string).
    public func equals(_ text: StaticString) -> Bool {
        guard self.count == text.utf8CodeUnitCount else { return false }
        guard let base = self.baseAddress else { return true }
        return memcmp(base, text.utf8Start, self.count) == 0
    }
}
