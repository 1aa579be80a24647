// ContactLedger — read models.
import Foundation
import LedgerStore

extension Projector {
    /// Rebuilds the read models from the log when their stored version is not this code's, or when
    /// they lag behind the log (e.g. they were dropped). Returns the number of events replayed.
    ///
    /// For when nothing else writes: offline, or at start before the writer runs (``catchUp(log:environment:progress:)``).
    ///
    /// - Parameter progress: called on this thread with (position applied, head) as the replay goes.
    @discardableResult
    public func rebuildIfNeeded(
        log: EventLog,
        environment: Environment,
        progress: (UInt64, UInt64) -> Void = { _, _ in }
    ) throws -> UInt64 {
        if try environment.read({ try self.state(in: $0) })?.version != Self.version {
            try environment.write { txn in try self.reset(in: txn) }
        }
        return try self.catchUp(log: log, environment: environment, progress: progress)
    }

    /// Applies the log's events past this generation's checkpoint up to the head, whatever version wrote
    /// the generation (its checkpoint keeps that version); returns how many it applied. A
    /// ``ReplayPipeline`` decodes the log on every core while this thread applies it in long transactions,
    /// each moving the checkpoint, so a crash mid-way resumes where it stopped.
    ///
    /// For when nothing else writes. At a start that finds a rebuild to do, for the answering generation:
    /// it serves every query and every command's checks until its successor is swapped in, and takes the
    /// writer's events as they come. It lags the log after a stop between the log's commit and its own, or
    /// in a backup taken while writes went on (the read models are copied first).
    ///
    /// - Parameter progress: called on this thread with (position applied, head) as the replay goes.
    @discardableResult
    public func catchUp(log: EventLog, environment: Environment, progress: (UInt64, UInt64) -> Void = { _, _ in }) throws -> UInt64 {
        let (start, head) = try environment.read { txn in (try self.state(in: txn)?.position ?? 0, try log.head(in: txn).seq) }
        guard start < head else { return 0 }
        let pipeline = ReplayPipeline(projector: self, log: log, logEnvironment: environment, targetEnvironment: environment)
        return try pipeline.run(until: head, applied: { progress($0, head) }) - start
    }
}
