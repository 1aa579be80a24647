// ContactLedger — storage layer.
import CLMDB

/// An LMDB transaction, valid only inside the closure of ``Environment/read(_:)`` or
/// ``Environment/write(_:)`` that handed it out.
///
/// Deliberately not `Sendable`: a transaction must not escape its closure or cross threads. Values
/// returned by ``get(_:key:)`` are copied out, so they stay valid after the transaction ends.
///
/// When the environment has a rebuildable part, one `Transaction` spans both LMDB environments: each
/// table's operations go to the part that holds it, so callers see a single transaction.
public final class Transaction {
    /// The transaction in the durable part.
    let pointer: OpaquePointer
    /// The transaction in the rebuildable part, if the environment has one.
    let rebuildablePointer: OpaquePointer?
    /// Whether this transaction may write.
    public let isWritable: Bool
    /// Set when a nested transaction failed to merge into this one after one of its parts had: the two
    /// parts may disagree, so the environment aborts this transaction instead of committing it.
    var isBroken = false
    /// Set for the part of a write that goes on after its durable part committed
    /// (``Environment/writeReportingRebuildableFailure(_:whenDurable:finishing:)``): only rebuildable
    /// tables may be used then.
    private let holdsRebuildablePartOnly: Bool

    init(pointer: OpaquePointer, rebuildablePointer: OpaquePointer? = nil, isWritable: Bool) {
        self.pointer = pointer
        self.rebuildablePointer = rebuildablePointer
        self.isWritable = isWritable
        self.holdsRebuildablePartOnly = false
    }

    /// A write transaction of the rebuildable part alone, its durable part committed already.
    init(rebuildablePartOnly pointer: OpaquePointer) {
        self.pointer = pointer
        self.rebuildablePointer = pointer
        self.isWritable = true
        self.holdsRebuildablePartOnly = true
    }

    /// Ends a read transaction (both parts).
    func abortRead() {
        mdb_txn_abort(self.pointer)
        if let rebuildable = self.rebuildablePointer { mdb_txn_abort(rebuildable) }
    }

    /// The LMDB transaction of the part holding `table`.
    @inline(__always)
    private func handle(_ table: Table) -> OpaquePointer {
        if table.isInRebuildablePart, let rebuildable = self.rebuildablePointer { return rebuildable }
        // A durable table's handle would name a table of the other environment.
        precondition(!self.holdsRebuildablePartOnly, "a durable table used after the durable part committed")
        return self.pointer
    }

    /// Returns a copy of the value stored under `key`, or nil.
    public func get(_ table: Table, key: [UInt8]) throws(LMDBError) -> [UInt8]? {
        try self.withValue(table, key: key) { $0.map { Array($0) } }
    }

    /// Calls `body` with the bytes stored under `key` (or nil), without copying them.
    ///
    /// The buffer points into the memory map and is valid only during `body`.
    public func withValue<T>(
        _ table: Table,
        key: [UInt8],
        _ body: (UnsafeRawBufferPointer?) throws(LMDBError) -> T
    ) throws(LMDBError) -> T {
        var value = MDB_val()
        let rc = key.withUnsafeBytes { keyBytes -> Int32 in
            var keyValue = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            return mdb_get(self.handle(table), table.dbi, &keyValue, &value)
        }
        if rc == MDB_NOTFOUND { return try body(nil) }
        try check(rc, "mdb_get")
        return try body(UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
    }

    /// Whether `key` is present.
    public func contains(_ table: Table, key: [UInt8]) throws(LMDBError) -> Bool {
        try self.withValue(table, key: key) { $0 != nil }
    }

    /// Stores `value` under `key`, replacing any previous value.
    ///
    /// - Parameter append: the key sorts after every key in the table (`MDB_APPEND`, faster bulk loads).
    public func put(_ table: Table, key: [UInt8], value: [UInt8], append: Bool = false) throws(LMDBError) {
        precondition(self.isWritable, "put in a read transaction")
        let flags: UInt32 = append ? UInt32(MDB_APPEND) : 0
        let rc = key.withUnsafeBytes { keyBytes in
            value.withUnsafeBytes { valueBytes in
                var keyValue = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
                var dataValue = MDB_val(mv_size: valueBytes.count, mv_data: UnsafeMutableRawPointer(mutating: valueBytes.baseAddress))
                return mdb_put(self.handle(table), table.dbi, &keyValue, &dataValue, flags)
            }
        }
        try check(rc, "mdb_put")
    }

    /// Removes `key`; returns whether it was present.
    @discardableResult
    public func delete(_ table: Table, key: [UInt8]) throws(LMDBError) -> Bool {
        precondition(self.isWritable, "delete in a read transaction")
        let rc = key.withUnsafeBytes { keyBytes in
            var keyValue = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            return mdb_del(self.handle(table), table.dbi, &keyValue, nil)
        }
        if rc == MDB_NOTFOUND { return false }
        try check(rc, "mdb_del")
        return true
    }

    /// Removes every entry of `table`, keeping the table itself.
    public func clear(_ table: Table) throws(LMDBError) {
        precondition(self.isWritable, "clear in a read transaction")
        try check(mdb_drop(self.handle(table), table.dbi, 0), "mdb_drop")
    }

    /// The number of entries in `table`.
    public func count(_ table: Table) throws(LMDBError) -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(self.handle(table), table.dbi, &stat), "mdb_stat")
        return stat.ms_entries
    }

    /// Runs `body` with a cursor over `table`; the cursor is closed when `body` returns.
    public func withCursor<T>(_ table: Table, _ body: (Cursor) throws -> T) throws -> T {
        var cursorPointer: OpaquePointer?
        try check(mdb_cursor_open(self.handle(table), table.dbi, &cursorPointer), "mdb_cursor_open")
        guard let cursorPointer else { throw LMDBError(code: .notFound, operation: "mdb_cursor_open") }
        defer { mdb_cursor_close(cursorPointer) }
        return try body(Cursor(pointer: cursorPointer))
    }

    /// Runs `body` in a nested write transaction: its changes become part of this transaction if it
    /// returns, and are discarded if it throws, leaving this transaction as it was.
    public func nested<T>(_ body: (Transaction) throws -> T) throws -> T {
        precondition(self.isWritable, "nested transaction in a read transaction")
        precondition(!self.holdsRebuildablePartOnly, "nested transaction after the durable part committed")
        var child: OpaquePointer?
        try check(mdb_txn_begin(mdb_txn_env(self.pointer), self.pointer, 0, &child), "mdb_txn_begin")
        guard let child else { throw LMDBError(code: .notFound, operation: "mdb_txn_begin") }
        var rebuildableChild: OpaquePointer?
        if let parent = self.rebuildablePointer {
            let rc = mdb_txn_begin(mdb_txn_env(parent), parent, 0, &rebuildableChild)
            if rc != MDB_SUCCESS || rebuildableChild == nil {
                mdb_txn_abort(child)
                try check(rc == MDB_SUCCESS ? MDB_PANIC : rc, "mdb_txn_begin")
            }
        }
        let transaction = Transaction(pointer: child, rebuildablePointer: rebuildableChild, isWritable: true)
        let result: T
        do {
            result = try body(transaction)
            if transaction.isBroken { throw LMDBError(code: .init(rawValue: MDB_PANIC), operation: "mdb_txn_commit") }
        } catch {
            if let rebuildableChild { mdb_txn_abort(rebuildableChild) }
            mdb_txn_abort(child)
            throw error
        }
        // A nested commit only merges into the parent (nothing reaches the disk before the parent's
        // commit); both parts merge, or the parent is marked broken.
        if let rebuildableChild {
            let rc = mdb_txn_commit(rebuildableChild)
            if rc != MDB_SUCCESS {
                mdb_txn_abort(child)
                try check(rc, "mdb_txn_commit")
            }
        }
        let rc = mdb_txn_commit(child)
        if rc != MDB_SUCCESS {
            if rebuildableChild != nil { self.isBroken = true }
            try check(rc, "mdb_txn_commit")
        }
        return result
    }
}
