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

    /// Applies the log's events past this generation's checkpoint up to the head, whatever version wrote
    /// the generation (its checkpoint keeps that version), in write transactions of up to `chunk` events;
    /// returns how many it applied.
    ///
    /// For the answering generation at a start that finds a rebuild to do: it serves every query and
    /// every command's checks until its successor is swapped in, and takes the writer's events as they
    /// come. It lags the log after a stop between the log's commit and its own, or in a backup taken while
    /// writes went on (the read models are copied first).
    public func catchUp(log: EventLog, environment: Environment, chunk: Int = 10_000) throws -> UInt64 {
        var applied: UInt64 = 0
        while true {
            let (before, after, reachedHead) = try environment.write { txn in
                let before = try self.state(in: txn)?.position ?? 0
                let (after, reachedHead) = try self.catchUp(log: log, limit: chunk, in: txn)
                return (before, after, reachedHead)
            }
            guard after > before else { return applied }
            applied += after - before
            if reachedHead { return applied }
        }
    }
}
