// ContactLedger — daemon tests.
import Foundation
import Testing

/// Runs each test of a suite on threads of its own rather than on Swift's cooperative pool.
///
/// Daemon tests block their thread: on socket reads, on a child process, on `usleep` while a daemon
/// starts. The cooperative pool has one thread per core (two on CI), so two such tests held every
/// other test back, and Swift Testing's time limits, which start when a test case is admitted, counted
/// the wait: on a 2-core machine, tests that never got a thread failed at three minutes. With this
/// trait a blocked test holds only its own thread; how many run at once is Swift Testing's width
/// (`SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH`, set by `Tools/test.sh`).
struct OwnThreadsTrait: TestTrait, SuiteTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        // A suite's own scope runs no test body: only test cases move off the pool.
        guard testCase != nil else { return try await function() }
        try await withTaskExecutorPreference(ThreadPerJobExecutor.shared) { try await function() }
    }
}

extension Trait where Self == OwnThreadsTrait {
    /// Runs the suite's tests on threads of their own, so a test blocked on the daemon stalls no other.
    static var ownThreads: Self { Self() }
}

/// A task executor that starts a thread for every job it is given.
///
/// A synchronous test body is one job that may block for minutes; a fresh thread per job is the one
/// policy under which no job waits for another. Async tests make many short jobs, each paying for a
/// thread's start, which is small beside a daemon's.
final class ThreadPerJobExecutor: TaskExecutor, Sendable {
    static let shared = ThreadPerJobExecutor()
    /// The name of the threads it starts, at most 15 bytes (Linux keeps no more); a test checks that tests
    /// under the trait run on one.
    static let threadName = "test-own-thread"

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = self.asUnownedTaskExecutor()
        let thread = Thread {
            // Named from inside: on Linux a name set before `start()` is not applied, and the thread
            // keeps the name of the pool thread that started it.
            Thread.current.name = Self.threadName
            job.runSynchronously(on: executor)
        }
        thread.start()
    }
}
