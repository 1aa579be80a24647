// ContactLedger — daemon wiring.
import Foundation
import LedgerStore
import Logging
import NIOPosix
import Projections
import Synchronization

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

    /// Compacts the read models if their free pages are a large share of their file; returns whether it
    /// did.
    @discardableResult
    func compactIfSparse() async throws -> Bool {
        let stores = self.ledger.stores
        let environment = stores.environment
        // Blocking LMDB and file work runs on NIO's thread pool; only the swap runs on the writer.
        guard try await NIOThreadPool.singleton.runIfActive({ try environment.rebuildablePartIsSparse() }) else { return false }
        let started = DispatchTime.now().uptimeNanoseconds
        // Erasures are noted from a writer turn before the copy's snapshot (a command under way then has
        // committed before it), and redone in the copy at the swap (``CompactionErasures``).
        try await self.ledger.betweenBatches { stores.compactionErasures.begin() }
        defer { _ = stores.compactionErasures.end() }
        guard let copy = try await NIOThreadPool.singleton.runIfActive({ try environment.copyRebuildablePart() }) else { return false }
        let caughtUp = try await NIOThreadPool.singleton.runIfActive {
            var events: UInt64 = 0
            for _ in 0..<Self.maximumCatchUpPasses {
                let (replayed, atHead) = try copy.write { try Self.bringUpToDate(stores, limit: Self.catchUpChunk, in: $0) }
                events += replayed
                if atHead { break }
            }
            return events
        }
        let swap = try await self.ledger.betweenBatches {
            let began = DispatchTime.now().uptimeNanoseconds
            var last = (events: UInt64(0), nanoseconds: UInt64(0))
            let verifying = try environment.read { try ProjectionRebuilder.verificationIsUnderWay(stores, in: $0) }
            try environment.replaceRebuildablePart(with: copy) { txn in
                // Before the erasures are redone: a verification under way records them.
                try ProjectionRebuilder.carryVerificationMark(underWay: verifying, stores, in: txn)
                let catchUpBegan = DispatchTime.now().uptimeNanoseconds
                while true {
                    let (replayed, atHead) = try Self.bringUpToDate(stores, limit: Self.catchUpChunk, in: txn)
                    last.events += replayed
                    if atHead { break }
                }
                try Self.redo(stores.compactionErasures.end(), stores, in: txn)
                last.nanoseconds = DispatchTime.now().uptimeNanoseconds - catchUpBegan
            }
            return (pause: DispatchTime.now().uptimeNanoseconds - began, last: last)
        }
        self.logger.notice(
            "read models compacted online",
            metadata: [
                "bytes_before": "\(copy.bytesBefore)", "bytes_after": "\(copy.bytesCopied)", "copy_ms": "\(copy.copyMilliseconds)",
                "elapsed_ms": "\((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)", "catch_up.events": "\(caughtUp)",
                "writer_pause_ms": "\(Self.milliseconds(swap.pause))", "writer_catch_up.events": "\(swap.last.events)",
                "writer_catch_up_ms": "\(Self.milliseconds(swap.last.nanoseconds))",
            ]
        )
        return true
    }

    /// Milliseconds to a hundredth, for the log line.
    private static func milliseconds(_ nanoseconds: UInt64) -> Double {
        Double(nanoseconds / 10_000) / 100
    }

    /// Does to the copy what the deletions since it was made did to the part beside the log: drops the
    /// field entries of the payloads they erased, and records them for a verification under way
    /// (``ProjectionRebuilder/recordErasedFieldEntry(workspace:key:seq:stores:in:)``). An entry noted by a
    /// command that did not commit (its payload is still in the log) stays.
    private static func redo(_ erased: [CompactionErasures.Entry], _ stores: LedgerStores, in txn: Transaction) throws {
        for entry in erased {
            guard let record = try stores.log.record(at: entry.seq, in: txn), record.payload == nil else { continue }
            try stores.projector(txn).audit.removeFieldEntry(workspace: entry.workspace, key: entry.key, seq: entry.seq, in: txn)
            try ProjectionRebuilder.recordErasedFieldEntry(workspace: entry.workspace, key: entry.key, seq: entry.seq, stores: stores, in: txn)
        }
    }

    /// Replays up to `limit` logged events into the answering read models and the stream index of
    /// `txn`'s rebuildable part; returns how many events the read models took and whether both reached
    /// the log's head.
    private static func bringUpToDate(_ stores: LedgerStores, limit: Int, in txn: Transaction) throws -> (events: UInt64, atHead: Bool) {
        let projector = try stores.projector(txn)
        let from = try projector.state(in: txn)?.position ?? 0
        let (position, readModelsAtHead) = try projector.catchUp(log: stores.log, limit: limit, in: txn)
        let indexAtHead = try stores.log.catchUpStreamIndex(limit: limit, in: txn)
        return (position - min(from, position), readModelsAtHead && indexAtHead)
    }
}

/// The audit field entries whose payloads contacts' deletions erase while an online compaction makes its
/// copy of the read models and brings it up to date. The copy replays the log, and an erasure is no
/// event of it: the live index dropped the entry (``PersonalDataErasure``), the copy kept it, and once
/// swapped in it answered `audit.changes` with the erased changes, which `projections.verify` found
/// for good (a black-box audit's `rm.audit` differences after a rebuild under deletions).
final class CompactionErasures: Sendable {
    /// An erased payload's field entry.
    struct Entry: Sendable {
        var seq: UInt64
        var workspace: String
        var key: String
    }

    /// The entries noted since ``begin()``; nil while no compaction is under way.
    private let noted = Mutex<[Entry]?>(nil)

    /// Notes erasures from now on: call it from the writer's thread, between batches.
    func begin() {
        self.noted.withLock { $0 = [] }
    }

    /// Notes an erasure, while a compaction is under way.
    func note(_ entry: Entry) {
        self.noted.withLock { $0?.append(entry) }
    }

    /// Stops noting erasures; returns those noted.
    func end() -> [Entry] {
        self.noted.withLock { noted in
            defer { noted = nil }
            return noted ?? []
        }
    }
}
