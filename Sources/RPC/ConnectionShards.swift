// ContactLedger — JSON-RPC layer.
import Synchronization

/// Runs each connection's task as a child of one of a fixed number of task groups, not all of them in
/// one group.
///
/// The Swift runtime keeps a task group's children in a singly linked list: adding a child walks to the
/// end of the list, and removing a finished child walks to it. With n connections open, each connect and
/// each close cost O(n) on the event loop that runs it, and a storm of them O(n²). In an audit, one user's
/// 18,000 idle connections closing at once held both event loops, and every other client, for 2.4 s in a
/// release build (16 s in a debug one): `swift::TaskGroup::removeChildTask` was half of the daemon's time.
/// Spread round-robin over ``count`` groups, each list is that many times shorter.
///
/// The shards are tasks of the caller's group: they end, once ``finish()`` is called, after the
/// connections they run have ended; cancelling the caller's group cancels them and their connections.
final class ConnectionShards: Sendable {
    /// Groups to spread connections over: 20,000 connections (the daemon's open-file limit) make about
    /// 40 children a group. Each step of a walk is a cache miss on another task: with 64 groups (about
    /// 300 children each) the walks were still a fifth of the daemon's time in a storm of closes. An idle
    /// group costs a suspended task and an empty stream.
    static let count = 512

    private typealias Work = (executor: (any TaskExecutor)?, body: @Sendable () async -> Void)

    private let inputs: [AsyncStream<Work>.Continuation]
    private let next = Atomic<UInt>(0)

    /// Starts the shards as tasks of `group`.
    init(in group: inout ThrowingDiscardingTaskGroup<any Error>) {
        var inputs: [AsyncStream<Work>.Continuation] = []
        for _ in 0..<Self.count {
            let (works, input) = AsyncStream.makeStream(of: Work.self)
            inputs.append(input)
            group.addTask {
                await withDiscardingTaskGroup { shard in
                    for await work in works {
                        shard.addTask(executorPreference: work.executor) { await work.body() }
                    }
                }
            }
        }
        self.inputs = inputs
    }

    /// Runs `body` as a child task of the next shard, on `executor` when one is given; false when the
    /// shard has ended (its group cancelled) and `body` will not run: the caller must then end what it
    /// would have (a connection dropped unserved traps in NIO).
    @discardableResult
    func run(executorPreference executor: (any TaskExecutor)?, _ body: @escaping @Sendable () async -> Void) -> Bool {
        let index = Int(self.next.wrappingAdd(1, ordering: .relaxed).oldValue % UInt(Self.count))
        if case .enqueued = self.inputs[index].yield((executor, body)) { return true }
        return false
    }

    /// Takes no more work: each shard ends once the tasks it runs have ended.
    func finish() {
        for input in self.inputs { input.finish() }
    }
}
