// ContactLedger — spreadsheets.
// zlib through the `CZlib` system module ZIPFoundation declares (Debian zlib1g-dev).
import CZlib

/// The CRC-32 that ZIP archives carry for each entry (IEEE 802.3), computed by zlib, whose
/// word-at-a-time implementation runs several times faster than a byte-table loop (which was half of
/// reading a sheet).
enum CRC32 {
    /// The checksum of no bytes: where ``update(_:with:)`` starts.
    static let initial: UInt32 = 0

    /// The checksum of the bytes `crc` was computed over followed by `bytes`: a part streamed in chunks
    /// is checked without being held whole.
    static func update(_ crc: UInt32, with bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { buffer in
            var crc = uLong(crc)
            var offset = 0
            // zlib takes a 32-bit length: feed it in chunks.
            while offset < buffer.count {
                let length = min(buffer.count - offset, 1 << 30)
                crc = crc32(crc, buffer.baseAddress.map { $0 + offset }, uInt(length))
                offset += length
            }
            return UInt32(truncatingIfNeeded: crc)
        }
    }
}
