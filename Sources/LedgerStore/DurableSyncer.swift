// ContactLedger — storage layer.
import CLMDB
import Foundation
import Synchronization

/// What to run once a write's durable part is on disk (answer the clients whose commands it holds,
/// say), with the sync's error if the sync failed.
public typealias DurableAcknowledgement = @Sendable (LMDBError?) -> Void

/// Syncs the durable part on a thread of its own, after the writer has committed, and then runs each
/// write's ``DurableAcknowledgement`` (``Environment/Configuration/pipelinesDurableSync``).
///
/// An LMDB commit ends with two syncs: the new pages, then the meta page that points at them. The
/// first keeps a power loss from leaving a meta page that points at pages never written, so it stays
/// in the commit. The second only makes the commit durable: opened with `MDB_NOMETASYNC`, LMDB writes
/// the meta page without it, and this thread syncs (one `fdatasync` for every write queued by then)
/// while the writer goes on with the write's read models, or with the next write. Readers see a write
/// only once it is synced (``CommitStamps``).
final class DurableSyncer: @unchecked Sendable {
    // @unchecked: `environment` is immutable and `mdb_env_sync` is safe from any thread; the rest is
    // guarded by `state` or `wakeUp`.

    private struct Pending {
        var stamp: UInt64
        var acknowledgement: DurableAcknowledgement?
    }

    private struct State {
        var pending: [Pending] = []
        /// A sync under way.
        var isSyncing = false
        var isStopping = false
        var hasStopped = false
        /// The first sync that failed: the environment takes no more writes.
        var failure: LMDBError?
    }

    private let environment: OpaquePointer
    private let stamps: CommitStamps
    private let state = Mutex(State())
    /// Signalled when work is queued, a sync finishes, or the thread stops.
    private let wakeUp = NSCondition()

    init(environment: OpaquePointer, stamps: CommitStamps) {
        self.environment = environment
        self.stamps = stamps
        let thread = Thread { [self] in self.run() }
        thread.name = "ledger-sync"
        thread.start()
    }

    /// The error of a sync that failed, if one did.
    var failure: LMDBError? { self.state.withLock { $0.failure } }

    /// Queues the sync of the write committed with `stamp`; `acknowledgement` runs after it.
    func enqueue(stamp: UInt64, _ acknowledgement: DurableAcknowledgement?) {
        self.state.withLock { $0.pending.append(Pending(stamp: stamp, acknowledgement: acknowledgement)) }
        self.signal()
    }

    /// Syncs on the calling thread, for a write committed with `stamp` that nobody acknowledges;
    /// returns the sync's failure (the environment then takes no more writes).
    func sync(through stamp: UInt64) -> LMDBError? {
        let error = self.syncDurablePart()
        self.stamps.durablePartSynced(stamp)
        return error
    }

    /// Waits until every queued sync has run, and its acknowledgement.
    func drain() {
        self.wakeUp.lock()
        defer { self.wakeUp.unlock() }
        while self.state.withLock({ !$0.pending.isEmpty || $0.isSyncing }) { self.wakeUp.wait() }
    }

    /// Runs the queued syncs, then stops the thread; call before the environment closes.
    func stop() {
        self.state.withLock { $0.isStopping = true }
        self.signal()
        self.wakeUp.lock()
        defer { self.wakeUp.unlock() }
        while !self.state.withLock({ $0.hasStopped }) { self.wakeUp.wait() }
    }

    /// One `fdatasync` of the durable part; a failure is kept (``failure``) and returned.
    private func syncDurablePart() -> LMDBError? {
        let rc = mdb_env_sync(self.environment, 1)
        guard rc != MDB_SUCCESS else { return nil }
        let error = LMDBError(code: .init(rawValue: rc), operation: "mdb_env_sync")
        self.state.withLock { $0.failure = $0.failure ?? error }
        return error
    }

    private func signal() {
        self.wakeUp.lock()
        self.wakeUp.broadcast()
        self.wakeUp.unlock()
    }

    private func run() {
        while let batch = self.next() {
            // One sync covers every write committed before it began.
            let error = self.syncDurablePart()
            for write in batch { write.acknowledgement?(error) }
            // Readers see the writes once they are answered; after a failed sync they need not wait
            // either, since no write follows it.
            if let last = batch.last { self.stamps.durablePartSynced(last.stamp) }
            self.state.withLock { $0.isSyncing = false }
            self.signal()
        }
        self.state.withLock { $0.hasStopped = true }
        self.signal()
    }

    /// The writes queued since the last sync, waiting for some; nil once stopping with none left.
    private func next() -> [Pending]? {
        self.wakeUp.lock()
        defer { self.wakeUp.unlock() }
        while true {
            let (batch, stopping) = self.state.withLock { state -> ([Pending], Bool) in
                let batch = state.pending
                state.pending = []
                state.isSyncing = !batch.isEmpty
                return (batch, state.isStopping)
            }
            if !batch.isEmpty { return batch }
            if stopping { return nil }
            self.wakeUp.wait()
        }
    }
}
