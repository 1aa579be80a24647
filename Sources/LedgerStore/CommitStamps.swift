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
    static let tableName = "store.commit_stamp"
    private static let key = Array("stamp".utf8)
    /// How long a reader waits for the writer to publish a write's rebuildable commit (it publishes it
    /// whether the commit succeeded or failed, so this bounds only a writer that stopped mid-write).
    static let maximumWait: TimeInterval = 5
    /// How many times a reader begins again: each time, the writer committed a further write between
    /// the reader's two snapshots; the bound only keeps a pathological schedule from looping forever.
    static let maximumAttempts = 1_000

    let durableTable: MDB_dbi
    let rebuildableTable: MDB_dbi
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
        var durableTable: MDB_dbi = 0
        var rebuildableTable: MDB_dbi = 0
        do throws(LMDBError) {
            try check(mdb_dbi_open(durableTxn, Self.tableName, UInt32(MDB_CREATE), &durableTable), "mdb_dbi_open")
            try check(mdb_dbi_open(rebuildableTxn, Self.tableName, UInt32(MDB_CREATE), &rebuildableTable), "mdb_dbi_open")
            let durableStamp = try Self.stamp(durableTxn, durableTable)
            let rebuildableStamp = try Self.stamp(rebuildableTxn, rebuildableTable)
            var level = durableStamp
            if durableStamp != rebuildableStamp {
                level = max(durableStamp, rebuildableStamp) + 1
                try Self.put(level, durableTxn, durableTable)
                try Self.put(level, rebuildableTxn, rebuildableTable)
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
        self.durableTable = durableTable
        self.rebuildableTable = rebuildableTable
    }

    private static func beginWrite(_ env: OpaquePointer) throws(LMDBError) -> OpaquePointer {
        var txn: OpaquePointer?
        try check(mdb_txn_begin(env, nil, 0, &txn), "mdb_txn_begin")
        guard let txn else { throw LMDBError(code: .notFound, operation: "mdb_txn_begin") }
        return txn
    }

    private static func stamp(_ txn: OpaquePointer, _ table: MDB_dbi) throws(LMDBError) -> UInt64 {
        var value = MDB_val()
        let rc = Self.key.withUnsafeBytes { keyBytes -> Int32 in
            var keyValue = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            return mdb_get(txn, table, &keyValue, &value)
        }
        if rc == MDB_NOTFOUND { return 0 }
        try check(rc, "mdb_get")
        return BigEndian.uint64(UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)) ?? 0
    }

    private static func put(_ stamp: UInt64, _ txn: OpaquePointer, _ table: MDB_dbi) throws(LMDBError) {
        let value = BigEndian.bytes(stamp)
        let rc = Self.key.withUnsafeBytes { keyBytes in
            value.withUnsafeBytes { valueBytes in
                var keyValue = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
                var dataValue = MDB_val(mv_size: valueBytes.count, mv_data: UnsafeMutableRawPointer(mutating: valueBytes.baseAddress))
                return mdb_put(txn, table, &keyValue, &dataValue, 0)
            }
        }
        try check(rc, "mdb_put")
    }

    /// Stores the next stamp in both parts of the write transaction `txn`; returns it.
    func stampNext(_ txn: Transaction) throws(LMDBError) -> UInt64 {
        guard let rebuildable = txn.rebuildablePointer else { return 0 }
        let next = try Self.stamp(txn.pointer, self.durableTable) + 1
        try Self.put(next, txn.pointer, self.durableTable)
        try Self.put(next, rebuildable, self.rebuildableTable)
        return next
    }

    /// Whether a reader's two snapshots show the same write.
    func match(durable: OpaquePointer, rebuildable: OpaquePointer) throws(LMDBError) -> (Bool, durableStamp: UInt64) {
        let durableStamp = try Self.stamp(durable, self.durableTable)
        return (try Self.stamp(rebuildable, self.rebuildableTable) >= durableStamp, durableStamp)
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
