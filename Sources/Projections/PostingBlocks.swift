// ContactLedger — read models.
import LedgerStore

/// A set of ids kept as posting blocks: one index entry per key and block of 4,096 ids, whose value lists
/// the block's ids in the set. The URN trigram index and the audit index keep their sets this way.
///
/// A contact's URNs give it about twenty trigrams, and every event gives the audit index two or three
/// entries: as an entry per id they were most of the read models, and a batch of new contacts or events
/// wrote one per id and term. As blocks, a batch of consecutive ids changes about one entry per term it
/// touches, and the queries that read them decode a few thousand ids from each entry.
///
/// A value is a tag byte then the offsets in the block (`id % 4096`): ``Tag/list`` for a few, as sorted
/// big-endian `UInt16`s; ``Tag/bitmap`` for many, as 4,096 bits. The form is a function of the set, so a
/// rebuilt index is byte for byte the live one.
enum PostingBlocks {
    static let blockBits = 12
    static let blockSize = 1 << blockBits
    private static let bitmapBytes = blockSize / 8

    enum Tag: UInt8 {
        case list = 0
        case bitmap = 1
    }

    /// The block of `id` (the key's last 8 bytes, big-endian) and its offset in it.
    static func position(of id: Int64) -> (block: UInt64, offset: UInt16) {
        Self.position(ofNumber: UInt64(bitPattern: id))
    }

    /// The block of `number` (an id as unsigned, or a log position) and its offset in it.
    static func position(ofNumber number: UInt64) -> (block: UInt64, offset: UInt16) {
        (number >> UInt64(Self.blockBits), UInt16(truncatingIfNeeded: number & UInt64(Self.blockSize - 1)))
    }

    /// Where `offset`'s bit is in a bitmap value: its byte (after the tag) and the bit in it.
    private static func bit(of offset: UInt16) -> (byte: Int, mask: UInt8) {
        (1 + Int(offset) / 8, 1 << UInt8(offset % 8))
    }

    /// The ids of a stored value of `block`, ascending.
    static func ids(in value: UnsafeRawBufferPointer, block: UInt64) -> [Int64] {
        Self.numbers(in: value, block: block).map { Int64(bitPattern: $0) }
    }

    /// The numbers (ids as unsigned, or log positions) of a stored value of `block`, ascending.
    static func numbers(in value: UnsafeRawBufferPointer, block: UInt64) -> [UInt64] {
        Self.offsets(in: value).map { block << UInt64(Self.blockBits) | UInt64($0) }
    }

    /// The offsets a stored value holds, ascending (none for a value that is not one of ours).
    static func offsets(in value: UnsafeRawBufferPointer) -> [UInt16] {
        guard let first = value.first, let tag = Tag(rawValue: first) else { return [] }
        switch tag {
        case .list:
            return stride(from: 1, to: value.count - 1, by: 2).map { UInt16(value[$0]) << 8 | UInt16(value[$0 + 1]) }
        case .bitmap:
            var offsets: [UInt16] = []
            for byte in 0..<min(Self.bitmapBytes, value.count - 1) where value[byte + 1] != 0 {
                for bit in 0..<8 where value[byte + 1] & (1 << bit) != 0 { offsets.append(UInt16(byte * 8 + bit)) }
            }
            return offsets
        }
    }

    /// The value holding `offsets` (ascending, distinct): whichever of the two forms is smaller.
    static func value(of offsets: [UInt16]) -> [UInt8] {
        if offsets.count * 2 < Self.bitmapBytes {
            var bytes: [UInt8] = [Tag.list.rawValue]
            bytes.reserveCapacity(1 + offsets.count * 2)
            // Two appends, not `+= [high, low]`: that allocated a two-byte array per offset, and a
            // posting block rewritten for one contact holds hundreds.
            for offset in offsets {
                bytes.append(UInt8(offset >> 8))
                bytes.append(UInt8(offset & 0xFF))
            }
            return bytes
        }
        var bytes = [UInt8](repeating: 0, count: 1 + Self.bitmapBytes)
        bytes[0] = Tag.bitmap.rawValue
        for offset in offsets {
            let bit = Self.bit(of: offset)
            bytes[bit.byte] |= bit.mask
        }
        return bytes
    }

    /// `value` (nil: an absent block) with `changes` applied in order; nil once it holds no offset.
    ///
    /// A bitmap changes in place: a block every contact of a range is in (a trigram of a common prefix)
    /// holds thousands of offsets, and one contact's create must not decode them all.
    static func applying(_ changes: [(offset: UInt16, present: Bool)], to value: [UInt8]?) -> [UInt8]? {
        if var bitmap = value, bitmap.first == Tag.bitmap.rawValue, bitmap.count == 1 + Self.bitmapBytes {
            for change in changes {
                let bit = Self.bit(of: change.offset)
                if change.present { bitmap[bit.byte] |= bit.mask } else { bitmap[bit.byte] &= ~bit.mask }
            }
            let count = bitmap.dropFirst().reduce(0) { $0 + $1.nonzeroBitCount }
            guard count > 0 else { return nil }
            guard count * 2 < Self.bitmapBytes else { return bitmap }
            return bitmap.withUnsafeBytes { Self.value(of: Self.offsets(in: $0)) }
        }
        var offsets = value.map { bytes in bytes.withUnsafeBytes { Self.offsets(in: $0) } } ?? []
        for change in changes {
            // Sorted: the first offset not below the changed one is where it is, or belongs.
            var low = 0
            var high = offsets.count
            while low < high {
                let middle = (low + high) / 2
                if offsets[middle] < change.offset { low = middle + 1 } else { high = middle }
            }
            let isThere = low < offsets.count && offsets[low] == change.offset
            if change.present, !isThere { offsets.insert(change.offset, at: low) }
            if !change.present, isThere { offsets.remove(at: low) }
        }
        return offsets.isEmpty ? nil : Self.value(of: offsets)
    }

    /// Whether a stored value holds `offset`.
    static func contains(_ offset: UInt16, in value: UnsafeRawBufferPointer) -> Bool {
        guard let first = value.first, let tag = Tag(rawValue: first) else { return false }
        switch tag {
        case .list: return Self.offsets(in: value).contains(offset)
        case .bitmap:
            let bit = Self.bit(of: offset)
            return value.count > bit.byte && value[bit.byte] & bit.mask != 0
        }
    }
}

/// Posting changes gathered for a batch of contacts or events: by block, the offsets to add (true) or
/// remove (false), in the order gathered. ``apply(to:in:key:)`` reads each block once and writes it once.
///
/// A block is named by a `Key` value (its term or audit value, and its number) rather than its key
/// bytes: a batch of new contacts adds millions of postings to a few thousand blocks, and building the
/// bytes for each addition cost more than the addition. The bytes are built once per block, to apply.
///
/// Made with `recentBlocks`, the few blocks changed last are found by comparing keys, before any
/// hashing: a replay gives the audit index two or three postings per event into the same handful of
/// blocks (the event types, the actor), and hashing their strings for each was most of what indexing
/// an event cost. (A contact's trigrams go to blocks of their own, which this would only slow down.)
struct PostingChanges<Key: Hashable & Sendable>: Sendable {
    typealias Change = (offset: UInt16, present: Bool)

    /// The changed blocks in the order first changed, their changes beside them.
    private var keys: [Key] = []
    private var lists: [[Change]] = []
    /// Where each changed block is in `keys`.
    private var slots: [Key: Int] = [:]
    /// Slots changed lately, replaced in turn (-1: none yet); `nextRecent` is the one replaced next.
    private var recent: [Int]
    private var nextRecent = 0

    /// - Parameter recentBlocks: How many of the blocks changed last to compare keys with before hashing.
    init(recentBlocks: Int = 0) {
        self.recent = Array(repeating: -1, count: recentBlocks)
    }

    var isEmpty: Bool { self.keys.isEmpty }

    /// Makes room for `count` blocks at once, while nothing is gathered yet: one new contact's twenty-odd
    /// trigram blocks otherwise grew the table five times, hashing every block again at each step. Once
    /// something is gathered, growth is left to the table (asking for a little more room at every
    /// contact would resize it at every contact).
    mutating func reserveCapacity(whileEmpty count: Int) {
        guard self.keys.isEmpty else { return }
        self.keys.reserveCapacity(count)
        self.lists.reserveCapacity(count)
        self.slots.reserveCapacity(count)
    }

    /// The changed blocks and their changes, in the order gathered.
    var changes: some Sequence<(key: Key, changes: [Change])> {
        zip(self.keys, self.lists).lazy.map { (key: $0, changes: $1) }
    }

    mutating func add(_ offset: UInt16, to key: Key) { self.append((offset, true), to: key) }

    mutating func remove(_ offset: UInt16, from key: Key) { self.append((offset, false), to: key) }

    private mutating func append(_ change: Change, to key: Key) {
        let slot = self.slot(of: key)
        self.lists[slot].append(change)
    }

    /// Where `key`'s changes are, added when it has none yet.
    private mutating func slot(of key: Key) -> Int {
        for slot in self.recent where slot >= 0 && self.keys[slot] == key { return slot }
        let slot: Int
        if let known = self.slots[key] {
            slot = known
        } else {
            slot = self.keys.count
            self.keys.append(key)
            self.lists.append([])
            self.slots[key] = slot
        }
        if !self.recent.isEmpty {
            self.recent[self.nextRecent] = slot
            self.nextRecent = (self.nextRecent + 1) % self.recent.count
        }
        return slot
    }

    /// Gathers `other`'s changes after these.
    mutating func append(contentsOf other: PostingChanges) {
        for (key, changes) in other.changes {
            let slot = self.slot(of: key)
            self.lists[slot] += changes
        }
    }

    /// Each changed block's value after the changes (nil: the block goes), from its stored value.
    func updatedValues(stored: (Key) throws -> [UInt8]?) rethrows -> [Key: [UInt8]?] {
        var values: [Key: [UInt8]?] = [:]
        for (key, changes) in self.changes {
            values[key] = PostingBlocks.applying(changes, to: try stored(key))
        }
        return values
    }

    /// Applies the changes to the blocks stored in `table` under the bytes `key` makes of each block:
    /// each changed block read once, then every block written (or deleted, once empty) in key order.
    func apply(to table: Table, in txn: Transaction, key: (Key) -> [UInt8]) throws {
        guard !self.isEmpty else { return }
        var blocks = SortedWrites()
        for (block, changes) in self.changes {
            let bytes = key(block)
            if let value = PostingBlocks.applying(changes, to: try txn.get(table, key: bytes)) {
                blocks.put(key: bytes, value: value)
            } else {
                blocks.delete(key: bytes)
            }
        }
        try blocks.apply(to: table, in: txn)
    }
}
