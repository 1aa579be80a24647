// ContactLedger — daemon wiring.
import ContactDomain
import Crypto
import Foundation
import LedgerStore
import Projections
import RPC
import Logging
import ParallelWork
import Synchronization

/// The single writer: runs commands in batches, one LMDB write transaction and one fsync per batch
/// (group commit), and answers each command only once its batch is durable.
///
/// Commands arriving while a batch commits wait for the next one, so under load batches grow and the
/// cost of the fsync is shared. Each command runs in a nested transaction: a command that fails leaves
/// no trace, and the others of its batch still commit. All write transactions run on one dedicated
/// thread, as LMDB requires, and never on NIO's event loops or the cooperative pool.
///
/// Commands that defer their projection (``CommandContext/defersProjection``: creates, modifications,
/// messages) apply their events to one batch of held projections in memory, which later commands of
/// the batch read through; the contacts it holds are indexed and stored after the log's commit has
/// been answered, in the read models' own commit. A command that does not defer first has the held
/// projections written, since it reads the read models' tables itself.
final class Ledger: Sendable {
    /// What a command's closure returns: its answer, encoded.
    typealias Body = @Sendable (CommandTransaction) throws -> [UInt8]

    private struct Pending: Sendable {
        let context: CommandContext
        let body: Body
        let continuation: CheckedContinuation<[UInt8], any Error>
    }

    private struct Queue {
        var pending: [Pending] = []
        /// Work to run on the writer's thread between two batches (``betweenBatches(_:)``).
        var betweenBatches: [@Sendable () -> Void] = []
        var isStopping = false
        var isStopped = false

        /// Whether the last batch taken held a bulk command.
        var lastBatchHadBulk = false

        /// The next batch. A bulk command (``CommandContext/takesABatchAlone``) takes a batch alone, and
        /// while both kinds wait, a batch of every other command queued and a bulk one alternate: so a
        /// small command waits for one bulk command at most, the one running when it came, and bulk
        /// commands still get every other batch. (A small command that shared a batch with a bulk one
        /// waited for it too: with six imports at once, for all six; behind a rebuild's catch-up, which may
        /// replay a field's deletion, for the one running and the next.)
        ///
        /// A batch holds at most ``mostPerBatch`` small commands, taken in turn from the connections that
        /// have some waiting, each one's in the order they came: one client's JSON-RPC batch of 10,000
        /// creates went into one write batch, and another client's create waited 2–5 s for it.
        mutating func takeBatch() -> [Pending] {
            let hasSmall = self.pending.contains { !$0.context.takesABatchAlone }
            guard let bulk = self.pending.firstIndex(where: { $0.context.takesABatchAlone }), !hasSmall || !self.lastBatchHadBulk else {
                self.lastBatchHadBulk = false
                return self.takeSmall()
            }
            self.lastBatchHadBulk = true
            return [self.pending.remove(at: bulk)]
        }

        /// The small commands of the next batch (``takeBatch()``), taken out of the queue.
        private mutating func takeSmall() -> [Pending] {
            let small = self.pending.indices.filter { !self.pending[$0].context.takesABatchAlone }
            guard small.count > Ledger.mostPerBatch else {
                let taken = small.map { self.pending[$0] }
                self.pending.removeAll { !$0.context.takesABatchAlone }
                return taken
            }
            // Each connection's queued commands, connections in the order their first one came.
            var order: [UInt64?] = []
            var byConnection: [UInt64?: [Int]] = [:]
            for index in small {
                let connection = self.pending[index].context.connection
                if byConnection[connection] == nil { order.append(connection) }
                byConnection[connection, default: []].append(index)
            }
            var chosen: [Int] = []
            var round = 0
            while chosen.count < Ledger.mostPerBatch {
                var tookAny = false
                for connection in order {
                    guard let indices = byConnection[connection], round < indices.count, chosen.count < Ledger.mostPerBatch else { continue }
                    chosen.append(indices[round])
                    tookAny = true
                }
                guard tookAny else { break }
                round += 1
            }
            chosen.sort()
            let taken = chosen.map { self.pending[$0] }
            let chosenSet = Set(chosen)
            self.pending = self.pending.indices.filter { !chosenSet.contains($0) }.map { self.pending[$0] }
            return taken
        }
    }

    /// The most small commands one write batch holds (``Queue/takeBatch()``): far above what concurrent
    /// clients fill (64 clients of one call at a time make batches of 64 at most), reached by JSON-RPC
    /// batches and pipelined lines.
    static let mostPerBatch = 512

    let stores: LedgerStores
    let anonymousKey: AnonymousKey
    /// The anonymous refs as this ledger's key makes them now (a replica takes its primary's key).
    var reference: AnonymousReference { self.anonymousKey.reference }
    /// Announces each commit's head to subscriptions.
    let headWatcher: HeadWatcher
    let statistics = CommitStatistics()
    private let queue = Mutex(Queue())
    /// The time stamped on the last event appended: the next is stamped later, whatever the clock says.
    private let lastTimestamp: Mutex<Timestamp>
    /// Set when the read models' part failed to commit a batch whose log commit succeeded.
    private let readModelsBehind = Atomic(false)
    /// Set when the daemon begins to stop (``refuseBulkCommands()``).
    private let bulkRefused = Atomic(false)
    private let wakeUp = NSCondition()
    private let logger: Logger
    /// Signalled when the writer thread has exited.
    private let finished = NSCondition()
    private let hasFinished = Mutex(false)
    /// Where commit batch sizes and latencies are recorded, if anywhere.
    private let metrics: DaemonMetrics?

    init(stores: LedgerStores, anonymousKey: AnonymousKey, logger: Logger, metrics: DaemonMetrics? = nil) {
        self.metrics = metrics
        self.stores = stores
        self.anonymousKey = anonymousKey
        self.headWatcher = HeadWatcher(head: (try? stores.environment.read { try stores.log.head(in: $0).seq }) ?? 0)
        // From the last event's time, not from zero: a clock stepped back across a restart stamped the next
        // events before the ones already in the log, and searches by time (which rely on times growing with
        // seqs) left them out. An unreadable head leaves it to the clock; the start's checks name the damage.
        self.lastTimestamp = Mutex((try? stores.environment.read { try Self.headTime(stores.log, in: $0) }) ?? Timestamp(microseconds: 0))
        self.logger = logger
    }

    /// The time of the last event in `log`, or the epoch when it holds none.
    private static func headTime(_ log: EventLog, in txn: Transaction) throws -> Timestamp {
        let head = try log.head(in: txn).seq
        var time = Timestamp(microseconds: 0)
        guard head > 0 else { return time }
        try log.forEach(after: head - 1, in: txn) { record in
            time = try EventHeader.decode(record.header).createdOn
            return false
        }
        return time
    }

    /// Stamps later events after `time`: that of an event appended with a time of its own (a replica's
    /// copy of its primary's), so that once promoted it never stamps one before it.
    func appended(at time: Timestamp) {
        self.lastTimestamp.withLock { last in last = max(last, time) }
    }

    /// Starts the writer thread.
    func start() {
        NamedThread.start("ledger-writer") { [self] in self.writerLoop() }
    }

    /// Refuses bulk commands and read-model maintenance from now on: the daemon is stopping (SIGTERM).
    /// Work of many commands (an import's batches, a smart group's evaluation, a verification's scratch
    /// rebuild) then ends between two of them, as a kill would end it, rather than run to its end while
    /// the stop waits (a 40,000-row import ran 47 s past SIGTERM while a smart group was evaluated). The
    /// commands already queued run and answer.
    func refuseBulkCommands() {
        self.bulkRefused.store(true, ordering: .releasing)
    }

    /// Whether the daemon is stopping (``refuseBulkCommands()`` was called): long work off the writer (a
    /// verification's comparison) ends too.
    var isStopping: Bool { self.bulkRefused.load(ordering: .acquiring) }

    /// Runs `body` as one command; returns its answer once durable.
    ///
    /// - Throws: the body's errors (nothing of the command is written), ``StorageUnavailable`` when the
    ///   batch could not be committed or the ledger is stopping (a bulk command once
    ///   ``refuseBulkCommands()`` was called), or ``ContactError`` for idempotency-key reuse.
    func execute(_ context: CommandContext, _ body: @escaping Body) async throws -> [UInt8] {
        if context.isBulk || context.isReadModelMaintenance, self.bulkRefused.load(ordering: .acquiring) {
            throw StorageUnavailable(reason: "shutting_down")
        }
        return try await withCheckedThrowingContinuation { continuation in
            guard self.enqueue({ $0.pending.append(Pending(context: context, body: body, continuation: continuation)) }) else {
                continuation.resume(throwing: StorageUnavailable(reason: "shutting_down"))
                return
            }
        }
    }

    /// Runs `body` on the writer's thread between two batches: no write transaction is open and no
    /// command runs until it returns (the storage's swaps need that). Keep it short: commands wait.
    ///
    /// - Throws: `body`'s errors, or ``StorageUnavailable`` when the ledger is shutting down.
    func betweenBatches<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            guard self.enqueue({ $0.betweenBatches.append { continuation.resume(with: Result { try body() }) } }) else {
                continuation.resume(throwing: StorageUnavailable(reason: "shutting_down"))
                return
            }
        }
    }

    /// Adds work to the writer's queue with `add` and wakes the writer; returns false, adding nothing,
    /// once the ledger is stopping.
    private func enqueue(_ add: (inout Queue) -> Void) -> Bool {
        let accepted = self.queue.withLock { queue -> Bool in
            guard !queue.isStopping else { return false }
            add(&queue)
            return true
        }
        guard accepted else { return false }
        self.wakeUp.lock()
        self.wakeUp.signal()
        self.wakeUp.unlock()
        return true
    }

    /// Stops accepting commands, lets the writer finish the queued ones, and waits for it to exit.
    func stop() {
        self.queue.withLock { $0.isStopping = true }
        self.wakeUp.lock()
        self.wakeUp.signal()
        self.wakeUp.unlock()
        self.finished.lock()
        while !self.hasFinished.withLock({ $0 }) { self.finished.wait() }
        self.finished.unlock()
    }

    /// The next batch and the work to run before it; nil once stopping with nothing queued.
    private func takeBatch() -> (batch: [Pending], before: [@Sendable () -> Void])? {
        self.wakeUp.lock()
        defer { self.wakeUp.unlock() }
        while true {
            let (batch, before, stop) = self.queue.withLock { queue -> ([Pending], [@Sendable () -> Void], Bool) in
                let taken = (queue.takeBatch(), queue.betweenBatches, queue.isStopping)
                queue.betweenBatches = []
                return taken
            }
            if !batch.isEmpty || !before.isEmpty { return (batch, before) }
            if stop { return nil }
            self.wakeUp.wait()
        }
    }

    private func writerLoop() {
        while let (batch, before) = self.takeBatch() {
            for work in before { work() }
            if !batch.isEmpty { self.commit(batch) }
        }
        self.finished.lock()
        self.hasFinished.withLock { $0 = true }
        self.finished.broadcast()
        self.finished.unlock()
    }

    private func commit(_ batch: [Pending]) {
        let started = DispatchTime.now().uptimeNanoseconds
        // When the batch's commands have run: the rest of the write is mdb_txn_commit (pages and fsync).
        var bodyFinished = started
        // When the log's part had committed and synced (the answers went out).
        var durableAt = started
        // How long the deferred projections took to write, after the answers and before the read
        // models' commit: not part of the commit's page writes and sync.
        var finishingNanoseconds: UInt64 = 0
        do {
            // Timestamps never go backwards, even if the clock does: the log's time order is its seq order.
            let now = self.lastTimestamp.withLock { last in
                let now = max(Timestamp.now, Timestamp(microseconds: last.microseconds + 1))
                last = now
                return now
            }
            let catchingUp = self.readModelsBehind.load(ordering: .relaxed)
            // Acknowledged commands must find room for their read models' commit; the daemon's own work
            // on the read models may use it.
            let refusingPastHeadroom = batch.contains { !$0.context.isReadModelMaintenance }
            let (_, rebuildableFailure) = try self.stores.environment.writeReportingRebuildableFailure(refusingPastHeadroom: refusingPastHeadroom, { txn in
                if catchingUp { try self.bringReadModelsToHead(txn) }
                var outcomes: [Result<[UInt8], any Error>] = []
                outcomes.reserveCapacity(batch.count)
                // The projections of the deferring commands since the last command that does not defer.
                var deferred: ProjectionBatch?
                for command in batch {
                    if !command.context.defersProjection, let held = deferred {
                        // This command reads the read models' tables: they must hold the batch so far.
                        try held.finishAtLastApplied()
                        deferred = nil
                    }
                    var projections: ProjectionBatch?
                    if command.context.defersProjection {
                        projections = try deferred ?? self.stores.projector(txn).openBatch(in: txn, journaled: true)
                        deferred = projections
                    }
                    let mark = projections?.mark()
                    do {
                        let answer = try txn.nested { child in
                            projections?.use(child)
                            defer { projections?.use(txn) }
                            return try self.run(command, in: child, now: now, deferredProjections: projections)
                        }
                        outcomes.append(.success(answer))
                    } catch let error as LMDBError where error.isOutOfSpace {
                        // The whole batch must be retried after the map grows, or fail together.
                        throw error
                    } catch {
                        // Its nested transaction is gone; what it applied to the held projections goes too.
                        if let projections, let mark { try projections.rollBack(to: mark) }
                        outcomes.append(.failure(error))
                    }
                }
                bodyFinished = DispatchTime.now().uptimeNanoseconds
                return (outcomes: outcomes, deferred: deferred)
            }, whenDurable: { written in
                // The log is synced: answer now, while the read models commit. A query sent on this
                // answer waits for that commit (the storage's commit stamps), so it sees the write.
                durableAt = DispatchTime.now().uptimeNanoseconds
                for (command, outcome) in zip(batch, written.outcomes) {
                    command.continuation.resume(with: outcome)
                }
            }, finishing: { written, txn in
                // The deferring commands' contacts are indexed and stored after their answers went out.
                guard let deferred = written.deferred else { return }
                let finishingStarted = DispatchTime.now().uptimeNanoseconds
                defer { finishingNanoseconds = DispatchTime.now().uptimeNanoseconds - finishingStarted }
                deferred.use(txn)
                try deferred.finishAtLastApplied()
            })
            if let rebuildableFailure {
                // The log is durable and the commands stand. The read models lack this batch: its events
                // are applied by the next batch, before its first command; its other read-model writes
                // (a rebuild's swap, say) are lost, so the storage marks the read models for a rebuild
                // from the log at the next start.
                self.logger.error("read-model commit failed; read models will be rebuilt from the log at the next start", metadata: ["lmdb.code": "\(rebuildableFailure.code.rawValue)", "ledger.batch": "\(batch.count)"])
                self.metrics?.recordCommitFailure(reason: "read_model_commit")
                self.readModelsBehind.store(true, ordering: .relaxed)
            } else if catchingUp {
                self.readModelsBehind.store(false, ordering: .relaxed)
            }
        } catch let error as LMDBError {
            self.logger.error("commit failed", metadata: ["lmdb.code": "\(error.code.rawValue)", "ledger.batch": "\(batch.count)"])
            let failure = StorageUnavailable(reason: self.reason(for: error))
            self.metrics?.recordCommitFailure(reason: failure.reason)
            for command in batch { command.continuation.resume(throwing: failure) }
            return
        } catch {
            self.logger.error("commit failed", metadata: ["error.type": "\(String(reflecting: type(of: error)))"])
            self.metrics?.recordCommitFailure(reason: "storage_error")
            for command in batch { command.continuation.resume(throwing: StorageUnavailable(reason: "storage_error")) }
            return
        }
        let finished = DispatchTime.now().uptimeNanoseconds
        let elapsed = Int64(finished - started) / 1000
        let logSync = Int64(max(durableAt, bodyFinished) - bodyFinished) / 1000
        self.statistics.record(batchSize: batch.count, latencyMicroseconds: elapsed, logSyncMicroseconds: logSync)
        let commitNanoseconds = finished - min(bodyFinished, finished)
        self.metrics?.recordCommit(
            batchSize: batch.count,
            duration: .nanoseconds(Int64(finished - started)),
            syncDuration: .nanoseconds(Int64(commitNanoseconds - min(finishingNanoseconds, commitNanoseconds)))
        )
        if finished - started >= Self.slowBatchNanoseconds {
            // Where a slow batch spent its time: the commands, the log's commit and sync, the read models' commit.
            let milliseconds = { (from: UInt64, to: UInt64) in "\((max(to, from) - from) / 1_000_000)" }
            self.logger.notice(
                "slow write batch",
                metadata: [
                    "ledger.batch": "\(batch.count)", "total_ms": "\(milliseconds(started, finished))",
                    "commands_ms": "\(milliseconds(started, bodyFinished))", "log_commit_ms": "\(milliseconds(bodyFinished, durableAt))",
                    "read_model_commit_ms": "\(milliseconds(durableAt, finished))",
                    "deferred_projections_ms": "\(finishingNanoseconds / 1_000_000)",
                ]
            )
        }
        if let head = try? self.stores.environment.read({ try self.stores.log.head(in: $0).seq }) {
            self.headWatcher.advance(to: head)
        }
    }

    /// A batch that takes this long from its first command to its read models' commit is logged.
    static let slowBatchNanoseconds: UInt64 = 100_000_000

    /// Applies the log events the answering read models lack, before a batch's first command, after
    /// their part failed to commit (the log's commit had succeeded). The start brings them to the log's
    /// head otherwise, and every batch keeps them there.
    private func bringReadModelsToHead(_ txn: Transaction) throws {
        let projector = try self.stores.projector(txn)
        let head = try self.stores.log.head(in: txn).seq
        guard var position = try projector.state(in: txn)?.position, position < head else { return }
        while position < head {
            let (reached, _) = try projector.catchUp(log: self.stores.log, limit: 10_000, in: txn)
            guard reached > position else { break }
            position = reached
        }
        self.logger.notice("read models caught up with the log", metadata: ["projection.position": "\(position)"])
    }

    /// Runs one command, honouring its idempotency key.
    private func run(_ command: Pending, in txn: Transaction, now: Timestamp, deferredProjections: ProjectionBatch?) throws -> [UInt8] {
        let context = command.context
        let idempotencyRecord = context.idempotencyKey.map { Self.idempotencyRecord(workspace: context.workspace, key: $0) }
        if let idempotencyRecord, let stored = try self.storedAnswer(at: idempotencyRecord, for: context, in: txn) { return stored }
        let transaction = CommandTransaction(
            txn: txn, context: context, now: now, stores: self.stores, reference: self.reference, deferredProjections: deferredProjections
        )
        let answer = try command.body(transaction)
        if let idempotencyRecord {
            // The contacts the answer presented are kept with it, and indexed: deleting one replaces the answer.
            let named = transaction.namedContacts.uuids
            let record = IdempotencyRecord(paramsHash: context.paramsHash, content: .answer(answer, namedContacts: named))
            try record.store(at: idempotencyRecord, replacingPersonalData: false, stores: self.stores, in: txn)
            try IdempotencyIndex.add(named, answerAt: idempotencyRecord, workspace: context.workspace, stores: self.stores, in: txn)
            try IdempotencyIndex.countStoredAnswer(self.stores, in: txn)
        }
        return answer
    }
}

extension Ledger {
    /// The key of an idempotency record. Keys are hashed: 128 characters can be 512 bytes, more than an
    /// LMDB key holds.
    static func idempotencyRecord(workspace: String, key: String) -> [UInt8] {
        Array(workspace.utf8) + [0] + Array(SHA256.hash(data: Array(key.utf8)))
    }

    /// The answer stored for the command's idempotency key, which a retry answers again; nil when it has
    /// none or the key is new.
    ///
    /// - Throws: -32002 `idempotency_key_reused` when the key's first use had other params, and -32001
    ///   `deleted` when its answer named a contact since deleted.
    func storedAnswer(for context: CommandContext, in txn: Transaction) throws -> [UInt8]? {
        guard let key = context.idempotencyKey else { return nil }
        return try self.storedAnswer(at: Self.idempotencyRecord(workspace: context.workspace, key: key), for: context, in: txn)
    }

    /// ``storedAnswer(for:in:)`` for the command's idempotency record, already made.
    private func storedAnswer(at key: [UInt8], for context: CommandContext, in txn: Transaction) throws -> [UInt8]? {
        guard let stored = try txn.get(self.stores.idempotency, key: key) else { return nil }
        guard let record = IdempotencyRecord(decoding: stored),
            record.paramsHash == context.paramsHash || record.paramsHash == context.paramsHashAsSent
        else {
            throw ContactError(.conflict, reason: "idempotency_key_reused", field: "idempotency_key")
        }
        switch record.content {
        case .erased(let uuid):
            // The first answer named a contact since deleted: it is not repeated.
            throw ContactError.notFound("contact", id: uuid, reason: "deleted")
        case .answer(let answer, _):
            return try self.maskedAsNow(answer, workspace: context.workspace, in: txn)
        }
    }

    /// A stored answer as its workspace shows answers now: kept before the workspace became anonymous,
    /// it is masked by the presenter every live answer goes through. Only how it is shown changes.
    private func maskedAsNow(_ answer: [UInt8], workspace name: String, in txn: Transaction) throws -> [UInt8] {
        let workspace = try self.stores.projector(txn).workspaces.workspace(name, in: txn)
        guard workspace.anonymous, let stored = try? EncodedAnswer.decode(answer) else { return answer }
        let masked = ContactPresenter(workspace: workspace, reference: self.reference).maskAnswer(stored)
        return masked == stored ? answer : JSONLine.encode(masked)
    }

    /// Why a commit failed, for `data.reason` of -32005 (a full disk also when LMDB saw an I/O error:
    /// ``Environment/explaining(_:)``).
    func reason(for error: LMDBError) -> String {
        if error.code == .mapFull { return "map_full" }
        return self.stores.environment.explaining(error).isDiskFull ? "disk_full" : "storage_error"
    }

    /// Replaces every stored idempotent answer of `workspace` that names `uuid` (see
    /// ``IdempotencyRecord/names(contact:)``) with a marker, so a retry after deletion reveals none of
    /// the contact's personal data. The answers are found through ``IdempotencyIndex``.
    func eraseIdempotentAnswers(mentioning uuid: String, workspace: String, in txn: Transaction) throws {
        let indexed = try IdempotencyIndex.takeAnswers(naming: uuid, workspace: workspace, stores: self.stores, in: txn)
        // An index not complete yet (its start could not write it) is no list: every answer is read.
        let keys = try IdempotencyIndex.isComplete(self.stores, in: txn) ? indexed : self.idempotencyRecordKeys(workspace: workspace, in: txn)
        for key in keys {
            // An answer replaced already (it named another contact, deleted before) names nobody now.
            guard let stored = try txn.get(self.stores.idempotency, key: key), let record = IdempotencyRecord(decoding: stored),
                record.names(contact: uuid)
            else { continue }
            let erased = IdempotencyRecord(paramsHash: record.paramsHash, content: .erased(contact: uuid))
            try erased.store(at: key, replacingPersonalData: true, stores: self.stores, in: txn)
        }
    }

    /// The keys of every answer `workspace` has stored.
    private func idempotencyRecordKeys(workspace: String, in txn: Transaction) throws -> [[UInt8]] {
        let prefix = Array(workspace.utf8) + [0]
        var keys: [[UInt8]] = []
        try txn.withCursor(self.stores.idempotency) { cursor in
            try cursor.forEach(from: prefix) { entry in
                guard entry.key.hasPrefix(prefix) else { return false }
                keys.append(Array(entry.key))
                return true
            }
        }
        return keys
    }
}

/// The store could not take the write (disk full, map full and unable to grow, shutting down).
/// Nothing of the command was written.
struct StorageUnavailable: Error, Sendable {
    var reason: String
}
