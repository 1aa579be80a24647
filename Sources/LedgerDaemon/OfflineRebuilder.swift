// ContactLedger — daemon wiring.
import Foundation
import LedgerStore
import Projections

/// `contactledgerd rebuild`: rebuilds the read models from the log with the daemon stopped, and goes on
/// from where an interrupted run stopped.
///
/// The new read models are built in the generation that does not answer, as an online rebuild's are,
/// and answer only once complete: a rebuild that fails (a record of the log that cannot be decoded, a
/// full disk) or is interrupted leaves the read models that answered as they were. Every replay
/// transaction moves the half-built generation's checkpoint, so the next `contactledgerd rebuild` goes
/// on from the last one; a stop (`shouldStop`) commits what it applied first. A daemon started in
/// between answers from the old generation and empties the half-built one, as it did before resuming
/// existed: it may take writes (and erasures) the half-built generation would miss.
public struct OfflineRebuilder {
    /// Where a run began and ended.
    public struct Outcome: Sendable, Equatable {
        /// The position the run went on from: 0, or an interrupted run's last commit.
        public var resumedFrom: UInt64
        /// The position it reached.
        public var position: UInt64
        /// The log's head.
        public var head: UInt64
        /// Whether it reached the head and was swapped in.
        public var isComplete: Bool { self.position >= self.head }
    }

    /// The generation an interrupted offline rebuild left half-built, which the next offline rebuild
    /// goes on with. Kept beside ``ProjectionRebuilder/droppingKey`` (which names the same generation,
    /// so that a daemon empties it) and deleted by every daemon start, before it serves.
    static let resumableKey = Array("offline_rebuild".utf8)

    /// The data directory (the lock is taken by ``run(shouldStop:started:progress:)``).
    public let dataDirectory: String
    /// Seconds between commits of the replay (`rebuild_commit_seconds`): the work an interruption that
    /// cannot commit (a kill, a crash) loses.
    public var commitSeconds: Double

    public init(dataDirectory: String, commitSeconds: Double = DaemonConfiguration.defaultRebuildCommitSeconds) {
        self.dataDirectory = dataDirectory
        self.commitSeconds = commitSeconds
    }

    /// Rebuilds until the log's head, or until `shouldStop` answers true (asked between runs of
    /// records); swaps the rebuilt generation in when complete.
    ///
    /// - Parameters:
    ///   - started: called once with (the position it goes on from, the log's head).
    ///   - progress: called with (position applied, head) as the replay goes.
    /// - Throws: ``LogError/damaged(seq:_:)`` for a record it cannot replay (undecodable, or its links
    ///   broken), storage errors, and the start's refusals (``Daemon/StartFailure``). The half-built
    ///   generation is emptied then: what failed would fail again.
    public func run(
        shouldStop: () -> Bool = { false },
        started: (UInt64, UInt64) -> Void = { _, _ in },
        progress: (UInt64, UInt64) -> Void = { _, _ in }
    ) throws -> Outcome {
        let lock = try DataDirectoryLock(directory: self.dataDirectory)
        defer { withExtendedLifetime(lock) {} }
        let stores = try LedgerStores.open(dataDirectory: self.dataDirectory)
        let environment = stores.environment
        // Unrecorded (a full disk), the rebuilt read models are rebuilt again at a start after a reboot:
        // nothing is lost, and the rebuild itself reported any failure of its writes.
        defer { try? environment.closeRebuildablePart() }
        let (active, start, head) = try environment.write { txn in
            let active = try stores.activeGeneration(txn)
            let target = active == 0 ? 1 : 0
            let projector = stores.projectors[target]
            let marker = BigEndian.bytes(UInt64(target))
            let resumable =
                try txn.get(stores.readModelMeta, key: Self.resumableKey) == marker
                && txn.get(stores.readModelMeta, key: ProjectionRebuilder.droppingKey) == marker
                && (try projector.state(in: txn))?.version == Projector.version
            if !resumable {
                try projector.reset(in: txn)
                // A rebuild left half-done by an online rebuild is no longer needed.
                try txn.delete(stores.readModelMeta, key: ProjectionRebuilder.targetKey)
                // Should this rebuild be interrupted, the next goes on with it, or a daemon empties it.
                try txn.put(stores.readModelMeta, key: ProjectionRebuilder.droppingKey, value: marker)
                try txn.put(stores.readModelMeta, key: Self.resumableKey, value: marker)
            }
            return (active, try projector.state(in: txn)?.position ?? 0, try stores.log.head(in: txn).seq)
        }
        let target = active == 0 ? 1 : 0
        let projector = stores.projectors[target]
        RebuildStaging.remove(dataDirectory: self.dataDirectory)
        started(start, head)
        let position: UInt64
        do {
            var pipeline = ReplayPipeline(projector: projector, log: stores.log, logEnvironment: environment, targetEnvironment: environment)
            pipeline.limits.transactionSeconds = self.commitSeconds
            position = try pipeline.run(until: head, shouldStop: shouldStop, onStop: .commit, applied: { progress($0, head) })
        } catch {
            // Its space is reused; left to the daemon's next start if even this fails.
            try? environment.write { txn in
                try projector.drop(in: txn)
                try Self.forget(stores, in: txn)
            }
            throw (error as? LMDBError).map(environment.explaining) ?? error
        }
        if position >= head {
            try environment.write { txn in
                try stores.setActiveGeneration(target, in: txn)
                try stores.projectors[active].drop(in: txn)
                try Self.forget(stores, in: txn)
            }
        }
        return Outcome(resumedFrom: start, position: position, head: head)
    }

    /// Makes a half-built generation no offline rebuild's to go on with: a daemon that starts empties it.
    static func forgetResumable(_ stores: LedgerStores) throws {
        let present = try stores.environment.read { txn in try txn.get(stores.readModelMeta, key: Self.resumableKey) != nil }
        guard present else { return }
        try stores.environment.write { txn in _ = try txn.delete(stores.readModelMeta, key: Self.resumableKey) }
    }

    private static func forget(_ stores: LedgerStores, in txn: Transaction) throws {
        try txn.delete(stores.readModelMeta, key: ProjectionRebuilder.droppingKey)
        try txn.delete(stores.readModelMeta, key: Self.resumableKey)
    }
}
