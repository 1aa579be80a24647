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
/// last failure stops the process (found by a probe: two clients of 10,100 idle
/// connections each, then `exports.start` from a connection opened before). ``reservedDescriptors(openFileLimit:)``
/// stay free for them. A connection past the limit is answered one line, -32006
/// `{reason: "too_many_connections", limit}`, and closed; those open are not touched. It is answered once
/// served, not while accepted: NIO registers an accepted channel only after its initializer, so a write
/// there never completes, and a channel whose initializer fails is left open.
///
/// The metrics endpoint, which any local user can reach, holds a few connections under a limit of its own;
/// the server's limit leaves room for them too.
public final class ConnectionLimit: Sendable {
    /// The most connections held open at once.
    public let maximum: Int
    private let open = Atomic<Int>(0)
    private let logger: Logger?
    /// Refusals not logged yet, and whether a warning counting them is due: the first refusal of a quiet
    /// spell is logged at once, those after it in one warning ten seconds later, so that a flood logs a
    /// line now and then, not one a connection, and no refusal goes uncounted.
    private let refusedSinceLog = Atomic<Int>(0)
    private let warningDue = Atomic<Bool>(false)

    /// - Parameter logger: where refusals are counted; nil logs nothing.
    public init(maximum: Int, logger: Logger? = nil) {
        self.maximum = max(1, maximum)
        self.logger = logger
    }

    /// Descriptors kept out of the connections' reach: a quarter of the limit, between 128 and 1,024. The
    /// daemon itself holds a few dozen (its stores, its event loops' epoll and eventfd descriptors, the
    /// log file); a rebuild, a verification, a backup, an import or an export opens a few more each.
    static func reservedDescriptors(openFileLimit: Int) -> Int {
        min(1_024, max(128, openFileLimit / 4))
    }

    /// The limit for the process's current limit on open files (`RLIMIT_NOFILE`), less the reserve and
    /// `others`, the descriptors other listeners of the process may hold.
    static func forOpenFileLimit(keeping others: Int, logger: Logger) -> ConnectionLimit {
        var limit = rlimit()
        // No limit (RLIM_INFINITY, all ones, which Swift does not import) or a huge one: no cap worth having.
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < rlim_t(Int32.max) else {
            return ConnectionLimit(maximum: Int(Int32.max), logger: logger)
        }
        let descriptors = Int(clamping: limit.rlim_cur)
        return ConnectionLimit(maximum: descriptors - Self.reservedDescriptors(openFileLimit: descriptors) - others, logger: logger)
    }

    /// Counts `channel` as open until it closes; false when that makes more than ``maximum``, and then the
    /// caller answers it ``refusal(on:)`` and closes it.
    public func admit(_ channel: any Channel) -> Bool {
        let count = self.open.wrappingAdd(1, ordering: .relaxed).newValue
        channel.closeFuture.whenComplete { _ in self.open.wrappingSubtract(1, ordering: .relaxed) }
        return count <= self.maximum
    }

    /// The one line a refused connection is answered before it is closed; counts the refusal, in a
    /// warning now or from `eventLoop` ten seconds later.
    func refusal(on eventLoop: any EventLoop) -> [UInt8] {
        self.countRefusal(on: eventLoop)
        let error = RPCError(
            code: -32006,
            message: "Limit exceeded",
            data: ["reason": "too_many_connections", "limit": .integer(Int64(self.maximum))]
        )
        return JSONLine.failure(id: .null, error: error) + [UInt8(ascii: "\n")]
    }

    private func countRefusal(on eventLoop: any EventLoop) {
        self.refusedSinceLog.wrappingAdd(1, ordering: .relaxed)
        guard !self.warningDue.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // The first of a spell at once; the next warning, if any refusal follows, in ten seconds.
        self.logRefusals()
        eventLoop.scheduleTask(in: .seconds(10)) {
            self.warningDue.store(false, ordering: .releasing)
            self.logRefusals()
        }
    }

    private func logRefusals() {
        let refused = self.refusedSinceLog.exchange(0, ordering: .relaxed)
        guard refused > 0 else { return }
        self.logger?.warning(
            "connections refused: too many open",
            metadata: ["rpc.connections.limit": "\(self.maximum)", "rpc.connections.refused": "\(refused)"]
        )
    }
}
