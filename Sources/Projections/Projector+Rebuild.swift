// ContactLedger — read models.
import Foundation
import LedgerStore

extension Projector {
    /// Rebuilds the read models from the log when their stored version is not this code's, or when
    /// they lag behind the log (e.g. they were dropped). Returns the number of events replayed.
    ///
    /// For when nothing else writes: offline, or at start before the writer runs. A ``ReplayPipeline``
    /// decodes the log on every core while this thread applies it in long transactions, each moving the
    /// checkpoint, so a crash mid-way resumes where it stopped.
    ///
    /// - Parameter progress: called on this thread with (position applied, head) as the replay goes.
    @discardableResult
    public func rebuildIfNeeded(
        log: EventLog,
        environment: Environment,
        progress: (UInt64, UInt64) -> Void = { _, _ in }
    ) throws -> UInt64 {
        let (state, head) = try environment.read { txn in (try self.state(in: txn), try log.head(in: txn).seq) }
        var start: UInt64 = 0
        if let state, state.version == Self.version {
            start = state.position
        } else {
            try environment.write { txn in try self.reset(in: txn) }
        }
        guard start < head else { return 0 }
        let pipeline = ReplayPipeline(projector: self, log: log, logEnvironment: environment, targetEnvironment: environment)
        return try pipeline.run(until: head, applied: { progress($0, head) }) - start
    }
}
