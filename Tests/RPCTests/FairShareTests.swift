// ContactLedger — JSON-RPC layer tests.
import Synchronization
import Testing

@testable import RPC

/// The long-call threads are handed out in turn between peers and connections, never more than the
/// most per connection and per peer, and a closed connection's waiting calls are dropped.
@Suite(.timeLimit(.minutes(1)))
struct FairShareTests {
    /// Records the order in which waiting calls were granted a slot.
    final class Grants: Sendable {
        private let order = Mutex<[String]>([])
        func append(_ name: String) { self.order.withLock { $0.append(name) } }
        var names: [String] { self.order.withLock { $0 } }
    }

    /// Starts a call that waits for a slot and records its name once granted; the task ends holding it.
    private func waitingCall(_ share: FairShare, _ owner: LongCallOwner, _ name: String, _ grants: Grants) -> Task<Int, any Error> {
        Task {
            let slot = try await share.acquire(for: owner)
            grants.append(name)
            return slot
        }
    }

    /// Waits until `count` calls wait in `share`.
    private func untilWaiting(_ share: FairShare, _ count: Int) async {
        while share.waitingCount < count { await Task.yield() }
    }

    @Test func aConnectionsQueueDoesNotGoAheadOfAnotherConnection() async throws {
        let share = FairShare(slots: 1, mostPerConnection: 1, mostPerPeer: 1)
        let busy = LongCallOwner(uid: 1000, connection: 1)
        let other = LongCallOwner(uid: 1000, connection: 2)
        let held = try await share.acquire(for: busy)
        let grants = Grants()
        var tasks: [Task<Int, any Error>] = []
        for index in 0..<5 {
            tasks.append(self.waitingCall(share, busy, "busy\(index)", grants))
            await self.untilWaiting(share, index + 1)
        }
        tasks.append(self.waitingCall(share, other, "other", grants))
        await self.untilWaiting(share, 6)
        // Each release hands the one slot to the next in turn.
        #expect(held == 0)
        var owner = busy
        for expected in 1...6 {
            share.release(0, for: owner)
            while grants.names.count < expected { await Task.yield() }
            owner = grants.names.last == "other" ? other : busy
        }
        for task in tasks { _ = try await task.value }
        // The other connection's one call came second, not behind the whole queue.
        #expect(grants.names == ["busy0", "other", "busy1", "busy2", "busy3", "busy4"])
    }

    /// A call that comes for a slot after its connection closed (a batch's calls still being read out)
    /// is dropped at once: it waited for ever, ``FairShare/dropWaiting(connection:)`` having run before it.
    @Test func aCallAfterItsConnectionClosedIsDropped() async throws {
        let share = FairShare(slots: 1, mostPerConnection: 1, mostPerPeer: 1)
        let closed = ConnectionClosed()
        let owner = LongCallOwner(uid: 1, connection: 10, closed: closed)
        let other = LongCallOwner(uid: 2, connection: 20)
        let held = try await share.acquire(for: other)
        closed.record()
        share.dropWaiting(connection: 10)
        await #expect(throws: FairShare.Dropped.self) { try await share.acquire(for: owner) }
        #expect(share.waitingCount == 0)
        share.release(held, for: other)
        // An open connection's call still gets its slot.
        let open = LongCallOwner(uid: 1, connection: 11, closed: ConnectionClosed())
        share.release(try await share.acquire(for: open), for: open)
    }

    @Test func peersTakeTurnsBeforeTheirConnections() async throws {
        let share = FairShare(slots: 1, mostPerConnection: 1, mostPerPeer: 1)
        let first = LongCallOwner(uid: 1, connection: 10)
        let held = try await share.acquire(for: first)
        let grants = Grants()
        var tasks: [Task<Int, any Error>] = []
        // Peer 1 has three connections with calls waiting, peer 2 one.
        for (index, owner) in [LongCallOwner(uid: 1, connection: 11), LongCallOwner(uid: 1, connection: 12), LongCallOwner(uid: 1, connection: 13), LongCallOwner(uid: 2, connection: 20)].enumerated() {
            tasks.append(self.waitingCall(share, owner, "\(owner.uid ?? 0)/\(owner.connection)", grants))
            await self.untilWaiting(share, index + 1)
        }
        var owner = first
        for expected in 1...4 {
            share.release(0, for: owner)
            while grants.names.count < expected { await Task.yield() }
            let parts = try #require(grants.names.last?.split(separator: "/"))
            owner = LongCallOwner(uid: UInt32(parts[0]), connection: try #require(UInt64(parts[1])))
        }
        #expect(held == 0)
        for task in tasks { _ = try await task.value }
        #expect(grants.names == ["1/11", "2/20", "1/12", "1/13"])
    }

    @Test func oneConnectionHoldsAtMostItsShare() async throws {
        let share = FairShare(slots: 4, mostPerConnection: 3, mostPerPeer: 4)
        let busy = LongCallOwner(uid: 1000, connection: 1)
        var slots: [Int] = []
        for _ in 0..<3 { slots.append(try await share.acquire(for: busy)) }
        let grants = Grants()
        let fourth = self.waitingCall(share, busy, "busy", grants)
        await self.untilWaiting(share, 1)
        // A slot is free, but the connection holds its most: its call waits; another connection's does not.
        #expect(share.runningCount == 3)
        let newcomer = try await share.acquire(for: LongCallOwner(uid: 1000, connection: 2))
        #expect(share.runningCount == 4)
        #expect(grants.names.isEmpty)
        share.release(slots.removeFirst(), for: busy)
        _ = try await fourth.value
        #expect(grants.names == ["busy"])
        share.release(newcomer, for: LongCallOwner(uid: 1000, connection: 2))
    }

    /// One peer's connections together hold at most its share: a slot stays free for another peer's
    /// call (one peer's connections held every slot while an operator's call waited 18 s).
    @Test func onePeerHoldsAtMostItsShare() async throws {
        let share = FairShare(slots: 5, mostPerConnection: 3, mostPerPeer: 4)
        let busy = (1...3).map { LongCallOwner(uid: 1000, connection: UInt64($0)) }
        var held: [(LongCallOwner, Int)] = []
        for owner in [busy[0], busy[0], busy[0], busy[1]] { held.append((owner, try await share.acquire(for: owner))) }
        let grants = Grants()
        let fourth = self.waitingCall(share, busy[2], "busy", grants)
        await self.untilWaiting(share, 1)
        // A slot is free, but the peer holds its most: its third connection's call waits; another
        // peer's does not.
        #expect(share.runningCount == 4)
        let operatorCall = LongCallOwner(uid: 0, connection: 9)
        let operatorSlot = try await share.acquire(for: operatorCall)
        #expect(share.runningCount == 5)
        #expect(grants.names.isEmpty)
        // The operator's slot freed goes to nobody of the busy peer while it holds four...
        share.release(operatorSlot, for: operatorCall)
        for _ in 0..<100 { await Task.yield() }
        #expect(grants.names.isEmpty)
        #expect(share.runningCount == 4)
        // ...and to its waiting call once it holds fewer.
        let (owner, slot) = held.removeFirst()
        share.release(slot, for: owner)
        _ = try await fourth.value
        #expect(grants.names == ["busy"])
    }

    @Test func aClosedConnectionsWaitingCallsAreDroppedAndOthersStillRun() async throws {
        let share = FairShare(slots: 1, mostPerConnection: 1, mostPerPeer: 1)
        let closing = LongCallOwner(uid: 1000, connection: 1)
        let staying = LongCallOwner(uid: 1000, connection: 2)
        let held = try await share.acquire(for: closing)
        let grants = Grants()
        let dropped = (0..<3).map { index in self.waitingCall(share, closing, "closing\(index)", grants) }
        await self.untilWaiting(share, 3)
        let kept = self.waitingCall(share, staying, "staying", grants)
        await self.untilWaiting(share, 4)
        share.dropWaiting(connection: closing.connection)
        #expect(share.waitingCount == 1)
        for task in dropped {
            await #expect(throws: FairShare.Dropped.self) { _ = try await task.value }
        }
        share.release(held, for: closing)
        _ = try await kept.value
        #expect(grants.names == ["staying"])
    }

    @Test func aCancelledWaitEndsAndGivesUpItsTurn() async throws {
        let share = FairShare(slots: 1, mostPerConnection: 1, mostPerPeer: 1)
        let owner = LongCallOwner(uid: nil, connection: 1)
        let held = try await share.acquire(for: owner)
        let grants = Grants()
        let cancelled = self.waitingCall(share, owner, "cancelled", grants)
        await self.untilWaiting(share, 1)
        let next = self.waitingCall(share, LongCallOwner(uid: nil, connection: 2), "next", grants)
        await self.untilWaiting(share, 2)
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { _ = try await cancelled.value }
        #expect(share.waitingCount == 1)
        share.release(held, for: owner)
        _ = try await next.value
        #expect(grants.names == ["next"])
    }
}
