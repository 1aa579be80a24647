// ContactLedger — storage layer.
import CLMDB
import Foundation

/// One LMDB environment (a directory holding `data.mdb` and `lock.mdb`), opened once per process.
///
/// Read transactions may run on any thread, concurrently. Write transactions must all come from one
/// thread at a time (the daemon has a single writer thread), and are never nested through this type:
/// use ``Transaction/nested(_:)`` for savepoints.
///
/// The map is sparse: it starts at ``Configuration/initialMapSize`` and doubles, up to
/// ``Configuration/maximumMapSize``, whenever a write finds it full; the write is then retried.
public final class Environment: @unchecked Sendable {
    // @unchecked: `pointer` is immutable and LMDB's env is thread-safe with MDB_NOTLS; `mapSize` is
    // only changed by the single writer while the reader gate is closed.

    /// How an environment is opened.
    public struct Configuration: Sendable {
        /// The map size to start with; sparse, so a large value costs nothing on disk.
        public var initialMapSize: Int
        /// The largest the map may grow; past it, writes fail with `MDB_MAP_FULL`.
        public var maximumMapSize: Int
        /// Reader slots in the lock file.
        public var maximumReaders: UInt32
        /// Named tables the environment may hold.
        public var maximumTables: UInt32

        public init(
            initialMapSize: Int = 1 << 30,
            maximumMapSize: Int = 1 << 40,
            maximumReaders: UInt32 = 1024,
            maximumTables: UInt32 = 64
        ) {
            self.initialMapSize = initialMapSize
            self.maximumMapSize = max(maximumMapSize, initialMapSize)
            self.maximumReaders = maximumReaders
            self.maximumTables = maximumTables
        }
    }

    let pointer: OpaquePointer
    /// The directory holding the environment's files.
    public let directory: String
    private let gate = ReaderGate()
    private let configuration: Configuration
    private var currentMapSize: Int
    /// Stale reader slots cleared when the environment was opened.
    public let staleReadersCleared: Int32

    /// Opens (creating if needed) the environment in `directory`.
    ///
    /// - Throws: ``LMDBError`` if LMDB cannot open it.
    public init(directory: String, configuration: Configuration = Configuration()) throws(LMDBError) {
        var env: OpaquePointer?
        try check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw LMDBError(code: .notFound, operation: "mdb_env_create") }
        do {
            try check(mdb_env_set_maxdbs(env, configuration.maximumTables), "mdb_env_set_maxdbs")
            try check(mdb_env_set_maxreaders(env, configuration.maximumReaders), "mdb_env_set_maxreaders")
            try check(mdb_env_set_mapsize(env, configuration.initialMapSize), "mdb_env_set_mapsize")
            // MDB_NOTLS: read transactions belong to the txn object, not the thread, since Swift tasks hop.
            try check(mdb_env_open(env, directory, UInt32(MDB_NOTLS), 0o600), "mdb_env_open")
        } catch {
            mdb_env_close(env)
            throw error
        }
        var dead: Int32 = 0
        mdb_reader_check(env, &dead)
        self.pointer = env
        self.directory = directory
        self.configuration = configuration
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        self.currentMapSize = max(info.me_mapsize, configuration.initialMapSize)
        self.staleReadersCleared = dead
    }

    deinit {
        mdb_env_close(self.pointer)
    }

    /// Opens (creating if missing) the named tables, in one write transaction.
    public func openTables(_ names: [String]) throws -> [String: Table] {
        try self.write { txn in
            var tables: [String: Table] = [:]
            for name in names {
                var dbi: MDB_dbi = 0
                try check(mdb_dbi_open(txn.pointer, name, UInt32(MDB_CREATE), &dbi), "mdb_dbi_open")
                tables[name] = Table(name: name, dbi: dbi)
            }
            return tables
        }
    }

    /// Runs `body` in a read transaction that sees one consistent snapshot.
    ///
    /// The transaction is valid only inside `body`; keep `body` short, since an open reader pins the
    /// pages it sees. Safe to call from any thread, concurrently with writes.
    public func read<T>(_ body: (Transaction) throws -> T) throws -> T {
        self.gate.enter()
        defer { self.gate.leave() }
        var txn: OpaquePointer?
        var rc = mdb_txn_begin(self.pointer, nil, UInt32(MDB_RDONLY), &txn)
        if rc == MDB_READERS_FULL {
            // Slots held by dead processes can be reclaimed; try once more.
            var dead: Int32 = 0
            mdb_reader_check(self.pointer, &dead)
            rc = mdb_txn_begin(self.pointer, nil, UInt32(MDB_RDONLY), &txn)
        }
        try check(rc, "mdb_txn_begin")
        guard let txn else { throw LMDBError(code: .notFound, operation: "mdb_txn_begin") }
        defer { mdb_txn_abort(txn) }
        return try body(Transaction(pointer: txn, isWritable: false))
    }

    /// Runs `body` in a write transaction and commits it durably (fsync) when `body` returns.
    ///
    /// If `body` throws, the transaction is aborted and nothing is written. If the map is full, the
    /// transaction is aborted, the map grows, and `body` runs again from the start, so it must not
    /// have effects outside the transaction. Call from one thread at a time; never from inside
    /// another transaction of this environment.
    ///
    /// - Throws: `body`'s errors, or ``LMDBError`` (`.mapFull` once the map cannot grow further,
    ///   `.noSpace` when the disk is full; nothing is written in either case).
    public func write<T>(_ body: (Transaction) throws -> T) throws -> T {
        while true {
            do {
                return try self.writeOnce(body)
            } catch let error as LMDBError where error.code == .mapFull {
                guard try self.growMap() else { throw error }
            }
        }
    }

    private func writeOnce<T>(_ body: (Transaction) throws -> T) throws -> T {
        var txn: OpaquePointer?
        try check(mdb_txn_begin(self.pointer, nil, 0, &txn), "mdb_txn_begin")
        guard let txn else { throw LMDBError(code: .notFound, operation: "mdb_txn_begin") }
        let result: T
        do {
            result = try body(Transaction(pointer: txn, isWritable: true))
        } catch {
            mdb_txn_abort(txn)
            throw error
        }
        // mdb_txn_commit frees the txn whether or not it succeeds.
        try check(mdb_txn_commit(txn), "mdb_txn_commit")
        return result
    }

    /// Doubles the map (bounded by the maximum); returns false when it is already at the maximum.
    private func growMap() throws -> Bool {
        guard self.currentMapSize < self.configuration.maximumMapSize else { return false }
        let newSize = min(self.currentMapSize * 2, self.configuration.maximumMapSize)
        try self.gate.withGateClosed {
            try check(mdb_env_set_mapsize(self.pointer, newSize), "mdb_env_set_mapsize")
        }
        self.currentMapSize = newSize
        return true
    }

    /// Forces buffered data to disk (a no-op with the default full-sync commits, kept for tools).
    public func sync() throws(LMDBError) {
        try check(mdb_env_sync(self.pointer, 1), "mdb_env_sync")
    }

    /// Writes a consistent, compacted copy of the environment into the empty directory `path`,
    /// while reads and writes go on.
    public func copy(to path: String) throws {
        try self.gate.enterAndLeave {
            try check(mdb_env_copy2(self.pointer, path, UInt32(MDB_CP_COMPACT)), "mdb_env_copy2")
        }
    }

    /// Usage figures of the environment.
    public struct Statistics: Sendable {
        public var mapSize: Int
        public var usedBytes: Int
        public var pageSize: Int
        public var readersUsed: Int
        public var maximumReaders: Int
    }

    /// Current usage figures.
    public func statistics() -> Statistics {
        var info = MDB_envinfo()
        mdb_env_info(self.pointer, &info)
        var stat = MDB_stat()
        mdb_env_stat(self.pointer, &stat)
        let pageSize = Int(stat.ms_psize)
        return Statistics(
            mapSize: info.me_mapsize,
            usedBytes: (info.me_last_pgno + 1) * pageSize,
            pageSize: pageSize,
            readersUsed: Int(info.me_numreaders),
            maximumReaders: Int(info.me_maxreaders)
        )
    }

    /// Free bytes on the file system holding the environment, or nil if it cannot be read.
    public func availableDiskBytes() -> Int64? {
        var info = statvfs()
        guard statvfs(self.directory, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// Clears reader slots left by dead processes; returns how many were cleared.
    @discardableResult
    public func clearStaleReaders() -> Int32 {
        var dead: Int32 = 0
        mdb_reader_check(self.pointer, &dead)
        return dead
    }
}

extension ReaderGate {
    /// Runs `body` as a reader would: a resize waits for it.
    func enterAndLeave<T>(_ body: () throws -> T) rethrows -> T {
        self.enter()
        defer { self.leave() }
        return try body()
    }
}
