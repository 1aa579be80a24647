// ContactLedger — daemon wiring.
import Synchronization

/// Commit latency and batch-size figures for `system.stats`.
final class CommitStatistics: Sendable {
    /// A snapshot of the figures.
    struct Snapshot: Sendable {
        var commits: UInt64
        var commands: UInt64
        var batchMaximum: Int
        /// Whole write batches: the commands, the log's commit and sync, the read models' commit.
        var latencyMicroseconds: [Int64]
        /// The log's part alone: its pages written and synced (what a durable commit waits on).
        var logSyncMicroseconds: [Int64]
    }

    private struct State {
        var commits: UInt64 = 0
        var commands: UInt64 = 0
        var batchMaximum = 0
        /// The most recent latencies, as rings that advance together.
        var latencies: [Int64] = []
        var logSyncs: [Int64] = []
        var next = 0
    }

    private static let window = 4096
    private let state = Mutex(State())

    func record(batchSize: Int, latencyMicroseconds: Int64, logSyncMicroseconds: Int64) {
        self.state.withLock { state in
            state.commits += 1
            state.commands += UInt64(batchSize)
            state.batchMaximum = max(state.batchMaximum, batchSize)
            if state.latencies.count < Self.window {
                state.latencies.append(latencyMicroseconds)
                state.logSyncs.append(logSyncMicroseconds)
            } else {
                state.latencies[state.next] = latencyMicroseconds
                state.logSyncs[state.next] = logSyncMicroseconds
                state.next = (state.next + 1) % Self.window
            }
        }
    }

    func snapshot() -> Snapshot {
        self.state.withLock { state in
            Snapshot(
                commits: state.commits,
                commands: state.commands,
                batchMaximum: state.batchMaximum,
                latencyMicroseconds: state.latencies,
                logSyncMicroseconds: state.logSyncs
            )
        }
    }
}
