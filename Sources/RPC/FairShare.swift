// ContactLedger — JSON-RPC server.
import NIOCore
import Synchronization

/// Whom a long call is run for: its connection, and the peer process's user behind it.
public struct LongCallOwner: Hashable, Sendable {
    /// The peer's uid (SO_PEERCRED), nil where the socket did not report it.
    public var uid: UInt32?
    /// The connection, as ``RPCContext/connectionID`` numbers it.
    public var connection: UInt64
    /// Whether the connection has closed (``RPCContext/closed``): a call that comes for a slot after
    /// its connection closed is dropped at once.
    public var closed: ConnectionClosed?

    public init(uid: UInt32?, connection: UInt64, closed: ConnectionClosed? = nil) {
        self.uid = uid
        self.connection = connection
        self.closed = closed
    }

    public static func == (lhs: LongCallOwner, rhs: LongCallOwner) -> Bool {
        lhs.uid == rhs.uid && lhs.connection == rhs.connection
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.uid)
        hasher.combine(self.connection)
    }
}

/// Hands a few slots (threads) out fairly: round-robin between the peers (uids) with work waiting,
/// and between each peer's connections, each connection's own calls in the order they came.
///
/// A first-come queue let one client's batch of heavy searches make every other client's long calls
/// wait behind all of it (28 s behind 40 searches). Here another connection's call waits for at most
/// one slot to come free, no connection holds more than ``mostPerConnection`` slots at once and no peer
/// more than ``mostPerPeer``, so with several slots a newcomer usually finds one free, and another
/// peer's call always does while one peer's calls fill every slot they may (without the peer's cap,
/// one peer's four connections held every slot, and an operator's call waited 18 s behind their
/// searches of the past). A connection that is closed drops the calls it still had waiting
/// (``dropWaiting(connection:)``), and those that come for a slot later (a batch's calls, still being
/// read out when its connection closed, waited for ever: 60,000 of them, never dropped, held a stop
/// for minutes): nobody is left to read their answers.
final class FairShare: Sendable {
    /// Why a waiting call was not run.
    enum Dropped: Error {
        /// Its connection closed before a slot came free.
        case connectionClosed
    }

    private struct Waiter {
        var ticket: UInt64
        var continuation: CheckedContinuation<Int, any Error>
    }

    private struct State {
        var freeSlots: [Int]
        var nextTicket: UInt64 = 0
        /// How many slots each connection holds.
        var running: [UInt64: Int] = [:]
        /// How many slots each peer holds.
        var runningByPeer: [UInt32?: Int] = [:]
        /// Each connection's waiting calls, oldest first.
        var waiting: [UInt64: CircularBuffer<Waiter>] = [:]
        /// The peers with calls waiting, in the order they are served next.
        var peerTurns = CircularBuffer<UInt32?>()
        /// Each such peer's connections with calls waiting, in the order they are served next.
        var connectionTurns: [UInt32?: CircularBuffer<UInt64>] = [:]
    }

    let slots: Int
    let mostPerConnection: Int
    let mostPerPeer: Int
    private let state: Mutex<State>

    /// - Parameters:
    ///   - slots: how many calls run at once; slot numbers are `0..<slots`.
    ///   - mostPerConnection: how many of them one connection may hold at once.
    ///   - mostPerPeer: how many of them one peer (all its connections) may hold at once.
    init(slots: Int, mostPerConnection: Int, mostPerPeer: Int) {
        precondition(slots > 0 && mostPerConnection > 0 && mostPerPeer > 0)
        self.slots = slots
        self.mostPerConnection = mostPerConnection
        self.mostPerPeer = mostPerPeer
        self.state = Mutex(State(freeSlots: Array((0..<slots).reversed())))
    }

    /// Waits for a slot for `owner` and returns its number; ``release(_:for:)`` gives it back.
    ///
    /// Throws `CancellationError` if the task is cancelled while waiting, ``Dropped`` if the owner's
    /// connection was closed.
    func acquire(for owner: LongCallOwner) async throws -> Int {
        let ticket = self.state.withLock { state -> UInt64 in
            state.nextTicket += 1
            return state.nextTicket
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
                let granted: [(CheckedContinuation<Int, any Error>, Int)] = self.state.withLock { state in
                    guard !Task.isCancelled else {
                        continuation.resume(throwing: CancellationError())
                        return []
                    }
                    // Recorded before ``dropWaiting(connection:)`` takes this lock: a call either finds
                    // it here or is among those that drops.
                    guard owner.closed?.hasClosed != true else {
                        continuation.resume(throwing: Dropped.connectionClosed)
                        return []
                    }
                    if state.waiting[owner.connection] == nil {
                        state.waiting[owner.connection] = CircularBuffer()
                        if state.connectionTurns[owner.uid] == nil {
                            state.connectionTurns[owner.uid] = CircularBuffer()
                            state.peerTurns.append(owner.uid)
                        }
                        state.connectionTurns[owner.uid]?.append(owner.connection)
                    }
                    state.waiting[owner.connection]?.append(Waiter(ticket: ticket, continuation: continuation))
                    return self.grant(&state)
                }
                for (waiter, slot) in granted { waiter.resume(returning: slot) }
            }
        } onCancel: {
            let cancelled = self.state.withLock { state in Self.remove(ticket: ticket, of: owner, from: &state) }
            cancelled?.resume(throwing: CancellationError())
        }
    }

    /// Gives `slot` back and hands it to the next call in turn.
    func release(_ slot: Int, for owner: LongCallOwner) {
        let granted = self.state.withLock { state in
            state.freeSlots.append(slot)
            Self.count(-1, of: owner.connection, in: &state.running)
            Self.count(-1, of: owner.uid, in: &state.runningByPeer)
            return self.grant(&state)
        }
        for (waiter, slot) in granted { waiter.resume(returning: slot) }
    }

    /// Fails every call of `connection` still waiting with ``Dropped/connectionClosed``.
    func dropWaiting(connection: UInt64) {
        let dropped = self.state.withLock { state -> [Waiter] in
            guard let waiters = state.waiting.removeValue(forKey: connection) else { return [] }
            Self.forgetTurn(of: connection, in: &state)
            return Array(waiters)
        }
        for waiter in dropped { waiter.continuation.resume(throwing: Dropped.connectionClosed) }
    }

    /// How many calls wait for a slot.
    var waitingCount: Int {
        self.state.withLock { state in state.waiting.values.reduce(0) { $0 + $1.count } }
    }

    /// How many slots are held.
    var runningCount: Int {
        self.state.withLock { state in self.slots - state.freeSlots.count }
    }

    /// Hands the free slots to the waiting calls in turn: peers round-robin, each peer's connections
    /// round-robin, skipping peers and connections that hold their most. Returns whom to resume,
    /// outside the lock.
    private func grant(_ state: inout State) -> [(CheckedContinuation<Int, any Error>, Int)] {
        var granted: [(CheckedContinuation<Int, any Error>, Int)] = []
        while !state.freeSlots.isEmpty, let (peer, connection) = self.nextConnection(&state) {
            guard let waiter = state.waiting[connection]?.popFirst(), let slot = state.freeSlots.popLast() else { break }
            Self.count(1, of: connection, in: &state.running)
            Self.count(1, of: peer, in: &state.runningByPeer)
            if state.waiting[connection]?.isEmpty == true {
                state.waiting[connection] = nil
                Self.forgetTurn(of: connection, in: &state)
            }
            granted.append((waiter.continuation, slot))
        }
        return granted
    }

    /// The connection whose turn it is among those below their most, of the peer whose turn it is among
    /// those below theirs, moving both to the back of their turns; nil if there is none.
    private func nextConnection(_ state: inout State) -> (peer: UInt32?, connection: UInt64)? {
        for _ in 0..<state.peerTurns.count {
            guard let peer = state.peerTurns.popFirst() else { return nil }
            state.peerTurns.append(peer)
            guard state.runningByPeer[peer, default: 0] < self.mostPerPeer, var turns = state.connectionTurns[peer] else { continue }
            defer { state.connectionTurns[peer] = turns }
            for _ in 0..<turns.count {
                guard let connection = turns.popFirst() else { break }
                turns.append(connection)
                if state.running[connection, default: 0] < self.mostPerConnection { return (peer, connection) }
            }
        }
        return nil
    }

    /// Adds `change` to `key`'s count in `counts`, removing it at zero.
    private static func count<Key: Hashable>(_ change: Int, of key: Key, in counts: inout [Key: Int]) {
        let count = counts[key, default: 0] + change
        counts[key] = count > 0 ? count : nil
    }

    /// Takes `connection` out of the turns (it has nothing waiting any more), and its peer if that was
    /// the peer's last.
    private static func forgetTurn(of connection: UInt64, in state: inout State) {
        for (peer, turns) in state.connectionTurns where turns.contains(connection) {
            var remaining = turns
            remaining.removeAll { $0 == connection }
            if remaining.isEmpty {
                state.connectionTurns[peer] = nil
                state.peerTurns.removeAll { $0 == peer }
            } else {
                state.connectionTurns[peer] = remaining
            }
            return
        }
    }

    /// Takes one waiting call out (its task was cancelled); nil if it already has a slot.
    private static func remove(ticket: UInt64, of owner: LongCallOwner, from state: inout State) -> CheckedContinuation<Int, any Error>? {
        guard var waiters = state.waiting[owner.connection], let index = waiters.firstIndex(where: { $0.ticket == ticket }) else {
            return nil
        }
        let waiter = waiters.remove(at: index)
        if waiters.isEmpty {
            state.waiting[owner.connection] = nil
            Self.forgetTurn(of: owner.connection, in: &state)
        } else {
            state.waiting[owner.connection] = waiters
        }
        return waiter.continuation
    }
}
