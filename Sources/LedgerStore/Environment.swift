// ContactLedger — storage layer.
import CLMDB
import Foundation
import Synchronization

/// One LMDB environment (a directory holding `data.mdb` and `lock.mdb`), opened once per process.
///
/// Read transactions may run on any thread, concurrently. Write transactions must all come from one
/// thread at a time (the daemon has a single writer thread), and are never nested through this type:
/// use ``Transaction/nested(_:)`` for savepoints.
///
/// The map is sparse: it starts at ``Configuration/initialMapSize`` and doubles, up to
/// ``Configuration/maximumMapSize``, whenever a write finds it full; the write is then retried.
public final class Environment: @unchecked Sendable {
    // @unchecked: `pointer` is immutable and LMDB's env is thread-safe with MDB_NOTLS; `mapSize`,
    // `rebuildablePointer` and `reserve` are only changed by the single writer while the reader gate is
    // closed, and read by the writer or inside the gate.

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
        /// The rebuildable part is compacted when it is opened if at least this many bytes and a quarter
        /// of its file are free pages (see ``RebuildableCompaction``); `Int.max` never compacts it.
        public var rebuildableCompactionMinimumFreeBytes: Int = 64 << 20

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

    /// The durable part: every commit is synced before it returns.
    let pointer: OpaquePointer
    /// The rebuildable part, if any: committed without a sync (see ``Table/Durability/rebuildable``).
    /// Replaced by ``replaceRebuildablePart(with:bringingUpToDate:)``.
    var rebuildablePointer: OpaquePointer?
    /// The directory holding the environment's files.
    public let directory: String
    /// The directory of the rebuildable part, if the environment has one.
    public let rebuildableDirectory: String?
    /// Whether the rebuildable part found at opening could not be trusted (the machine went down while
    /// it was open, or it was damaged: ``rebuildablePartDamage``) and was discarded: its tables start
    /// empty and must be rebuilt.
    public let rebuildablePartWasDiscarded: Bool
    /// Whether the rebuildable part was discarded at opening because a commit of its own had failed after
    /// the durable part's (a full map or disk then), rather than because the machine went down.
    public let rebuildablePartHadLostAWrite: Bool
    /// The durable part's position and hash when the rebuildable part was last opened (kept beside it,
    /// ``RebuildableOwnership``): what a rebuildable part discarded unread, or emptied, is checked
    /// against instead of its own records. Nil when none was kept.
    public let durableAnchorOfRebuildablePart: DurableAnchor?
    /// What was wrong with a rebuildable part discarded at opening as damaged (a ``TruncatedDataFile``,
    /// or an ``LMDBError`` of a damaged file: ``isDamage(_:)``); nil when none was.
    public let rebuildablePartDamage: (any Error)?
    /// What compacting the rebuildable part at opening did: nil when it was left as it was (few free
    /// pages), or the error that left it as it was.
    public let rebuildablePartCompaction: Result<RebuildableCompaction.Outcome?, any Error>
    let gate = ReaderGate()
    /// Pairs the two parts' snapshots (nil without a rebuildable part).
    let stamps: CommitStamps?
    /// Disk space kept ahead of the rebuildable part (nil without one).
    var reserve: RebuildableReserve?
    let configuration: Configuration
    /// The rebuildable part's named tables by handle, in the order they were opened: a copy of the
    /// part must hand out the same handles (``RebuildablePartCopy``).
    let rebuildableTableNames = Mutex<[MDB_dbi: String]>([:])
    /// The durable part's named tables by handle: a copy of the part holds every one of them.
    let durableTableNames = Mutex<[MDB_dbi: String]>([:])
    private(set) var currentMapSize: Int
    /// Stale reader slots cleared when the environment was opened.
    public let staleReadersCleared: Int32

    /// Opens (creating if needed) the environment in `directory`.
    ///
    /// - Parameter rebuildableSubdirectory: when given, tables opened as ``Table/Durability/rebuildable``
    ///   live in a second LMDB environment in this subdirectory of `directory`, committed without a sync
    ///   after the durable part's commit. It is trusted after a clean close or a process crash, and
    ///   discarded when the machine went down while it was open, or when its file is damaged (cut short,
    ///   pages that are not LMDB's: ``rebuildablePartDamage``) (``rebuildablePartWasDiscarded``).
    /// - Throws: ``LMDBError`` if LMDB cannot open it, ``TruncatedDataFile`` if the durable part's file
    ///   is shorter than its pages in use.
    public init(directory: String, configuration: Configuration = Configuration(), rebuildableSubdirectory: String? = nil) throws {
        let env = try Self.open(directory: directory, flags: UInt32(MDB_NOTLS), configuration: configuration)
        var rebuildable: OpaquePointer?
        var discarded = false
        var lostAWrite = false
        var anchor: DurableAnchor?
        var rebuildableDirectory: String?
        var stamps: CommitStamps?
        var reserve: RebuildableReserve?
        var compaction: Result<RebuildableCompaction.Outcome?, any Error> = .success(nil)
        var damage: (any Error)?
        if let subdirectory = rebuildableSubdirectory {
            let path = (directory as NSString).appendingPathComponent(subdirectory)
            do {
                let claim = try RebuildableOwnership.claim(directory: path)
                discarded = claim.discarded
                lostAWrite = claim.lostAWrite
                anchor = claim.anchor
                RebuildablePartCopy.removeLeftover(in: path)
                let part: OpenedRebuildablePart
                do {
                    // An emptied file would open as a new part without a word: it is damage, said so.
                    if !claim.discarded, let empty = EmptyDataFile(Self.dataFile(in: path)) { throw empty }
                    part = try Self.openRebuildablePart(in: path, durable: env, configuration: configuration)
                } catch where Self.isDamage(error) {
                    // Derived from the durable part, a damaged rebuildable part is discarded and made
                    // again, as one the machine went down with is; never the durable part.
                    damage = error
                    try RebuildableOwnership.discardFiles(directory: path)
                    part = try Self.openRebuildablePart(in: path, durable: env, configuration: configuration)
                }
                rebuildable = part.pointer
                stamps = part.stamps
                reserve = part.reserve
                compaction = part.compaction
            } catch {
                mdb_env_close(env)
                throw error
            }
            rebuildableDirectory = path
        }
        var dead: Int32 = 0
        mdb_reader_check(env, &dead)
        if let rebuildable {
            var more: Int32 = 0
            mdb_reader_check(rebuildable, &more)
            dead += more
        }
        self.pointer = env
        self.rebuildablePointer = rebuildable
        self.stamps = stamps
        self.reserve = reserve
        self.directory = directory
        self.rebuildableDirectory = rebuildableDirectory
        self.rebuildablePartWasDiscarded = discarded || damage != nil
        self.rebuildablePartHadLostAWrite = lostAWrite
        self.durableAnchorOfRebuildablePart = anchor
        self.rebuildablePartDamage = damage
        self.rebuildablePartCompaction = compaction
        self.configuration = configuration
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        var mapSize = info.me_mapsize
        if let rebuildable {
            mdb_env_info(rebuildable, &info)
            mapSize = max(mapSize, info.me_mapsize)
        }
        self.currentMapSize = max(mapSize, configuration.initialMapSize)
        self.staleReadersCleared = dead
        // Both parts get the one map size: each opens with a map sized by its own file, and the headroom
        // (``ensureMapHeadroom(refusingPastIt:)``) measures the fuller part against the larger map, so a
        // part with the smaller one filled unseen. Found by the rebuildable part's commit, which comes after
        // the durable part's and cannot be retried, a full map stopped a start (a 3 GB log beside 1 GB of
        // read models). (Thrown from here, the environment is closed by `deinit`.)
        try check(mdb_env_set_mapsize(env, self.currentMapSize), "mdb_env_set_mapsize")
        if let rebuildable {
            try check(mdb_env_set_mapsize(rebuildable, self.currentMapSize), "mdb_env_set_mapsize")
        }
    }

    /// Records `anchor`, a position the durable part holds now, beside the rebuildable part: it is what
    /// the next opening checks a part it discards unread against (``durableAnchorOfRebuildablePart``).
    public func recordDurableAnchor(_ anchor: DurableAnchor) throws(LMDBError) {
        guard let directory = self.rebuildableDirectory else { return }
        try RebuildableOwnership.recordAnchor(anchor, directory: directory)
    }

    /// A rebuildable part opened for use, with what opening it did.
    private struct OpenedRebuildablePart {
        var pointer: OpaquePointer
        var stamps: CommitStamps
        var reserve: RebuildableReserve
        var compaction: Result<RebuildableCompaction.Outcome?, any Error>
    }

    /// Compacts the rebuildable part in `path` if it is sparse, opens it and pairs it with the durable
    /// part `durable`; closes it again if that fails.
    private static func openRebuildablePart(in path: String, durable: OpaquePointer, configuration: Configuration) throws -> OpenedRebuildablePart {
        // Claimed first: should the machine go down while this runs, the part is discarded. A failed
        // compaction (a disk too full for the copy, say) leaves the part as it was.
        let compaction = Result { try RebuildableCompaction.compactIfSparse(directory: path, configuration: configuration) }
        let opened = try Self.open(directory: path, flags: UInt32(MDB_NOTLS | MDB_NOSYNC), configuration: configuration)
        do {
            let stamps = try CommitStamps(durable: durable, rebuildable: opened)
            let reserve = try RebuildableReserve(environment: opened, dataPath: Self.dataFile(in: path))
            return OpenedRebuildablePart(pointer: opened, stamps: stamps, reserve: reserve, compaction: compaction)
        } catch {
            mdb_env_close(opened)
            throw error
        }
    }

    /// Whether `error`, met opening an environment, says its file is damaged (cut short, pages that are
    /// not LMDB's) rather than out of reach (permissions, a full disk).
    public static func isDamage(_ error: any Error) -> Bool {
        if error is TruncatedDataFile || error is EmptyDataFile { return true }
        guard let error = error as? LMDBError else { return false }
        // MDB_BAD_TXN: a transaction that met a damaged page is unusable from then on.
        return error.isDamagedPage || [MDB_INVALID, MDB_BAD_TXN, MDB_VERSION_MISMATCH].contains(error.code.rawValue)
    }

    /// Opens the LMDB environment in `directory`.
    ///
    /// - Throws: ``LMDBError`` (`mdb_env_open` naming the directory), or ``TruncatedDataFile``.
    static func open(directory: String, flags: UInt32, configuration: Configuration) throws -> OpaquePointer {
        var env: OpaquePointer?
        try check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw LMDBError(code: .notFound, operation: "mdb_env_create") }
        do {
            try check(mdb_env_set_maxdbs(env, configuration.maximumTables), "mdb_env_set_maxdbs")
            try check(mdb_env_set_maxreaders(env, configuration.maximumReaders), "mdb_env_set_maxreaders")
            try check(mdb_env_set_mapsize(env, configuration.initialMapSize), "mdb_env_set_mapsize")
            LMDBAssertions.install(on: env)
            // MDB_NOTLS: read transactions belong to the txn object, not the thread, since Swift tasks hop.
            // The directory is named: "Permission denied" alone did not say which store's files.
            try check(mdb_env_open(env, directory, flags, 0o600), "mdb_env_open \(directory)")
            // A file larger than the map asked for (a compacted copy, a store that grew) gets a map of
            // exactly its used pages: no room for the first write at open. Double it (within bounds).
            var info = MDB_envinfo()
            var stat = MDB_stat()
            mdb_env_info(env, &info)
            mdb_env_stat(env, &stat)
            let used = (info.me_last_pgno + 1) * Int(stat.ms_psize)
            if info.me_mapsize < used + used / 4 {
                let roomy = min(max(used * 2, configuration.initialMapSize), max(configuration.maximumMapSize, info.me_mapsize))
                try check(mdb_env_set_mapsize(env, roomy), "mdb_env_set_mapsize")
            }
            // Before any page past the meta pages is read: past the file's end, a read is a SIGBUS.
            try TruncatedDataFile.check(env, directory: directory)
        } catch {
            mdb_env_close(env)
            throw error
        }
        return env
    }

    deinit {
        // An owner that needs to know whether this worked called it before (it is idempotent).
        try? self.closeRebuildablePart()
        if let rebuildable = self.rebuildablePointer { mdb_env_close(rebuildable) }
        mdb_env_close(self.pointer)
    }

    /// Syncs the rebuildable part and records that it was closed cleanly, so a restart after a reboot
    /// trusts it; called on deinit, and by owners that shut down before their last reference goes.
    /// Writes after this call are again unsynced and must be followed by another call.
    ///
    /// Throws when the clean close could not be recorded (a full disk): the part stays marked open, so a
    /// start after a reboot discards and rebuilds it; the owner logs that.
    public func closeRebuildablePart() throws(LMDBError) {
        guard let rebuildable = self.rebuildablePointer, let directory = self.rebuildableDirectory else { return }
        guard !self.rebuildablePartLostAWrite.withLock({ $0 }), !self.rebuildablePartDiscarded.withLock({ $0 }) else { return }
        try check(mdb_env_sync(rebuildable, 1), "mdb_env_sync")
        try RebuildableOwnership.release(directory: directory)
    }

    /// Marks the rebuildable part as about to be deleted: closing the environment then neither syncs
    /// it nor records a clean close (should its files survive, the next open discards them). Syncing
    /// gigabytes of a rebuild's scratch tables on their way to deletion held the ledger's own syncs up
    /// behind them on the disk for over a second.
    public func discardRebuildablePart() {
        self.rebuildablePartDiscarded.withLock { $0 = true }
    }

    /// Set by ``discardRebuildablePart()``.
    let rebuildablePartDiscarded = Mutex(false)

    /// Set once a rebuildable commit failed after its durable commit: the part lacks that write (event
    /// effects are caught up by its owner, but not its other writes), so it is discarded at the next open.
    let rebuildablePartLostAWrite = Mutex(false)

    /// Opens (creating if missing) the named tables, in one write transaction; ``Table/rootName`` opens
    /// the part's root table.
    ///
    /// - Parameter durability: where the tables live; `.rebuildable` tables stay in the durable part
    ///   when the environment has no rebuildable one.
    public func openTables(_ names: [String], durability: Table.Durability = .durable) throws -> [String: Table] {
        let inRebuildable = durability == .rebuildable && self.rebuildablePointer != nil
        return try self.write { txn in
            var tables: [String: Table] = [:]
            let handle: OpaquePointer = inRebuildable ? (txn.rebuildablePointer ?? txn.pointer) : txn.pointer
            for name in names {
                var dbi: MDB_dbi = 0
                if name == Table.rootName {
                    try check(mdb_dbi_open(handle, nil, 0, &dbi), "mdb_dbi_open")
                } else {
                    precondition(name.utf8.first != 0, "a table name beginning with a 0 byte would collide with root table keys")
                    try check(mdb_dbi_open(handle, name, UInt32(MDB_CREATE), &dbi), "mdb_dbi_open")
                }
                tables[name] = Table(name: name, dbi: dbi, isInRebuildablePart: inRebuildable)
                guard name != Table.rootName else { continue }
                if inRebuildable {
                    self.rebuildableTableNames.withLock { $0[dbi] = name }
                } else {
                    self.durableTableNames.withLock { $0[dbi] = name }
                }
            }
            return tables
        }
    }

    /// Runs `body` in a read transaction that sees one consistent snapshot.
    ///
    /// The transaction is valid only inside `body`; keep `body` short, since an open reader pins the
    /// pages it sees. Safe to call from any thread, concurrently with writes. Both parts are seen as of
    /// the same write (``CommitStamps``): a reader that begins between a write's two commits waits for
    /// the second.
    public func read<T>(_ body: (Transaction) throws -> T) throws -> T {
        self.gate.enter()
        defer { self.gate.leave() }
        let transaction = try self.beginPairedRead()
        defer { transaction.abortRead() }
        return try body(transaction)
    }

    /// Begins a read transaction of both parts as of the same write (see ``read(_:)``); call it inside
    /// the gate, and end it with ``Transaction/abortRead()`` before leaving.
    func beginPairedRead() throws -> Transaction {
        guard let env = self.rebuildablePointer, let stamps = self.stamps else {
            return Transaction(pointer: try Self.beginRead(self.pointer), isWritable: false)
        }
        var attempts = 0
        while true {
            let rebuildable = try Self.beginRead(env)
            let txn: OpaquePointer
            do {
                txn = try Self.beginRead(self.pointer)
            } catch {
                mdb_txn_abort(rebuildable)
                throw error
            }
            let transaction = Transaction(pointer: txn, rebuildablePointer: rebuildable, isWritable: false)
            let (matched, durableStamp): (Bool, UInt64)
            do {
                (matched, durableStamp) = try stamps.match(transaction)
            } catch {
                transaction.abortRead()
                throw error
            }
            if matched || attempts >= CommitStamps.maximumAttempts { return transaction }
            // The durable part is a write ahead: its rebuildable commit is a moment away.
            transaction.abortRead()
            attempts += 1
            // Only a writer that never publishes (it died mid-write) makes a reader settle for a mismatch.
            if !stamps.waitForPublication(of: durableStamp) { attempts = CommitStamps.maximumAttempts }
        }
    }

    /// Runs `body` with a read transaction of the durable part alone (no pairing with the rebuildable one).
    func withDurableRead<T>(_ body: (OpaquePointer) throws -> T) throws -> T {
        self.gate.enter()
        defer { self.gate.leave() }
        let txn = try Self.beginRead(self.pointer)
        defer { mdb_txn_abort(txn) }
        return try body(txn)
    }

    /// Begins a read transaction of `env`, clearing dead processes' reader slots once if the table is full.
    static func beginRead(_ env: OpaquePointer) throws(LMDBError) -> OpaquePointer {
        var txn: OpaquePointer?
        var rc = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn)
        if rc == MDB_READERS_FULL {
            // Slots held by dead processes can be reclaimed; try once more.
            var dead: Int32 = 0
            mdb_reader_check(env, &dead)
            rc = mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn)
        }
        try check(rc, "mdb_txn_begin")
        guard let txn else { throw LMDBError(code: .notFound, operation: "mdb_txn_begin") }
        return txn
    }

    /// Runs `body` in a write transaction and commits it durably (fsync) when `body` returns.
    ///
    /// If `body` throws, the transaction is aborted and nothing is written. If the map is full, the
    /// transaction is aborted, the map grows, and `body` runs again from the start, so it must not
    /// have effects outside the transaction. Call from one thread at a time; never from inside
    /// another transaction of this environment.
    ///
    /// - Throws: `body`'s errors, or ``LMDBError`` (`.mapFull` once the map cannot grow further,
    ///   `.noSpace` when the disk is full; nothing is written in either case). A failed commit of the
    ///   rebuildable part, after the durable part committed, is thrown too; use
    ///   ``writeReportingRebuildableFailure(_:)`` to tell it apart.
    public func write<T>(_ body: (Transaction) throws -> T) throws -> T {
        let (result, rebuildableFailure) = try self.writeReportingRebuildableFailure(body)
        if let rebuildableFailure { throw rebuildableFailure }
        return result
    }

    /// Like ``write(_:)``, but a failed commit of the rebuildable part (the durable part committed) is
    /// returned beside the result rather than thrown: the write happened, and the rebuildable tables
    /// lack it until their owner brings them up to date.
    ///
    /// - Parameter refusingPastHeadroom: refuse the write (`.mapFull`, nothing written) when the map
    ///   is past its headroom and cannot grow, so that the rebuildable part's commit of a write
    ///   answered at `whenDurable` finds room (see `ensureMapHeadroom`).
    /// - Parameter whenDurable: called with the body's result once the durable part has committed (and
    ///   synced), before the rebuildable part commits: a caller can answer its clients then. A reader
    ///   that begins before the rebuildable commit waits for it (``CommitStamps``), so what was answered
    ///   is what every later read sees. It must not read this environment: that read would wait for the
    ///   commit that follows it.
    /// - Parameter finishing: writes that belong to the rebuildable part only (read models derived from
    ///   what `body` wrote), run after `whenDurable` and before the rebuildable part commits, so answers
    ///   need not wait for them; readers wait for them as for the rest of that commit. Its transaction
    ///   holds the rebuildable tables alone. Without a rebuildable part it runs before the single commit.
    ///   If it throws, the rebuildable part is not committed: that is returned as the failure beside
    ///   the result (an ``LMDBError``, or `MDB_PANIC` for another error).
    public func writeReportingRebuildableFailure<T>(
        refusingPastHeadroom: Bool = false,
        _ body: (Transaction) throws -> T,
        whenDurable: ((T) -> Void)? = nil,
        finishing: ((T, Transaction) throws -> Void)? = nil
    ) throws -> (T, LMDBError?) {
        while true {
            do {
                return try self.writeOnce(refusingPastHeadroom: refusingPastHeadroom, body, whenDurable: whenDurable, finishing: finishing)
            } catch let error as LMDBError where error.code == .mapFull {
                guard try self.growMap() else { throw error }
            }
        }
    }

    private func writeOnce<T>(
        refusingPastHeadroom: Bool,
        _ body: (Transaction) throws -> T,
        whenDurable: ((T) -> Void)?,
        finishing: ((T, Transaction) throws -> Void)?
    ) throws -> (T, LMDBError?) {
        try self.reserve?.ensure()
        try self.ensureMapHeadroom(refusingPastIt: refusingPastHeadroom)
        var txn: OpaquePointer?
        try check(mdb_txn_begin(self.pointer, nil, 0, &txn), "mdb_txn_begin")
        guard let txn else { throw LMDBError(code: .notFound, operation: "mdb_txn_begin") }
        var rebuildable: OpaquePointer?
        if let env = self.rebuildablePointer {
            let rc = mdb_txn_begin(env, nil, 0, &rebuildable)
            if rc != MDB_SUCCESS || rebuildable == nil {
                mdb_txn_abort(txn)
                try check(rc == MDB_SUCCESS ? MDB_PANIC : rc, "mdb_txn_begin")
            }
        }
        let result: T
        let stamp: UInt64
        do {
            let transaction = Transaction(pointer: txn, rebuildablePointer: rebuildable, isWritable: true)
            result = try body(transaction)
            if rebuildable == nil, let finishing { try finishing(result, transaction) }
            if transaction.isBroken { throw LMDBError(code: .init(rawValue: MDB_PANIC), operation: "mdb_txn_commit") }
            stamp = try self.stamps?.stampNext(transaction) ?? 0
        } catch {
            if let rebuildable { mdb_txn_abort(rebuildable) }
            mdb_txn_abort(txn)
            throw error
        }
        // The durable part first: the rebuildable part must never hold what the durable part lacks.
        // mdb_txn_commit frees the txn whether or not it succeeds.
        let rc = mdb_txn_commit(txn)
        if rc != MDB_SUCCESS {
            if let rebuildable { mdb_txn_abort(rebuildable) }
            try check(rc, "mdb_txn_commit")
        }
        whenDurable?(result)
        guard let rebuildable else { return (result, nil) }
        // Readers waiting for this write's rebuildable part go on either way.
        defer { self.stamps?.publish(stamp) }
        do throws(LMDBError) {
            if let finishing {
                do {
                    try finishing(result, Transaction(rebuildablePartOnly: rebuildable))
                } catch {
                    mdb_txn_abort(rebuildable)
                    throw (error as? LMDBError) ?? LMDBError(code: .init(rawValue: MDB_PANIC), operation: "finishing")
                }
            }
            try check(mdb_txn_commit(rebuildable), "mdb_txn_commit")
        } catch {
            if let directory = self.rebuildableDirectory {
                self.rebuildablePartLostAWrite.withLock { $0 = true }
                RebuildableOwnership.markUntrusted(directory: directory)
            }
            return (result, error)
        }
        return (result, nil)
    }

    /// Grows the map (doubling, within the maximum) until `bytes` more fit under the headroom beside the
    /// fuller part's pages in use, so that a long write transaction expected to add about that much does
    /// not find the map full half-way, which runs its whole body again. Call it where the writes are made,
    /// between write transactions.
    public func ensureMapRoom(forBytes bytes: Int) throws {
        _ = try self.growMap(untilRoomFor: bytes)
    }

    /// Doubles the map until `bytes` more fit beside the fuller part's pages, the ``mapHeadroom`` left
    /// free; false when the maximum came first.
    private func growMap(untilRoomFor bytes: Int) throws -> Bool {
        while self.statisticsInsideGate().usedBytes + bytes > self.currentMapSize - self.mapHeadroom {
            guard try self.growMap() else { return false }
        }
        return true
    }

    /// The least room left in the map before a write: the rebuildable part's commit of a batch comes
    /// after the durable part's and cannot be retried on a full map. A quarter of the map, and at least
    /// ``minimumMapHeadroom`` where the maximum allows it: at a small map a quarter is less than one batch
    /// of the read models (256 KiB of a 1 MiB map, under batches of 500 creates), whose commit then failed.
    private var mapHeadroom: Int {
        max(self.currentMapSize / 4, min(Self.minimumMapHeadroom, self.configuration.maximumMapSize / 4))
    }

    /// The room ``mapHeadroom`` keeps at the least, if the maximum map allows it: a few batches of the
    /// largest commands' read-model writes. The map is address space, and its file is sparse.
    static let minimumMapHeadroom = 64 << 20

    /// Grows the map while a part's pages leave less than ``mapHeadroom`` of it. A full map found in
    /// the body is retried after growing, but one found by the rebuildable part's commit (its share of
    /// a batch, or a large free list after a table of a generation was dropped) comes after the durable
    /// commit and cannot be. The headroom keeps commits clear of it.
    ///
    /// - Parameter refusingPastIt: whether to refuse the write (`.mapFull`, nothing written) when the
    ///   map cannot grow past the headroom: a write answered once its durable part is committed would
    ///   otherwise be acknowledged and missing from the read models, in a map too small for the rebuild
    ///   that would restore them. The headroom holds the read models' share of the last batches.
    private func ensureMapHeadroom(refusingPastIt: Bool) throws {
        guard self.rebuildablePointer != nil else { return }
        if try !self.growMap(untilRoomFor: 0), refusingPastIt { throw LMDBError(code: .mapFull, operation: "mdb_txn_begin") }
    }

    /// Doubles the map (bounded by the maximum); returns false when it is already at the maximum.
    private func growMap() throws -> Bool {
        guard self.currentMapSize < self.configuration.maximumMapSize else { return false }
        let newSize = min(self.currentMapSize * 2, self.configuration.maximumMapSize)
        try self.gate.withGateClosed {
            try check(mdb_env_set_mapsize(self.pointer, newSize), "mdb_env_set_mapsize")
            if let rebuildable = self.rebuildablePointer {
                try check(mdb_env_set_mapsize(rebuildable, newSize), "mdb_env_set_mapsize")
            }
        }
        self.currentMapSize = newSize
        return true
    }

    /// Forces buffered data of both parts to disk.
    public func sync() throws(LMDBError) {
        try self.gate.enterAndLeave { () throws(LMDBError) in
            if let rebuildable = self.rebuildablePointer { try check(mdb_env_sync(rebuildable, 1), "mdb_env_sync") }
            try check(mdb_env_sync(self.pointer, 1), "mdb_env_sync")
        }
    }

    /// Writes a consistent, compacted copy of the environment into the empty directory `path`, while
    /// reads and writes go on: both parts from one paired read snapshot (``read(_:)``), so the copy's
    /// rebuildable part is exactly as it was beside its durable part (the rebuildable part into the same
    /// subdirectory of `path`, first, then the durable part).
    ///
    /// Both parts are copied entry by entry into fresh trees (``LogicalCopy``), not page by page: LMDB's
    /// compacting copy begins a snapshot of its own, which would pair with nothing, and its branch pages may
    /// still hold deleted keys as separators (the read models' tables are keyed by URNs and field values).
    /// A durable table the environment never opened fails the copy rather than be left out.
    ///
    /// A copy that fails (a full disk, most often) removes what it wrote, so that no partial copy is
    /// left that looks startable: a cut-off `data.mdb` opens as an empty ledger, or faults inside LMDB.
    /// Failures are ``LMDBError``s carrying the `errno` or LMDB code, so the caller can tell a full disk
    /// from anything else.
    ///
    /// - Parameter note: reads what the caller wants to know of the copy (where the log ends, say) in the
    ///   snapshot copied.
    public func copy<Noted>(to path: String, noting note: (Transaction) throws -> Noted) throws -> Noted {
        var written: [String] = []
        do {
            return try self.gate.enterAndLeave {
                let snapshot = try self.beginPairedRead()
                defer { snapshot.abortRead() }
                let noted = try note(snapshot)
                if let rebuildable = snapshot.rebuildablePointer, let source = self.rebuildableDirectory {
                    let target = (path as NSString).appendingPathComponent((source as NSString).lastPathComponent)
                    guard mkdir(target, 0o700) == 0 else { throw LMDBError(code: .init(rawValue: errno), operation: "mkdir") }
                    written.append(target)
                    let tables = self.rebuildableTableNames.withLock { $0 }
                    try LogicalCopy.copy(snapshot: rebuildable, tables: tables, into: target, mapSize: self.currentMapSize, unopened: .leftOut)
                    try RebuildableOwnership.markCopied(directory: target)
                }
                let tables = self.durableTableNames.withLock { $0 }
                try LogicalCopy.copy(snapshot: snapshot.pointer, tables: tables, into: path, mapSize: self.currentMapSize, unopened: .refused)
                return noted
            }
        } catch {
            // Only what this copy created: the subdirectory is made with mkdir, so one that existed
            // before made the copy fail before it was recorded (each data file removes itself).
            for item in written { try? FileManager.default.removeItem(atPath: item) }
            throw error
        }
    }

    /// ``copy(to:noting:)``, noting nothing.
    public func copy(to path: String) throws {
        try self.copy(to: path) { _ in () }
    }

    /// Copies `env`, compacted, into `directory`'s `data.mdb`, created `0600` like the live files
    /// (`mdb_env_copy2` creates it `0666` less the umask: a copy of the log renamed over it left it
    /// readable by everyone), and synced unless the caller writes it back itself; a copy that fails is
    /// removed.
    static func copy(_ env: OpaquePointer, into directory: String, syncing: Bool = true) throws(LMDBError) {
        let file = Self.dataFile(in: directory)
        // O_EXCL: never over a file that was there before (and so never removing one below).
        let descriptor = Glibc.open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw LMDBError(code: .init(rawValue: errno), operation: "open") }
        defer { close(descriptor) }
        do throws(LMDBError) {
            try check(mdb_env_copyfd2(env, descriptor, UInt32(MDB_CP_COMPACT)), "mdb_env_copyfd2")
            guard !syncing || fsync(descriptor) == 0 else { throw LMDBError(code: .init(rawValue: errno), operation: "fsync") }
        } catch {
            unlink(file)
            throw error
        }
    }

    /// Usage figures of the environment (with a rebuildable part: the map size is each part's, the used
    /// bytes the fuller part's).
    public struct Statistics: Sendable {
        public var mapSize: Int
        public var usedBytes: Int
        public var pageSize: Int
        public var readersUsed: Int
        public var maximumReaders: Int
        /// The largest the map may grow to (``Configuration/maximumMapSize``).
        public var maximumMapSize: Int
    }

    /// Current usage figures.
    public func statistics() -> Statistics {
        self.gate.enterAndLeave { self.statisticsInsideGate() }
    }

    /// ``statistics()``, for the writer (which the gate never holds out) or a caller inside the gate.
    private func statisticsInsideGate() -> Statistics {
        var info = MDB_envinfo()
        mdb_env_info(self.pointer, &info)
        var stat = MDB_stat()
        mdb_env_stat(self.pointer, &stat)
        let pageSize = Int(stat.ms_psize)
        var usedBytes = (info.me_last_pgno + 1) * pageSize
        if let rebuildable = self.rebuildablePointer {
            // Both parts have a map of the same size and grow together: the fuller one is what counts.
            usedBytes = max(usedBytes, Self.usedBytes(of: rebuildable))
        }
        return Statistics(
            mapSize: info.me_mapsize,
            usedBytes: usedBytes,
            pageSize: pageSize,
            readersUsed: Int(info.me_numreaders),
            maximumReaders: Int(info.me_maxreaders),
            maximumMapSize: max(self.configuration.maximumMapSize, info.me_mapsize)
        )
    }

    /// The path of the data file of the LMDB environment in `directory` (LMDB names it `data.mdb`).
    public static func dataFile(in directory: String) -> String {
        (directory as NSString).appendingPathComponent("data.mdb")
    }

    /// The bytes of the LMDB environment `env`'s pages in use, up to its last page (free ones included).
    static func usedBytes(of env: OpaquePointer) -> Int {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        mdb_env_info(env, &info)
        mdb_env_stat(env, &stat)
        return (info.me_last_pgno + 1) * Int(stat.ms_psize)
    }

    /// Free bytes on the file system holding the environment, or nil if it cannot be read.
    public func availableDiskBytes() -> Int64? {
        var info = statvfs()
        guard statvfs(self.directory, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// `error` with the cause the file system shows: a write cut short on a full file system reaches LMDB
    /// as EIO on some file systems (tmpfs: a short write, which LMDB does not tell from other I/O errors),
    /// so a failure other than a full map, with under 4 MiB free, is the full disk (`ENOSPC`) it most
    /// likely is.
    public func explaining(_ error: LMDBError) -> LMDBError {
        guard error.code != .mapFull, !error.isDiskFull, let free = self.availableDiskBytes(), free < 4 << 20 else { return error }
        return LMDBError(code: .noSpace, operation: error.operation)
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
    func enterAndLeave<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        self.enter()
        defer { self.leave() }
        return try body()
    }
}

extension Environment {
    /// Rewrites the durable part's file of the environment in `directory` without its free pages, in
    /// place: after a large table was dropped, its pages would otherwise stay in LMDB's free list, whose
    /// records every commit then searches and rewrites (more pages to write and sync per commit). The
    /// environment must not be open, in this process or another.
    public static func compactDurablePart(directory: String, configuration: Configuration = Configuration()) throws {
        try Self.compactInPlace(directory: directory, flags: UInt32(MDB_NOTLS), configuration: configuration)
    }

    /// Rewrites the file of the LMDB environment in `directory` without its free pages. A crash leaves
    /// the file as it was or compacted, never half-written: the copy is synced, then renamed over it.
    static func compactInPlace(directory: String, flags: UInt32, configuration: Configuration) throws {
        let scratch = (directory as NSString).appendingPathComponent("compacting")
        try? FileManager.default.removeItem(atPath: scratch)
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let env = try Self.open(directory: directory, flags: flags, configuration: configuration)
        do {
            try Self.copy(env, into: scratch)
        } catch {
            mdb_env_close(env)
            throw error
        }
        mdb_env_close(env)  // Before its file is replaced.
        let compacted = Self.dataFile(in: scratch)
        guard rename(compacted, Self.dataFile(in: directory)) == 0 else {
            throw LMDBError(code: .init(rawValue: errno), operation: "rename")
        }
        try FileSync.sync(path: directory)
    }

    /// Deletes those of the named tables that exist in the durable part, with their contents (for
    /// tables that have moved to the rebuildable part), in one write transaction; returns how many
    /// there were.
    @discardableResult
    public func dropTables(_ names: [String]) throws -> Int {
        let present = try self.read { txn in
            names.filter { name in
                var dbi: MDB_dbi = 0
                return mdb_dbi_open(txn.pointer, name, 0, &dbi) == MDB_SUCCESS
            }
        }
        guard !present.isEmpty else { return 0 }
        try self.write { txn in
            for name in present { try Self.dropTableIfPresent(name, in: txn.pointer) }
        }
        return present.count
    }

    /// Deletes the table `name` with its contents in the LMDB write transaction `txn`, if it exists.
    static func dropTableIfPresent(_ name: String, in txn: OpaquePointer) throws(LMDBError) {
        var dbi: MDB_dbi = 0
        guard mdb_dbi_open(txn, name, 0, &dbi) == MDB_SUCCESS else { return }
        try check(mdb_drop(txn, dbi, 1), "mdb_drop")
    }
}
