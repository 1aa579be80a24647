// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import LedgerStore
import Logging
import Projections
import ServiceLifecycle
import Synchronization

/// Rebuilds the read models online: a fresh generation of tables is built from the log in small
/// chunks, each one an ordinary command of the single writer (so writers wait at most one chunk),
/// while the current generation keeps answering; when the new one reaches the head it is swapped in,
/// in the same write transaction, and the old one dropped.
///
/// The rebuild's own checkpoint is stored with the tables it builds, so a crash or SIGTERM mid-way
/// resumes on the next start. A rebuild starts by itself when the stored read models were written by
/// another read-model version, or by hand with `projections.rebuild`.
final class ProjectionRebuilder: Service, Sendable {
    /// What `projections.status` reports of the rebuild.
    struct Progress: Sendable {
        var isRebuilding = false
        var target: Int?
        var startedAt: Date?
        var startPosition: UInt64 = 0
        var position: UInt64 = 0
        var head: UInt64 = 0
        var eventsPerSecond: Double = 0
        var lastCompletedAt: Date?
    }

    /// Events per rebuild command: small enough that writers queued behind a chunk wait tens of
    /// milliseconds, not hundreds.
    static let chunkSize = 250
    private static let targetKey = Array("rebuild_target".utf8)

    private let ledger: Ledger
    private let stores: LedgerStores
    private let logger: Logger
    private let progress = Mutex(Progress())
    private let requests: AsyncStream<Void>
    private let requestSink: AsyncStream<Void>.Continuation

    init(ledger: Ledger, logger: Logger) {
        self.ledger = ledger
        self.stores = ledger.stores
        self.logger = logger
        (self.requests, self.requestSink) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// The current progress figures.
    var status: Progress { self.progress.withLock { $0 } }

    /// Asks for a rebuild; returns false when one is already running.
    func requestRebuild() -> Bool {
        let accepted = self.progress.withLock { progress -> Bool in
            guard !progress.isRebuilding else { return false }
            progress.isRebuilding = true
            return true
        }
        if accepted { self.requestSink.yield() }
        return accepted
    }

    /// Whether the stored read models need rebuilding at start: a rebuild was interrupted, or the
    /// answering generation was written by another read-model version.
    func isRebuildNeededAtStart() throws -> Bool {
        try self.stores.environment.read { txn in
            if try txn.get(self.stores.meta, key: Self.targetKey) != nil { return true }
            let state = try self.stores.projector(txn).state(in: txn)
            return state.map { $0.version != Projector.version } ?? false
        }
    }

    func run() async throws {
        if try self.isRebuildNeededAtStart() { _ = self.requestRebuild() }
        for await _ in self.requests.cancelOnGracefulShutdown() {
            do {
                try await self.rebuild()
            } catch is CancellationError {
                break
            } catch {
                self.logger.error("projection rebuild failed", metadata: ["projection.name": "\(Projector.name)", "error.type": "\(String(reflecting: type(of: error)))"])
                self.progress.withLock { $0.isRebuilding = false }
            }
        }
    }

    private func command(_ body: @escaping @Sendable (Transaction) throws -> (UInt64, UInt64, Bool)) async throws -> (UInt64, UInt64, Bool) {
        let context = CommandContext(workspace: "", actor: nil, peer: nil, idempotencyKey: nil, paramsHash: [])
        let bytes = try await self.ledger.execute(context) { tx in
            let (position, head, done) = try body(tx.txn)
            return BigEndian.bytes(position) + BigEndian.bytes(head) + [done ? 1 : 0]
        }
        return (BigEndian.uint64(bytes) ?? 0, BigEndian.uint64(bytes, at: 8) ?? 0, bytes.last == 1)
    }

    private func rebuild() async throws {
        let stores = self.stores
        // Pick (or resume) the target generation: the one not answering.
        let (start, head, _) = try await self.command { txn in
            let active = try stores.activeGeneration(txn)
            let target = active == 0 ? 1 : 0
            let projector = stores.projectors[target]
            let resuming = try txn.get(stores.meta, key: Self.targetKey).flatMap { BigEndian.uint64($0) } == UInt64(target)
                && (try projector.state(in: txn))?.version == Projector.version
            if !resuming {
                try projector.reset(in: txn)
                try txn.put(stores.meta, key: Self.targetKey, value: BigEndian.bytes(UInt64(target)))
            }
            return (try projector.state(in: txn)?.position ?? 0, try stores.log.head(in: txn).seq, false)
        }
        let startedAt = Date()
        self.progress.withLock {
            $0.isRebuilding = true
            $0.startedAt = startedAt
            $0.startPosition = start
            $0.position = start
            $0.head = head
            $0.eventsPerSecond = 0
        }
        self.logger.notice("projection rebuild started", metadata: ["projection.name": "\(Projector.name)", "ledger.seq": "\(start)"])
        while true {
            try Task.checkCancellation()
            let (position, head, done) = try await self.command { txn in
                guard let target = try txn.get(stores.meta, key: Self.targetKey).flatMap({ BigEndian.uint64($0) }) else {
                    return (0, 0, true)
                }
                let projector = stores.projectors[Int(target) % stores.projectors.count]
                let (position, reachedHead) = try projector.catchUp(log: stores.log, limit: Self.chunkSize, in: txn)
                let head = try stores.log.head(in: txn).seq
                if reachedHead {
                    // Swap atomically: every later read or command uses the new generation.
                    let old = try stores.activeGeneration(txn)
                    try stores.setActiveGeneration(projector.generation, in: txn)
                    try stores.projectors[old].drop(in: txn)
                    try txn.delete(stores.meta, key: Self.targetKey)
                }
                return (position, head, reachedHead)
            }
            let elapsed = max(Date().timeIntervalSince(startedAt), 0.001)
            self.progress.withLock {
                $0.position = position
                $0.head = head
                $0.eventsPerSecond = Double(position - $0.startPosition) / elapsed
                if done {
                    $0.isRebuilding = false
                    $0.lastCompletedAt = Date()
                }
            }
            if done { break }
            await Task.yield()
        }
        self.logger.notice("projection rebuild complete", metadata: ["projection.name": "\(Projector.name)"])
    }
}
