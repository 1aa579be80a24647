// ContactLedger — read models.
import LedgerStore

extension AuditIndex {
    /// One condition of ``matches(workspace:_:in:limit:maximumSteps:in:)``: the position is indexed
    /// under `dimension` with one of `values` (several event types, say).
    public struct Filter: Sendable {
        public var dimension: Dimension
        public var values: [String]

        public init(_ dimension: Dimension, _ values: [String]) {
            self.dimension = dimension
            self.values = values
        }
    }

    /// What ``matches(workspace:_:in:limit:maximumSteps:in:)`` found.
    public struct Matches: Sendable {
        /// The positions that meet every filter, ascending.
        public var seqs: [UInt64]
        /// Every match up to this position is in `seqs`: the range's end once it is searched whole; the
        /// last match when `limit` was reached; short of both when the steps ran out.
        public var listedThrough: UInt64
    }

    /// The positions in `range` that `workspace`'s index lists under every filter, ascending, at most
    /// `limit` of them, found without reading the log.
    ///
    /// The filters' lists are walked together, each skipping to the largest position another has
    /// reached (a posting block at a time), so an actor's 100,000 changes filtered to a type it made
    /// twice cost a few reads, where reading the actor's changes and checking each one's type gave a
    /// client hundreds of empty pages. Every block read or position tried is a step; after
    /// `maximumSteps` the search stops where it is (``Matches/listedThrough``), so one call's time is
    /// bounded whatever the filters.
    public func matches(
        workspace: String, _ filters: [Filter], in range: ClosedRange<UInt64>, limit: Int, maximumSteps: Int, in txn: Transaction
    ) throws -> Matches {
        var lists = filters.map { filter in filter.values.map { PostingList(prefix: Self.prefix(workspace, filter.dimension, $0)) } }
        var found: [UInt64] = []
        var steps = 0
        var position = range.lowerBound
        guard !lists.isEmpty, lists.allSatisfy({ !$0.isEmpty }), limit > 0 else {
            return Matches(seqs: [], listedThrough: range.upperBound)
        }
        while found.count < limit {
            if steps >= maximumSteps { return Matches(seqs: found, listedThrough: position - 1) }
            steps += 1
            // The first position at or after `position` in every filter's union; a filter that is further
            // on moves the candidate, and the filters are asked again from there.
            var candidate = position
            for index in lists.indices {
                var next: UInt64?
                for member in lists[index].indices {
                    if let seq = try lists[index][member].first(atLeast: candidate, steps: &steps, table: self.table, in: txn) {
                        next = min(next ?? seq, seq)
                    }
                }
                guard let next, next <= range.upperBound else { return Matches(seqs: found, listedThrough: range.upperBound) }
                candidate = max(candidate, next)
            }
            if lists.indices.allSatisfy({ index in lists[index].contains { $0.current == candidate } }) {
                found.append(candidate)
                if candidate == range.upperBound { return Matches(seqs: found, listedThrough: range.upperBound) }
                position = candidate + 1
            } else {
                position = candidate
            }
        }
        return Matches(seqs: found, listedThrough: found.last ?? range.upperBound)
    }

    /// One value's positions, read a posting block at a time as a search moves forward.
    private struct PostingList {
        let prefix: [UInt8]
        /// The positions of the block read last, from the one `current` is at.
        private var block: [UInt64] = []
        private var index = 0
        private var isExhausted = false

        init(prefix: [UInt8]) { self.prefix = prefix }

        /// The position found by the last ``first(atLeast:steps:table:in:)``, nil past the end.
        var current: UInt64? { self.index < self.block.count ? self.block[self.index] : nil }

        /// The first position at or after `target`, nil when there is none; reads blocks only when the
        /// one in hand ends before `target`.
        mutating func first(atLeast target: UInt64, steps: inout Int, table: Table, in txn: Transaction) throws -> UInt64? {
            if self.isExhausted { return nil }
            if let last = self.block.last, last >= target {
                while self.block[self.index] < target { self.index += 1 }
                return self.block[self.index]
            }
            let prefix = self.prefix
            var read: [UInt64] = []
            try txn.withCursor(table) { cursor in
                try cursor.forEach(from: prefix + BigEndian.bytes(PostingBlocks.position(ofNumber: target).block)) { entry in
                    steps += 1
                    guard entry.key.hasPrefix(prefix), entry.key.count == prefix.count + 8,
                        let block = BigEndian.uint64(entry.key, at: prefix.count)
                    else { return false }
                    read = PostingBlocks.numbers(in: entry.value, block: block)
                    return read.last.map { $0 < target } ?? true
                }
            }
            guard let start = read.firstIndex(where: { $0 >= target }) else {
                self.isExhausted = true
                self.block = []
                return nil
            }
            self.block = read
            self.index = start
            return read[start]
        }
    }
}
