// ContactLedger — storage tests.
import Foundation
import LedgerStore
import Synchronization
import Testing

/// An environment whose durable commits end with a sync on a thread of their own
/// (`pipelinesDurableSync`): each write is acknowledged after its sync, in commit order, and no reader
/// sees a write before it was acknowledged.
struct PipelinedDurableSyncTests {
    final class Directory {
        let path = NSTemporaryDirectory() + "clsync-\(UUID().uuidString)"
        init() throws { try FileManager.default.createDirectory(atPath: self.path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: self.path) }
    }

    private static let key = Array("counter".utf8)

    private func open(_ directory: Directory) throws -> (Environment, durable: Table, rebuildable: Table) {
        let environment = try Environment(
            directory: directory.path,
            configuration: .init(initialMapSize: 16 << 20, pipelinesDurableSync: true),
            rebuildableSubdirectory: "derived"
        )
        let durable = try #require(try environment.openTables(["facts"])["facts"])
        let rebuildable = try #require(try environment.openTables(["views"], durability: .rebuildable)["views"])
        return (environment, durable, rebuildable)
    }

    /// Writes `value` to both parts; `acknowledged` runs once it is synced.
    private func write(
        _ value: UInt64, _ environment: Environment, _ durable: Table, _ rebuildable: Table,
        acknowledged: @escaping @Sendable (LMDBError?) -> Void
    ) throws {
        let (_, failure) = try environment.writeReportingRebuildableFailure({ txn throws in
            try txn.put(durable, key: Self.key, value: BigEndian.bytes(value))
            try txn.put(rebuildable, key: Self.key, value: BigEndian.bytes(value))
        }, whenDurable: { _ in acknowledged })
        #expect(failure == nil)
    }

    @Test func acknowledgementsRunOnTheSyncThreadInCommitOrder() throws {
        let directory = try Directory()
        let (environment, durable, rebuildable) = try self.open(directory)
        let acknowledged = Mutex<[UInt64]>([])
        let onWritersThread = Atomic(0)
        let writer = pthread_self()
        for value in UInt64(1)...200 {
            try self.write(value, environment, durable, rebuildable) { error in
                #expect(error == nil)
                if pthread_equal(pthread_self(), writer) != 0 { onWritersThread.add(1, ordering: .relaxed) }
                acknowledged.withLock { $0.append(value) }
            }
        }
        environment.waitForDurableAcknowledgements()
        #expect(acknowledged.withLock { $0 } == Array(1...200))
        #expect(onWritersThread.load(ordering: .relaxed) == 0)
        try environment.read { txn throws in
            #expect(try txn.get(durable, key: Self.key).flatMap { BigEndian.uint64($0) } == 200)
            #expect(try txn.get(rebuildable, key: Self.key).flatMap { BigEndian.uint64($0) } == 200)
        }
    }

    /// Readers on other threads, reading while the writes go on, never see a value whose write was not
    /// acknowledged yet: a write is hidden until its sync is done.
    @Test func readersSeeNoWriteBeforeItsAcknowledgement() async throws {
        let directory = try Directory()
        let (environment, durable, rebuildable) = try self.open(directory)
        final class Progress: Sendable {
            let acknowledged = Atomic<UInt64>(0)
            let writing = Atomic(true)
        }
        let progress = Progress()
        let readers = (0..<3).map { _ in
            Task.detached { () throws -> (reads: Int, ahead: Int) in
                var reads = 0
                var ahead = 0
                while progress.writing.load(ordering: .acquiring) || reads == 0 {
                    let seen = try environment.read { txn throws in
                        try txn.get(durable, key: Self.key).flatMap { BigEndian.uint64($0) } ?? 0
                    }
                    if seen > progress.acknowledged.load(ordering: .acquiring) { ahead += 1 }
                    reads += 1
                }
                return (reads, ahead)
            }
        }
        for value in UInt64(1)...300 {
            try self.write(value, environment, durable, rebuildable) { error in
                #expect(error == nil)
                progress.acknowledged.store(value, ordering: .releasing)
            }
        }
        environment.waitForDurableAcknowledgements()
        progress.writing.store(false, ordering: .releasing)
        for reader in readers {
            let (reads, ahead) = try await reader.value
            #expect(reads > 0)
            #expect(ahead == 0)
        }
    }

    /// A write without an acknowledgement is synced before it returns; everything acknowledged is
    /// there after the environment is closed and opened again.
    @Test func everyWriteIsThereAfterReopening() throws {
        let directory = try Directory()
        do {
            let (environment, durable, rebuildable) = try self.open(directory)
            for value in UInt64(1)...50 {
                try self.write(value, environment, durable, rebuildable) { _ in }
            }
            try environment.write { txn throws in try txn.put(durable, key: Array("plain".utf8), value: [9]) }
            try environment.read { txn throws in #expect(try txn.get(durable, key: Array("plain".utf8)) == [9]) }
        }
        let (environment, durable, rebuildable) = try self.open(directory)
        try environment.read { txn throws in
            #expect(try txn.get(durable, key: Self.key).flatMap { BigEndian.uint64($0) } == 50)
            #expect(try txn.get(rebuildable, key: Self.key).flatMap { BigEndian.uint64($0) } == 50)
            #expect(try txn.get(durable, key: Array("plain".utf8)) == [9])
        }
    }
}
