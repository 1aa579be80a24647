// ContactLedger — contact domain.

/// The canonical text of a UUID: 36 characters, `8-4-4-4-12` hexadecimal digits, lowercase.
///
/// Foundation's `UUID(uuidString:)` on Linux parses with `sscanf` and `uuidString` formats with
/// `snprintf`; a replay parses the contact UUID of every event, and the two showed as several percent
/// of a rebuild. This reads the `8-4-4-4-12` form in either case as Foundation does, and returns the
/// text itself, without copying, when it is already canonical, as stored ids are. It refuses what
/// `sscanf` misreads as another UUID (a space, a sign or `0x` at the start of a group).
enum UUIDText {
    /// The canonical (lowercase) form of `text`, or nil when it is not a UUID.
    static func canonical(_ text: String) -> String? {
        Self.parse(text)?.text
    }

    /// The canonical (lowercase) form of `text` and the 128 bits it spells, or nil when it is not a UUID.
    static func parse(_ text: String) -> (text: String, bits: UUIDBits)? {
        var text = text
        // Nothing to do for a native string (every string on Linux); another is made native once.
        text.makeContiguousUTF8()
        guard let (bits, hasUppercase) = text.utf8.withContiguousStorageIfAvailable({ Self.read($0) }) ?? nil else { return nil }
        return (hasUppercase ? text.lowercased() : text, bits)
    }

    /// The bits of an `8-4-4-4-12` text and whether it has uppercase digits; nil when it is not one.
    private static func read(_ bytes: UnsafeBufferPointer<UInt8>) -> (UUIDBits, hasUppercase: Bool)? {
        guard bytes.count == 36 else { return nil }
        var hasUppercase = false
        var high: UInt64 = 0
        var low: UInt64 = 0
        var digits = 0
        for (position, byte) in bytes.enumerated() {
            if position == 8 || position == 13 || position == 18 || position == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            let value: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"):
                hasUppercase = true
                value = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            if digits < 16 { high = high << 4 | UInt64(value) } else { low = low << 4 | UInt64(value) }
            digits += 1
        }
        return (UUIDBits(high: high, low: low), hasUppercase)
    }
}

/// A UUID's 128 bits, most significant first: they order as its canonical text does (lowercase
/// hexadecimal digits at fixed places), and hash and compare without reading the text's storage.
struct UUIDBits: Hashable, Comparable, Sendable {
    var high: UInt64
    var low: UInt64

    static func < (lhs: UUIDBits, rhs: UUIDBits) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}
