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
        Self.parse(text, after: "")
    }

    /// The canonical form and the bits of the UUID that `text` holds after `prefix`, or nil when `text` is
    /// not `prefix` then a UUID. The bytes are read where `text` keeps them: a replay asks this of a
    /// stream name for every contact's events, where `hasPrefix` (which compares by Unicode's rules) and
    /// a `Substring` made into a `String` cost as much as the parse.
    static func parse(_ text: String, after prefix: String) -> (text: String, bits: UUIDBits)? {
        var text = text
        // Nothing to do for a native string (every string on Linux); another is made native once.
        text.makeContiguousUTF8()
        let skipped = prefix.utf8.count
        return text.utf8.withContiguousStorageIfAvailable { bytes -> (text: String, bits: UUIDBits)? in
            guard bytes.count == skipped + 36, bytes.prefix(skipped).elementsEqual(prefix.utf8) else { return nil }
            let uuid = UnsafeBufferPointer(rebasing: bytes[skipped...])
            guard let (bits, hasUppercase) = Self.read(uuid) else { return nil }
            // A UUID alone is its own text when it is canonical, as stored ids are: no copy.
            let own = skipped == 0 ? text : String(decoding: uuid, as: UTF8.self)
            return (hasUppercase ? own.lowercased() : own, bits)
        } ?? nil
    }

    /// The bits of an `8-4-4-4-12` text and whether it has uppercase digits; nil when it is not one.
    ///
    /// Without a branch per digit: whether a digit is a decimal or a letter is a coin toss in a random
    /// UUID, and a switch on each byte, mispredicted about every other digit, took 290 ns a UUID where
    /// this takes 165 ns (a micro-benchmark, release build). `0`–`9`, `a`–`f` and `A`–`F` are told apart
    /// and valued by arithmetic; any other byte marks the text invalid, checked once at the end.
    private static func read(_ bytes: UnsafeBufferPointer<UInt8>) -> (UUIDBits, hasUppercase: Bool)? {
        let dash = UInt8(ascii: "-")
        guard bytes.count == 36, bytes[8] == dash, bytes[13] == dash, bytes[18] == dash, bytes[23] == dash else { return nil }
        var invalid: UInt8 = 0
        var uppercase: UInt8 = 0
        var high: UInt64 = 0
        var low: UInt64 = 0
        for position in 0..<36 where position != 8 && position != 13 && position != 18 && position != 23 {
            let byte = bytes[position]
            let isDecimal: UInt8 = byte &- UInt8(ascii: "0") < 10 ? 1 : 0
            // ORing 0x20 lowercases a letter; a lowercase letter has that bit set already.
            let isLetter: UInt8 = (byte | 0x20) &- UInt8(ascii: "a") < 6 ? 1 : 0
            invalid |= 1 &- (isDecimal | isLetter)
            uppercase |= isLetter & (byte >> 5 & 1 ^ 1)
            // A digit's low four bits, plus 9 for a letter (the only ones with bit 6 set).
            let value = UInt64((byte & 0x0F) &+ 9 &* (byte >> 6))
            if position < 18 { high = high << 4 | value } else { low = low << 4 | value }
        }
        guard invalid == 0 else { return nil }
        return (UUIDBits(high: high, low: low), uppercase != 0)
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
