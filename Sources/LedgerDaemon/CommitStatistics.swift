// ContactLedger — daemon wiring.
import Synchronization

/// Commit latency and batch-size figures for `system.stats`.
final class CommitStatistics: Sendable {
    /// A snapshot of the figures.
    struct Snapshot: Sendable {
        var commits: UInt64
        var commands: UInt64
        var batchMaximum: Int
        /// Whole write batches on the writer: the commands, the log's commit, the read models' commit
        /// (the log's last sync runs beside the read models' part, on the sync thread).
        var latencyMicroseconds: [Int64]
        /// From a batch's commands' end to its log's pages and meta page synced: what an answer waits on.
        var logSyncMicroseconds: [Int64]
    }

    /// The most recent figures of one kind, as a ring.
    private struct Window {
        var values: [Int64] = []
        var next = 0

        mutating func add(_ value: Int64) {
            if self.values.count < CommitStatistics.window {
                self.values.append(value)
            } else {
                self.values[self.next] = value
                self.next = (self.next + 1) % CommitStatistics.window
            }
        }
    }

    private struct State {
        var commits: UInt64 = 0
        var commands: UInt64 = 0
        var batchMaximum = 0
        var latencies = Window()
        var logSyncs = Window()
    }

    private static let window = 4096
    private let state = Mutex(State())

    /// Records a batch the writer has finished (its read models committed).
    func record(batchSize: Int, latencyMicroseconds: Int64) {
        self.state.withLock { state in
            state.commits += 1
            state.commands += UInt64(batchSize)
            state.batchMaximum = max(state.batchMaximum, batchSize)
            state.latencies.add(latencyMicroseconds)
        }
    }

    /// Records how long a batch took from its commands' end to its log's sync, recorded when the
    /// sync is done (on the sync thread, once the writer may have gone on).
    func recordLogSync(microseconds: Int64) {
        self.state.withLock { $0.logSyncs.add(microseconds) }
    }

    func snapshot() -> Snapshot {
        self.state.withLock { state in
            Snapshot(
                commits: state.commits,
                commands: state.commands,
                batchMaximum: state.batchMaximum,
                latencyMicroseconds: state.latencies.values,
                logSyncMicroseconds: state.logSyncs.values
            )
        }
    }
}
