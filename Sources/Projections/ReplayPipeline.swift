// ContactLedger — read models.
import Foundation
import LedgerStore
import ParallelWork
import Synchronization

/// Replays the log into a projection that nothing else writes to (the offline rebuild, the staging area
/// of an online one) as fast as the machine allows.
///
/// - **Decoding in parallel**: the log's positions are gapless, so the records after the checkpoint
///   split into fixed runs of ``Limits/chunkRecords`` that decoder threads read and decode on their
///   own, each in a short read transaction, a run ahead of the applier by at most
///   ``Limits/queuedChunks``.
/// - **Applying in long transactions**: the calling thread applies the runs in order, in write
///   transactions of up to ``Limits/transactionSeconds`` (and ``Limits/transactionRecords`` events),
///   each one ``ProjectionBatch``. A contact is read, indexed and written once per transaction however
///   many of its events it holds, so a long transaction writes each contact of a bulk-modified
///   workspace once instead of once per round: writing the held contacts was most of a rebuild's cost
///   when transactions ended every 2M events. A transaction ends early once it holds
///   ``Limits/heldContacts`` contacts, which bounds its memory.
///
/// Every transaction moves the checkpoint, so a stop mid-way commits what was applied and a crash
/// resumes where the last transaction ended, losing at most ``Limits/transactionSeconds`` of work.
public struct ReplayPipeline: Sendable {
    /// How much the pipeline does at once.
    public struct Limits: Sendable {
        /// Records per decoded run.
        public var chunkRecords = 4_096
        /// Decoded runs waiting for the applier, at most.
        public var queuedChunks = 16
        /// Events per write transaction, at most (a bound on the audit postings it gathers).
        public var transactionRecords = 8_388_608
        /// Seconds a write transaction runs before it commits, at most (checked between runs).
        public var transactionSeconds: Double = 60

        /// ``transactionSeconds`` in nanoseconds, at most a day (a value that is not a number counts as a day).
        var transactionNanoseconds: UInt64 {
            let day: Double = 86_400
            let seconds = self.transactionSeconds.isNaN ? day : min(max(0, self.transactionSeconds), day)
            return UInt64(seconds * 1_000_000_000)
        }
        /// Contacts held by one transaction before it ends.
        public var heldContacts = 500_000
        /// Decoding threads.
        public var decoders = max(1, ParallelSlices.cores)
        /// Run first on each decoding thread (e.g. to lower its priority below the ledger's writers).
        public var decoderSetup: @Sendable () -> Void = {}

        public init() {}
    }

    public let projector: Projector
    public let log: EventLog
    /// The environment the log is read from.
    public let logEnvironment: Environment
    /// The environment the projection's tables are in (the same as `logEnvironment` offline).
    public let targetEnvironment: Environment
    public var limits = Limits()

    public init(projector: Projector, log: EventLog, logEnvironment: Environment, targetEnvironment: Environment) {
        self.projector = projector
        self.log = log
        self.logEnvironment = logEnvironment
        self.targetEnvironment = targetEnvironment
    }

    /// What a stop does with the open transaction.
    public enum StopAction: Sendable {
        /// Aborts it: the write-back of a long transaction's held contacts takes seconds, and a daemon
        /// told to stop must not wait for it.
        case discard
        /// Commits what it applied, checkpoint included: an operator who interrupts an offline rebuild
        /// waits those seconds rather than do the work again.
        case commit
    }

    /// Replays the records after the projection's checkpoint up to `head`, or until `shouldStop` answers
    /// true. Returns the checkpoint.
    ///
    /// `shouldStop` is asked between runs; `onStop` says what becomes of the open transaction then. The
    /// next run goes on from the last commit.
    ///
    /// - Parameters:
    ///   - applied: called on this thread with the position applied after each run (not committed yet:
    ///     for showing progress).
    ///   - progress: called on this thread with the checkpoint after each transaction.
    /// - Throws: ``ReadModelError/checkpointMoved`` when the projection's checkpoint moves under it, or
    ///   the log is not gapless; decoding and storage errors.
    public func run(
        until head: UInt64,
        shouldStop: () -> Bool = { false },
        onStop: StopAction = .discard,
        applied reportApplied: (UInt64) -> Void = { _ in },
        progress: (UInt64) -> Void = { _ in }
    ) throws -> UInt64 {
        var position = try self.targetEnvironment.read { txn in try self.projector.state(in: txn)?.position ?? 0 }
        guard position < head else { return position }
        let runs = DecodedRuns(
            log: self.log, environment: self.logEnvironment, after: position, head: head,
            runRecords: max(1, self.limits.chunkRecords), capacity: max(1, self.limits.queuedChunks)
        )
        let setup = self.limits.decoderSetup
        let decoders = (0..<max(1, self.limits.decoders)).map { index in
            NamedThread.start("replay-decode-\(index)") {
                setup()
                runs.decode()
            }
        }
        defer { runs.cancel(decoders: decoders.count) }
        var stopped = false
        // The most a transaction has added to the target's pages: the next one is given twice that much
        // room before it begins. A map found full half-way runs the whole body again: an online rebuild of
        // 6.1 million events applied 503,808 of them twice.
        var largestGrowth = 0
        while position < head, !stopped {
            try self.targetEnvironment.ensureMapRoom(forBytes: 2 * largestGrowth)
            let usedBefore = self.targetEnvironment.statistics().usedBytes
            // The body runs again from the start when the map grows: it then decodes again what it had
            // applied before taking more, rather than holding every decoded run of a transaction.
            var applied = position
            do {
                try self.targetEnvironment.write { txn in
                    guard (try self.projector.state(in: txn))?.position ?? 0 == position else { throw ReadModelError.checkpointMoved }
                    let batch = ProjectionBatch(projector: self.projector, txn: txn)
                    var records = 0
                    var redone = position
                    while redone < applied {
                        let limit = Int(min(UInt64(self.limits.chunkRecords), applied - redone))
                        var chunk = try self.readAgain(after: redone, limit: limit, in: txn)
                        guard chunk.last > redone else { throw ReadModelError.checkpointMoved }
                        try batch.apply(&chunk.items)
                        records += chunk.items.count
                        redone = chunk.last
                    }
                    let deadline = DispatchTime.now().uptimeNanoseconds + self.limits.transactionNanoseconds
                    // Every transaction takes one run at least, however short its time.
                    while records < self.limits.transactionRecords, batch.heldContacts < self.limits.heldContacts,
                        records == 0 || DispatchTime.now().uptimeNanoseconds < deadline
                    {
                        if shouldStop() {
                            stopped = true
                            if onStop == .discard { throw Stopped() }
                            break
                        }
                        guard var chunk = try runs.next() else { break }
                        guard chunk.after == applied else { throw ReadModelError.checkpointMoved }
                        // Counted as applied before it is: a full map found while applying it runs the body
                        // again, which must decode this run again, as the queue has handed it over.
                        applied = chunk.last
                        try batch.apply(&chunk.items)
                        records += chunk.items.count
                        BackgroundRelease.release(chunk, count: chunk.items.count)
                        reportApplied(applied)
                    }
                    if applied > position { try batch.finish(checkpoint: applied) }
                }
            } catch is Stopped {
                // The transaction was aborted: its checkpoint is the last commit's.
                break
            }
            largestGrowth = max(largestGrowth, self.targetEnvironment.statistics().usedBytes - usedBefore)
            guard applied > position else { break }
            position = applied
            progress(position)
        }
        return position
    }
}

extension ReplayPipeline {
    /// Thrown out of a transaction's body to abort it when the replay is told to stop.
    private struct Stopped: Error {}

    /// Decodes records again for a transaction body run a second time, from `txn` when the log is in
    /// the target environment, else in a read transaction of the log's.
    private func readAgain(after position: UInt64, limit: Int, in txn: Transaction) throws -> ReplayChunk {
        if self.logEnvironment === self.targetEnvironment {
            return try ReplayChunk.read(log: self.log, after: position, limit: limit, in: txn)
        }
        return try self.logEnvironment.read { logTxn in try ReplayChunk.read(log: self.log, after: position, limit: limit, in: logTxn) }
    }
}

/// The runs of records a ``ReplayPipeline`` decodes: decoder threads take the next run's number, read
/// and decode it, and leave it for the applier, which takes them in order.
///
/// `@unchecked Sendable`: every stored `var` is read and written only with `condition` locked.
private final class DecodedRuns: @unchecked Sendable {
    private let log: EventLog
    private let environment: Environment
    private let after: UInt64
    private let head: UInt64
    private let runRecords: Int
    private let capacity: Int
    private let condition = NSCondition()
    /// The next run a decoder takes, and the next the applier takes.
    private var nextToDecode = 0
    private var nextToApply = 0
    private var decoded: [Int: ReplayChunk] = [:]
    private var failure: (any Error)?
    private var isCancelled = false
    private var finishedDecoders = 0

    init(log: EventLog, environment: Environment, after: UInt64, head: UInt64, runRecords: Int, capacity: Int) {
        self.log = log
        self.environment = environment
        self.after = after
        self.head = head
        self.runRecords = runRecords
        self.capacity = capacity
    }

    /// Where run `number` starts and how many records it holds (none past the head).
    private func bounds(of number: Int) -> (after: UInt64, count: Int) {
        let start = self.after + UInt64(number) * UInt64(self.runRecords)
        return (start, start >= self.head ? 0 : Int(min(UInt64(self.runRecords), self.head - start)))
    }

    /// A decoder thread's body: decodes runs until the last, a failure or a cancellation.
    func decode() {
        while true {
            self.condition.lock()
            // Waits for room: a run more than `capacity` ahead of the applier waits.
            while !self.isCancelled, self.failure == nil, self.nextToDecode - self.nextToApply >= self.capacity { self.condition.wait() }
            let number = self.nextToDecode
            let bounds = self.bounds(of: number)
            guard !self.isCancelled, self.failure == nil, bounds.count > 0 else {
                self.finishedDecoders += 1
                self.condition.broadcast()
                self.condition.unlock()
                return
            }
            self.nextToDecode += 1
            self.condition.unlock()
            let result = Result {
                // The read transaction ends before the run is handed over: it must not pin pages.
                try self.environment.read { txn in try ReplayChunk.read(log: self.log, after: bounds.after, limit: bounds.count, in: txn) }
            }
            self.condition.lock()
            switch result {
            case .success(let chunk): self.decoded[number] = chunk
            case .failure(let error): self.failure = self.failure ?? error
            }
            self.condition.broadcast()
            self.condition.unlock()
        }
    }

    /// The next run in order, waiting for it; nil after the last. Throws a decoder's failure.
    func next() throws -> ReplayChunk? {
        self.condition.lock()
        defer { self.condition.unlock() }
        guard self.bounds(of: self.nextToApply).count > 0 else { return nil }
        while self.decoded[self.nextToApply] == nil, self.failure == nil { self.condition.wait() }
        if let failure = self.failure { throw failure }
        guard let chunk = self.decoded.removeValue(forKey: self.nextToApply) else { return nil }
        self.nextToApply += 1
        self.condition.broadcast()
        return chunk
    }

    /// Stops the decoders and waits until every one has returned (so nothing reads the log after this).
    func cancel(decoders: Int) {
        self.condition.lock()
        defer { self.condition.unlock() }
        self.isCancelled = true
        self.decoded.removeAll()
        self.condition.broadcast()
        while self.finishedDecoders < decoders { self.condition.wait() }
    }
}
