// ContactLedger — storage layer.
import CLMDB
#if canImport(Glibc)
import Glibc
#endif

/// A cursor over one table, valid only inside ``Transaction/withCursor(_:_:)``.
public final class Cursor {
    private let pointer: OpaquePointer

    init(pointer: OpaquePointer) { self.pointer = pointer }

    /// An entry seen by the cursor; the buffers point into the map and are valid until the cursor moves.
    public struct Entry {
        public let key: UnsafeRawBufferPointer
        public let value: UnsafeRawBufferPointer
    }

    private func move(_ operation: MDB_cursor_op, key: [UInt8]? = nil) throws(LMDBError) -> Entry? {
        var keyValue = MDB_val()
        var dataValue = MDB_val()
        let rc: Int32
        if let key {
            rc = key.withUnsafeBytes { bytes in
                keyValue = MDB_val(mv_size: bytes.count, mv_data: UnsafeMutableRawPointer(mutating: bytes.baseAddress))
                return mdb_cursor_get(self.pointer, &keyValue, &dataValue, operation)
            }
        } else {
            rc = mdb_cursor_get(self.pointer, &keyValue, &dataValue, operation)
        }
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_cursor_get")
        return Entry(
            key: UnsafeRawBufferPointer(start: keyValue.mv_data, count: keyValue.mv_size),
            value: UnsafeRawBufferPointer(start: dataValue.mv_data, count: dataValue.mv_size)
        )
    }

    /// Moves to the first entry.
    public func first() throws(LMDBError) -> Entry? { try self.move(MDB_FIRST) }
    /// Moves to the last entry.
    public func last() throws(LMDBError) -> Entry? { try self.move(MDB_LAST) }
    /// Moves to the next entry.
    public func next() throws(LMDBError) -> Entry? { try self.move(MDB_NEXT) }
    /// Moves to the previous entry.
    public func previous() throws(LMDBError) -> Entry? { try self.move(MDB_PREV) }
    /// Moves to the first entry whose key is greater than or equal to `key`.
    public func seek(atLeast key: [UInt8]) throws(LMDBError) -> Entry? {
        try self.move(MDB_SET_RANGE, key: key)
    }

    /// Stores `value` under `key` (replacing any previous value), leaving the cursor there.
    ///
    /// A cursor already on the leaf page where `key` belongs finds its place without descending from the
    /// root: writing many keys in ascending order through one cursor (``SortedWrites``) is the cheap way
    /// to write keys scattered over a table.
    public func put(key: [UInt8], value: [UInt8]) throws(LMDBError) {
        let rc = key.withUnsafeBytes { keyBytes in
            value.withUnsafeBytes { valueBytes in
                var keyValue = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
                var dataValue = MDB_val(mv_size: valueBytes.count, mv_data: UnsafeMutableRawPointer(mutating: valueBytes.baseAddress))
                return mdb_cursor_put(self.pointer, &keyValue, &dataValue, 0)
            }
        }
        try check(rc, "mdb_cursor_put")
    }

    /// Removes `key` if present (the search starts from the cursor's page, as ``put(key:value:)``'s does);
    /// returns whether it was.
    @discardableResult
    public func delete(key: [UInt8]) throws(LMDBError) -> Bool {
        guard try self.move(MDB_SET, key: key) != nil else { return false }
        try check(mdb_cursor_del(self.pointer, 0), "mdb_cursor_del")
        return true
    }

    /// Visits entries in key order from the first key ≥ `start` while `body` returns true.
    public func forEach(from start: [UInt8], _ body: (Entry) throws -> Bool) throws {
        // LMDB refuses an empty key: an empty start means the first entry.
        var entry = start.isEmpty ? try self.first() : try self.seek(atLeast: start)
        while let current = entry, try body(current) { entry = try self.next() }
    }

    /// Visits entries in descending key order from the last key < `end` (or the last entry when nil)
    /// while `body` returns true.
    public func forEachReversed(before end: [UInt8]?, _ body: (Entry) throws -> Bool) throws {
        var entry: Entry?
        if let end {
            entry = try self.seek(atLeast: end)
            entry = entry == nil ? try self.last() : try self.previous()
        } else {
            entry = try self.last()
        }
        while let current = entry, try body(current) { entry = try self.previous() }
    }
}

extension UnsafeRawBufferPointer {
    /// Whether these bytes begin with `prefix`.
    ///
    /// One `memcmp`: index scans ask this of every key they visit, and a byte loop with bounds checks
    /// over a 40-byte prefix cost more than LMDB's own step to the next key.
    public func hasPrefix(_ prefix: [UInt8]) -> Bool {
        guard self.count >= prefix.count else { return false }
        guard let base = self.baseAddress, !prefix.isEmpty else { return true }
        return prefix.withUnsafeBytes { bytes in
            guard let other = bytes.baseAddress else { return true }
            return memcmp(base, other, prefix.count) == 0
        }
    }
}
