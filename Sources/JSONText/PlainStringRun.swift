// ContactLedger — JSON text.

/// Skips the plain part of a JSON string's bytes eight at a time.
///
/// Every string scanner stops at a quote, a backslash or a control character, and most also note
/// non-ASCII bytes; the bytes between are most of what a scan reads (UUIDs, stream names, keys). A
/// word that holds none of those is skipped whole.
public enum PlainStringRun {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highBits: UInt64 = 0x8080_8080_8080_8080

    /// The position of the first byte at or after `start` that is a quote, a backslash, a control
    /// character or not ASCII, or a position up to seven bytes before it, or the end.
    /// The caller's own byte loop takes it from there.
    @inline(__always)
    public static func end(in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        guard let base = bytes.baseAddress else { return start }
        var index = start
        while index + 8 <= bytes.count {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            guard Self.isPlain(word) else { break }
            index += 8
        }
        return index
    }

    /// Whether none of the word's bytes is a quote, a backslash, below 0x20 or above 0x7F.
    @inline(__always)
    static func isPlain(_ word: UInt64) -> Bool {
        // Exact tests for "some byte is zero" and "some byte is below n" (n ≤ 0x80), valid once no byte
        // has its high bit set.
        func hasZeroByte(_ value: UInt64) -> Bool { (value &- Self.ones) & ~value & Self.highBits != 0 }
        guard word & Self.highBits == 0 else { return false }
        if (word &- Self.ones &* 0x20) & ~word & Self.highBits != 0 { return false }
        return !hasZeroByte(word ^ (Self.ones &* UInt64(UInt8(ascii: "\"")))) && !hasZeroByte(word ^ (Self.ones &* UInt64(UInt8(ascii: "\\"))))
    }
}
