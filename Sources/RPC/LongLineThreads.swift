// ContactLedger — JSON-RPC server.
import NIOCore
import NIOPosix

/// Two threads of their own for the lines that take long to parse and dispatch: a line of megabytes, a
/// batch of thousands of calls. On the event loop they held every other connection of that loop (a
/// batch of 9,000 creates is under 1 MiB and took a second and more).
///
/// A line served here holds no turn of ``LongCallThreads``: its long calls (a batch's searches) take
/// their turns there one by one, like anybody's, so that four connections sending batches of heavy
/// searches cannot hold every long-call thread for the whole of their batches.
public enum LongLineThreads {
    private static let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)

    /// Starts the threads now (see ``LongCallThreads/start()``: an event loop cannot start once the
    /// process has no descriptor left).
    public static func start() {
        _ = Self.group.next()
    }

    /// Runs `body` on one of the threads and returns its result.
    public static func run<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        try await withTaskExecutorPreference(EventLoopTaskExecutor(Self.group.next()), operation: body)
    }
}
