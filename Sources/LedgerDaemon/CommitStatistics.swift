// ContactLedger — daemon wiring.
import Synchronization

/// Commit latency and batch-size figures for `system.stats`.
final class CommitStatistics: Sendable {
    /// A snapshot of the figures.
    struct Snapshot: Sendable {
        var commits: UInt64
        var commands: UInt64
        var batchMaximum: Int
        var latencyMicroseconds: [Int64]
    }

    private struct State {
        var commits: UInt64 = 0
        var commands: UInt64 = 0
        var batchMaximum = 0
        /// The most recent latencies, as a ring.
        var latencies: [Int64] = []
        var next = 0
    }

    private static let window = 4096
    private let state = Mutex(State())

    func record(batchSize: Int, latencyMicroseconds: Int64) {
        self.state.withLock { state in
            state.commits += 1
            state.commands += UInt64(batchSize)
            state.batchMaximum = max(state.batchMaximum, batchSize)
            if state.latencies.count < Self.window {
                state.latencies.append(latencyMicroseconds)
            } else {
                state.latencies[state.next] = latencyMicroseconds
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
                latencyMicroseconds: state.latencies
            )
        }
    }
}
