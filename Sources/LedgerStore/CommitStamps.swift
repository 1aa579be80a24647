// ContactLedger — storage layer.
import CLMDB
import Foundation

/// Pairs the snapshots of an environment's two parts, so a read sees both as of the same write.
///
/// Every write transaction stores the same new stamp in both parts. The durable part commits first and
/// the rebuildable part a moment later, so a reader that begins in between would see the durable part
/// one write ahead (a finished group evaluation with its last members missing, say). A reader takes the
/// rebuildable snapshot first, then the durable one, and compares their stamps: when the durable part is
/// ahead, it waits for the writer to publish the rebuildable commit of that stamp and begins again.
final class CommitStamps: @unchecked Sendable {
    // @unchecked: `publishedStamp` is guarded by `published`; the table handles are immutable.
    /// The table earlier versions kept the stamp in, a page of its own for every commit to write and
    /// sync; dropped at open. The stamp is now a record of each part's root table (``Table/rootName``).
    static let formerTableName = "store.commit_stamp"
    private static let key = [0] + Array("store.commit_stamp".utf8)
    /// How long a reader waits for the writer to publish a write's rebuildable commit (it publishes it
    /// whether the commit succeeded or failed, so this bounds only a writer that stopped mid-write).
    static let maximumWait: TimeInterval = 5
    /// How many times a reader begins again: each time, the writer committed a further write between
    /// the reader's two snapshots; the bound only keeps a pathological schedule from looping forever.
    static let maximumAttempts = 1_000

    private let durableTable: Table
    private let rebuildableTable: Table
    private let published = NSCondition()
    private var publishedStamp: UInt64

    /// Opens the stamp tables of both parts and levels them if they differ (a rebuildable part that
    /// was discarded or whose last commit failed), in one write of each part.
    init(durable: OpaquePointer, rebuildable: OpaquePointer) throws(LMDBError) {
        let durableTxn = try Self.beginWrite(durable)
        let rebuildableTxn: OpaquePointer
        do throws(LMDBError) {
            rebuildableTxn = try Self.beginWrite(rebuildable)
        } catch {
            mdb_txn_abort(durableTxn)
            throw error
        }
        let txn = Transaction(pointer: durableTxn, rebuildablePointer: rebuildableTxn, isWritable: true)
        do throws(LMDBError) {
            var durableDBI: MDB_dbi = 0
            var rebuildableDBI: MDB_dbi = 0
            try check(mdb_dbi_open(durableTxn, nil, 0, &durableDBI), "mdb_dbi_open")
            try check(mdb_dbi_open(rebuildableTxn, nil, 0, &rebuildableDBI), "mdb_dbi_open")
            try Environment.dropTableIfPresent(Self.formerTableName, in: durableTxn)
            try Environment.dropTableIfPresent(Self.formerTableName, in: rebuildableTxn)
            self.durableTable = Table(name: Table.rootName, dbi: durableDBI, isInRebuildablePart: false)
            self.rebuildableTable = Table(name: Table.rootName, dbi: rebuildableDBI, isInRebuildablePart: true)
            let durableStamp = try Self.stamp(in: txn, self.durableTable)
            let rebuildableStamp = try Self.stamp(in: txn, self.rebuildableTable)
            var level = durableStamp
            if durableStamp != rebuildableStamp {
                level = max(durableStamp, rebuildableStamp) + 1
                try txn.put(self.durableTable, key: Self.key, value: BigEndian.bytes(level))
                try txn.put(self.rebuildableTable, key: Self.key, value: BigEndian.bytes(level))
            }
            self.publishedStamp = level
        } catch {
            mdb_txn_abort(rebuildableTxn)
            mdb_txn_abort(durableTxn)
            throw error
        }
        let durableCommitted = mdb_txn_commit(durableTxn)
        if durableCommitted != MDB_SUCCESS { mdb_txn_abort(rebuildableTxn) }
        try check(durableCommitted, "mdb_txn_commit")
        try check(mdb_txn_commit(rebuildableTxn), "mdb_txn_commit")
    }

    private static func beginWrite(_ env: OpaquePointer) throws(LMDBError) -> OpaquePointer {
        var txn: OpaquePointer?
        try check(mdb_txn_begin(env, nil, 0, &txn), "mdb_txn_begin")
        guard let txn else { throw LMDBError(code: .notFound, operation: "mdb_txn_begin") }
        return txn
    }

    private static func stamp(in txn: Transaction, _ table: Table) throws(LMDBError) -> UInt64 {
        try txn.get(table, key: Self.key).flatMap { BigEndian.uint64($0) } ?? 0
    }

    /// Stores the next stamp in both parts of the write transaction `txn`; returns it.
    func stampNext(_ txn: Transaction) throws(LMDBError) -> UInt64 {
        guard txn.rebuildablePointer != nil else { return 0 }
        let next = try Self.stamp(in: txn, self.durableTable) + 1
        try txn.put(self.durableTable, key: Self.key, value: BigEndian.bytes(next))
        try txn.put(self.rebuildableTable, key: Self.key, value: BigEndian.bytes(next))
        return next
    }

    /// Gives the rebuildable part of `txn` (a copy about to take the part's place) the durable part's
    /// stamp, which no write is ahead of: the writer calls this between writes.
    func adoptDurableStamp(_ txn: Transaction) throws(LMDBError) {
        try txn.put(self.rebuildableTable, key: Self.key, value: BigEndian.bytes(try Self.stamp(in: txn, self.durableTable)))
    }

    /// Whether a reader's two snapshots show the same write; also the durable part's stamp.
    func match(_ txn: Transaction) throws(LMDBError) -> (Bool, durableStamp: UInt64) {
        let durableStamp = try Self.stamp(in: txn, self.durableTable)
        return (try Self.stamp(in: txn, self.rebuildableTable) >= durableStamp, durableStamp)
    }

    /// Called by the writer once the rebuildable part of `stamp`'s write has committed (or failed to).
    func publish(_ stamp: UInt64) {
        self.published.lock()
        self.publishedStamp = max(self.publishedStamp, stamp)
        self.published.broadcast()
        self.published.unlock()
    }

    /// Waits until the writer has published `stamp`, at most ``maximumWait``; returns whether it had.
    func waitForPublication(of stamp: UInt64) -> Bool {
        let deadline = Date(timeIntervalSinceNow: Self.maximumWait)
        self.published.lock()
        defer { self.published.unlock() }
        while self.publishedStamp < stamp {
            if !self.published.wait(until: deadline) { return self.publishedStamp >= stamp }
        }
        return true
    }
}
