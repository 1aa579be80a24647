// ContactLedger — spreadsheets.

/// Decompresses a raw deflate stream (RFC 1951), bounded on both sides: it reads only the bytes it is
/// given and stops with an error as soon as the output would pass `limit`.
///
/// Written for hostile input: every length, distance and code is checked, a stream that ends before
/// its final block is an error, and the work is linear in the output (at most `limit` bytes).
struct Inflater {
    /// Why a stream could not be inflated.
    enum Failure: Error, Equatable {
        /// The bytes are not a valid deflate stream (bad block type, code, length or distance), or the
        /// stream ends before its final block does.
        case corrupted
        /// The stream inflates to more than the limit.
        case overLimit
    }

    /// Inflates `input`, refusing to produce more than `limit` bytes.
    ///
    /// - Throws: ``Failure/corrupted`` or ``Failure/overLimit``.
    static func inflate(_ input: UnsafeRawBufferPointer, limit: Int) throws(Failure) -> [UInt8] {
        var inflater = Inflater(input: input, limit: limit)
        try inflater.run()
        return inflater.output
    }

    private let input: UnsafeRawBufferPointer
    private let limit: Int
    private var position = 0
    private var bitBuffer: UInt64 = 0
    private var bitCount = 0
    private var output: [UInt8] = []

    private init(input: UnsafeRawBufferPointer, limit: Int) {
        self.input = input
        self.limit = limit
        // Deflate rarely compresses XML less than 2:1; reserve for that, within the limit.
        self.output.reserveCapacity(min(limit, max(1024, input.count * 4)))
    }

    // MARK: - Blocks

    private mutating func run() throws(Failure) {
        var final = false
        while !final {
            final = try self.bits(1) == 1
            switch try self.bits(2) {
            case 0: try self.storedBlock()
            case 1: try self.codes(Self.fixedLiterals, Self.fixedDistances)
            case 2:
                let (literals, distances) = try self.dynamicTables()
                try self.codes(literals, distances)
            default: throw .corrupted
            }
        }
    }

    private mutating func storedBlock() throws(Failure) {
        // Drop the bits left of the current byte; whole bytes still buffered are given back.
        self.position -= self.bitCount / 8
        self.bitBuffer = 0
        self.bitCount = 0
        guard self.position + 4 <= self.input.count else { throw .corrupted }
        let length = Int(self.input[self.position]) | Int(self.input[self.position + 1]) << 8
        let complement = Int(self.input[self.position + 2]) | Int(self.input[self.position + 3]) << 8
        self.position += 4
        guard length == ~complement & 0xFFFF else { throw .corrupted }
        guard self.position + length <= self.input.count else { throw .corrupted }
        guard self.output.count + length <= self.limit else { throw .overLimit }
        self.output.append(contentsOf: UnsafeRawBufferPointer(rebasing: self.input[self.position..<(self.position + length)]))
        self.position += length
    }

    private static let lengthBase: [Int] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
    ]
    private static let lengthExtra: [Int] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distanceBase: [Int] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289,
        16385, 24577,
    ]
    private static let distanceExtra: [Int] = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

    /// Decodes literals and back-references until the end-of-block code.
    private mutating func codes(_ literals: HuffmanTable, _ distances: HuffmanTable) throws(Failure) {
        while true {
            let symbol = try self.decode(literals)
            if symbol < 256 {
                guard self.output.count < self.limit else { throw .overLimit }
                self.output.append(UInt8(symbol))
                continue
            }
            if symbol == 256 { return }
            let lengthIndex = symbol - 257
            guard lengthIndex < Self.lengthBase.count else { throw .corrupted }
            let length = Self.lengthBase[lengthIndex] + Int(try self.bits(Self.lengthExtra[lengthIndex]))
            let distanceSymbol = try self.decode(distances)
            guard distanceSymbol < Self.distanceBase.count else { throw .corrupted }
            let distance = Self.distanceBase[distanceSymbol] + Int(try self.bits(Self.distanceExtra[distanceSymbol]))
            guard distance <= self.output.count else { throw .corrupted }
            guard self.output.count + length <= self.limit else { throw .overLimit }
            // Grow first, then copy forwards in place: when the distance is shorter than the length the
            // copy reads bytes it has just written, as deflate means it to. (Appending a slice of the
            // array to itself would copy the whole array each time.)
            let destination = self.output.count
            self.output.append(contentsOf: repeatElement(0, count: length))
            self.output.withUnsafeMutableBufferPointer { buffer in
                for offset in 0..<length { buffer[destination + offset] = buffer[destination - distance + offset] }
            }
        }
    }

    /// The order in which code-length code lengths are stored.
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    private mutating func dynamicTables() throws(Failure) -> (HuffmanTable, HuffmanTable) {
        let literalCount = Int(try self.bits(5)) + 257
        let distanceCount = Int(try self.bits(5)) + 1
        let codeLengthCount = Int(try self.bits(4)) + 4
        guard literalCount <= 286, distanceCount <= 30 else { throw .corrupted }
        var codeLengthLengths = [UInt8](repeating: 0, count: 19)
        for index in 0..<codeLengthCount { codeLengthLengths[Self.codeLengthOrder[index]] = UInt8(try self.bits(3)) }
        let codeLengths = try HuffmanTable(lengths: codeLengthLengths)
        var lengths: [UInt8] = []
        lengths.reserveCapacity(literalCount + distanceCount)
        while lengths.count < literalCount + distanceCount {
            let symbol = try self.decode(codeLengths)
            switch symbol {
            case 0...15:
                lengths.append(UInt8(symbol))
            case 16:
                guard let previous = lengths.last else { throw .corrupted }
                lengths.append(contentsOf: repeatElement(previous, count: 3 + Int(try self.bits(2))))
            case 17:
                lengths.append(contentsOf: repeatElement(0, count: 3 + Int(try self.bits(3))))
            default:
                lengths.append(contentsOf: repeatElement(0, count: 11 + Int(try self.bits(7))))
            }
        }
        guard lengths.count == literalCount + distanceCount, lengths[256] != 0 else { throw .corrupted }
        let literals = try HuffmanTable(lengths: Array(lengths[..<literalCount]))
        let distances = try HuffmanTable(lengths: Array(lengths[literalCount...]))
        return (literals, distances)
    }

    private static let fixedLiterals: HuffmanTable = {
        var lengths = [UInt8](repeating: 8, count: 288)
        for index in 144..<256 { lengths[index] = 9 }
        for index in 256..<280 { lengths[index] = 7 }
        // Constant input: the table cannot be over-subscribed.
        return (try? HuffmanTable(lengths: lengths)) ?? HuffmanTable.empty
    }()

    private static let fixedDistances: HuffmanTable = (try? HuffmanTable(lengths: [UInt8](repeating: 5, count: 30))) ?? HuffmanTable.empty

    // MARK: - Bits

    /// Fills the bit buffer with whole bytes while there are any and room for them.
    @inline(__always)
    private mutating func refill() {
        while self.bitCount <= 56, self.position < self.input.count {
            self.bitBuffer |= UInt64(self.input[self.position]) << UInt64(self.bitCount)
            self.position += 1
            self.bitCount += 8
        }
    }

    /// The next `count` bits (0…16), least significant first.
    @inline(__always)
    private mutating func bits(_ count: Int) throws(Failure) -> UInt32 {
        if count == 0 { return 0 }
        if self.bitCount < count { self.refill() }
        guard self.bitCount >= count else { throw .corrupted }
        let value = UInt32(truncatingIfNeeded: self.bitBuffer & ((1 << UInt64(count)) - 1))
        self.bitBuffer >>= UInt64(count)
        self.bitCount -= count
        return value
    }

    /// One symbol of `table`: a lookup of the next bits, or a bit-by-bit walk for long codes.
    @inline(__always)
    private mutating func decode(_ table: HuffmanTable) throws(Failure) -> Int {
        if self.bitCount < HuffmanTable.fastBits { self.refill() }
        if self.bitCount >= HuffmanTable.fastBits {
            let entry = table.fast[Int(self.bitBuffer & UInt64(HuffmanTable.fastMask))]
            if entry != 0 {
                let length = Int(entry & 15)
                self.bitBuffer >>= UInt64(length)
                self.bitCount -= length
                return Int(entry >> 4)
            }
        }
        // Canonical decoding, one bit at a time (codes longer than the lookup, or the stream's tail).
        var code = 0
        var first = 0
        var index = 0
        for length in 1...15 {
            code |= Int(try self.bits(1))
            let count = table.counts[length]
            if code - first < count { return table.symbols[index + code - first] }
            index += count
            first = (first + count) << 1
            code <<= 1
        }
        throw .corrupted
    }
}

/// A canonical Huffman code: counts per length and symbols in code order, plus a lookup of the next
/// ``fastBits`` bits for the codes that fit in them.
struct HuffmanTable {
    static let fastBits = 10
    static let fastMask = (1 << fastBits) - 1
    static let empty = HuffmanTable(counts: [Int](repeating: 0, count: 16), symbols: [], fast: [UInt16](repeating: 0, count: 1 << fastBits))

    /// Codes per length (index 0 unused).
    let counts: [Int]
    /// Symbols ordered by code.
    let symbols: [Int]
    /// Indexed by the next bits (least significant first): `symbol << 4 | length`, or 0 when the code is longer.
    let fast: [UInt16]

    private init(counts: [Int], symbols: [Int], fast: [UInt16]) {
        self.counts = counts
        self.symbols = symbols
        self.fast = fast
    }

    /// The code given by each symbol's code length (0: unused).
    ///
    /// - Throws: ``Inflater/Failure/corrupted`` when the lengths over-subscribe the code space.
    init(lengths: [UInt8]) throws(Inflater.Failure) {
        var counts = [Int](repeating: 0, count: 16)
        for length in lengths { counts[Int(length)] += 1 }
        counts[0] = 0
        var left = 1
        for length in 1...15 {
            left <<= 1
            left -= counts[length]
            guard left >= 0 else { throw .corrupted }
        }
        var offsets = [Int](repeating: 0, count: 16)
        for length in 1..<15 { offsets[length + 1] = offsets[length] + counts[length] }
        var symbols = [Int](repeating: 0, count: lengths.count)
        for (symbol, length) in lengths.enumerated() where length != 0 {
            symbols[offsets[Int(length)]] = symbol
            offsets[Int(length)] += 1
        }
        // Lookup entries: walk the canonical codes in order.
        var fast = [UInt16](repeating: 0, count: 1 << Self.fastBits)
        var code = 0
        var index = 0
        for length in 1...15 {
            for _ in 0..<counts[length] {
                if length <= Self.fastBits {
                    var reversed = 0
                    for bit in 0..<length where code & (1 << bit) != 0 { reversed |= 1 << (length - 1 - bit) }
                    let entry = UInt16(symbols[index] << 4 | length)
                    var slot = reversed
                    while slot < fast.count {
                        fast[slot] = entry
                        slot += 1 << length
                    }
                }
                code += 1
                index += 1
            }
            code <<= 1
        }
        self.counts = counts
        self.symbols = Array(symbols.prefix(index))
        self.fast = fast
    }
}
