// ContactLedger — JSON-RPC layer tests.
#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
@testable import RPC
import Synchronization
import Testing

/// The server's connections run in ``ConnectionShards`` and drain through one ``DrainRegistry``, not
/// as the children of one task group with one graceful-shutdown handler each: both kept their members in
/// lists searched linearly, and 18,000 connections closing at once stalled every other client for
/// seconds. These check what the server relies on; the daemon tests check the drain end to end.
struct ConnectionShardsTests {
    /// Counts from any task.
    final class Counter: Sendable {
        let value = Atomic<Int>(0)
        func add() { self.value.add(1, ordering: .relaxed) }
        var count: Int { self.value.load(ordering: .relaxed) }
    }

    @Test func shardsRunEveryConnectionOnItsExecutorAndEndAfterThem() async throws {
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = loops.next()
        let ran = Counter()
        let onLoop = Counter()
        // More connections than shards, so every shard runs several at once.
        let connections = ConnectionShards.count * 3 + 5
        try await withThrowingDiscardingTaskGroup { group in
            let shards = ConnectionShards(in: &group)
            for index in 0..<connections {
                let onItsLoop = index.isMultiple(of: 2)
                shards.run(executorPreference: onItsLoop ? EventLoopTaskExecutor(loop) : nil) {
                    if onItsLoop, loop.inEventLoop { onLoop.add() }
                    try? await Task.sleep(for: .milliseconds(20))
                    ran.add()
                }
            }
            shards.finish()
        }
        // The group ended only once every connection's task had.
        #expect(ran.count == connections)
        #expect(onLoop.count == (connections + 1) / 2)
        try await loops.shutdownGracefully()
    }

    /// Once its group is cancelled (a service of the daemon failed, and the others are cancelled), a
    /// shard takes no more work and says so, so the server closes the connection itself: dropped with the
    /// work, it made NIO trap (about 1 start in 300 with the metrics port taken).
    @Test func shardsOfACancelledGroupRefuseWork() async throws {
        let ran = Counter()
        let refused = Counter()
        try await withThrowingDiscardingTaskGroup { group in
            let shards = ConnectionShards(in: &group)
            group.cancelAll()
            // The shards' loops end on the cancellation; give them the moment it takes.
            try? await Task.sleep(for: .milliseconds(100))
            for _ in 0..<(ConnectionShards.count * 2) where !shards.run(executorPreference: nil, { ran.add() }) {
                refused.add()
            }
            shards.finish()
        }
        #expect(refused.count == ConnectionShards.count * 2)
        #expect(ran.count == 0)
    }

    /// Work handed to the shards just before their group is cancelled still runs (cancelled): a
    /// connection's work run closes its channel, where dropped with the shards' streams it left the
    /// channel unserved, which traps in NIO.
    @Test func workHandedOverBeforeACancellationStillRuns() async throws {
        let ran = Counter()
        let works = ConnectionShards.count * 4
        try await withThrowingDiscardingTaskGroup { group in
            let shards = ConnectionShards(in: &group)
            for _ in 0..<works { #expect(shards.run(executorPreference: nil) { ran.add() }) }
            group.cancelAll()
            shards.finish()
        }
        #expect(ran.count == works)
    }

    @Test func drainsBeginTogetherAtShutdownAndLateOnesAtOnce() async throws {
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        var peers: [Int32] = []
        var channels: [any Channel] = []
        for _ in 0..<3 {
            var pair: [Int32] = [0, 0]
            #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
            channels.append(try await ClientBootstrap(group: loops).withConnectedSocket(pair[0]).get())
            peers.append(pair[1])
        }
        let (first, second, third) = (channels[0], channels[1], channels[2])
        let registry = DrainRegistry()
        let ended = ShutdownDrain()
        let open = ShutdownDrain()
        let late = ShutdownDrain()
        // A connection that ended before the shutdown is no longer registered.
        await registry.whileRegistered(1, drain: ended, channel: first) {}
        let (entered, enter) = AsyncStream.makeStream(of: Void.self)
        let (released, release) = AsyncStream.makeStream(of: Void.self)
        let held = Task {
            await registry.whileRegistered(2, drain: open, channel: second) {
                enter.yield()
                for await _ in released { break }
            }
        }
        for await _ in entered { break }
        #expect(!open.isDraining)
        registry.beginAll()
        #expect(open.isDraining)
        #expect(!ended.isDraining)
        // A connection registered once the shutdown began drains from the start.
        let drainingAtOnce = await registry.whileRegistered(3, drain: late, channel: third) { late.isDraining }
        #expect(drainingAtOnce)
        release.yield()
        await held.value
        for channel in channels { try? await channel.close() }
        for peer in peers { close(peer) }
        try await loops.shutdownGracefully()
    }
}
