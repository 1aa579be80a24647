// ContactLedger — daemon wiring.
import Synchronization

/// Says the daemon is ready (systemd's `READY=1`) once every one of its listeners accepts connections,
/// not at the first: a metrics port already taken failed the start after systemd had been told it was
/// up, and the unit looked started, then failed.
final class Readiness: Sendable {
    private let waiting: Mutex<Int>
    private let onReady: @Sendable () -> Void

    /// Calls `onReady` once `listeners` listeners have reported (at once when there are none).
    init(listeners: Int, onReady: @escaping @Sendable () -> Void) {
        self.waiting = Mutex(listeners)
        self.onReady = onReady
        if listeners == 0 { onReady() }
    }

    /// One listener accepts connections.
    func listenerReady() {
        let isLast = self.waiting.withLock { waiting -> Bool in
            waiting -= 1
            return waiting == 0
        }
        if isLast { self.onReady() }
    }
}
