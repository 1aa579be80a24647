// ContactLedger — daemon tests.
import Foundation
import Testing

/// The executor behind ``OwnThreadsTrait``: blocked jobs never hold one another back.
@Suite(.ownThreads, .timeLimit(.minutes(1)))
struct OwnThreadsTraitTests {
    /// More jobs than the cooperative pool has threads each block until all of them have started: on
    /// the pool the last ones would never start (the waits time out); here every one gets its thread.
    @Test func jobsThatBlockUntilAllHaveStartedAllFinish() async {
        let count = ProcessInfo.processInfo.activeProcessorCount * 4
        let arrived = DispatchSemaphore(value: 0)
        let released = DispatchSemaphore(value: 0)
        let finished = await withTaskGroup(of: Bool.self, returning: Int.self) { group in
            for _ in 0..<count {
                group.addTask(executorPreference: ThreadPerJobExecutor.shared) {
                    arrived.signal()
                    return released.wait(timeout: .now() + 20) == .success
                }
            }
            // The releaser runs on a thread of its own too: it counts arrivals, then lets everyone go.
            group.addTask(executorPreference: ThreadPerJobExecutor.shared) {
                var allArrived = true
                for _ in 0..<count { allArrived = allArrived && arrived.wait(timeout: .now() + 20) == .success }
                for _ in 0..<count { released.signal() }
                return allArrived
            }
            var succeeded = 0
            for await result in group where result { succeeded += 1 }
            return succeeded
        }
        #expect(finished == count + 1)
    }

    /// A test under the trait runs off Swift's cooperative pool: on a thread the executor started, or, as
    /// one clean-clone run in about forty saw, on a thread of libdispatch's default global queue (named
    /// `oot.default-qos` there: Linux keeps 15 bytes of a name), which starts more threads when one
    /// blocks. The pool's threads are the ones this must never be (`…cooperative`).
    @Test func aSynchronousTestRunsOnItsOwnThread() {
        let name = Thread.current.name ?? ""
        #expect(name == ThreadPerJobExecutor.threadName || (!name.isEmpty && !name.hasSuffix("cooperative")), "\(name)")
    }
}
