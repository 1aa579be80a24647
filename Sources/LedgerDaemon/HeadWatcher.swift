// ContactLedger — daemon wiring.

/// Lets readers wait for the log to grow past a position: the writer announces each commit's head.
///
/// Waiting is cancellation-aware, and ``wakeAll()`` lets an unsubscribe or a shutdown wake waiters.
final class HeadWatcher: Sendable {
    private let state: StateWaiters<UInt64>

    init(head: UInt64) { self.state = StateWaiters(head) }

    /// The last committed position.
    var head: UInt64 { self.state.value }

    /// Called by the writer after a durable commit.
    func advance(to head: UInt64) {
        self.state.update { current in
            guard head > current else { return false }
            current = head
            return true
        }
    }

    /// Wakes every waiter (they re-check their own conditions).
    func wakeAll() {
        self.state.wakeAll()
    }

    /// Returns once the head is past `seq`, or on ``wakeAll()``, or when the task is cancelled.
    func wait(pastSeq seq: UInt64) async {
        await self.state.wait { $0 > seq }
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
