// ContactLedger — spreadsheets.
import CompressNIO
import Foundation
import NIOCore

/// A ZIP archive held in memory, read for its parts: the central directory is parsed once, and an
/// entry's bytes are streamed on demand, in chunks, bounded by its declared size and checked against
/// its CRC-32.
/// Deflated entries are inflated by zlib (through CompressNIO); this type reads the ZIP structure and
/// keeps zlib within each entry's bounds.
///
/// Made for hostile input: every offset and length is checked against the bytes there are, an entry
/// that inflates past its declared size is stopped at that size, and a deflate stream that ends early
/// is an error, never a wait. Reads stored and deflated entries (ZIP64 sizes and offsets included);
/// anything else is refused with a specific ``SpreadsheetError/corrupted(reason:)``.
///
/// ZIPFoundation, which writes our XLSX files, is not used to read them: on Linux its inflate loop
/// (0.9.20) reads on past an entry's compressed size until zlib reports the end of the stream (forever
/// when the archive ends first), and it hands over all that the stream inflates to, whatever the entry
/// declares.
struct ZIPArchiveReader {
    /// One central directory record.
    struct Entry {
        var name: String
        var flags: UInt16
        var method: UInt16
        var crc: UInt32
        var compressedSize: UInt64
        var uncompressedSize: UInt64
        var localHeaderOffset: UInt64
        /// A directory, or a Unix symbolic link: not a part.
        var isFile: Bool
    }

    private let bytes: [UInt8]
    private var byName: [String: Entry] = [:]
    private var byFoldedName: [String: Entry] = [:]

    /// Parses the central directory of `data`.
    ///
    /// - Throws: ``SpreadsheetError/corrupted(reason:)`` `not_a_zip_archive` when there is no end
    ///   record or the central directory does not fit in the bytes.
    init(_ data: Data) throws(SpreadsheetError) {
        self.bytes = [UInt8](data)
        let count = self.bytes.count
        guard count >= 22 else { throw .corrupted(reason: "not_a_zip_archive") }
        // The end record: 22 bytes and a comment of up to 65,535, found from the end.
        var end = -1
        var candidate = count - 22
        while candidate >= max(0, count - 22 - 0xFFFF) {
            if self.u32(candidate) == 0x0605_4B50 {
                end = candidate
                break
            }
            candidate -= 1
        }
        guard end >= 0 else { throw .corrupted(reason: "not_a_zip_archive") }
        var entryCount = UInt64(self.u16(end + 10))
        var directorySize = UInt64(self.u32(end + 12))
        var directoryOffset = UInt64(self.u32(end + 16))
        if entryCount == 0xFFFF || directorySize == 0xFFFF_FFFF || directoryOffset == 0xFFFF_FFFF {
            // ZIP64: a locator just before the end record points at the ZIP64 end record.
            guard end >= 20, self.u32(end - 20) == 0x0706_4B50 else { throw .corrupted(reason: "not_a_zip_archive") }
            let record = self.u64(end - 12)
            guard record <= UInt64(count - 56), self.u32(Int(record)) == 0x0606_4B50 else { throw .corrupted(reason: "not_a_zip_archive") }
            entryCount = self.u64(Int(record) + 32)
            directorySize = self.u64(Int(record) + 40)
            directoryOffset = self.u64(Int(record) + 48)
        }
        guard directoryOffset <= UInt64(count), directorySize <= UInt64(count) - directoryOffset else {
            throw .corrupted(reason: "not_a_zip_archive")
        }
        var position = Int(directoryOffset)
        let directoryEnd = position + Int(directorySize)
        var parsed: UInt64 = 0
        while parsed < entryCount, position + 46 <= directoryEnd {
            guard self.u32(position) == 0x0201_4B50 else { throw .corrupted(reason: "not_a_zip_archive") }
            let madeBy = self.u16(position + 4)
            let nameLength = Int(self.u16(position + 28))
            let extraLength = Int(self.u16(position + 30))
            let commentLength = Int(self.u16(position + 32))
            let recordEnd = position + 46 + nameLength + extraLength + commentLength
            guard recordEnd <= directoryEnd else { throw .corrupted(reason: "not_a_zip_archive") }
            let name = String(decoding: self.bytes[(position + 46)..<(position + 46 + nameLength)], as: UTF8.self)
            var entry = Entry(
                name: name, flags: self.u16(position + 8), method: self.u16(position + 10), crc: self.u32(position + 16),
                compressedSize: UInt64(self.u32(position + 20)), uncompressedSize: UInt64(self.u32(position + 24)),
                localHeaderOffset: UInt64(self.u32(position + 42)), isFile: !name.hasSuffix("/")
            )
            let mode = self.u32(position + 38) >> 16
            if madeBy >> 8 == 3, mode & 0o170000 == 0o120000 || mode & 0o170000 == 0o040000 { entry.isFile = false }
            self.applyZIP64(&entry, extra: (position + 46 + nameLength)..<(position + 46 + nameLength + extraLength))
            if self.byName[name] == nil { self.byName[name] = entry }
            let folded = name.lowercased()
            if self.byFoldedName[folded] == nil { self.byFoldedName[folded] = entry }
            position = recordEnd
            parsed += 1
        }
    }

    /// The entry named `name`, matched exactly, else ignoring ASCII case (part names are
    /// case-insensitive in Open Packaging).
    func entry(named name: String) -> Entry? {
        self.byName[name] ?? self.byFoldedName[name.lowercased()]
    }

    /// Hands the uncompressed bytes of `entry`, at most `limit` of them, to `consume` in chunks of at
    /// most ``chunkSize`` bytes, in order, as they are inflated: a part is never held whole, so reading
    /// it costs a chunk of memory whatever its size.
    ///
    /// The whole entry is checked, its size as it inflates and its CRC-32 once it has: those checks come
    /// first. When `consume` throws, the rest of the entry is still inflated (not handed over) and
    /// checked, and its error is thrown only if the entry is sound, so that a damaged archive reads as
    /// damaged, not as whatever the damage made its bytes look like. `consume` runs on the caller's
    /// thread, before this returns, and never again once it has thrown.
    ///
    /// - Throws: ``SpreadsheetError/tooLarge(what:limit:)`` (`bytes in one part`) when the entry
    ///   declares more than `limit` bytes; ``SpreadsheetError/corrupted(reason:)`` with
    ///   `part_not_a_file`, `encrypted_part`, `bad_part_header`, `truncated_part`,
    ///   `unsupported_compression`, `corrupted_part_data`, `part_size_mismatch` (it inflates to other
    ///   than its declared size: a ZIP bomb that lies stops there) or `part_checksum_mismatch`; else
    ///   what `consume` threw.
    func stream(
        _ entry: Entry,
        limit: Int,
        to consume: ([UInt8]) throws(SpreadsheetError) -> Void
    ) throws(SpreadsheetError) {
        guard entry.isFile else { throw .corrupted(reason: "part_not_a_file") }
        guard entry.flags & 1 == 0 else { throw .corrupted(reason: "encrypted_part") }
        guard entry.uncompressedSize <= UInt64(limit) else { throw .tooLarge(what: "bytes in one part", limit: limit) }
        let count = UInt64(self.bytes.count)
        guard entry.localHeaderOffset <= count, count - entry.localHeaderOffset >= 30 else { throw .corrupted(reason: "bad_part_header") }
        let header = Int(entry.localHeaderOffset)
        guard self.u32(header) == 0x0403_4B50 else { throw .corrupted(reason: "bad_part_header") }
        let start = UInt64(header + 30) + UInt64(self.u16(header + 26)) + UInt64(self.u16(header + 28))
        guard start <= count, entry.compressedSize <= count - start else { throw .corrupted(reason: "truncated_part") }
        let range = Int(start)..<Int(start + entry.compressedSize)
        let size = Int(entry.uncompressedSize)
        var sink = Sink()
        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.uncompressedSize else { throw .corrupted(reason: "part_size_mismatch") }
            for chunkStart in stride(from: range.lowerBound, to: range.upperBound, by: Self.chunkSize) {
                sink.take(Array(self.bytes[chunkStart..<min(chunkStart + Self.chunkSize, range.upperBound)]), consume)
            }
        case 8:
            try self.inflate(range, size: size, into: &sink, consume)
            guard sink.count == size else { throw .corrupted(reason: "part_size_mismatch") }
        default:
            throw .corrupted(reason: "unsupported_compression")
        }
        guard sink.crc == entry.crc else { throw .corrupted(reason: "part_checksum_mismatch") }
        if let failure = sink.failure { throw failure }
    }

    /// What has come of an entry's bytes: counted and checksummed, and handed over until the consumer
    /// refuses them.
    private struct Sink {
        var count = 0
        var crc = CRC32.initial
        /// What the consumer threw; it is given nothing after that.
        var failure: SpreadsheetError?

        mutating func take(_ chunk: [UInt8], _ consume: ([UInt8]) throws(SpreadsheetError) -> Void) {
            self.count += chunk.count
            self.crc = CRC32.update(self.crc, with: chunk)
            guard self.failure == nil else { return }
            do { try consume(chunk) } catch { self.failure = error }
        }
    }

    // MARK: - Inflating

    /// The most bytes handed over at a time, the most compressed bytes given to zlib at a time, and
    /// the most it may write in one call.
    static let chunkSize = 1 << 16

    /// Inflates the raw deflate stream (RFC 1951) at `range` with zlib into `sink`, to at most `size`
    /// bytes.
    ///
    /// zlib writes only into the room it is given: what is left of `size`, in chunks, and once that
    /// is used up a single byte, which tells a stream that goes on (an entry that lies about its size)
    /// from one that ends there or is cut short. The input is handed over in chunks too, and every
    /// call consumes input or writes output, or ends the loop.
    ///
    /// - Throws: ``SpreadsheetError/corrupted(reason:)`` `part_size_mismatch` when the stream goes on
    ///   past `size`; `corrupted_part_data` when it is not valid deflate, when the bytes end before the
    ///   stream does (zlib reports `Z_BUF_ERROR` for a call that can make no progress), or when zlib
    ///   cannot start (out of memory).
    private func inflate(
        _ range: Range<Int>,
        size: Int,
        into sink: inout Sink,
        _ consume: ([UInt8]) throws(SpreadsheetError) -> Void
    ) throws(SpreadsheetError) {
        // A deflate stream has at least one block header; without a byte it ends before it begins.
        guard !range.isEmpty else { throw .corrupted(reason: "corrupted_part_data") }
        let zlib: ZlibDecompressor
        do { zlib = try ZlibDecompressor(algorithm: .deflate) } catch { throw .corrupted(reason: "corrupted_part_data") }
        var input = ByteBuffer()
        var next = range.lowerBound
        // zlib writes into the writable bytes of `window`: its writer index is set `wanted` bytes before
        // its end. Zeroed once, so that every byte between its indices is initialised.
        var window = ByteBufferAllocator().buffer(capacity: max(1, min(size, Self.chunkSize)))
        window.writeRepeatingByte(0, count: window.capacity)
        while true {
            if input.readableBytes == 0, next < range.upperBound {
                let end = next + min(Self.chunkSize, range.upperBound - next)
                input.clear()
                input.writeBytes(self.bytes[next..<end])
                next = end
            }
            let room = size - sink.count
            let wanted = room > 0 ? min(room, Self.chunkSize) : 1
            window.moveReaderIndex(to: 0)
            window.moveWriterIndex(to: window.capacity - wanted)
            window.moveReaderIndex(to: window.writerIndex)
            let given = input.readableBytes
            var failure: CompressNIOError?
            do {
                try zlib.inflate(from: &input, to: &window)
            } catch let error as CompressNIOError {
                failure = error
            } catch {
                throw .corrupted(reason: "corrupted_part_data")
            }
            guard window.readableBytes <= room else { throw .corrupted(reason: "part_size_mismatch") }
            let progressed = window.readableBytes > 0 || input.readableBytes < given
            if window.readableBytes > 0 { sink.take(Array(window.readableBytesView), consume) }
            if let failure {
                // `bufferOverflow`: the room is full (Z_OK with no room left): go on. Anything else ends
                // it: `inputBufferOverflow` (Z_BUF_ERROR with no input left: the bytes ended before the
                // stream did), `corruptData` (not deflate), `noMoreMemory`.
                guard failure == .bufferOverflow, progressed else { throw .corrupted(reason: "corrupted_part_data") }
            } else if input.readableBytes > 0 || !progressed {
                // No error is Z_STREAM_END, or Z_OK when zlib used up its input and waits for more. It
                // waits only with no input left, and turns a call without progress into Z_BUF_ERROR:
                // input left, or no progress, is the end of the stream. Otherwise the next call tells.
                return
            }
        }
    }

    // MARK: - Bytes

    /// Replaces the sizes and offset that are 0xFFFFFFFF with those of the ZIP64 extra field (id 1).
    private func applyZIP64(_ entry: inout Entry, extra: Range<Int>) {
        var position = extra.lowerBound
        while position + 4 <= extra.upperBound {
            let id = self.u16(position)
            let length = Int(self.u16(position + 2))
            let body = position + 4
            guard body + length <= extra.upperBound else { return }
            if id == 1 {
                var field = body
                func next() -> UInt64? {
                    guard field + 8 <= body + length else { return nil }
                    defer { field += 8 }
                    return self.u64(field)
                }
                if entry.uncompressedSize == 0xFFFF_FFFF, let value = next() { entry.uncompressedSize = value }
                if entry.compressedSize == 0xFFFF_FFFF, let value = next() { entry.compressedSize = value }
                if entry.localHeaderOffset == 0xFFFF_FFFF, let value = next() { entry.localHeaderOffset = value }
                return
            }
            position = body + length
        }
    }

    /// Little-endian integers at `offset`; callers keep `offset` within the bytes.
    private func u16(_ offset: Int) -> UInt16 {
        UInt16(self.bytes[offset]) | UInt16(self.bytes[offset + 1]) << 8
    }

    private func u32(_ offset: Int) -> UInt32 {
        UInt32(self.u16(offset)) | UInt32(self.u16(offset + 2)) << 16
    }

    private func u64(_ offset: Int) -> UInt64 {
        UInt64(self.u32(offset)) | UInt64(self.u32(offset + 4)) << 32
    }
}
