// ContactLedger — storage layer.

/// Big-endian encodings, so that byte order equals numeric order in LMDB keys.
public enum BigEndian {
    /// Eight big-endian bytes of `value`.
    public static func bytes(_ value: UInt64) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    /// Reads a big-endian `UInt64` at `offset`; nil when too few bytes remain.
    ///
    /// Inlinable so that callers in other modules get it specialized for their collection: index scans
    /// read one per key, and the unspecialized generic walk cost more than the scan itself.
    @inlinable
    public static func uint64<Bytes: Collection<UInt8>>(_ bytes: Bytes, at offset: Int = 0) -> UInt64? {
        guard bytes.count >= offset + 8 else { return nil }
        var value: UInt64 = 0
        var index = bytes.index(bytes.startIndex, offsetBy: offset)
        for _ in 0..<8 {
            value = value << 8 | UInt64(bytes[index])
            index = bytes.index(after: index)
        }
        return value
    }

    /// Four big-endian bytes of `value`.
    public static func bytes(_ value: UInt32) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    /// Reads a big-endian `UInt32` at `offset`; nil when too few bytes remain.
    @inlinable
    public static func uint32<Bytes: Collection<UInt8>>(_ bytes: Bytes, at offset: Int = 0) -> UInt32? {
        guard bytes.count >= offset + 4 else { return nil }
        var value: UInt32 = 0
        var index = bytes.index(bytes.startIndex, offsetBy: offset)
        for _ in 0..<4 {
            value = value << 8 | UInt32(bytes[index])
            index = bytes.index(after: index)
        }
        return value
    }
}
