// ContactLedger — daemon wiring.
import CLedgerSys
import ContactDomain
import Foundation
import LedgerStore
import Logging
import NIOPosix
import ParallelWork
import Projections
import RPC
import ServiceLifecycle
import Synchronization

/// Rebuilds the read models online, while the current generation keeps answering, in three steps:
///
/// 1. **Staging**: the log is replayed into a ``RebuildStaging`` environment of its own, in large
///    transactions that only the rebuilder writes, until it is near the log's head.
/// 2. **Copy**: the staged tables are appended, in key order, into a fresh generation of tables of the
///    ledger, in commands of the single writer of about ``chunkBudgetNanoseconds`` each (longer behind long
///    commands: ``nextBudget(after:waited:)``).
/// 3. **Catch-up**: the new generation replays the rest of the log in chunks, each an ordinary command of
///    the single writer (so writers wait at most one chunk); when it reaches the head it is swapped in,
///    in the same write transaction, and the old one dropped.
///
/// Log chunks are read and decoded outside the writer, on NIO's thread pool (decoding is most of a
/// replayed event's cost), the next one while the current one is applied. Catch-up chunks are sized so
/// that applying one takes about ``chunkBudgetNanoseconds``, or as long as the last one waited for the
/// writer when that was longer. The last events are read and applied inside the writer, so the rebuild
/// reaches the head and swaps even while the writes go on.
///
/// The staging area and the new generation keep their own checkpoints, so a crash or SIGTERM mid-way
/// resumes on the next start (an interrupted copy starts the copy again). A rebuild starts by itself when the stored read models were written by
/// another read-model version, or by hand with `projections.rebuild`.
final class ProjectionRebuilder: Service, Sendable {
    /// Where a rebuild is: `projections.status` names it, since the figures mean different things in each.
    enum Phase: String, Sendable {
        /// Replaying the log into the staging area, off the writer (its position moves run by run,
        /// and stands still while a staging transaction commits).
        case staging
        /// Copying the staged tables into the generation, a slice per writer command (the position
        /// stands still: no ETA).
        case copying
        /// Applying the events written since staging ended, in the writer, then swapping.
        case catchingUp = "catching_up"
    }

    /// What `projections.status` reports of the rebuild.
    struct Progress: Sendable {
        var isRebuilding = false
        var phase = Phase.staging
        var target: Int?
        var startedAt: Date?
        /// `startedAt` on the continuous clock: the rate, the ETA and the log lines' elapsed seconds are
        /// measured on it, so a wall clock stepped during a rebuild moves none of them.
        var startedInstant: ContinuousClock.Instant?
        var startPosition: UInt64 = 0
        var position: UInt64 = 0
        var head: UInt64 = 0
        var eventsPerSecond: Double = 0
        var lastCompletedAt: Date?
        /// Why the last rebuild failed, until one completes: without it a failed rebuild (a full disk)
        /// looked as if it had happened. Held in memory only: the failed rebuild's target stays
        /// recorded, so the next start resumes it anyway.
        var lastFailure: Failure?
    }

    /// A rebuild that failed: the `reason` of its error (`disk_full`, `map_full`, `log_damaged`, …), the
    /// log's position it failed at when the log was damaged there, and when.
    struct Failure: Sendable {
        var reason: String
        var seq: UInt64?
        var at: Date
    }

    /// Writer time one chunk should take at least: writers queued behind a chunk wait about this long
    /// more. A chunk that waited longer for the writer may take as long as it waited
    /// (``nextBudget(after:waited:)``).
    static let chunkBudgetNanoseconds: UInt64 = 10_000_000
    /// Events per chunk decoded inside the writer (`projections.verify`, a stale chunk): small enough
    /// that writers queued behind it wait tens of milliseconds, not hundreds.
    static let chunkSize = 250
    /// Events per chunk at the start (before the apply cost is known) and at least.
    static let minimumChunkSize = ProjectionRebuilder.chunkSize
    /// Chunks' worth of events the last catch-up command may read and apply, to reach the head and swap:
    /// writers wait that much longer once, at the swap. Chunks take as long as they waited for the
    /// writer (``nextBudget(after:waited:)``), so a chunk's worth covers about what was appended
    /// meanwhile, a bulk command of thousands of events included.
    static let tailChunks = 4
    /// Writer time one chunk may take at most, however long the commands it waited behind took.
    static let maximumChunkBudgetNanoseconds: UInt64 = 1_000_000_000
    /// Events per chunk at most, whatever the budget allows: bounds the decoded events held in memory.
    static let maximumChunkSize = 32_768
    /// The generation a rebuild builds, while it is under way.
    static let targetKey = Array("rebuild_target".utf8)
    /// The generation swapped out and not yet emptied, if any (emptied at start and after a rebuild).
    static let droppingKey = Array("dropping_generation".utf8)
    /// Audit field entries erased while a rebuild is under way, by seq: the rebuild may have indexed
    /// their payloads before they were erased, so they are dropped from it when it is swapped in.
    private static let erasedPrefix = Array("rebuild_erased/".utf8)

    private let ledger: Ledger
    private let stores: LedgerStores
    /// Seconds staging runs between commits of the staging area (`rebuild_commit_seconds`).
    private let commitSeconds: Double
    private let logger: Logger
    private let progress = Mutex(Progress())
    private let requests: AsyncStream<Void>
    private let requestSink: AsyncStream<Void>.Continuation

    init(ledger: Ledger, commitSeconds: Double = DaemonConfiguration.defaultRebuildCommitSeconds, logger: Logger) {
        self.ledger = ledger
        self.stores = ledger.stores
        self.commitSeconds = commitSeconds
        self.logger = logger
        (self.requests, self.requestSink) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The current progress figures.
    var status: Progress { self.progress.withLock { $0 } }

    /// Asks for a rebuild; returns false when one is already running.
    func requestRebuild() -> Bool {
        let accepted = self.progress.withLock { progress -> Bool in
            guard !progress.isRebuilding else { return false }
            progress.isRebuilding = true
            // Until the rebuild reports, it is at its start: the figures of the one before are not shown,
            // nor the phase it ended in.
            progress.phase = .staging
            progress.startedAt = Date()
            progress.startedInstant = .now
            progress.startPosition = 0
            progress.position = 0
            progress.eventsPerSecond = 0
            return true
        }
        if accepted { self.requestSink.yield() }
        return accepted
    }

    /// Whether the stored read models need rebuilding at start: a rebuild was interrupted, or the
    /// answering generation was written by another read-model version.
    func isRebuildNeededAtStart() throws -> Bool {
        try self.stores.environment.read { txn in
            if try txn.get(self.stores.readModelMeta, key: Self.targetKey) != nil { return true }
            let state = try self.stores.projector(txn).state(in: txn)
            return state.map { $0.version != Projector.version } ?? false
        }
    }

    func run() async throws {
        if try self.isRebuildNeededAtStart() { _ = self.requestRebuild() }
        // A stop cancels the work under way rather than waiting for it to end (a rebuild of millions of
        // events would hold a SIGTERM up for minutes): staging commits what it has applied, and the next
        // start goes on from each step's checkpoint.
        do {
            // A generation swapped out before a stop is still being emptied.
            try await cancelWhenGracefulShutdown {
                try await self.finishDropping()
                await self.compactReadModels()
            }
        } catch is CancellationError {
            return
        } catch {
            self.logger.error("dropping a swapped-out read model failed", metadata: ["error.type": "\(String(reflecting: type(of: error)))"])
        }
        for await _ in self.requests.cancelOnGracefulShutdown() {
            do {
                try await cancelWhenGracefulShutdown {
                    try await self.rebuild()
                    try await self.finishDropping()
                    await self.compactReadModels()
                }
            } catch is CancellationError {
                break
            } catch let failure {
                let error = (failure as? LMDBError).map(self.stores.environment.explaining) ?? failure
                let reason = ErrorMapping.rpcError(error)?.data?["reason"]?.stringValue ?? (error is LMDBError ? "storage_error" : "internal_error")
                var metadata: Logger.Metadata = [
                    "projection.name": "\(Projector.name)", "error.reason": "\(reason)", "error.type": "\(String(reflecting: type(of: error)))",
                ]
                // A damaged log stops the rebuild at the record its replay refused: said where, not adopted.
                var damagedSeq: UInt64?
                if case LogError.damaged(let seq, let damage) = error {
                    damagedSeq = seq
                    metadata["ledger.seq"] = "\(seq)"
                    metadata["log.damage"] = "\(damage.rawValue)"
                }
                self.logger.error("projection rebuild failed", metadata: metadata)
                // The staging area holds space, on a full disk space the log's commands need: a failed
                // rebuild deletes it, and the next one (by hand, or the start's) stages again.
                let dataDirectory = self.stores.environment.directory
                _ = try? await self.onPool { RebuildStaging.remove(dataDirectory: dataDirectory) }
                self.progress.withLock {
                    $0.isRebuilding = false
                    $0.lastFailure = Failure(reason: reason, seq: damagedSeq, at: Date())
                }
            }
        }
    }

    /// What one chunk command did.
    fileprivate struct ChunkReport {
        var position: UInt64
        var head: UInt64
        var isDone: Bool
        /// The decoded chunk was not applied (a fresh one was decoded and applied in the writer).
        var wasStale: Bool
        var applyNanoseconds: UInt64
        /// How long the command waited for the writer (not in ``bytes``: measured outside the command).
        var waitNanoseconds: UInt64 = 0

        var bytes: [UInt8] {
            BigEndian.bytes(self.position) + BigEndian.bytes(self.head) + BigEndian.bytes(self.applyNanoseconds) + [self.isDone ? 1 : 0, self.wasStale ? 1 : 0]
        }
    }

    /// Reads and decodes up to `limit` events after `position` on NIO's thread pool, in a short read
    /// transaction of its own.
    private func readChunk(after position: UInt64, limit: Int) async throws -> ReplayChunk {
        let stores = self.stores
        return try await self.onPool {
            try stores.environment.read { txn in
                try ReplayChunk.read(log: stores.log, after: position, limit: limit, in: txn)
            }
        }
    }

    /// What one catch-up command of the writer applies.
    private enum Step {
        /// A chunk decoded outside the writer; then, when the events appended since it was read number
        /// at most `tailLimit` and the command is still within its budget, those too.
        case chunk(ReplayChunk, tailLimit: Int)
        /// The events after the checkpoint, read and decoded inside the writer: all of them when they
        /// number at most `limit` (inside the writer no event is appended meanwhile, so the command
        /// reaches the head and swaps), else `otherwise` of them.
        case tail(limit: Int, otherwise: Int)
    }

    /// Applies `step` to the generation being rebuilt, as one command of the writer; swaps the
    /// generations when it reaches the log's head.
    ///
    /// A chunk read outside the writer is always behind under steady writes: with 16 writers the
    /// catch-up chased the head, about 30 events behind, for a minute; under bulk commands of a
    /// thousand events each, it stayed a bulk command behind until they stopped. The last events are
    /// read in the writer instead (``Step``).
    ///
    /// Once the command has taken `budget` (a tail, ``tailChunks`` times as long) it stops after the next
    /// deletion of a field or a group (``Projector/replay(_:until:in:)``), whose cost the chunk's size does
    /// not bound.
    private func apply(_ step: Step, budget: UInt64) async throws -> ChunkReport {
        let stores = self.stores
        let (bytes, waited) = try await self.executeMeasuringWait { tx in
            let txn = tx.txn
            guard let target = try txn.get(stores.readModelMeta, key: Self.targetKey).flatMap({ BigEndian.uint64($0) }) else {
                return ChunkReport(position: 0, head: 0, isDone: true, wasStale: false, applyNanoseconds: 0).bytes
            }
            let started = DispatchTime.now().uptimeNanoseconds
            let deadline = started + budget
            let projector = stores.projectors[Int(target) % stores.projectors.count]
            var report: ChunkReport
            switch step {
            case .chunk(let chunk, let tailLimit):
                switch try projector.apply(chunk, log: stores.log, until: deadline, in: txn) {
                case .applied(let position, let reachedHead, let head)
                where !reachedHead && head > position && head - position <= UInt64(tailLimit) && DispatchTime.now().uptimeNanoseconds < deadline:
                    let (finished, isDone) = try projector.catchUp(log: stores.log, limit: tailLimit, until: deadline, in: txn)
                    report = ChunkReport(position: finished, head: head, isDone: isDone, wasStale: false, applyNanoseconds: 0)
                case .applied(let position, let reachedHead, let head):
                    report = ChunkReport(position: position, head: head, isDone: reachedHead, wasStale: false, applyNanoseconds: 0)
                case .stale:
                    // Rare (a contact of the chunk was deleted meanwhile): decode a small chunk here, so the
                    // rebuild always moves on.
                    let (position, reachedHead) = try projector.catchUp(log: stores.log, limit: Self.minimumChunkSize, until: deadline, in: txn)
                    report = ChunkReport(position: position, head: try stores.log.head(in: txn).seq, isDone: reachedHead, wasStale: true, applyNanoseconds: 0)
                }
            case .tail(let limit, let otherwise):
                let head = try stores.log.head(in: txn).seq
                let position = try projector.state(in: txn)?.position ?? 0
                let fits = head - min(position, head) <= UInt64(limit)
                let (finished, isDone) = try projector.catchUp(
                    log: stores.log, limit: fits ? limit : otherwise, until: fits ? started + UInt64(Self.tailChunks) * budget : deadline, in: txn
                )
                report = ChunkReport(position: finished, head: head, isDone: isDone, wasStale: false, applyNanoseconds: 0)
            }
            if report.isDone {
                try Self.dropErasedFieldEntries(from: projector, stores, in: txn)
                // Swap atomically: every later read or command uses the new generation.
                let old = try stores.activeGeneration(txn)
                try stores.setActiveGeneration(projector.generation, in: txn)
                // Emptied afterwards, a slice per command (``finishDropping()``).
                try txn.put(stores.readModelMeta, key: Self.droppingKey, value: BigEndian.bytes(UInt64(old)))
                try txn.delete(stores.readModelMeta, key: Self.targetKey)
            }
            report.applyNanoseconds = DispatchTime.now().uptimeNanoseconds - started
            return report.bytes
        }
        var report = ChunkReport(bytes: bytes)
        report.waitNanoseconds = waited
        return report
    }

    /// Runs `body` as a read-model maintenance command of the writer; also returns how long the command
    /// waited for the writer, which is what the commands before it took (``nextBudget(after:waited:)``).
    private func executeMeasuringWait(_ body: @escaping Ledger.Body) async throws -> (bytes: [UInt8], waited: UInt64) {
        let submitted = DispatchTime.now().uptimeNanoseconds
        let start = CommandStart()
        let bytes = try await self.ledger.execute(.readModelMaintenance) { tx in
            start.mark()
            return try body(tx)
        }
        return (bytes, start.nanoseconds - min(submitted, start.nanoseconds))
    }

    /// Empties the generation a swap left behind, a table per writer command.
    private func finishDropping() async throws {
        let stores = self.stores
        let context = CommandContext.readModelMaintenance
        while true {
            try Task.checkCancellation()
            // A stop leaves the rest for the next start.
            if Task.isShuttingDownGracefully { return }
            let done = try await self.ledger.execute(context) { tx in
                let txn = tx.txn
                guard let generation = try txn.get(stores.readModelMeta, key: Self.droppingKey).flatMap({ BigEndian.uint64($0) }),
                    Int(generation) < stores.projectors.count, Int(generation) != (try stores.activeGeneration(txn))
                else {
                    try txn.delete(stores.readModelMeta, key: Self.droppingKey)
                    return [1]
                }
                guard try stores.projectors[Int(generation)].dropNextTable(in: txn) else { return [0] }
                try txn.delete(stores.readModelMeta, key: Self.droppingKey)
                return [1]
            }
            if done == [1] { return }
            await Task.yield()
        }
    }

    /// Compacts the read models if the generation just emptied left them sparse; a failure leaves them
    /// as they were (the next start compacts them).
    private func compactReadModels() async {
        if Task.isShuttingDownGracefully { return }
        do {
            try await OnlineReadModelCompaction(ledger: self.ledger, logger: self.logger).compactIfSparse()
        } catch is CancellationError {
            // A stop (or a start that failed after the rebuilder began): nothing failed, nothing to say.
        } catch {
            self.logger.warning(
                "read models not compacted online; left as they were",
                metadata: ["error.type": "\(String(reflecting: type(of: error)))", "lmdb.code": "\((error as? LMDBError)?.code.rawValue ?? 0)"]
            )
        }
    }

    /// The next chunk's writer time: as long as the last chunk waited for the writer, moved halfway
    /// there, between ``chunkBudgetNanoseconds`` and ``maximumChunkBudgetNanoseconds``. Behind commands
    /// of a second each (bulk changes in a debug build), 10 ms chunks applied 250 events per turn while
    /// each turn appended 2,000, and the rebuild fell behind for as long as they went on; a chunk that
    /// takes as long as it waited gives the rebuild half the writer at most, and writers wait behind it
    /// no longer than it waited behind them.
    private static func nextBudget(after budget: UInt64, waited: UInt64) -> UInt64 {
        min(max((budget + waited) / 2, Self.chunkBudgetNanoseconds), Self.maximumChunkBudgetNanoseconds)
    }

    /// The next chunk size: what fits `budget` at the last chunk's cost per event, moved halfway there.
    private static func nextChunkSize(after size: Int, events: Int, nanoseconds: UInt64, budget: UInt64) -> Int {
        guard events > 0, nanoseconds > 0 else { return size }
        let fitting = Double(budget) * Double(events) / Double(nanoseconds)
        let next = (Double(size) + fitting) / 2
        return Int(min(max(next, Double(Self.minimumChunkSize)), Double(Self.maximumChunkSize)))
    }

    private func rebuild() async throws {
        let stores = self.stores
        let context = CommandContext.readModelMaintenance
        // Pick (or resume) the target generation: the one not answering.
        let begun = try await self.ledger.execute(context) { tx in
            let txn = tx.txn
            let active = try stores.activeGeneration(txn)
            let target = active == 0 ? 1 : 0
            let projector = stores.projectors[target]
            let resuming = try txn.get(stores.readModelMeta, key: Self.targetKey).flatMap { BigEndian.uint64($0) } == UInt64(target)
                && (try projector.state(in: txn))?.version == Projector.version
            if !resuming {
                // The target may be a generation still being emptied: the reset empties it at once.
                if try txn.get(stores.readModelMeta, key: Self.droppingKey).flatMap({ BigEndian.uint64($0) }) == UInt64(target) {
                    try txn.delete(stores.readModelMeta, key: Self.droppingKey)
                }
                try projector.reset(in: txn)
                try Self.dropErasedFieldEntries(from: projector, stores, in: txn)  // an empty generation: only the records go
                try txn.put(stores.readModelMeta, key: Self.targetKey, value: BigEndian.bytes(UInt64(target)))
                try txn.delete(stores.readModelMeta, key: Self.catchingUpKey)
            }
            let catchingUp = try txn.get(stores.readModelMeta, key: Self.catchingUpKey) != nil
            let position = try projector.state(in: txn)?.position ?? 0
            return BigEndian.bytes(position) + BigEndian.bytes(try stores.log.head(in: txn).seq) + [resuming ? 1 : 0, catchingUp ? 1 : 0]
        }
        // The time the rebuild was asked for (``requestRebuild()``), which `projections.status` has shown
        // since: taking a new one here moved `started_on` by the few milliseconds the first command took.
        let (startedAt, started) = self.progress.withLock { ($0.startedAt ?? Date(), $0.startedInstant ?? .now) }
        var start = BigEndian.uint64(begun) ?? 0
        let head = BigEndian.uint64(begun, at: 8) ?? 0
        self.progress.withLock {
            $0.isRebuilding = true
            $0.phase = .staging
            $0.startedAt = startedAt
            $0.startedInstant = started
            $0.startPosition = start
            $0.position = start
            $0.head = head
            $0.eventsPerSecond = 0
        }
        // Resuming, the target's own position; a staging area's comes with `staging resumed` next.
        self.logger.notice(
            "projection rebuild started",
            metadata: ["projection.name": "\(Projector.name)", "ledger.seq": "\(start)", "resuming": "\(begun.count == 18 && begun[16] == 1)"]
        )
        if begun.count == 18, begun[17] == 0 {
            start = try await self.stageAndCopy(resuming: begun[16] == 1, started: started)
        } else {
            // Copied before a restart: a staging area left behind is no longer needed.
            let dataDirectory = stores.environment.directory
            try await self.onPool { RebuildStaging.remove(dataDirectory: dataDirectory) }
        }
        self.progress.withLock { $0.phase = .catchingUp }
        var size = Self.minimumChunkSize
        var position = start
        var budget = Self.chunkBudgetNanoseconds
        var chunk: ReplayChunk? = try await self.readChunk(after: start, limit: size)
        let catchUpStarted = ContinuousClock.now
        var catchUp = (chunks: 0, events: 0, stale: 0, applyNanoseconds: UInt64(0), longestNanoseconds: UInt64(0))
        while true {
            try Task.checkCancellation()
            let report: ChunkReport
            var next: ReplayChunk?
            if let current = chunk {
                // The next chunk is decoded while the writer applies this one.
                let (from, limit) = (current.last, size)
                async let prefetched = self.readChunk(after: from, limit: limit)
                report = try await self.apply(.chunk(current, tailLimit: max(Self.minimumChunkSize, size / 2)), budget: budget)
                if !report.isDone {
                    budget = Self.nextBudget(after: budget, waited: report.waitNanoseconds)
                    // A deletion's time says nothing of what the other events cost.
                    if !report.wasStale, !current.items.contains(where: \.isWorkspaceWide) {
                        size = Self.nextChunkSize(after: size, events: current.items.count, nanoseconds: report.applyNanoseconds, budget: budget)
                    }
                    next = try await prefetched
                }
            } else {
                report = try await self.apply(.tail(limit: Self.tailChunks * size, otherwise: size), budget: budget)
                budget = Self.nextBudget(after: budget, waited: report.waitNanoseconds)
            }
            catchUp.chunks += 1
            catchUp.events += Int(report.position - min(position, report.position))
            catchUp.applyNanoseconds += report.applyNanoseconds
            catchUp.longestNanoseconds = max(catchUp.longestNanoseconds, report.applyNanoseconds)
            if report.wasStale { catchUp.stale += 1 }
            position = report.position
            self.report(position: report.position, head: report.head, started: started, isDone: report.isDone)
            if report.isDone { break }
            if report.head - report.position <= UInt64(Self.tailChunks * size) {
                chunk = nil
            } else if let next, next.after == report.position {
                chunk = next
            } else {
                chunk = try await self.readChunk(after: report.position, limit: size)
            }
            await Task.yield()
        }
        self.logger.notice(
            "projection rebuild complete",
            metadata: [
                "projection.name": "\(Projector.name)", "elapsed_s": "\(Self.seconds(since: started))",
                "catch_up.s": "\(Self.seconds(since: catchUpStarted))", "catch_up.events": "\(catchUp.events)",
                "catch_up.chunks": "\(catchUp.chunks)", "catch_up.stale_chunks": "\(catchUp.stale)",
                "catch_up.apply_ms": "\(catchUp.applyNanoseconds / 1_000_000)",
                "catch_up.longest_apply_ms": "\(catchUp.longestNanoseconds / 1_000_000)",
            ]
        )
    }

    /// Seconds since `start`, to a tenth, for the rebuild's log lines.
    private static func seconds(since start: ContinuousClock.Instant) -> String {
        String(format: "%.1f", start.duration(to: .now) / .seconds(1))
    }

    private func report(position: UInt64, head: UInt64, started: ContinuousClock.Instant, isDone: Bool = false) {
        let elapsed = max(started.duration(to: .now) / .seconds(1), 0.001)
        self.progress.withLock {
            $0.position = position
            $0.head = max(head, position)
            $0.eventsPerSecond = Double(position - min($0.startPosition, position)) / elapsed
            if isDone {
                $0.isRebuilding = false
                $0.lastCompletedAt = Date()
                $0.lastFailure = nil
            }
        }
    }

    // MARK: - Staging

    /// Staging stops when the log's head is at most this many events ahead; the writer replays the rest.
    static let stagingTail: UInt64 = 8_192
    /// Set while the target generation, copied from staging, catches up through the writer.
    private static let catchingUpKey = Array("rebuild_catching_up".utf8)

    /// Replays the log into the staging area until it is near the head, then copies the staging area
    /// into the target generation (in writer commands of about ``chunkBudgetNanoseconds`` each, or as long as they waited) and
    /// deletes it. Returns the target's checkpoint.
    ///
    /// Staging is a ``ReplayPipeline`` on threads of its own: its decoders read the log in read
    /// transactions of their own, and it writes only the staging environment, so the ledger's writer
    /// never waits for it. Its threads run at a lower priority (``backgroundNice``): on a busy machine
    /// the writer and the event loops take the CPU first, and staging the rest.
    private func stageAndCopy(resuming: Bool, started: ContinuousClock.Instant) async throws -> UInt64 {
        let stores = self.stores
        let dataDirectory = stores.environment.directory
        let mapSize = stores.environment.statistics().mapSize
        let opened = try await self.onPool { try RebuildStaging.open(dataDirectory: dataDirectory, reset: !resuming, mapSize: mapSize) }
        // A staging area a crash or stop left behind goes on from its last commit: the rate and the ETA
        // count from there.
        let resumedAt = try await self.onPool { try opened.environment.read { try opened.projector.state(in: $0)?.position ?? 0 } }
        if resumedAt > 0 {
            self.progress.withLock {
                $0.startPosition = resumedAt
                $0.position = resumedAt
            }
            self.logger.notice("projection rebuild staging resumed", metadata: ["projection.name": "\(Projector.name)", "ledger.seq": "\(resumedAt)"])
        }
        let stop = StopSignal()
        let commitSeconds = self.commitSeconds
        let position = try await withTaskCancellationHandler {
            try await Self.onBackgroundThread {
                var pipeline = ReplayPipeline(
                    projector: opened.projector, log: stores.log, logEnvironment: stores.environment, targetEnvironment: opened.environment
                )
                pipeline.limits.decoderSetup = { _ = CLedgerSys_lowerThreadPriority(Self.backgroundNice) }
                pipeline.limits.transactionSeconds = commitSeconds
                while true {
                    let head = try stores.environment.read { txn in try stores.log.head(in: txn).seq }
                    let position = try pipeline.run(
                        until: head, shouldStop: { stop.isSet },
                        applied: { position in self.report(position: position, head: head, started: started) }
                    ) { position in
                        self.logger.info(
                            "projection rebuild staging committed",
                            metadata: ["projection.name": "\(Projector.name)", "ledger.seq": "\(position)", "elapsed_s": "\(Self.seconds(since: started))"]
                        )
                    }
                    if stop.isSet { throw CancellationError() }
                    // The log grew meanwhile: stage again unless the writer can replay the rest.
                    let now = try stores.environment.read { txn in try stores.log.head(in: txn).seq }
                    if now <= position + Self.stagingTail { return position }
                }
            }
        } onCancel: {
            stop.set()
        }
        // Staging held every contact it replayed; hand the freed memory back to the system rather than
        // keep it in the allocator's arenas for the daemon's lifetime.
        FreedMemory.returnToSystem()
        self.logger.notice(
            "projection rebuild staged",
            metadata: ["projection.name": "\(Projector.name)", "ledger.seq": "\(position)", "elapsed_s": "\(Self.seconds(since: started))"]
        )
        self.progress.withLock { $0.phase = .copying }
        // The copy appends into empty tables: empty them first (an interrupted copy starts again).
        let context = CommandContext.readModelMaintenance
        _ = try await self.ledger.execute(context) { tx in
            guard let target = try Self.target(stores, tx.txn) else { return [] }
            try target.reset(in: tx.txn)
            return []
        }
        var copied = Projector.CopyPosition(table: 0, lastKey: nil)
        // As the catch-up's chunks: as long as the last slice waited for the writer, 10 ms at least.
        var budget = Self.chunkBudgetNanoseconds
        while true {
            try Task.checkCancellation()
            let (after, maximumNanoseconds) = (copied, budget)
            let (answer, waited) = try await self.executeMeasuringWait { tx in
                guard let target = try Self.target(stores, tx.txn) else { return [1] }
                let next = try opened.environment.read { sourceTxn in
                    try target.copyEntries(
                        from: opened.projector, in: sourceTxn, after: after, maximumNanoseconds: maximumNanoseconds, into: tx.txn
                    )
                }
                guard let next else {
                    try tx.txn.put(stores.readModelMeta, key: Self.catchingUpKey, value: [1])
                    return [1]
                }
                return [0] + BigEndian.bytes(UInt64(next.table)) + (next.lastKey ?? [])
            }
            guard answer.first == 0, let table = BigEndian.uint64(answer, at: 1) else { break }
            budget = Self.nextBudget(after: budget, waited: waited)
            let lastKey = Array(answer.dropFirst(9))
            copied = Projector.CopyPosition(table: Int(table), lastKey: lastKey.isEmpty ? nil : lastKey)
        }
        self.logger.notice("projection rebuild copied", metadata: ["projection.name": "\(Projector.name)", "elapsed_s": "\(Self.seconds(since: started))"])
        // Unlinked while still open: the files go when the environment closes, as this returns, without
        // syncing the scratch tables first.
        opened.environment.discardRebuildablePart()
        try await self.onPool { RebuildStaging.remove(dataDirectory: dataDirectory) }
        return position
    }

    /// Records that a contact's deletion erased the payload behind an audit field entry, when a rebuild,
    /// a verification or an online compaction is under way: its staging, scratch tables or copy may have
    /// read the payload first (the live index drops the entry at once).
    static func recordErasedFieldEntry(workspace: String, key: String, seq: UInt64, stores: LedgerStores, in txn: Transaction) throws {
        // Held in memory: the copy replaces the part these records are written to.
        stores.compactionErasures.note(CompactionErasures.Entry(seq: seq, workspace: workspace, key: key))
        let entry = Array(workspace.utf8) + [0] + Array(key.utf8)
        if try txn.get(stores.readModelMeta, key: Self.targetKey) != nil {
            try txn.put(stores.readModelMeta, key: Self.erasedPrefix + BigEndian.bytes(seq), value: entry)
        }
        if try txn.get(stores.readModelMeta, key: Self.verificationKey) != nil {
            try txn.put(stores.readModelMeta, key: Self.verificationErasedPrefix + BigEndian.bytes(seq), value: entry)
        }
    }

    /// Drops the recorded erased entries from the generation about to be swapped in, and the records.
    private static func dropErasedFieldEntries(from projector: Projector, _ stores: LedgerStores, in txn: Transaction) throws {
        try Self.dropRecordedEntries(Self.erasedPrefix, from: projector, stores, in: txn)
    }

    /// Drops the entries recorded under `prefix` from `projector`'s audit index (nil: only the records),
    /// and the records.
    private static func dropRecordedEntries(_ prefix: [UInt8], from projector: Projector?, _ stores: LedgerStores, in txn: Transaction) throws {
        var erased: [(seq: UInt64, workspace: String, key: String)] = []
        try txn.withCursor(stores.readModelMeta) { cursor in
            try cursor.forEach(from: prefix) { entry in
                guard entry.key.hasPrefix(prefix), let seq = BigEndian.uint64(Array(entry.key), at: prefix.count) else { return false }
                let parts = Array(entry.value).split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
                if parts.count == 2 { erased.append((seq, String(decoding: parts[0], as: UTF8.self), String(decoding: parts[1], as: UTF8.self))) }
                return true
            }
        }
        for entry in erased {
            try projector?.audit.removeFieldEntry(workspace: entry.workspace, key: entry.key, seq: entry.seq, in: txn)
            try txn.delete(stores.readModelMeta, key: prefix + BigEndian.bytes(entry.seq))
        }
    }

    /// Set while `projections.verify` builds its scratch tables: erasures are recorded for it too.
    private static let verificationKey = Array("verification_under_way".utf8)
    private static let verificationErasedPrefix = Array("verify_erased/".utf8)

    /// A verification begins (or none runs, `underWay` false): erasures from now on are recorded for it;
    /// records an interrupted one left are dropped.
    static func markVerification(underWay: Bool, _ stores: LedgerStores, in txn: Transaction) throws {
        try Self.dropRecordedEntries(Self.verificationErasedPrefix, from: nil, stores, in: txn)
        if underWay {
            try txn.put(stores.readModelMeta, key: Self.verificationKey, value: [])
        } else {
            try txn.delete(stores.readModelMeta, key: Self.verificationKey)
        }
    }

    /// Whether `txn`'s read models say a verification is under way.
    static func verificationIsUnderWay(_ stores: LedgerStores, in txn: Transaction) throws -> Bool {
        try txn.get(stores.readModelMeta, key: Self.verificationKey) != nil
    }

    /// Makes an online compaction's copy say of a verification what the part it replaces says
    /// (`underWay`). The copy is a snapshot: a verification that began after it had its mark in the
    /// replaced part alone, and deletions after the swap were no longer recorded for it, so they showed as
    /// differences; one that ended meanwhile would have left its mark, and records piling up, in the copy.
    static func carryVerificationMark(underWay: Bool, _ stores: LedgerStores, in txn: Transaction) throws {
        guard try Self.verificationIsUnderWay(stores, in: txn) != underWay else { return }
        if underWay {
            try txn.put(stores.readModelMeta, key: Self.verificationKey, value: [])
        } else {
            try Self.markVerification(underWay: false, stores, in: txn)
        }
    }

    /// Forgets a verification a stop or crash interrupted (its records would grow with every erasure).
    static func forgetInterruptedVerification(_ stores: LedgerStores) throws {
        guard try stores.environment.read({ try $0.get(stores.readModelMeta, key: Self.verificationKey) }) != nil else { return }
        try stores.environment.write { txn in try Self.markVerification(underWay: false, stores, in: txn) }
    }

    /// Drops from a verification's scratch tables the audit field entries whose payloads were erased
    /// while it was built: the live index dropped them, and one rebuilt from the erased log has none.
    /// A verification under writes that deleted contacts reported them as differences.
    static func dropErasedEntries(fromVerification scratch: Projector, _ stores: LedgerStores, in txn: Transaction) throws {
        try Self.dropRecordedEntries(Self.verificationErasedPrefix, from: scratch, stores, in: txn)
    }

    /// The projector of the generation being rebuilt, or nil when no rebuild is under way.
    private static func target(_ stores: LedgerStores, _ txn: Transaction) throws -> Projector? {
        guard let target = try txn.get(stores.readModelMeta, key: Self.targetKey).flatMap({ BigEndian.uint64($0) }) else { return nil }
        return stores.projectors[Int(target) % stores.projectors.count]
    }

    /// The nice value of staging's threads: CPU goes to the ledger's own threads about nine times out of
    /// ten when both want it.
    static let backgroundNice: Int32 = 10

    /// Runs blocking work on a thread of its own, at ``backgroundNice`` (a thread's priority cannot be
    /// raised again without privileges, so a pool thread must not be lowered).
    private static func onBackgroundThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            NamedThread.start("ledger-rebuild") {
                _ = CLedgerSys_lowerThreadPriority(Self.backgroundNice)
                continuation.resume(with: Result { try body() })
            }
        }
    }

    /// Runs blocking work (LMDB, files) on NIO's thread pool.
    private func onPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}

/// When a writer command began, set by the command itself (``ProjectionRebuilder/executeMeasuringWait(_:)``).
private final class CommandStart: Sendable {
    private let uptime = Atomic<UInt64>(0)

    /// The uptime in nanoseconds the command began at (0 before).
    var nanoseconds: UInt64 { self.uptime.load(ordering: .acquiring) }

    func mark() { self.uptime.store(DispatchTime.now().uptimeNanoseconds, ordering: .releasing) }
}

/// Tells a blocking staging thread that the rebuild's task was cancelled.
private final class StopSignal: Sendable {
    private let flag = Atomic<Bool>(false)

    var isSet: Bool { self.flag.load(ordering: .relaxed) }

    func set() { self.flag.store(true, ordering: .relaxed) }
}

extension ProjectionRebuilder.ChunkReport {
    /// Decodes ``bytes``.
    init(bytes: [UInt8]) {
        self.position = BigEndian.uint64(bytes) ?? 0
        self.head = BigEndian.uint64(bytes, at: 8) ?? 0
        self.applyNanoseconds = BigEndian.uint64(bytes, at: 16) ?? 0
        self.isDone = bytes.count > 24 && bytes[24] == 1
        self.wasStale = bytes.count > 25 && bytes[25] == 1
    }
}
