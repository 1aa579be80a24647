// ContactLedger — storage layer.
import CLMDB
import Foundation
import Glibc
import Synchronization

/// A compacted copy of an environment's rebuildable part, made while the environment is in use, to be
/// brought up to date and put in the part's place (``Environment/replaceRebuildablePart(with:bringingUpToDate:)``).
///
/// LMDB never gives free pages back, and a commit takes the longest-freed ones first, so a writer walks
/// the whole pool of free pages and dirties it within seconds (see ``RebuildableCompaction``). A rebuild
/// frees a generation of read models, and the part is compacted only when it is opened: without this, the
/// pool would stay until the next start. Only a copy gets rid of it.
///
/// The copy is a snapshot: it lacks what was committed after it began. Its owner brings it up to date
/// from the durable part with ``write(_:)``, then once more in the swap, when no write can come between.
/// It lives in ``scratchName`` inside the part's directory; a copy never swapped in is deleted with this
/// value, and one a crash left behind when the environment is next opened.
public final class RebuildablePartCopy: @unchecked Sendable {
    // @unchecked: `pointer` is used by one thread at a time (its owner's catch-up, then the writer's
    // swap); the rest is immutable or a Mutex.
    /// The copy's directory inside the rebuildable part's.
    static let scratchName = "compacting-online"

    /// The copy's LMDB environment; the environment's rebuildable part once swapped in.
    let pointer: OpaquePointer
    /// The copy's directory.
    let directory: String
    let environment: Environment
    /// The part's pages in use when the copy was made, free ones included.
    public let bytesBefore: Int
    /// The copy's size when it was made.
    public let bytesCopied: Int
    /// How long the copy took, its write-back included.
    public let copyMilliseconds: Int
    /// Set once swapped in: the environment owns ``pointer`` from then on.
    private let isInstalled = Mutex(false)

    /// Makes a copy of `environment`'s rebuildable part, in `partDirectory`: `copying` writes the
    /// compacted copy into the directory it is given and returns the part's size and the map's, or nil
    /// when the part cannot be copied (no copy is made then). The copy's write-back and opening follow,
    /// outside whatever `copying` held.
    init?(environment: Environment, partDirectory: String, copying: (_ into: String) throws -> (bytesBefore: Int, mapSize: Int)?) throws {
        let directory = (partDirectory as NSString).appendingPathComponent(Self.scratchName)
        let dataFile = Environment.dataFile(in: directory)
        Self.removeLeftover(in: partDirectory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        let started = DispatchTime.now().uptimeNanoseconds
        let copied: (bytesBefore: Int, mapSize: Int)
        let pointer: OpaquePointer
        do {
            guard let made = try copying(directory) else {
                try? FileManager.default.removeItem(atPath: directory)
                return nil
            }
            copied = made
            // Written back now, a slice at a time, rather than all at once by the swap's rename, which
            // would hold the writer and the log's syncs up behind it (``FileSync/writeBack(path:sliceBytes:)``).
            try FileSync.writeBack(path: dataFile)
            pointer = try Environment.open(directory: directory, flags: UInt32(MDB_NOTLS | MDB_NOSYNC), configuration: environment.configuration)
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        self.pointer = pointer
        self.directory = directory
        self.environment = environment
        self.bytesBefore = copied.bytesBefore
        self.copyMilliseconds = Int((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)
        let attributes = try? FileManager.default.attributesOfItem(atPath: dataFile)
        self.bytesCopied = (attributes?[.size] as? NSNumber)?.intValue ?? 0
        // From here on, deinit closes the copy and deletes it.
        try check(mdb_env_set_mapsize(pointer, copied.mapSize), "mdb_env_set_mapsize")
        try self.reopenTables(environment.rebuildableTableNames.withLock { $0 })
    }

    deinit {
        guard !self.isInstalled.withLock({ $0 }) else { return }
        mdb_env_close(self.pointer)
        try? FileManager.default.removeItem(atPath: self.directory)
    }

    /// Opens the part's tables in the copy under the handles they have in the part: the environment's
    /// ``Table`` values then name the same tables in both. LMDB numbers a fresh environment's handles in
    /// the order tables are opened, so opening them in handle order gives the same numbers unless the
    /// part had a gap (a table closed after opening); such a part cannot take the copy.
    private func reopenTables(_ names: [MDB_dbi: String]) throws {
        var txn: OpaquePointer?
        try check(mdb_txn_begin(self.pointer, nil, 0, &txn), "mdb_txn_begin")
        guard let txn else { throw LMDBError(code: .notFound, operation: "mdb_txn_begin") }
        for (dbi, name) in names.sorted(by: { $0.key < $1.key }) {
            var opened: MDB_dbi = 0
            let rc = mdb_dbi_open(txn, name, 0, &opened)
            if rc != MDB_SUCCESS || opened != dbi {
                mdb_txn_abort(txn)
                try check(rc == MDB_SUCCESS ? MDB_INCOMPATIBLE : rc, "mdb_dbi_open")
            }
        }
        try check(mdb_txn_commit(txn), "mdb_txn_commit")
    }

    /// Runs `body` in a write transaction of the copy whose durable part is a read transaction of the
    /// environment's durable part, as of now: `body` reads the durable tables and writes the copy's
    /// rebuildable ones (a write to a durable table fails). Call from one thread at a time.
    public func write<T>(_ body: (Transaction) throws -> T) throws -> T {
        precondition(!self.isInstalled.withLock { $0 }, "a copy written after it was swapped in")
        return try self.environment.withDurableRead { durable in
            var txn: OpaquePointer?
            try check(mdb_txn_begin(self.pointer, nil, 0, &txn), "mdb_txn_begin")
            guard let txn else { throw LMDBError(code: .notFound, operation: "mdb_txn_begin") }
            let result: T
            do {
                result = try body(Transaction(pointer: durable, rebuildablePointer: txn, isWritable: true))
            } catch {
                mdb_txn_abort(txn)
                throw error
            }
            try check(mdb_txn_commit(txn), "mdb_txn_commit")
            return result
        }
    }

    /// Marks the copy as swapped in.
    func markInstalled() {
        self.isInstalled.withLock { $0 = true }
    }

    /// Deletes a copy left in the part's directory `partDirectory` (a crash came before its swap).
    static func removeLeftover(in partDirectory: String) {
        try? FileManager.default.removeItem(atPath: (partDirectory as NSString).appendingPathComponent(Self.scratchName))
    }
}

extension Environment {
    /// Copies the rebuildable part, compacted, while reads and writes go on; nil when the environment
    /// has no rebuildable part or the part lost a write (it is discarded at the next opening anyway).
    ///
    /// Blocking (the copy reads and writes the whole part): call it off the writer and the event loops.
    public func copyRebuildablePart() throws -> RebuildablePartCopy? {
        guard let directory = self.rebuildableDirectory else { return nil }
        return try RebuildablePartCopy(environment: self, partDirectory: directory) { target in
            // Only the copy is made inside the gate (the map must not be resized under it), not the
            // copy's write-back: a resize waits for what is inside.
            try self.gate.enterAndLeave { () -> (bytesBefore: Int, mapSize: Int)? in
                guard let part = self.rebuildablePointer, self.rebuildablePartIsTrusted else { return nil }
                let bytesBefore = Self.usedBytes(of: part)
                try Self.copy(part, into: target, syncing: false)
                return (bytesBefore, self.currentMapSize)
            }
        }
    }

    /// Whether the rebuildable part is worth compacting (``RebuildableCompaction``'s test, on the part
    /// as it is now); false without a rebuildable part.
    public func rebuildablePartIsSparse() throws -> Bool {
        try self.gate.enterAndLeave {
            guard let part = self.rebuildablePointer else { return false }
            let (free, used, pageSize) = try RebuildableCompaction.pageCounts(part)
            return RebuildableCompaction.isSparse(free: free, used: used, pageSize: pageSize, configuration: self.configuration)
        }
    }

    /// Puts `copy` in the rebuildable part's place: `bringingUpToDate` first writes to the copy what the
    /// part gained since the copy was made (the durable part is read as of now), then the copy's file
    /// replaces the part's and readers see it from their next transaction.
    ///
    /// Call it from the writer's thread, between writes: no write may come between the last catch-up
    /// and the swap. Readers are held back only for the rename (and the swap waits for those inside,
    /// a backup's copy included). A failure leaves the part as it was. The copy's file is not synced:
    /// the part is discarded after a power loss in any case (``RebuildableOwnership``), and a process
    /// crash keeps the page cache. The part keeps the copy's lock file, unlinked, until it is closed,
    /// so another process opening the part meanwhile would not share its reader table: like the rest
    /// of the environment, it assumes no other process opens it (the daemon holds the data directory's lock).
    public func replaceRebuildablePart(with copy: RebuildablePartCopy, bringingUpToDate: (Transaction) throws -> Void) throws {
        precondition(copy.environment === self, "a copy of another environment")
        guard let old = self.rebuildablePointer, let directory = self.rebuildableDirectory, let stamps = self.stamps, self.rebuildablePartIsTrusted else {
            throw LMDBError(code: .init(rawValue: MDB_PANIC), operation: "replaceRebuildablePart")
        }
        // The map may have grown since the copy was made: the part must keep the environment's size.
        try check(mdb_env_set_mapsize(copy.pointer, self.currentMapSize), "mdb_env_set_mapsize")
        try copy.write { txn in
            try bringingUpToDate(txn)
            try stamps.adoptDurableStamp(txn)
        }
        let copyData = Environment.dataFile(in: copy.directory)
        // Opened before the rename: its descriptor follows the file.
        let reserve = try RebuildableReserve(environment: copy.pointer, dataPath: copyData)
        let dataPath = Self.dataFile(in: directory)
        // Kept open through the rename, so the replaced file's blocks can be freed gradually.
        let replacedFile = Glibc.open(dataPath, O_RDWR | O_CLOEXEC)
        let retired = try self.gate.withGateClosed {
            guard rename(copyData, dataPath) == 0 else {
                let failure = errno
                if replacedFile >= 0 { Glibc.close(replacedFile) }
                throw LMDBError(code: .init(rawValue: failure), operation: "rename")
            }
            copy.markInstalled()
            let retired = RetiredPart(pointer: old, reserve: self.reserve, file: replacedFile)
            self.rebuildablePointer = copy.pointer
            self.reserve = reserve
            return retired
        }
        // Closing the old part frees its replaced file (unmapping it, dropping its cached and dirty pages,
        // freeing its blocks): hundreds of megabytes that the writer need not wait for, freed gradually.
        // Closed explicitly there, not by the last reference, which might be this thread's.
        DispatchQueue.global(qos: .utility).async { retired.close() }
        // The copy's lock file stays in use until the environment closes; unlinked, it goes then.
        try? FileManager.default.removeItem(atPath: copy.directory)
    }

    /// Whether the rebuildable part holds every write so far (none was lost, it is not on its way out).
    private var rebuildablePartIsTrusted: Bool {
        !self.rebuildablePartLostAWrite.withLock { $0 } && !self.rebuildablePartDiscarded.withLock { $0 }
    }
}

/// A rebuildable part replaced by its copy, which no reader or writer can reach any more: ``close()``
/// closes it and frees its deleted file's blocks gradually (``FileSync/truncateGradually(descriptor:sliceBytes:pause:)``).
private final class RetiredPart: @unchecked Sendable {
    // @unchecked: only ``close()`` uses the stored properties, called once, on one thread.
    private let pointer: OpaquePointer
    /// Holds the file's other descriptor: released after the file is emptied.
    private var reserve: RebuildableReserve?
    /// A descriptor of the replaced file, or -1.
    private let file: Int32

    init(pointer: OpaquePointer, reserve: RebuildableReserve?, file: Int32) {
        self.pointer = pointer
        self.reserve = reserve
        self.file = file
    }

    func close() {
        mdb_env_close(self.pointer)
        if self.file >= 0 {
            FileSync.truncateGradually(descriptor: self.file)
            Glibc.close(self.file)
        }
        self.reserve = nil
    }
}
