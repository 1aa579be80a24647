// ContactLedger — JSON-RPC server.
import NIOCore
import NIOPosix
import Synchronization

/// Threads of their own for calls that may take long (a scan of a whole log or workspace, a history
/// folded from the log, a file to read or write, a subscription's catch-up), so that the event loops
/// serving every connection never wait for them: one slow or malicious client must not stall the others.
/// (Long lines are parsed on ``LongLineThreads``; their long calls take their turns here.)
///
/// A handful of threads, more than the cores: a long call blocks its thread, and the next long call
/// should not wait behind it. Short calls stay on their connection's loop (a hop here costs a thread
/// wake-up each way). The threads are shared fairly (``FairShare``): one thread per call, taken in turn
/// by peers and connections, at most three by one connection and four by one peer, so that one client's
/// queue of heavy calls does not make another's wait behind all of it, and another peer (an operator's
/// CLI beside an application's connections) always finds a thread.
public enum LongCallThreads {
    private static let threads = 5
    private static let group = MultiThreadedEventLoopGroup(numberOfThreads: Self.threads)
    private static let loops: [any EventLoop] = Array(Self.group.makeIterator())
    private static let share = FairShare(slots: Self.threads, mostPerConnection: Self.threads - 2, mostPerPeer: Self.threads - 1)
    private static let completed = Atomic<Int>(0)
    private static let dropped = Atomic<Int>(0)

    /// What the threads are doing, for `system.stats`.
    public struct Statistics: Sendable {
        /// How many threads there are, and the most calls that run at once.
        public var threads: Int
        /// Calls running now, batches served on the threads counted once.
        public var running: Int
        /// Calls waiting for their turn on a thread.
        public var waiting: Int
        /// Calls that ran to their end since the daemon started.
        public var completed: Int
        /// Calls not run because their connection closed while they waited.
        public var dropped: Int
    }

    /// What the threads are doing now.
    public static var statistics: Statistics {
        Statistics(
            threads: Self.threads, running: Self.share.runningCount, waiting: Self.share.waitingCount,
            completed: Self.completed.load(ordering: .relaxed), dropped: Self.dropped.load(ordering: .relaxed)
        )
    }

    /// Starts the threads now. Each event loop holds an epoll and an eventfd: made lazily, by the first
    /// long call, they could not be made once connections hold every file descriptor the process may have,
    /// and NIO stops the process when an event loop cannot start. The server starts them before it listens.
    public static func start() {
        _ = Self.loops
    }

    /// Runs `body` on one of the threads, once it is `owner`'s turn, and returns its result.
    ///
    /// Throws ``RPCError/storageUnavailable(reason:_:)`` `connection_closed` if the owner's connection
    /// closed first (``dropWaiting(connection:)``) or the task was cancelled while it waited, and
    /// ``AnswerBudget``'s refusal for a batch's call once its connection holds too many unwritten
    /// answers; nothing of `body` ran then.
    public static func run<T: Sendable>(for owner: LongCallOwner, _ body: () async throws -> T) async throws -> T {
        let slot: Int
        do {
            slot = try await Self.share.acquire(for: owner)
        } catch FairShare.Dropped.connectionClosed {
            Self.dropped.add(1, ordering: .relaxed)
            throw Self.connectionClosed
        } catch is CancellationError {
            // A connection's calls are cancelled when it goes away: not run, as those dropped. Thrown on,
            // each was logged as an unhandled error, and none was counted.
            Self.dropped.add(1, ordering: .relaxed)
            throw Self.connectionClosed
        }
        defer { Self.share.release(slot, for: owner) }
        // A batch's call that waited for its thread while the batch's other answers piled up.
        try AnswerBudget.checkBatch()
        defer { Self.completed.add(1, ordering: .relaxed) }
        return try await withTaskExecutorPreference(EventLoopTaskExecutor(Self.loops[slot]), operation: body)
    }

    /// The answer to a long call whose connection closed before it started: nobody reads it.
    private static let connectionClosed = RPCError.storageUnavailable(reason: "connection_closed")

    /// Whether `error` is the one a call gets when its connection closed before it ran.
    public static func isDroppedCall(_ error: any Error) -> Bool {
        (error as? RPCError).map { $0.code == Self.connectionClosed.code && $0.data == Self.connectionClosed.data } ?? false
    }

    /// Drops the long calls of `connection` still waiting for a thread: it was closed, and nobody is
    /// left to read their answers.
    public static func dropWaiting(connection: UInt64) {
        Self.share.dropWaiting(connection: connection)
    }
}

extension RPCContext {
    /// Whom this call's long work runs for on ``LongCallThreads``.
    public var longCallOwner: LongCallOwner {
        LongCallOwner(uid: self.peer?.uid, connection: self.connectionID, closed: self.closed)
    }
}
