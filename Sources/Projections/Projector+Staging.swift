// ContactLedger — read models.
import Foundation
import LedgerStore

extension Projector {
    /// Applies decoded chunks that continue this projection's checkpoint, in order, in `txn`, and moves
    /// the checkpoint to the last one's end. Returns false, applying nothing, when the first chunk does
    /// not start at the checkpoint.
    ///
    /// For replays nothing else writes to: the offline rebuild, and the staging generation of an online
    /// rebuild (which has no log beside it to check chunks against; see ``apply(_:log:until:in:)``).
    public func replay(_ chunks: [ReplayChunk], in txn: Transaction) throws -> Bool {
        guard let first = chunks.first, let last = chunks.last else { return true }
        guard (try self.state(in: txn))?.position ?? 0 == first.after else { return false }
        let batch = ProjectionBatch(projector: self, txn: txn)
        for chunk in chunks {
            var items = chunk.items
            try batch.apply(&items)
        }
        try batch.finish(checkpoint: last.last)
        return true
    }

    /// Where ``copyEntries(from:in:after:maximumNanoseconds:into:)`` stopped: the table (by its index in
    /// ``tablesByBaseName``) and the last key copied.
    public struct CopyPosition: Sendable, Hashable {
        public var table: Int
        public var lastKey: [UInt8]?

        /// The start of a copy: `CopyPosition(table: 0, lastKey: nil)`.
        public init(table: Int, lastKey: [UInt8]?) {
            self.table = table
            self.lastKey = lastKey
        }
    }

    /// Copies the read-model entries of `source` (another environment's projection, read in
    /// `sourceTxn`) into this projection's tables in `txn`, from `position` on, for about
    /// `maximumNanoseconds`; returns where it stopped, or nil once every table is copied, in which case
    /// this projection's checkpoint is set to the source's.
    ///
    /// Entries are appended (`MDB_APPEND`) in key order, so this projection's tables must be empty when a
    /// copy starts and written by nothing else until it ends: pages are filled once, in order, instead
    /// of the random updates a replay makes.
    public func copyEntries(
        from source: Projector,
        in sourceTxn: Transaction,
        after position: CopyPosition,
        maximumNanoseconds: UInt64,
        into txn: Transaction
    ) throws -> CopyPosition? {
        let started = DispatchTime.now().uptimeNanoseconds
        let targets = self.tablesByBaseName
        let sources = source.tablesByBaseName
        var current = position
        var copied = 0
        while current.table < sources.count {
            let (name, from) = sources[current.table]
            if name == "rm.meta" {
                current = CopyPosition(table: current.table + 1, lastKey: nil)
                continue
            }
            let into = targets[current.table].1
            var lastKey = current.lastKey
            var exhausted = true
            try sourceTxn.withCursor(from) { cursor in
                var entry: Cursor.Entry?
                if let lastKey {
                    // Resume after the last key copied.
                    entry = try cursor.seek(atLeast: lastKey)
                    if let found = entry, found.key.elementsEqual(lastKey) { entry = try cursor.next() }
                } else {
                    entry = try cursor.first()
                }
                while let current = entry {
                    let key = Array(current.key)
                    try txn.put(into, key: key, value: Array(current.value), append: true)
                    lastKey = key
                    copied += 1
                    // The clock is read every 256 entries: a put costs well under a microsecond.
                    if copied % 256 == 0, DispatchTime.now().uptimeNanoseconds - started > maximumNanoseconds {
                        exhausted = false
                        return
                    }
                    entry = try cursor.next()
                }
            }
            guard exhausted else { return CopyPosition(table: current.table, lastKey: lastKey) }
            current = CopyPosition(table: current.table + 1, lastKey: nil)
        }
        try self.setCheckpoint(try source.state(in: sourceTxn)?.position ?? 0, in: txn)
        return nil
    }
}
