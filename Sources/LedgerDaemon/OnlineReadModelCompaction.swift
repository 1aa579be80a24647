// ContactLedger — daemon wiring.
import Foundation
import LedgerStore
import Logging
import NIOPosix
import Projections

/// Compacts the read models while the daemon runs, once a rebuild has freed a generation of them.
///
/// The free pages a rebuild leaves are walked by every later writer, which dirties them all within
/// seconds; the kernel then writes them back at once and the log's syncs wait behind that (see
/// ``RebuildableCompaction``). The part is compacted when it is opened, and now also here, in three steps:
///
/// 1. a compacted copy of the part is made while reads and writes go on (``Environment/copyRebuildablePart()``);
/// 2. the copy replays what was logged since it began (read models and stream index), off the writer;
/// 3. between two writer batches, the copy replays the last few events and takes the part's place.
///
/// Writers wait only for step 3.
struct OnlineReadModelCompaction {
    /// Events replayed per transaction while the copy catches up.
    static let catchUpChunk = 4_096
    /// Catch-up passes outside the writer before the swap takes what is left: writers outpace the
    /// replay only briefly, but the loop must end.
    static let maximumCatchUpPasses = 64

    let ledger: Ledger
    let logger: Logger

    /// What a compaction did.
    struct Outcome: Sendable {
        var bytesBefore: Int
        var bytesAfter: Int
        var copyMilliseconds: Int
        var totalMilliseconds: Int
        /// How long the writer was held for the swap.
        var writerPauseMilliseconds: Double
    }

    /// Compacts the read models if their free pages are a large share of their file; returns what it
    /// did, or nil when they were left as they were.
    func compactIfSparse() async throws -> Outcome? {
        let stores = self.ledger.stores
        let environment = stores.environment
        guard try await Self.onPool({ try environment.rebuildablePartIsSparse() }) else { return nil }
        let started = DispatchTime.now().uptimeNanoseconds
        guard let copy = try await Self.onPool({ try environment.copyRebuildablePart() }) else { return nil }
        try await Self.onPool {
            for _ in 0..<Self.maximumCatchUpPasses {
                if try copy.write({ try Self.bringUpToDate(stores, limit: Self.catchUpChunk, in: $0) }) { return }
            }
        }
        let pause = try await self.ledger.betweenBatches {
            let began = DispatchTime.now().uptimeNanoseconds
            try environment.replaceRebuildablePart(with: copy) { txn in
                while !(try Self.bringUpToDate(stores, limit: Self.catchUpChunk, in: txn)) {}
            }
            return DispatchTime.now().uptimeNanoseconds - began
        }
        let outcome = Outcome(
            bytesBefore: copy.bytesBefore, bytesAfter: copy.bytesCopied, copyMilliseconds: copy.copyMilliseconds,
            totalMilliseconds: Int((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000),
            writerPauseMilliseconds: Double(pause / 10_000) / 100
        )
        self.logger.notice(
            "read models compacted online",
            metadata: [
                "bytes_before": "\(outcome.bytesBefore)", "bytes_after": "\(outcome.bytesAfter)",
                "copy_ms": "\(outcome.copyMilliseconds)", "elapsed_ms": "\(outcome.totalMilliseconds)",
                "writer_pause_ms": "\(outcome.writerPauseMilliseconds)",
            ]
        )
        return outcome
    }

    /// Replays up to `limit` logged events into the answering read models and the stream index of
    /// `txn`'s rebuildable part; returns whether both reached the log's head.
    private static func bringUpToDate(_ stores: LedgerStores, limit: Int, in txn: Transaction) throws -> Bool {
        let (_, readModelsAtHead) = try stores.projector(txn).catchUp(log: stores.log, limit: limit, in: txn)
        let indexAtHead = try stores.log.catchUpStreamIndex(limit: limit, in: txn)
        return readModelsAtHead && indexAtHead
    }

    /// Runs blocking work (LMDB, files) on NIO's thread pool.
    private static func onPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }
}
