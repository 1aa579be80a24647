// ContactLedger — daemon wiring.

/// Whether the daemon may append events of its own making (a smart group's evaluation, the marks of
/// evaluations ended before `group_evaluated` existed), as against its clients' commands, which never
/// pass through it.
///
/// A node started with `--replicate` may hold a log the stream has gone past (a replica promoted while
/// behind) or away from (a former primary after a failover). An event of its own appended there takes a
/// seq at which the stream holds another event, and a data directory that took no client's write could no
/// longer follow the stream. So on such a node the gate starts closed, its publisher opens it once it has
/// found the stream holding this log's history and publishes, and closes it when it finds the node behind,
/// fenced or diverged. Without `--replicate` it is open for good.
///
/// Safe to share: its state is behind a mutex, never held across an `await`.
final class OwnWritesGate: Sendable {
    /// Thrown by a write of the daemon's own that found the gate closed in its transaction: nothing of
    /// it was written, and it waits for the gate (``waitUntilOpen()``) to try again.
    struct Closed: Error {}

    private let state: StateWaiters<Bool>

    /// - Parameter isOpen: open for good unless something closes it; closed on a node that publishes.
    init(isOpen: Bool) {
        self.state = StateWaiters(isOpen)
    }

    /// Whether the daemon may append events of its own now. Read it in the write transaction that would
    /// append them: the publisher may close the gate between a wait and the write.
    var isOpen: Bool { self.state.value }

    /// Lets the daemon's own writes through, and wakes those waiting.
    func open() {
        self.state.update { isOpen in
            isOpen = true
            return true
        }
    }

    /// Holds the daemon's own writes back from now on.
    func close() {
        self.state.update { isOpen in
            isOpen = false
            return false
        }
    }

    /// Returns once the gate is open (at once when it is).
    ///
    /// - Throws: `CancellationError` when the task is cancelled first (a graceful shutdown, through
    ///   `cancelWhenGracefulShutdown`).
    func waitUntilOpen() async throws {
        while !self.isOpen {
            try Task.checkCancellation()
            await self.state.wait { $0 }
        }
    }
}
