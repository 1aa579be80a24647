// ContactLedger — storage layer.
#if canImport(Glibc)
import Glibc
#endif
import ParallelWork

/// Puts and deletes for one table, gathered during a write transaction and applied together in key
/// order through one cursor (``Cursor/put(key:value:)``).
///
/// Keys written one by one each descend the tree from the root; in key order, most land on the page
/// the cursor is already on. Index updates of a batch (many contacts, each with dozens of terms
/// scattered over the table) are the case it is for. The later write of a key wins, as if each had been
/// applied when it was gathered; nothing is visible in the table before ``apply(to:in:)``.
public struct SortedWrites: Sendable {
    // Keys and values apart: the sort compares keys only, and reading a key out of a tuple copied the
    // tuple (its two arrays retained and released) for every comparison.
    private var keys: [[UInt8]] = []
    /// The value of each key, or nil to delete it.
    private var values: [[UInt8]?] = []

    public init() {}

    public var isEmpty: Bool { self.keys.isEmpty }

    /// Gathers a put of `value` under `key`.
    public mutating func put(key: [UInt8], value: [UInt8]) {
        self.keys.append(key)
        self.values.append(value)
    }

    /// Gathers a delete of `key`.
    public mutating func delete(key: [UInt8]) {
        self.keys.append(key)
        self.values.append(nil)
    }

    /// Gathers `other`'s writes after these, in their order.
    public mutating func append(contentsOf other: SortedWrites) {
        self.keys += other.keys
        self.values += other.values
    }

    /// Writes what was gathered into `table`, in key order, and forgets it.
    public mutating func apply(to table: Table, in txn: Transaction) throws {
        guard !self.keys.isEmpty else { return }
        let keys = self.keys
        let values = self.values
        self.keys = []
        self.values = []
        let order = Self.order(of: keys)
        do {
            try txn.withCursor(table) { cursor in
                for index in order {
                    if let value = values[index] {
                        try cursor.put(key: keys[index], value: value)
                    } else {
                        try cursor.delete(key: keys[index])
                    }
                }
            }
        } catch {
            // Kept for a retry (a write retried after the map grew applies them again).
            self.keys = keys
            self.values = values
            throw error
        }
        // Freed on another core: a batch's keys are tens of thousands of small arrays.
        BackgroundRelease.release((consume keys, consume values), count: order.count)
    }

    /// The indices of `keys` by key, then by the order gathered, so the later write of a key is applied
    /// last. A large batch is sorted a slice per core, then the sorted slices are merged.
    ///
    /// The keys are first copied end to end into one buffer, and comparisons read them there: reading
    /// `keys[i]` in a comparison retained and released the key's array each time, which was most of
    /// the cost of sorting a replay chunk's hundreds of thousands of index keys.
    static func order(of keys: [[UInt8]]) -> [Int] {
        var arena: [UInt8] = []
        arena.reserveCapacity(keys.reduce(0) { $0 + $1.count })
        var starts: [Int] = []
        starts.reserveCapacity(keys.count + 1)
        for key in keys {
            starts.append(arena.count)
            arena += key
        }
        starts.append(arena.count)
        return arena.withUnsafeBytes { bytes in
            starts.withUnsafeBufferPointer { starts in
                let view = PackedKeys(base: bytes.baseAddress, starts: starts)
                @Sendable func precedes(_ left: Int, _ right: Int) -> Bool {
                    let comparison = view.compare(left, right)
                    return comparison == 0 ? left < right : comparison < 0
                }
                let slices = ParallelSlices.map(count: keys.count, minimumPerSlice: 4_096, slicesPerCore: 1) { slice in slice.sorted(by: precedes) }
                return slices.dropFirst().reduce(slices.first ?? []) { merged, next in Self.merge(merged, next, by: precedes) }
            }
        }
    }

    /// Keys packed end to end: key `i` is the bytes from `starts[i]` to `starts[i + 1]`.
    ///
    /// `@unchecked Sendable`: it only reads memory that ``order(of:)`` keeps alive and unchanged while
    /// the sort's threads use it.
    private struct PackedKeys: @unchecked Sendable {
        let base: UnsafeRawPointer?
        let starts: UnsafeBufferPointer<Int>

        /// LMDB's default key order: bytes compared as unsigned, a prefix before its extensions.
        func compare(_ left: Int, _ right: Int) -> Int {
            let leftStart = self.starts[left]
            let rightStart = self.starts[right]
            let leftCount = self.starts[left + 1] - leftStart
            let rightCount = self.starts[right + 1] - rightStart
            let common = min(leftCount, rightCount)
            if common > 0, let base = self.base {
                let bytes = memcmp(base + leftStart, base + rightStart, common)
                if bytes != 0 { return Int(bytes) }
            }
            return leftCount - rightCount
        }
    }

    /// Two sorted index lists as one sorted list.
    private static func merge(_ left: [Int], _ right: [Int], by precedes: (Int, Int) -> Bool) -> [Int] {
        var merged: [Int] = []
        merged.reserveCapacity(left.count + right.count)
        var i = 0
        var j = 0
        while i < left.count, j < right.count {
            if precedes(right[j], left[i]) {
                merged.append(right[j])
                j += 1
            } else {
                merged.append(left[i])
                i += 1
            }
        }
        merged += left[i...]
        merged += right[j...]
        return merged
    }
}
