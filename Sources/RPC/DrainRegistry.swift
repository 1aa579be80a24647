// ContactLedger — JSON-RPC layer.
import NIOCore
import Synchronization

/// The open connections' drains, begun together when the server shuts down gracefully.
///
/// One graceful-shutdown handler for the whole server, not one per connection: swift-service-lifecycle
/// keeps its handlers in an array and finds a leaving one by a linear search, so with n connections open
/// each close cost O(n), and a storm of closes O(n²) on the event loops (with ``ConnectionShards``, what
/// kept 18,000 idle connections closing at once from stalling other clients for seconds).
final class DrainRegistry: Sendable {
    private struct State {
        var drains: [UInt64: (drain: ShutdownDrain, channel: any Channel)] = [:]
        var isShuttingDown = false
    }

    private let state = Mutex(State())

    /// Runs `body` with `drain` registered for `channel`'s connection: begun at once when the server is
    /// shutting down already, else when it starts to.
    func whileRegistered<T>(
        _ id: UInt64,
        drain: ShutdownDrain,
        channel: any Channel,
        _ body: () async throws -> T
    ) async rethrows -> T {
        let shuttingDown = self.state.withLock { state in
            if !state.isShuttingDown { state.drains[id] = (drain, channel) }
            return state.isShuttingDown
        }
        if shuttingDown { drain.begin(closingInputOf: channel) }
        defer { _ = self.state.withLock { $0.drains.removeValue(forKey: id) } }
        return try await body()
    }

    /// Begins every registered drain, and those registered from now on.
    func beginAll() {
        let drains = self.state.withLock { state in
            state.isShuttingDown = true
            defer { state.drains.removeAll() }
            return Array(state.drains.values)
        }
        for (drain, channel) in drains { drain.begin(closingInputOf: channel) }
    }
}
