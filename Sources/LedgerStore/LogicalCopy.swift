// ContactLedger — storage layer.
import CLMDB
import Foundation
import Glibc

/// A copy of an LMDB environment made by putting every entry of its tables, in key order, into fresh
/// B-trees of a new environment, under one read snapshot of the source: what ``Environment/copy(to:noting:)``
/// writes both parts with, from one paired read snapshot.
///
/// LMDB's own compacting copy (`mdb_env_copyfd2` with `MDB_CP_COMPACT`) leaves free pages out but copies
/// the live ones as they are. A branch page's separator keys are the first keys its child pages had
/// when they split, and LMDB keeps one after its entry is deleted, until that part of the tree is split
/// or merged again: the read models' indexes are keyed by URNs and field values, so a page copy of them
/// carried a deleted contact's URNs and values into the backup. Rebuilt from the live entries alone, the
/// copy's branch pages hold only live keys.
///
/// The copy is private until its owner hands it out, so it is written without syncs (and without a
/// lock file) and synced once at the end.
enum LogicalCopy {
    /// Bytes of keys and values written per write transaction of the copy: LMDB keeps a write
    /// transaction's dirty pages in memory until it commits.
    static let batchBytes = 32 << 20

    /// What becomes of a table of the snapshot that the environment never opened.
    enum UnopenedTables {
        /// It belongs to no one (the rebuildable part: a table an earlier version used) and is left out.
        case leftOut
        /// The copy fails: a durable table must never be lost silently.
        case refused
    }

    /// Copies the tables of the read transaction `source` named in `tables` (by their handles in its
    /// environment), and the entries of its root table that are not tables (their keys begin with a 0
    /// byte, ``Table/rootName``), into a new `data.mdb` in `directory`, created `0600`, and syncs it. The
    /// caller keeps the snapshot open until it returns. A copy that fails is removed.
    ///
    /// - Parameters:
    ///   - mapSize: the copy's map: at least the source's pages in use (sparse, it costs no disk).
    ///   - unopened: what becomes of a table of the snapshot that its environment never opened.
    static func copy(
        snapshot source: OpaquePointer, tables: [MDB_dbi: String], into directory: String, mapSize: Int, unopened: UnopenedTables
    ) throws(LMDBError) {
        let file = Environment.dataFile(in: directory)
        // O_EXCL: never over a file that was there before (and so never removing one below). LMDB takes
        // an empty data file for a new environment, and keeps its mode.
        let descriptor = Glibc.open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw LMDBError(code: .init(rawValue: errno), operation: "open") }
        close(descriptor)
        do throws(LMDBError) {
            let contents = try Self.contents(of: source, tables: tables, unopened: unopened)
            let target = try Self.openTarget(directory, tables: contents.tables.count, mapSize: mapSize)
            defer { mdb_env_close(target) }
            try Self.writeRoot(contents.rootEntries, into: target)
            for (dbi, name) in contents.tables {
                try Self.copyTable(dbi, named: name, from: source, into: target)
            }
            try check(mdb_env_sync(target, 1), "mdb_env_sync")
        } catch {
            // Explained before the file goes: once removed, the space it filled is free again, and a copy
            // that filled a disk with tens of megabytes read as `copy_failed`.
            let explained = Self.explaining(error, directory: directory)
            unlink(file)
            throw explained
        }
    }

    /// The source's root entries (copied out: few and small) and its tables to copy, in key order.
    private static func contents(
        of source: OpaquePointer, tables: [MDB_dbi: String], unopened: UnopenedTables
    ) throws(LMDBError) -> (rootEntries: [([UInt8], [UInt8])], tables: [(MDB_dbi, String)]) {
        let handles = Dictionary(tables.map { ($0.value, $0.key) }, uniquingKeysWith: { first, _ in first })
        // The root table's handle is fixed: asking for it opens nothing (no handle of the live
        // environment changes, as opening a named table would).
        var root: MDB_dbi = 0
        try check(mdb_dbi_open(source, nil, 0, &root), "mdb_dbi_open")
        var entries: [([UInt8], [UInt8])] = []
        var named: [(MDB_dbi, String)] = []
        var unknown = 0
        try Self.forEach(root, in: source) { key, value in
            if key.first == 0 {
                entries.append((Array(key), Array(value)))
            } else if let dbi = handles[String(decoding: key, as: UTF8.self)] {
                // The root table lists the tables by name, in key order; the copy creates them in it.
                named.append((dbi, String(decoding: key, as: UTF8.self)))
            } else {
                unknown += 1
            }
        }
        if unopened == .refused, unknown > 0 { throw LMDBError(code: .notFound, operation: "copy: \(unknown) table(s) never opened") }
        return (entries, named)
    }

    /// Creates the copy's environment in `directory`, unsynced and unlocked: nothing else opens it.
    private static func openTarget(_ directory: String, tables: Int, mapSize: Int) throws(LMDBError) -> OpaquePointer {
        var env: OpaquePointer?
        try check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw LMDBError(code: .notFound, operation: "mdb_env_create") }
        do throws(LMDBError) {
            try check(mdb_env_set_maxdbs(env, UInt32(tables + 1)), "mdb_env_set_maxdbs")
            try check(mdb_env_set_mapsize(env, mapSize), "mdb_env_set_mapsize")
            try check(mdb_env_open(env, directory, UInt32(MDB_NOSYNC | MDB_NOLOCK), 0o600), "mdb_env_open \(directory)")
        } catch {
            mdb_env_close(env)
            throw error
        }
        return env
    }

    /// Puts the root table's own entries into the copy's, before any table is created there: they sort
    /// before every table name, so they are appended.
    private static func writeRoot(_ entries: [([UInt8], [UInt8])], into target: OpaquePointer) throws(LMDBError) {
        guard !entries.isEmpty else { return }
        try Self.inWrite(target) { txn throws(LMDBError) in
            var root: MDB_dbi = 0
            try check(mdb_dbi_open(txn, nil, 0, &root), "mdb_dbi_open")
            for (key, value) in entries {
                try Self.put(key: key, value: value, dbi: root, in: txn, flags: UInt32(MDB_APPEND))
            }
        }
    }

    /// Copies the table `dbi` of the read transaction `source` into a new table `name` of `target` with
    /// the same flags, appending its entries in key order, a write transaction per ``batchBytes``.
    private static func copyTable(_ dbi: MDB_dbi, named name: String, from source: OpaquePointer, into target: OpaquePointer) throws(LMDBError) {
        var flags: UInt32 = 0
        try check(mdb_dbi_flags(source, dbi, &flags), "mdb_dbi_flags")
        let sorted = flags & UInt32(MDB_DUPSORT) != 0
        var copied: MDB_dbi = 0
        try Self.inWrite(target) { txn throws(LMDBError) in
            try check(mdb_dbi_open(txn, name, flags | UInt32(MDB_CREATE), &copied), "mdb_dbi_open")
        }
        let cursor = try Self.openCursor(dbi, in: source)
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val()
        var value = MDB_val()
        // The previous entry's key (it points into the source's map, valid while its snapshot is open).
        var previous = MDB_val()
        var rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST)
        while rc == MDB_SUCCESS {
            try Self.inWrite(target) { txn throws(LMDBError) in
                var written = 0
                while rc == MDB_SUCCESS, written < Self.batchBytes {
                    // A further value of a sorted-duplicates table's key goes after the key's last one
                    // (MDB_APPEND refuses a key equal to the last).
                    let duplicate = sorted && previous.mv_data != nil && Self.equal(key, previous)
                    rc = mdb_put(txn, copied, &key, &value, UInt32(duplicate ? MDB_APPENDDUP : MDB_APPEND))
                    try check(rc, "mdb_put")
                    written += key.mv_size + value.mv_size
                    previous = key
                    rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
                }
            }
        }
        guard rc == MDB_NOTFOUND else { throw LMDBError(code: .init(rawValue: rc), operation: "mdb_cursor_get") }
    }

    /// Whether two keys hold the same bytes.
    private static func equal(_ first: MDB_val, _ second: MDB_val) -> Bool {
        first.mv_size == second.mv_size && (first.mv_size == 0 || memcmp(first.mv_data, second.mv_data, first.mv_size) == 0)
    }

    /// Puts one entry with `flags` (`MDB_APPEND`: keys come in order).
    private static func put(key: [UInt8], value: [UInt8], dbi: MDB_dbi, in txn: OpaquePointer, flags: UInt32) throws(LMDBError) {
        let rc = key.withUnsafeBytes { keyBytes in
            value.withUnsafeBytes { valueBytes in
                var keyValue = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
                var dataValue = MDB_val(mv_size: valueBytes.count, mv_data: UnsafeMutableRawPointer(mutating: valueBytes.baseAddress))
                return mdb_put(txn, dbi, &keyValue, &dataValue, flags)
            }
        }
        try check(rc, "mdb_put")
    }

    /// Visits every entry of `dbi` in the read transaction `txn`, in key order.
    private static func forEach(_ dbi: MDB_dbi, in txn: OpaquePointer, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) -> Void) throws(LMDBError) {
        let cursor = try Self.openCursor(dbi, in: txn)
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val()
        var value = MDB_val()
        var rc = mdb_cursor_get(cursor, &key, &value, MDB_FIRST)
        while rc == MDB_SUCCESS {
            body(UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size), UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
            rc = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
        }
        guard rc == MDB_NOTFOUND else { throw LMDBError(code: .init(rawValue: rc), operation: "mdb_cursor_get") }
    }

    /// A cursor on `dbi` in `txn`, for the caller to close.
    private static func openCursor(_ dbi: MDB_dbi, in txn: OpaquePointer) throws(LMDBError) -> OpaquePointer {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(txn, dbi, &cursor), "mdb_cursor_open")
        guard let cursor else { throw LMDBError(code: .notFound, operation: "mdb_cursor_open") }
        return cursor
    }

    /// Runs `body` in a write transaction of `env` and commits it; aborts it if `body` throws.
    private static func inWrite(_ env: OpaquePointer, _ body: (OpaquePointer) throws(LMDBError) -> Void) throws(LMDBError) {
        var txn: OpaquePointer?
        try check(mdb_txn_begin(env, nil, 0, &txn), "mdb_txn_begin")
        guard let txn else { throw LMDBError(code: .notFound, operation: "mdb_txn_begin") }
        do throws(LMDBError) {
            try body(txn)
        } catch {
            mdb_txn_abort(txn)
            throw error
        }
        try check(mdb_txn_commit(txn), "mdb_txn_commit")
    }

    /// `error` with the cause the copy's file system shows: LMDB reports a page write cut short by a full
    /// disk as EIO (where `mdb_env_copyfd2` wrote on and met ENOSPC), so an I/O error with under 4 MiB
    /// free there is the full disk it most likely is (as ``Environment/explaining(_:)`` says of the live files).
    private static func explaining(_ error: LMDBError, directory: String) -> LMDBError {
        guard error.code.rawValue == EIO else { return error }
        var info = statvfs()
        guard statvfs(directory, &info) == 0, Int64(info.f_bavail) * Int64(info.f_frsize) < 4 << 20 else { return error }
        return LMDBError(code: .noSpace, operation: error.operation)
    }
}
