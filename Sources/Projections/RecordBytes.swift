// ContactLedger — read models.

/// Writes the fields of a compact binary read-model record: LEB128 varints, zigzag for signed
/// numbers, strings as a length and their UTF-8 bytes.
///
/// Records written this way are read back by ``RecordReader`` in the same field order; the layout of
/// each record type is versioned by the read-model version (``Projector/version``), so a changed
/// layout rebuilds the read models rather than misreading them.
struct RecordWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 256) { self.bytes.reserveCapacity(capacity) }

    mutating func byte(_ value: UInt8) { self.bytes.append(value) }

    mutating func unsigned(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            self.bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        self.bytes.append(UInt8(rest))
    }

    mutating func signed(_ value: Int64) {
        self.unsigned(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func string(_ value: String) {
        var text = value
        text.withUTF8 { utf8 in
            self.unsigned(UInt64(utf8.count))
            self.bytes.append(contentsOf: utf8)
        }
    }

    mutating func strings(_ values: [String]) {
        self.unsigned(UInt64(values.count))
        for value in values { self.string(value) }
    }
}

/// Reads a record written by ``RecordWriter``, field by field, from bytes that must outlive it (e.g.
/// a value in the memory map during its transaction).
struct RecordReader {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// Whether every byte was read: a record with bytes left over is not one this code wrote.
    var isAtEnd: Bool { self.offset == self.bytes.count }

    mutating func byte() throws(RecordFormatError) -> UInt8 {
        guard self.offset < self.bytes.count else { throw RecordFormatError() }
        defer { self.offset += 1 }
        return self.bytes[self.offset]
    }

    mutating func unsigned() throws(RecordFormatError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try self.byte()
            guard shift < 64 else { throw RecordFormatError() }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
    }

    mutating func signed() throws(RecordFormatError) -> Int64 {
        let raw = try self.unsigned()
        return Int64(bitPattern: raw >> 1) ^ -Int64(bitPattern: raw & 1)
    }

    /// A count of items that follow, each at least one byte long (so a corrupt count cannot make a
    /// reader reserve more than the record holds).
    mutating func count() throws(RecordFormatError) -> Int {
        let value = try self.unsigned()
        guard value <= UInt64(self.bytes.count - self.offset) else { throw RecordFormatError() }
        return Int(value)
    }

    mutating func string() throws(RecordFormatError) -> String {
        let length = try self.count()
        defer { self.offset += length }
        return String(decoding: UnsafeRawBufferPointer(rebasing: self.bytes[self.offset..<(self.offset + length)]), as: UTF8.self)
    }

    mutating func strings() throws(RecordFormatError) -> [String] {
        let count = try self.count()
        var values: [String] = []
        values.reserveCapacity(count)
        for _ in 0..<count { values.append(try self.string()) }
        return values
    }
}

/// A stored read-model record that is not in the layout this code writes.
struct RecordFormatError: Error, Hashable, Sendable {}
