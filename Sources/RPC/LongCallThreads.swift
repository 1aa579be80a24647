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

    /// Runs `body` on one of the threads and returns its result.
    public static func run<T: Sendable>(_ body: () async throws -> T) async rethrows -> T {
        try await withTaskExecutorPreference(EventLoopTaskExecutor(Self.group.next()), operation: body)
    }
}
