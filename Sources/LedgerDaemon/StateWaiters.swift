// ContactLedger — daemon wiring.
import Synchronization

/// A value behind a mutex that tasks wait on: a waiter sleeps unless its condition already holds, and is
/// woken when the value changes (``update(_:)``, ``wakeAll()``) or its task is cancelled; it checks its
/// condition again itself. The log's head (``HeadWatcher``) and the gate of the daemon's own writes
/// (``OwnWritesGate``) are such values.
final class StateWaiters<Value: Sendable>: Sendable {
    private struct Guarded {
        var value: Value
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let guarded: Mutex<Guarded>

    init(_ value: Value) { self.guarded = Mutex(Guarded(value: value)) }

    /// The value now.
    var value: Value { self.guarded.withLock { $0.value } }

    /// Changes the value; wakes every waiter when `change` says it changed.
    func update(_ change: (inout Value) -> Bool) {
        let waiters = self.guarded.withLock { guarded -> [CheckedContinuation<Void, Never>] in
            guard change(&guarded.value) else { return [] }
            defer { guarded.waiters = [:] }
            return Array(guarded.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Wakes every waiter, the value unchanged (an unsubscribe, a shutdown: they look again).
    func wakeAll() {
        self.update { _ in true }
    }

    /// Returns at once when `satisfied` holds for the value or the task is cancelled, else once woken or
    /// cancelled.
    func wait(unless satisfied: (Value) -> Bool) async {
        let id = self.guarded.withLock { guarded -> UInt64 in
            guarded.nextWaiter += 1
            return guarded.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = self.guarded.withLock { guarded -> Bool in
                    if satisfied(guarded.value) || Task.isCancelled { return true }
                    guarded.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = self.guarded.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}
