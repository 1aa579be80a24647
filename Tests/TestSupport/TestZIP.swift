// ContactLedger — shared test support.
import Foundation

/// Writes ZIP archives byte by byte, with every header field under the test's control, so readers can
/// be fed archives no well-behaved tool would write: sizes that lie, wrong checksums, unknown
/// compression methods, directory or symlink entries, ZIP bombs.
///
/// Entries are stored or deflated with fixed Huffman codes (literals and runs of one byte), which any
/// inflater reads; the compression is weak except on runs, which is what a ZIP bomb needs.
public struct TestZIP: Sendable {
    /// How an entry's bytes are written.
    public enum Method: Sendable, Hashable {
        /// Method 0: the bytes as they are.
        case stored
        /// Method 8: a raw deflate stream (fixed Huffman codes).
        case deflated
        /// Method 8 with the given stream, written as is (for broken streams).
        case rawDeflate([UInt8])
        /// Any method number, with the bytes stored as they are (for unknown methods).
        case other(UInt16)
    }

    /// One entry of the archive.
    public struct Entry: Sendable {
        public var name: String
        public var bytes: [UInt8]
        public var method: Method
        /// The uncompressed size written in both headers; the real size when nil.
        public var declaredSize: UInt32?
        /// The CRC-32 written in both headers; the real one when nil.
        public var declaredCRC: UInt32?
        /// The central directory's external attributes (`0o120777 << 16` marks a Unix symlink).
        public var externalAttributes: UInt32

        public init(
            _ name: String, _ bytes: [UInt8], method: Method = .deflated, declaredSize: UInt32? = nil,
            declaredCRC: UInt32? = nil, externalAttributes: UInt32 = 0o100644 << 16
        ) {
            self.name = name
            self.bytes = bytes
            self.method = method
            self.declaredSize = declaredSize
            self.declaredCRC = declaredCRC
            self.externalAttributes = externalAttributes
        }
    }

    public var entries: [Entry]

    public init(_ entries: [Entry] = []) {
        self.entries = entries
    }

    /// Text parts, each stored with `method`, in the order of their names.
    public init(parts: [String: String], method: Method = .deflated) {
        self.entries = parts.keys.sorted().map { Entry($0, Array(parts[$0, default: ""].utf8), method: method) }
    }

    /// The archive's bytes: local headers and data, the central directory, the end record.
    public func bytes() -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for entry in self.entries {
            let name = Array(entry.name.utf8)
            let (methodNumber, data): (UInt16, [UInt8])
            switch entry.method {
            case .stored: (methodNumber, data) = (0, entry.bytes)
            case .deflated: (methodNumber, data) = (8, Self.deflate(entry.bytes))
            case .rawDeflate(let stream): (methodNumber, data) = (8, stream)
            case .other(let number): (methodNumber, data) = (number, entry.bytes)
            }
            let crc = entry.declaredCRC ?? Self.crc32(entry.bytes)
            let size = entry.declaredSize ?? UInt32(truncatingIfNeeded: entry.bytes.count)
            let offset = UInt32(truncatingIfNeeded: out.count)
            // Local file header.
            Self.put32(0x0403_4B50, &out)
            Self.put16(20, &out)  // version needed
            Self.put16(0, &out)  // flags
            Self.put16(methodNumber, &out)
            Self.put16(0, &out)  // time
            Self.put16(0x21, &out)  // date: 1980-01-01
            Self.put32(crc, &out)
            Self.put32(UInt32(truncatingIfNeeded: data.count), &out)
            Self.put32(size, &out)
            Self.put16(UInt16(truncatingIfNeeded: name.count), &out)
            Self.put16(0, &out)  // extra length
            out += name
            out += data
            // Central directory header.
            Self.put32(0x0201_4B50, &central)
            Self.put16(0x031E, &central)  // made by: Unix, 3.0
            Self.put16(20, &central)
            Self.put16(0, &central)
            Self.put16(methodNumber, &central)
            Self.put16(0, &central)
            Self.put16(0x21, &central)
            Self.put32(crc, &central)
            Self.put32(UInt32(truncatingIfNeeded: data.count), &central)
            Self.put32(size, &central)
            Self.put16(UInt16(truncatingIfNeeded: name.count), &central)
            Self.put16(0, &central)  // extra
            Self.put16(0, &central)  // comment
            Self.put16(0, &central)  // disk
            Self.put16(0, &central)  // internal attributes
            Self.put32(entry.externalAttributes, &central)
            Self.put32(offset, &central)
            central += name
        }
        let centralOffset = UInt32(truncatingIfNeeded: out.count)
        out += central
        Self.put32(0x0605_4B50, &out)
        Self.put16(0, &out)
        Self.put16(0, &out)
        Self.put16(UInt16(truncatingIfNeeded: self.entries.count), &out)
        Self.put16(UInt16(truncatingIfNeeded: self.entries.count), &out)
        Self.put32(UInt32(truncatingIfNeeded: central.count), &out)
        Self.put32(centralOffset, &out)
        Self.put16(0, &out)  // comment length
        return out
    }

    /// The archive as `Data`.
    public func data() -> Data { Data(self.bytes()) }

    // MARK: - Deflate (fixed Huffman)

    /// A raw deflate stream of `bytes`: one final fixed-Huffman block of literals, with every run of a
    /// repeated byte written as length-258 back-references at distance 1.
    public static func deflate(_ bytes: [UInt8]) -> [UInt8] {
        var writer = BitWriter()
        writer.bits(1, count: 1)  // BFINAL
        writer.bits(1, count: 2)  // BTYPE = 01, fixed Huffman
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            writer.literal(byte)
            var run = 0
            while index + 1 + run < bytes.count, bytes[index + 1 + run] == byte { run += 1 }
            var left = run
            while left >= 258 {
                writer.huffman(0xC5, length: 8)  // length code 285: 258 bytes
                writer.huffman(0, length: 5)  // distance code 0: distance 1
                left -= 258
            }
            for _ in 0..<left { writer.literal(byte) }
            index += 1 + run
        }
        writer.huffman(0, length: 7)  // end of block (code 256)
        return writer.finish()
    }

    /// `count` zero bytes deflated (as ``deflate(_:)`` would, without making them first): about 159
    /// times smaller than what it inflates to.
    public static func deflatedZeros(count: Int) -> [UInt8] {
        var writer = BitWriter()
        writer.bits(1, count: 1)
        writer.bits(1, count: 2)
        if count > 0 {
            writer.literal(0)
            for _ in 0..<((count - 1) / 258) {
                writer.huffman(0xC5, length: 8)
                writer.huffman(0, length: 5)
            }
            for _ in 0..<((count - 1) % 258) { writer.literal(0) }
        }
        writer.huffman(0, length: 7)
        return writer.finish()
    }

    /// `before`, `count` copies of `byte`, then `after`, deflated as ``deflate(_:)`` would deflate the
    /// run, without making it first: hundreds of MiB of padding cost a few hundred KiB.
    public static func deflate(_ before: [UInt8], run byte: UInt8, count: Int, _ after: [UInt8]) -> [UInt8] {
        var writer = BitWriter()
        writer.bits(1, count: 1)
        writer.bits(1, count: 2)
        for literal in before { writer.literal(literal) }
        if count > 0 {
            writer.literal(byte)
            for _ in 0..<((count - 1) / 258) {
                writer.huffman(0xC5, length: 8)
                writer.huffman(0, length: 5)
            }
            for _ in 0..<((count - 1) % 258) { writer.literal(byte) }
        }
        for literal in after { writer.literal(literal) }
        writer.huffman(0, length: 7)
        return writer.finish()
    }

    /// The CRC-32 of `before`, `count` copies of `byte`, then `after`, computed a MiB of the run at a
    /// time with ``crc32Combine(_:_:length:)``.
    public static func crc32(_ before: [UInt8], run byte: UInt8, count: Int, _ after: [UInt8]) -> UInt32 {
        let block = 1 << 20
        let blockCRC = Self.crc32(Array(repeating: byte, count: block))
        var crc = Self.crc32(before)
        for _ in 0..<(count / block) { crc = Self.crc32Combine(crc, blockCRC, length: block) }
        crc = Self.crc32Combine(crc, Self.crc32(Array(repeating: byte, count: count % block)), length: count % block)
        return Self.crc32Combine(crc, Self.crc32(after), length: after.count)
    }

    /// The CRC-32 of bytes A then B, from A's CRC, B's CRC and B's length (zlib's `crc32_combine`:
    /// appending `length` zero bits is a linear map, applied by squaring a 32×32 bit matrix).
    public static func crc32Combine(_ first: UInt32, _ second: UInt32, length: Int) -> UInt32 {
        guard length > 0 else { return first }
        func times(_ matrix: [UInt32], _ vector: UInt32) -> UInt32 {
            var sum: UInt32 = 0
            var vector = vector
            var index = 0
            while vector != 0 {
                if vector & 1 != 0 { sum ^= matrix[index] }
                vector >>= 1
                index += 1
            }
            return sum
        }
        func square(_ matrix: [UInt32]) -> [UInt32] { matrix.map { times(matrix, $0) } }
        // The operator for one zero bit, then two, then four.
        var odd = [0xEDB8_8320] + (1..<32).map { UInt32(1) << UInt32($0 - 1) }
        var even = square(odd)
        odd = square(even)
        var crc = first
        var length = length
        repeat {
            even = square(odd)
            if length & 1 != 0 { crc = times(even, crc) }
            length >>= 1
            if length == 0 { break }
            odd = square(even)
            if length & 1 != 0 { crc = times(odd, crc) }
            length >>= 1
        } while length != 0
        return crc ^ second
    }

    /// Bits written least significant first, as deflate packs them.
    private struct BitWriter {
        private var out: [UInt8] = []
        private var buffer: UInt32 = 0
        private var filled = 0

        mutating func bits(_ value: UInt32, count: Int) {
            self.buffer |= value << UInt32(self.filled)
            self.filled += count
            while self.filled >= 8 {
                self.out.append(UInt8(truncatingIfNeeded: self.buffer))
                self.buffer >>= 8
                self.filled -= 8
            }
        }

        /// A Huffman code, which deflate writes most significant bit first.
        mutating func huffman(_ code: UInt32, length: Int) {
            var reversed: UInt32 = 0
            for bit in 0..<length where code & (1 << UInt32(bit)) != 0 { reversed |= 1 << UInt32(length - 1 - bit) }
            self.bits(reversed, count: length)
        }

        mutating func literal(_ byte: UInt8) {
            if byte < 144 {
                self.huffman(0x30 + UInt32(byte), length: 8)
            } else {
                self.huffman(0x190 + UInt32(byte) - 144, length: 9)
            }
        }

        mutating func finish() -> [UInt8] {
            if self.filled > 0 { self.out.append(UInt8(truncatingIfNeeded: self.buffer)) }
            self.buffer = 0
            self.filled = 0
            return self.out
        }
    }

    // MARK: - Helpers

    private static let crcTable: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    /// The CRC-32 of `bytes` (ZIP's, IEEE 802.3).
    public static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = Self.crcTable[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    private static func put16(_ value: UInt16, _ out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: value))
        out.append(UInt8(truncatingIfNeeded: value >> 8))
    }

    private static func put32(_ value: UInt32, _ out: inout [UInt8]) {
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }
}
