// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import LedgerStore
import Projections
import Logging
import Prometheus
import RPC
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// Builds the daemon: opens and checks the data directory, the store and the read models, and returns
/// the services to run (the writer, then the RPC server, so shutdown stops the server first).
public enum Daemon {
    /// Why the daemon cannot start.
    public enum StartFailure: Error, CustomStringConvertible {
        case unsafeDataDirectory(String)
        case foreignDataDirectory(String, owner: UInt32)
        case unsafeSocketDirectory(String)
        case cannotCreateDataDirectory(String)
        case unknownGroup(String)
        /// The log's file is shorter than its pages in use (``TruncatedDataFile``), or a page of it read at
        /// start is damaged: `cause` says which.
        case damagedLog(file: String, cause: String)
        /// The read models were built from a log up to `position` that the log's file (`logFile`, whose
        /// head is `head`) does not hold: it was lost, emptied, truncated or replaced.
        case logNotTheReadModels(logFile: String, readModels: String, position: UInt64, head: UInt64, cause: LogError.AnchorMismatch)
        /// The log's file (`logFile`) is missing or empty beside read models (`readModels`): it was lost.
        case logMissing(logFile: String, readModels: String)

        public var description: String {
            switch self {
            case .unsafeDataDirectory(let path): "refusing a data directory that other users can write: \(path)"
            case .foreignDataDirectory(let path, let owner):
                "refusing a data directory owned by another user (uid \(owner)), who could replace its files: \(path)"
            case .unsafeSocketDirectory(let path):
                "refusing a socket directory that other users can write without its sticky bit (they could replace the socket): \(path)"
            case .cannotCreateDataDirectory(let path): "cannot create the data directory \(path)"
            case .unknownGroup(let name): "unknown group for the socket: \(name)"
            case .damagedLog(let file, let cause):
                "the log \(file) is damaged: \(cause). Restore it from a backup (README: Damaged or lost files)"
            case .logNotTheReadModels(let logFile, let readModels, let position, let head, let cause):
                "refusing to serve read models the log does not back: \(readModels) was built from a log up to seq \(position), but the log \(logFile) "
                    + Self.mismatch(cause, position: position, head: head)
                    + ". Serving them would show contacts and events the log does not hold and hand out ids and seqs again. Either restore data.mdb "
                    + "from a backup (README: Damaged or lost files), or, to serve this log as it is, move \(readModels) away: the read models are then "
                    + "rebuilt from this log at start"
            case .logMissing(let logFile, let readModels):
                "refusing to serve read models the log does not back: \(readModels) holds read models, but the log \(logFile) is missing or empty: "
                    + "it was lost or emptied (or a backup into this directory stopped before it copied the log). Starting would serve an empty "
                    + "ledger and hand out ids and seqs again. Either restore data.mdb from a backup (README: Damaged or lost files), or, to start "
                    + "an empty ledger here, move \(readModels) away"
            }
        }

        /// What the log has at the read models' position.
        private static func mismatch(_ cause: LogError.AnchorMismatch, position: UInt64, head: UInt64) -> String {
            switch cause {
            case .logEndsBefore: "ends at seq \(head) (head seq \(head)): it was lost, emptied, truncated or restored from an older copy"
            case .recordMissing: "(head seq \(head)) has no readable record at seq \(position): it was truncated or damaged"
            case .recordDiffers: "(head seq \(head)) holds another record at seq \(position): it was replaced (another ledger's log) or rewritten"
            }
        }
    }

    /// Opens everything and returns the service group to run.
    ///
    /// - Parameters:
    ///   - metricsRegistry: where metrics are recorded (the daemon passes the registry its `MetricsSystem`
    ///     factory uses); a private one by default. Served when `configuration.metricsAddress` is set.
    ///   - onListening: called once the socket, and the metrics endpoint when there is one, accept connections.
    public static func makeServiceGroup(
        configuration: DaemonConfiguration,
        logger: Logger,
        metricsRegistry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
        onListening: @escaping @Sendable () -> Void = {}
    ) throws -> ServiceGroup {
        let directory = configuration.dataDirectory
        let manager = FileManager.default
        if !manager.fileExists(atPath: directory) {
            do {
                // Search permission alone for its group: enough to reach the default socket (0660, in it),
                // not to list it (0750 let the group read the directory's names).
                try manager.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o710])
            } catch {
                throw StartFailure.cannotCreateDataDirectory(directory)
            }
        }
        var info = stat()
        if stat(directory, &info) == 0 {
            guard info.st_mode & 0o002 == 0 else { throw StartFailure.unsafeDataDirectory(directory) }
            // Its owner could plant links where the daemon opens its files (the lock, LMDB's lock file).
            guard info.st_uid == geteuid() else { throw StartFailure.foreignDataDirectory(directory, owner: info.st_uid) }
        }
        let socketDirectory = (configuration.socketPath as NSString).deletingLastPathComponent
        if stat(socketDirectory.isEmpty ? "." : socketDirectory, &info) == 0, info.st_mode & 0o002 != 0, info.st_mode & mode_t(S_ISVTX) == 0 {
            throw StartFailure.unsafeSocketDirectory(socketDirectory)
        }
        let socketGroup = try configuration.socketGroup.map { try Self.groupID($0) }
        if let socketGroup { Self.letGroupReach(socketDirectory: socketDirectory, dataDirectory: directory, group: socketGroup) }
        let lock = try DataDirectoryLock(directory: directory)
        Self.reportStorageAssertions(dataDirectory: directory, logger: logger)
        // Before anything slow: a daemon that cannot have its socket says so at once.
        let socketRecord = SocketRecord(dataDirectory: directory)
        try SocketPathClaim.claim(configuration.socketPath, staleSocketIsOwn: socketRecord.isOwn(configuration.socketPath))
        var storage = Environment.Configuration(initialMapSize: configuration.initialMapSize, maximumMapSize: configuration.maximumMapSize)
        storage.rebuildableCompactionMinimumFreeBytes = configuration.readModelCompactionMinimumFreeBytes
        var stores = try LedgerStores.open(dataDirectory: directory, configuration: storage)
        stores.idempotentAnswers = IdempotencyOutbox.Sharing(role: configuration.replication?.role)
        let environment = stores.environment
        // A half-built offline rebuild is no longer one to go on with: this start empties it table by table,
        // its checkpoint last (a kill between leaves a checkpoint over missing tables), and may erase
        // payloads it had already applied.
        try OfflineRebuilder.forgetResumable(stores)
        try ProjectionRebuilder.forgetInterruptedVerification(stores)
        do {
            try IdempotencyIndex.indexStoredAnswers(stores)
        } catch {
            // A full disk, say: the daemon still serves, and deletions read every stored answer until a
            // start indexes them.
            logger.warning(
                "stored idempotent answers not indexed; deletions read them all until a start indexes them",
                metadata: ["error.type": "\(String(reflecting: type(of: error)))", "lmdb.code": "\((error as? LMDBError)?.code.rawValue ?? 0)"]
            )
        }
        do {
            try IdempotencyOutbox.prepare(stores)
        } catch {
            // A full disk, say. Harmless: the first answer stored without being queued drops the mark, and
            // a replica's promotion queues every answer again.
            logger.warning(
                "answers queued for replicas not prepared at this start",
                metadata: ["error.type": "\(String(reflecting: type(of: error)))", "lmdb.code": "\((error as? LMDBError)?.code.rawValue ?? 0)"]
            )
        }
        // Before the daemon serves, so no export of this run is among them.
        InterruptedExports.removeTemporaryFiles(stores, logger: logger)
        if stores.staleReadersCleared > 0 {
            logger.notice("cleared stale reader slots", metadata: ["lmdb.readers_cleared": "\(stores.staleReadersCleared)"])
        }
        switch environment.rebuildablePartCompaction {
        case .success(let compaction?):
            logger.notice(
                "read models compacted: their free pages were a large share of the file",
                metadata: [
                    "bytes_before": "\(compaction.bytesBefore)", "bytes_after": "\(compaction.bytesAfter)", "elapsed_ms": "\(compaction.milliseconds)",
                ]
            )
        case .success(nil):
            break
        case .failure(let error):
            logger.warning(
                "read models not compacted; opened as they were",
                metadata: ["error.type": "\(String(reflecting: type(of: error)))", "lmdb.code": "\((error as? LMDBError)?.code.rawValue ?? 0)"]
            )
        }
        if let damage = environment.rebuildablePartDamage {
            logger.warning(
                "read models discarded: their file was damaged; rebuilding them from the log",
                metadata: ["file": "\(environment.rebuildableDirectory.map { Environment.dataFile(in: $0) } ?? "")", "error": "\(damage)"]
            )
        } else if environment.rebuildablePartHadLostAWrite {
            logger.warning("read models discarded: a commit of theirs failed after the log's (the error was logged then); rebuilding them from the log")
        } else if environment.rebuildablePartWasDiscarded {
            logger.warning("read models discarded: the machine went down while they were open; rebuilding them from the log")
        }
        let anonymousKey: AnonymousKey
        do {
            anonymousKey = try AnonymousKey(stores: stores)
        } catch let error as LMDBError where Environment.isDamage(error) {
            // The daemon's own table, in the log's file (the read models' damage is found at opening).
            throw StartFailure.damagedLog(file: Environment.dataFile(in: directory), cause: "\(error)")
        }
        let metrics = DaemonMetrics(registry: metricsRegistry, knownMethods: Set(LedgerMethods.methods.keys))
        let ledger = Ledger(stores: stores, anonymousKey: anonymousKey, logger: logger, metrics: metrics)
        let rebuilder = ProjectionRebuilder(ledger: ledger, commitSeconds: configuration.rebuildCommitSeconds, logger: logger)
        if try !rebuilder.isRebuildNeededAtStart() {
            // Same read-model version: bring the answering generation up to the log's head (it lags
            // only if events were added by other means, e.g. a restored or upgraded log).
            let active = try environment.read { try stores.projector($0) }
            let replayed = try active.rebuildIfNeeded(log: stores.log, environment: environment)
            if replayed > 0 { logger.notice("read models caught up with the log", metadata: ["projection.events": "\(replayed)"]) }
        } else {
            // A rebuild is under way (or the stored version asks for one): the answering generation serves
            // until its successor is swapped in, so it is brought to the log's head first, whatever its
            // version. Left behind (a backup taken during a rebuild, a stop between the log's commit and
            // the read models'), contacts acknowledged before the stop were not found until the swap, and
            // their URNs were given to new contacts.
            let active = try environment.read { try stores.projector($0) }
            let replayed = try active.catchUp(log: stores.log, environment: environment)
            if replayed > 0 { logger.notice("read models caught up with the log", metadata: ["projection.events": "\(replayed)"]) }
        }
        let replication = ReplicationStatus(settings: configuration.replication)
        // A node that publishes appends no event of its own before its publisher has found the stream holding
        // this log's history (a replica promoted while behind evaluated its smart groups at seqs the stream
        // already held, and could no longer follow it); clients' commands do not wait for it.
        let ownWrites = OwnWritesGate(isOpen: configuration.replication?.role != .publisher)
        let populator = GroupPopulator(
            ledger: ledger, logger: logger, evaluates: configuration.replication?.role != .replica, mayWrite: ownWrites
        )
        let methods = LedgerMethods(
            ledger: ledger, rebuilder: rebuilder, populator: populator, access: configuration.access,
            logger: logger, replication: replication, importMaximumRecords: configuration.importMaximumRecords,
            subscriberMaximumLag: UInt64(configuration.subscriberMaximumLag)
        )
        metrics.setSampler(DaemonMetrics.makeSampler(stores: stores, rebuilder: rebuilder, subscriptions: methods.subscriptions))
        if let address = configuration.metricsAddress { try MetricsServer.probe(address) }
        // Ready once the socket and the metrics endpoint (when there is one) both accept connections.
        let readiness = Readiness(listeners: configuration.metricsAddress == nil ? 1 : 2, onReady: onListening)
        let server = RPCServer(
            configuration: .init(
                socketPath: configuration.socketPath,
                maximumLineBytes: configuration.maximumLineBytes,
                socketMode: configuration.socketMode,
                maximumUnreadAnswerBytes: configuration.maximumUnreadAnswerBytes,
                socketGroup: socketGroup,
                // The metrics endpoint's connections come out of the same open-file limit.
                descriptorsForOtherListeners: configuration.metricsAddress == nil ? 0 : MetricsServer.maximumConnections
            ),
            handler: MeteredHandler(wrapped: methods, metrics: metrics),
            logger: logger,
            onListening: {
                do {
                    try socketRecord.record(configuration.socketPath)
                } catch {
                    // Not fatal: only a later start's clean-up of a stale socket outside the data directory needs it.
                    logger.warning("cannot record the socket path in the data directory", metadata: ["error.code": "\((error as NSError).code)"])
                }
                readiness.listenerReady()
            }
        )
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: LedgerService(ledger: ledger, lock: lock, logger: logger)),
            .init(service: populator),
            .init(service: server),
            // Last, so stopped first: a stop drops a rebuild's open staging transaction, and should not
            // first wait for the server's connections to drain (at least 250 ms), while staging goes on.
            .init(service: rebuilder),
        ]
        // After the writer, before the server: stopped after the server, before the writer.
        if let settings = configuration.replication {
            let service: any Service =
                switch settings.role {
                case .publisher:
                    ReplicationPublisher(ledger: ledger, settings: settings, status: replication, ownWrites: ownWrites, logger: logger)
                case .replica: ReplicaFollower(ledger: ledger, populator: populator, settings: settings, status: replication, logger: logger)
                }
            services.insert(.init(service: service), at: 2)
        }
        // Right after the writer: stopped after the server and the rest, before the writer, which stores
        // the stopped exports' ends.
        services.insert(.init(service: ExportStopper()), at: 1)
        if let address = configuration.metricsAddress {
            services.append(.init(service: MetricsServer(address: address, metrics: metrics, logger: logger, onListening: readiness.listenerReady)))
        }
        return ServiceGroup(
            configuration: .init(
                services: services,
                // SIGHUP too (its terminal closed, or a `kill -HUP` meant as a reload, which the daemon has
                // none of): its default action ended the process at once, the socket file left behind.
                gracefulShutdownSignals: [.sigterm, .sigint, .sighup],
                logger: logger
            )
        )
    }

    /// Has a failed assertion of LMDB (a damaged page, found mid-read: LMDB then aborts the process, and
    /// nothing can stop it) log one critical line first, naming the store (the log, the read models, a
    /// rebuild's staging area), its file and the way out, where the abort alone left a backtrace.
    public static func reportStorageAssertions(dataDirectory: String, logger: Logger) {
        let readModels = (dataDirectory as NSString).appendingPathComponent(LedgerStores.readModelDirectoryName)
        LMDBAssertions.report { directory, message in
            let (store, wayOut): (String, String) =
                switch directory {
                case dataDirectory:
                    ("log", "its file is damaged: stop the daemon and restore the log from a backup (README: Damaged or lost files)")
                case readModels:
                    ("read_models", "their file is damaged: stop the daemon and move \(readModels) away; the read models are rebuilt from the log at start")
                default:
                    ("scratch", "a scratch store (a rebuild's staging area or a copy) is damaged: stop the daemon and remove \(directory); it is made again")
                }
            logger.critical(
                "storage damaged: LMDB stops the process",
                metadata: ["store": "\(store)", "file": "\(Environment.dataFile(in: directory))", "lmdb.assertion": "\(message)", "way_out": "\(wayOut)"]
            )
        }
    }

    /// Makes every file and directory the process creates its owner's alone (umask `077`) unless it
    /// sets a mode itself: the data directory holds personal data, and a file created by a library
    /// (LMDB's copies, Foundation's writes) takes `0666` less the umask, which the operator's shell
    /// usually leaves at `022`.
    public static func keepNewFilesPrivate() {
        umask(0o077)
    }

    /// Lets the socket's group reach a socket that lies in the data directory (the default place):
    /// connecting needs search permission on every directory of the path, and the data directory is
    /// created `0750` with the daemon's own group. It is given the socket's group with search
    /// permission only (`g=x`): its members reach the socket, not the listing, and its files are
    /// `0600` anyway. A socket elsewhere lies in a directory the operator chose, left as it is.
    static func letGroupReach(socketDirectory: String, dataDirectory: String, group: gid_t) {
        let resolved = { (path: String) in URL(fileURLWithPath: path.isEmpty ? "." : path).resolvingSymlinksInPath().path }
        guard resolved(socketDirectory) == resolved(dataDirectory) else { return }
        var info = stat()
        guard stat(dataDirectory, &info) == 0 else { return }
        if info.st_gid != group { chown(dataDirectory, uid_t.max, group) }  // uid_t.max: -1, the owner unchanged.
        chmod(dataDirectory, (info.st_mode & 0o7707) | 0o010)
    }

    /// A group id from a name or a number.
    static func groupID(_ group: String) throws -> gid_t {
        if let number = gid_t(group) { return number }
        guard let entry = getgrnam(group) else { throw StartFailure.unknownGroup(group) }
        return entry.pointee.gr_gid
    }

}
