// ContactLedger — daemon wiring.
import Foundation
import LedgerStore
import Projections

/// The opened LMDB environment with the log, both generations of read models and the daemon's own tables.
///
/// The log and the daemon's own state (`ledger.meta`, idempotency keys) are durable: synced before a
/// command is answered. The read models and their bookkeeping are rebuildable: derived from the log,
/// they live in the environment's rebuildable part (``readModelDirectoryName``), committed right after
/// the log without a sync of their own. A process crash keeps them; after a power loss they are
/// discarded and rebuilt from the log when the daemon starts. Each commit's sync then writes the log's
/// few pages instead of every index page the commit touched.
struct LedgerStores: Sendable {
    static let ownTableNames = ["ledger.meta", "ledger.idempotency", IdempotencyIndex.tableName, IdempotencyOutbox.tableName]
    /// The read models' own bookkeeping (the answering generation, a rebuild's target).
    static let readModelMetaName = "ledger.readmodels"
    /// The subdirectory of the data directory holding the rebuildable part.
    static let readModelDirectoryName = "readmodels"
    private static let activeGenerationKey = Array("active_generation".utf8)

    let environment: Environment
    let log: EventLog
    /// The read models by generation; ``projector(_:)`` names the one answering.
    let projectors: [Projector]
    let meta: Table
    let idempotency: Table
    /// Which stored answers name which contact (``IdempotencyIndex``).
    let idempotencyByContact: Table
    /// Stored answers a publishing daemon has yet to send to its replicas (``IdempotencyOutbox``).
    let idempotencyOutbox: Table
    /// What becomes of the idempotent answers the daemon stores, as to replicas: which are queued in
    /// ``idempotencyOutbox``. Set once, before the writer starts.
    var idempotentAnswers: IdempotencyOutbox.Sharing = .kept
    /// Bookkeeping that belongs with the read models (rebuildable, discarded with them).
    let readModelMeta: Table
    /// Audit field entries erased while an online compaction copies the read models, which it redoes in
    /// the copy (``OnlineReadModelCompaction``).
    let compactionErasures = CompactionErasures()
    /// Reader slots of dead processes that opening the environment cleared (``open(dataDirectory:configuration:)``
    /// opens it twice, and the first opening is the one that finds them).
    private(set) var staleReadersCleared: Int32 = 0

    /// Opens the data directory's environment, with its rebuildable part.
    ///
    /// - Throws: ``Daemon/StartFailure/damagedLog(file:cause:)`` and ``Daemon/StartFailure/logNotTheReadModels(logFile:readModels:position:head:cause:)``
    ///   for a log that cannot be served (naming the files and the ways out), or the storage's errors.
    static func open(dataDirectory: String, configuration: Environment.Configuration = Environment.Configuration()) throws -> LedgerStores {
        // Read models without a log: the log was lost. Found before anything is opened (opening makes an
        // empty log), and whatever the read models' state: read models the machine went down with are
        // discarded before their anchor in the log could be checked, and a backup stopped between its
        // read models and its log leaves no ownership marker.
        let logFile = Environment.dataFile(in: dataDirectory)
        let readModels = (dataDirectory as NSString).appendingPathComponent(Self.readModelDirectoryName)
        let logLost = !FileManager.default.fileExists(atPath: logFile) || EmptyDataFile(logFile) != nil
        if logLost, FileManager.default.fileExists(atPath: Environment.dataFile(in: readModels)) {
            throw Daemon.StartFailure.logMissing(logFile: logFile, readModels: readModels)
        }
        do {
            return try Self.openUnchecked(dataDirectory: dataDirectory, configuration: configuration)
        } catch let truncation as TruncatedDataFile where truncation.path == Environment.dataFile(in: dataDirectory) {
            throw Daemon.StartFailure.damagedLog(
                file: truncation.path,
                cause: "it is \(truncation.size) bytes, shorter than the \(truncation.usedBytes) bytes its LMDB meta page says it uses (truncated)"
            )
        } catch LogError.damagedFile(let error) {
            throw Daemon.StartFailure.damagedLog(file: Environment.dataFile(in: dataDirectory), cause: "\(error)")
        } catch LogError.rebuildablePartFromAnotherLog(let position, let head, let cause) {
            throw Daemon.StartFailure.logNotTheReadModels(
                logFile: Environment.dataFile(in: dataDirectory),
                readModels: (dataDirectory as NSString).appendingPathComponent(Self.readModelDirectoryName),
                position: position, head: head, cause: cause
            )
        }
    }

    private static func openUnchecked(dataDirectory: String, configuration: Environment.Configuration) throws -> LedgerStores {
        // A stream index that an earlier version kept in the log's part moves to the read models' part.
        // Its pages would stay in LMDB's free list, and every commit would search and rewrite that list,
        // so the log's file is compacted once after the drop.
        // That first opening also clears the reader slots dead processes left (closed again at the end of
        // the closure, before the compaction and the second opening).
        let (dropped, cleared) = try {
            let first: Environment
            do {
                first = try Environment(directory: dataDirectory, configuration: configuration)
            } catch let error as LMDBError where Environment.isDamage(error) {
                // Its meta pages are not LMDB's (zeroed, overwritten, a file cut under two pages): LMDB's
                // error names the directory alone, and no way out.
                throw LogError.damagedFile(error)
            }
            do {
                // Before any change: a later version's data directory is refused as it is.
                try EventLog.claimLayout(in: first)
                // The root table (the log's head, the commit stamp, the tables' records; a page or so) is
                // read whole here, where a damaged page can only be the log's: the next opening reads it
                // beside the read models' part, and would take its damage for theirs.
                guard let root = try first.openTables([Table.rootName])[Table.rootName] else { throw LogError.missingTables }
                try first.read { txn in try txn.withCursor(root) { try $0.forEach(from: []) { _ in true } } }
                return (try first.dropTables([EventLog.streamIndexName]), first.staleReadersCleared)
            } catch let error as LMDBError where Environment.isDamage(error) {
                // This opening holds the log's part alone: a damaged page met here is the log's.
                throw LogError.damagedFile(error)
            }
        }()
        if dropped > 0 { try Environment.compactDurablePart(directory: dataDirectory, configuration: configuration) }
        let environment = try Environment(
            directory: dataDirectory,
            configuration: configuration,
            rebuildableSubdirectory: Self.readModelDirectoryName
        )
        var stores = try LedgerStores(environment: environment)
        stores.staleReadersCleared = cleared + environment.staleReadersCleared
        return stores
    }

    init(environment: Environment) throws {
        let readModelNames = Projector.generations.flatMap { Projector.tableNames(generation: $0) } + [Self.readModelMetaName]
        // Data directories written before the split held the read models in the durable part.
        if environment.rebuildableDirectory != nil {
            try environment.dropTables(readModelNames)
        }
        // The log's stream index is derived from its records: it lives with the read models, out of the
        // synced commit.
        // A head that disagrees with the records (records stored past it, or missing below it) refuses
        // the start (EventLog.checkHead, as the log opens): every append would fail on it, and reads
        // would stop short of what is stored.
        self.log = try EventLog.open(in: environment, indexing: .ledgerHeaders)
        var tables = try environment.openTables(Self.ownTableNames)
        tables.merge(try environment.openTables(readModelNames, durability: .rebuildable)) { first, _ in first }
        self.environment = environment
        self.projectors = try Projector.generations.map { try Projector(tables: tables, generation: $0) }
        guard let meta = tables["ledger.meta"], let idempotency = tables["ledger.idempotency"],
            let idempotencyByContact = tables[IdempotencyIndex.tableName], let idempotencyOutbox = tables[IdempotencyOutbox.tableName],
            let readModelMeta = tables[Self.readModelMetaName]
        else {
            throw ReadModelError.missingTables
        }
        self.meta = meta
        self.idempotency = idempotency
        self.idempotencyByContact = idempotencyByContact
        self.idempotencyOutbox = idempotencyOutbox
        self.readModelMeta = readModelMeta
    }

    /// The generation of read models that answers, as of `txn`.
    func activeGeneration(_ txn: Transaction) throws -> Int {
        guard let bytes = try txn.get(self.readModelMeta, key: Self.activeGenerationKey), let value = BigEndian.uint64(bytes) else { return 0 }
        return Int(value) % self.projectors.count
    }

    /// Makes `generation` the one that answers, from the commit of `txn` on.
    func setActiveGeneration(_ generation: Int, in txn: Transaction) throws {
        try txn.put(self.readModelMeta, key: Self.activeGenerationKey, value: BigEndian.bytes(UInt64(generation)))
    }

    /// The read models that answer, as of `txn` (reads and commands pick them in their own transaction,
    /// so a swap is atomic for everyone).
    func projector(_ txn: Transaction) throws -> Projector {
        self.projectors[try self.activeGeneration(txn)]
    }
}
