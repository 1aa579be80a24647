// ContactLedger — JSON-RPC server.
import NIOCore
import NIOPosix

/// Threads of their own for calls that may take long (a scan of a whole log or workspace, a file to
/// parse, a line of megabytes), so that the event loops serving every connection never wait for them:
/// one slow or malicious client must not stall the others.
///
/// A handful of threads, more than the cores: a long call blocks its thread, and the next long call
/// should not wait behind it. Short calls stay on their connection's loop (a hop here costs a thread
/// wake-up each way).
public enum LongCallThreads {
    private static let group = MultiThreadedEventLoopGroup(numberOfThreads: 4)

    /// Starts the threads now. Each event loop holds an epoll and an eventfd: made lazily, by the first
    /// long call, they could not be made once connections hold every file descriptor the process may have,
    /// and NIO stops the process when an event loop cannot start. The server starts them before it listens.
    public static func start() {
        _ = Self.group
    }

    /// Runs `body` on one of the threads and returns its result.
    public static func run<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        try await withTaskExecutorPreference(EventLoopTaskExecutor(Self.group.next()), operation: body)
    }
}
