// ContactLedger — JSON-RPC layer.
import Foundation
import Logging
import NIOCore
import Synchronization

/// How many connections the server holds open at once, below the process's limit on open files.
///
/// Each connection is a file descriptor. Left unbounded, a flood of connections took every descriptor the
/// process may have, and then whatever the daemon opens itself failed: an export's file, a backup, a
/// rebuild's staging area, the `/proc` files libdispatch's worker pool reads to watch its threads; that
/// last failure stops the process (found by this stop's own probe: two clients of 10,100 idle
/// connections each, then `exports.start` from a connection opened before). ``reservedDescriptors(openFileLimit:)``
/// stay free for them. A connection past the limit is answered one line, -32006
/// `{reason: "too_many_connections", limit}`, and closed; those open are not touched. It is answered once
/// served, not while accepted: NIO registers an accepted channel only after its initializer, so a write
/// there never completes, and a channel whose initializer fails is left open.
///
/// The metrics endpoint, which any local user can reach, holds a few connections under a limit of its own.
public final class ConnectionLimit: Sendable {
    /// The most connections held open at once.
    public let maximum: Int
    private let open = Atomic<Int>(0)
    /// When a refusal was last logged (seconds since the reference date), so that a flood logs a line now
    /// and then rather than one per connection.
    private let lastLogged = Atomic<Int64>(0)
    private let refusedSinceLog = Atomic<Int>(0)

    public init(maximum: Int) {
        self.maximum = max(1, maximum)
    }

    /// Descriptors kept out of the connections' reach: a quarter of the limit, between 64 and 1,024. The
    /// daemon itself holds a few dozen (its stores, its event loops' epoll and eventfd descriptors, the log
    /// file); a rebuild, a verification, a backup, an import or an export opens a few more each.
    static func reservedDescriptors(openFileLimit: Int) -> Int {
        min(1_024, max(64, openFileLimit / 4))
    }

    /// The limit for the process's current limit on open files (`RLIMIT_NOFILE`).
    static func forOpenFileLimit() -> ConnectionLimit {
        var limit = rlimit()
        // No limit (RLIM_INFINITY, all ones, which Swift does not import) or a huge one: no cap worth having.
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < rlim_t(Int32.max) else {
            return ConnectionLimit(maximum: Int(Int32.max))
        }
        let descriptors = Int(clamping: limit.rlim_cur)
        return ConnectionLimit(maximum: descriptors - Self.reservedDescriptors(openFileLimit: descriptors))
    }

    /// Counts `channel` as open until it closes; false when that makes more than ``maximum``, and then the
    /// caller answers it ``refusal(logger:)`` and closes it.
    public func admit(_ channel: any Channel) -> Bool {
        let count = self.open.wrappingAdd(1, ordering: .relaxed).newValue
        channel.closeFuture.whenComplete { _ in self.open.wrappingSubtract(1, ordering: .relaxed) }
        return count <= self.maximum
    }

    /// The one line a refused connection is answered before it is closed, logged now and then
    /// (a flood refused logs a line every ten seconds, with how many were refused).
    func refusal(logger: Logger) -> [UInt8] {
        self.logRefusal(logger)
        let error = RPCError(
            code: -32006,
            message: "Limit exceeded",
            data: ["reason": "too_many_connections", "limit": .integer(Int64(self.maximum))]
        )
        return JSONLine.failure(id: .null, error: error) + [UInt8(ascii: "\n")]
    }

    private func logRefusal(_ logger: Logger) {
        let refused = self.refusedSinceLog.wrappingAdd(1, ordering: .relaxed).newValue
        let now = Int64(Date().timeIntervalSinceReferenceDate)
        let last = self.lastLogged.load(ordering: .relaxed)
        guard now - last >= 10, self.lastLogged.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged else { return }
        self.refusedSinceLog.wrappingSubtract(refused, ordering: .relaxed)
        logger.warning(
            "connections refused: too many open",
            metadata: ["rpc.connections.limit": "\(self.maximum)", "rpc.connections.refused": "\(refused)"]
        )
    }
}
