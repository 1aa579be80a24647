// ContactLedger — daemon wiring.
import Synchronization

/// Lets readers wait for the log to grow past a position: the writer announces each commit's head.
///
/// Waiting is cancellation-aware, and ``wakeAll()`` lets an unsubscribe or a shutdown wake waiters.
final class HeadWatcher: Sendable {
    private struct State {
        var head: UInt64
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state: Mutex<State>

    init(head: UInt64) { self.state = Mutex(State(head: head)) }

    /// The last committed position.
    var head: UInt64 { self.state.withLock { $0.head } }

    /// Called by the writer after a durable commit.
    func advance(to head: UInt64) {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard head > state.head else { return [] }
            state.head = head
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Wakes every waiter (they re-check their own conditions).
    func wakeAll() {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the head is past `seq`, or on ``wakeAll()``, or when the task is cancelled.
    func wait(pastSeq seq: UInt64) async {
        let id = self.state.withLock { state -> UInt64 in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = self.state.withLock { state -> Bool in
                    if state.head > seq || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = self.state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }

    /// Returns once the head is past `seq`, or on ``wakeAll()``, or after `duration`.
    func wait(pastSeq seq: UInt64, atMost duration: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait(pastSeq: seq) }
            group.addTask { try? await Task.sleep(for: duration) }
            await group.next()
            group.cancelAll()
        }
    }
}
