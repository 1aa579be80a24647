// ContactLedger — JSON-RPC layer tests.
import Foundation
import NIOCore
import NIOPosix
@testable import RPC
import Testing

/// A connection's tasks run on its channel's event loop: when they start, in the child tasks they
/// start, and after a resumption from another thread (the ledger's writer answering a command).
struct EventLoopTaskExecutorTests {
    @Test func tasksPreferringALoopRunOnItThroughChildrenAndResumptions() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let loop = group.next()
        let other = group.next()
        #expect(loop !== other)
        let executor = EventLoopTaskExecutor(loop)
        let observations = await withTaskGroup(of: [Bool].self) { tasks in
            for _ in 0..<8 {
                tasks.addTask(executorPreference: executor) {
                    let atStart = loop.inEventLoop
                    async let inChild = loop.inEventLoop
                    // Resumed from a thread that is no event loop, as the writer resumes a command.
                    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                        Thread { continuation.resume() }.start()
                    }
                    let afterResumption = loop.inEventLoop
                    return [atStart, await inChild, afterResumption, !other.inEventLoop]
                }
            }
            var all: [[Bool]] = []
            for await observation in tasks { all.append(observation) }
            return all
        }
        #expect(observations.count == 8)
        #expect(observations.allSatisfy { $0 == [true, true, true, true] }, "\(observations)")
        try await group.shutdownGracefully()
    }

    @Test func tasksWithoutThePreferenceDoNotRunOnTheLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let onLoop = await Task.detached { loop.inEventLoop }.value
        #expect(!onLoop, "the cooperative pool is not the loop: the preference is what moves tasks there")
        try await group.shutdownGracefully()
    }
}
