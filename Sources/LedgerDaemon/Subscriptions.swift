// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import Synchronization

/// The live `events.subscribe` subscriptions, by id, with the connection and the workspace each belongs to.
final class Subscriptions: Sendable {
    private struct Entry {
        var connectionID: UInt64
        /// The workspace whose events it follows: only a call in that workspace cancels it, as nothing
        /// crosses workspaces (a grant limited to another workspace must not reach it).
        var workspace: String
        var isCancelled = false
        /// The last position sent.
        var position: UInt64 = 0
        /// Whether the feed has once found nothing more to send: only then can it be too slow (one
        /// catching up from far back is not).
        var hasCaughtUp = false
        /// Whether its feed runs (it starts once the subscription's answer is written).
        var feedStarted = false
        /// Calls waiting for its feed to end (``feedEnded(_:)``).
        var endWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let entries = Mutex<[String: Entry]>([:])

    /// Registers a subscription of `connectionID` to `workspace`'s events; returns its id, or nil if the
    /// connection already has `limit` live ones.
    func add(connectionID: UInt64, workspace: String, limit: Int) -> String? {
        let id = UUID.random().lowercasedString
        return self.entries.withLock { entries in
            let live = entries.values.count { $0.connectionID == connectionID && !$0.isCancelled }
            guard live < limit else { return nil }
            entries[id] = Entry(connectionID: connectionID, workspace: workspace)
            return id
        }
    }

    /// Whether the subscription was cancelled (or never existed).
    func isCancelled(_ id: String) -> Bool {
        self.entries.withLock { $0[id]?.isCancelled ?? true }
    }

    /// Cancels a subscription of `connectionID` in `workspace`; returns false if it has no such subscription.
    func cancel(_ id: String, connectionID: UInt64, workspace: String) -> Bool {
        self.entries.withLock { entries in
            guard let entry = entries[id], entry.connectionID == connectionID, entry.workspace == workspace else { return false }
            entries[id]?.isCancelled = true
            return true
        }
    }

    /// Records the last position a subscription sent.
    func advance(_ id: String, to position: UInt64) {
        self.entries.withLock { $0[id]?.position = position }
    }

    /// The last position a subscription sent (0 before any).
    func position(of id: String) -> UInt64 {
        self.entries.withLock { $0[id]?.position ?? 0 }
    }

    /// Cancels a live subscription whatever its connection; false if it was already cancelled (or
    /// never existed), so only one caller goes on to cut it off.
    func cancelIfLive(_ id: String) -> Bool {
        self.entries.withLock { entries in
            guard let entry = entries[id], !entry.isCancelled else { return false }
            entries[id]?.isCancelled = true
            return true
        }
    }

    /// Records that a subscription's feed reached the head.
    func markCaughtUp(_ id: String) {
        self.entries.withLock { $0[id]?.hasCaughtUp = true }
    }

    /// How far a subscription that has caught up once is behind `head`; 0 before it caught up.
    func lag(of id: String, head: UInt64) -> UInt64 {
        self.entries.withLock { entries in
            guard let entry = entries[id], entry.hasCaughtUp else { return 0 }
            return head - min(entry.position, head)
        }
    }

    /// The largest number of events any live subscription is behind `head`.
    func maximumLag(head: UInt64) -> UInt64 {
        self.entries.withLock { entries in
            entries.values.filter { !$0.isCancelled }.map { head - min($0.position, head) }.max() ?? 0
        }
    }

    /// Records that a subscription's feed runs: from now on it is forgotten only when the feed ends.
    func markFeedStarted(_ id: String) {
        self.entries.withLock { $0[id]?.feedStarted = true }
    }

    /// Returns once a cancelled subscription's feed has ended, so nothing of it follows what is written
    /// next on its connection (an `events.unsubscribe` answer): a feed catching up holds a chunk of
    /// events read before the cancellation. At once if its feed never started: it will see the
    /// cancellation before it sends anything.
    func feedEnded(_ id: String) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waits = self.entries.withLock { entries in
                guard let entry = entries[id], entry.feedStarted else { return false }
                entries[id]?.endWaiters.append(continuation)
                return true
            }
            if !waits { continuation.resume() }
        }
    }

    /// Forgets a finished subscription, and lets the calls waiting for its end go on.
    func remove(_ id: String) {
        let entry = self.entries.withLock { $0.removeValue(forKey: id) }
        for waiter in entry?.endWaiters ?? [] { waiter.resume() }
    }

    /// Cancels every subscription of a closed connection.
    func cancelAll(connectionID: UInt64) {
        self.entries.withLock { entries in
            for (id, entry) in entries where entry.connectionID == connectionID { entries[id]?.isCancelled = true }
        }
    }

    /// How many subscriptions are live.
    var count: Int { self.entries.withLock { $0.values.filter { !$0.isCancelled }.count } }
}
