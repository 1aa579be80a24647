// ContactLedger — read models.
import Foundation
import LedgerStore

extension Projector {
    /// Records per decoded chunk handed from the decoding thread to the applying one.
    static let rebuildChunkRecords = 1024
    /// Records applied per write transaction: large, since each commit rewrites every index page its
    /// records touched (replaying 100K events in transactions of 16K records wrote 132 MB, of 64K
    /// records 87 MB); small enough that a crash loses little and held contacts stay few.
    static let rebuildTransactionRecords = 65_536
    /// Decoded chunks the reading thread may run ahead by (bounds the decoded records held).
    static let rebuildQueuedChunks = 32

    /// Rebuilds the read models from the log when their stored version is not this code's, or when
    /// they lag behind the log (e.g. they were dropped). Returns the number of events replayed.
    ///
    /// For when nothing else writes: offline, or at start before the writer runs. A second thread reads
    /// and decodes the log in short read transactions while this one applies the decoded records in
    /// write transactions of ``rebuildTransactionRecords``, each moving the checkpoint, so a crash
    /// mid-way resumes where it stopped.
    ///
    /// - Parameter progress: called on this thread with (position, head) after each transaction.
    @discardableResult
    public func rebuildIfNeeded(
        log: EventLog,
        environment: Environment,
        progress: (UInt64, UInt64) -> Void = { _, _ in }
    ) throws -> UInt64 {
        let (state, head) = try environment.read { txn in (try self.state(in: txn), try log.head(in: txn).seq) }
        var position: UInt64
        if let state, state.version == Self.version {
            position = state.position
        } else {
            try environment.write { txn in try self.reset(in: txn) }
            position = 0
        }
        guard position < head else { return 0 }
        let queue = ChunkQueue(capacity: Self.rebuildQueuedChunks)
        let start = position
        let reader = Thread {
            var next = start
            do {
                while next < head {
                    let limit = Int(min(UInt64(Self.rebuildChunkRecords), head - next))
                    // The read transaction ends before waiting for room in the queue: it must not pin pages.
                    let chunk = try environment.read { try ReplayChunk.read(log: log, after: next, limit: limit, in: $0) }
                    guard !chunk.items.isEmpty, queue.push(chunk) else { break }
                    next = chunk.last
                }
                queue.finish(nil)
            } catch {
                queue.finish(error)
            }
        }
        reader.start()
        defer { queue.cancel() }
        var replayed: UInt64 = 0
        while true {
            // Chunks are applied as they arrive, so applying overlaps reading. The body runs again from
            // the start when the map grows: it applies the chunks it already took before taking more.
            var taken: [ReplayChunk] = []
            try environment.write { txn in
                let batch = ProjectionBatch(projector: self, txn: txn)
                var records = 0
                for chunk in taken {
                    for item in chunk.items { try batch.apply(item) }
                    records += chunk.items.count
                }
                while records < Self.rebuildTransactionRecords, let chunk = try queue.pop() {
                    guard chunk.after == (taken.last?.last ?? position) else { throw ReadModelError.checkpointMoved }
                    taken.append(chunk)
                    for item in chunk.items { try batch.apply(item) }
                    records += chunk.items.count
                }
                if let last = taken.last { try batch.finish(checkpoint: last.last) }
            }
            guard let last = taken.last?.last else { break }
            replayed += taken.reduce(0) { $0 + UInt64($1.items.count) }
            position = last
            progress(position, head)
        }
        return replayed
    }
}

/// Decoded chunks passed from the thread that reads the log to the one that applies them, at most
/// `capacity` waiting, so reading runs ahead of applying by a bounded amount of memory.
///
/// `@unchecked Sendable`: every stored property is read and written only with `condition` locked.
private final class ChunkQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private let capacity: Int
    private var chunks: [ReplayChunk] = []
    private var isFinished = false
    private var isCancelled = false
    private var failure: (any Error)?

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// Waits for room and adds `chunk`; returns false when the consumer has gone (stop producing).
    func push(_ chunk: ReplayChunk) -> Bool {
        self.condition.lock()
        defer { self.condition.unlock() }
        while self.chunks.count >= self.capacity, !self.isCancelled { self.condition.wait() }
        guard !self.isCancelled else { return false }
        self.chunks.append(chunk)
        self.condition.broadcast()
        return true
    }

    /// Marks the end of the chunks, with the producer's error if it failed.
    func finish(_ error: (any Error)?) {
        self.condition.lock()
        defer { self.condition.unlock() }
        self.isFinished = true
        self.failure = error
        self.condition.broadcast()
    }

    /// Waits for the next chunk; nil at the end. Throws the producer's error.
    func pop() throws -> ReplayChunk? {
        self.condition.lock()
        defer { self.condition.unlock() }
        while self.chunks.isEmpty, !self.isFinished { self.condition.wait() }
        if !self.chunks.isEmpty {
            self.condition.broadcast()
            return self.chunks.removeFirst()
        }
        if let failure = self.failure { throw failure }
        return nil
    }

    /// Tells the producer to stop and waits until it has (so nothing reads the log after we return).
    func cancel() {
        self.condition.lock()
        defer { self.condition.unlock() }
        self.isCancelled = true
        self.chunks.removeAll()
        self.condition.broadcast()
        while !self.isFinished { self.condition.wait() }
    }
}
