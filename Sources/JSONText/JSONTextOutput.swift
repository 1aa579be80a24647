// ContactLedger — JSON text primitives.

/// Appends JSON text to a byte buffer: string literals with the escapes JSON requires, integers,
/// and the punctuation of objects and arrays.
///
/// The JSON-RPC layer writes its values with it, and the domain writes its hottest stored shapes (event
/// headers) with it instead of `JSONEncoder`, whose generic machinery cost more than the rest of an
/// append. The text matches `JSONEncoder` with `.withoutEscapingSlashes`: `"`, `\` and control
/// characters escaped (`\n`, `\r`, `\t`, `\b`, `\f`, else `\u00XX`), everything else as UTF-8.
public struct JSONTextOutput: Sendable {
    /// The text written so far.
    public var bytes: [UInt8]

    public init(capacity: Int = 256) {
        self.bytes = []
        self.bytes.reserveCapacity(capacity)
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// A string literal.
    public mutating func string(_ text: String) {
        self.bytes.append(UInt8(ascii: "\""))
        // Runs of bytes that need no escape are copied whole, found eight bytes at a time where they are
        // plain ASCII: appending byte by byte was most of what writing an event's strings cost.
        var text = text
        // Nothing to do for a native string (every string on Linux); another is made native once.
        text.makeContiguousUTF8()
        _ = text.utf8.withContiguousStorageIfAvailable { utf8 in
            var start = 0
            while start < utf8.count {
                var end = PlainStringRun.end(in: utf8, from: start)
                while end < utf8.count, !Self.needsEscape(utf8[end]) { end += 1 }
                self.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<end]))
                guard end < utf8.count else { break }
                self.escape(utf8[end])
                start = end + 1
            }
        }
        self.bytes.append(UInt8(ascii: "\""))
    }

    /// Whether a string's byte is written escaped: a quote, a backslash or a control character.
    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20
    }

    /// Writes the escape of a byte ``needsEscape(_:)`` names.
    private mutating func escape(_ byte: UInt8) {
        switch byte {
        case 0x0A: self.literal(#"\n"#)
        case 0x0D: self.literal(#"\r"#)
        case 0x09: self.literal(#"\t"#)
        case 0x08: self.literal(#"\b"#)
        case 0x0C: self.literal(#"\f"#)
        case 0..<0x20:
            self.literal(#"\u00"#)
            self.bytes.append(Self.hexDigits[Int(byte >> 4)])
            self.bytes.append(Self.hexDigits[Int(byte & 0x0F)])
        default:
            self.bytes.append(UInt8(ascii: "\\"))
            self.bytes.append(byte)
        }
    }

    /// An integer in decimal.
    ///
    /// Inlinable so that each caller gets it for its own integer type: unspecialized, every call went
    /// through `BinaryInteger`'s witness table and made a `String` of the digits, the largest part of
    /// writing an event header.
    @inlinable
    public mutating func integer(_ value: some BinaryInteger) {
        guard let magnitude = UInt64(exactly: value.magnitude) else {
            self.bytes.append(contentsOf: String(value).utf8)
            return
        }
        self.decimal(magnitude, negative: value < 0)
    }

    /// The digits of `magnitude`, after a minus sign if `negative`, written in place.
    @usableFromInline
    mutating func decimal(_ magnitude: UInt64, negative: Bool) {
        if negative { self.bytes.append(UInt8(ascii: "-")) }
        var digits = 1
        var rest = magnitude
        while rest >= 10 {
            digits += 1
            rest /= 10
        }
        let start = self.bytes.count
        self.bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        self.bytes.withUnsafeMutableBufferPointer { buffer in
            var remaining = magnitude
            var index = start + digits
            while remaining > 0 {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: remaining % 10)
                remaining /= 10
            }
        }
    }

    /// `null`.
    public mutating func null() { self.literal("null") }

    /// `true` or `false`.
    public mutating func bool(_ value: Bool) {
        self.literal(value ? "true" : "false")
    }

    /// Text that is already JSON (a number's text, a nested value).
    public mutating func raw(_ text: some Sequence<UInt8>) { self.bytes.append(contentsOf: text) }

    /// One byte of punctuation: `{`, `}`, `[`, `]`, `,` or `:`.
    public mutating func punctuation(_ byte: UInt8) { self.bytes.append(byte) }

    /// `"key":` — after a `,` unless `first`.
    public mutating func key(_ key: StaticString, first: Bool = false) {
        if !first { self.bytes.append(UInt8(ascii: ",")) }
        self.bytes.append(UInt8(ascii: "\""))
        self.literal(key)
        self.literal("\":")
    }

    /// The bytes of a literal, copied from where the program keeps them: an array literal in their
    /// place was an allocation on every call, and keys and nulls are written for every event.
    private mutating func literal(_ text: StaticString) {
        // withUTF8Buffer, not utf8Start: a one-character literal is stored as a scalar, without a pointer.
        text.withUTF8Buffer { self.bytes.append(contentsOf: $0) }
    }
}
