// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import LedgerStore
import Logging
import Projections
import ServiceLifecycle
import Synchronization

/// Evaluates a smart group's query over every contact of its workspace in the background, after the
/// group is created, its query changes or the workspace's settings change: chunks of contacts (at most
/// ``chunkSize``, or what ``chunkNanoseconds`` allows), each chunk one ordinary command of the single
/// writer, so writers are never held up for more than a few milliseconds. Meanwhile the group is
/// `evaluating`; then `ready`.
///
/// Contacts changed while the group evaluates are kept right by the normal path (every modification
/// re-evaluates smart groups), and each chunk re-reads the contacts it evaluates in its own
/// transaction, so nothing is missed. The position is stored, so a restart resumes the evaluation.
///
/// The end of an evaluation is in the log (`group_evaluated`), so a read replica knows it too: a replica
/// records what its primary's events schedule and end (``record(_:workspace:smartGroups:by:in:)``), shows
/// the same `evaluating` status, and evaluates nothing itself; promoted, it finishes the evaluations its
/// primary left unfinished.
///
/// Its events are the daemon's own, so they go through ``OwnWritesGate``: on a node that publishes, none
/// is appended before its publisher has found the stream holding this log's history (a replica promoted
/// while behind wrote at a seq the stream already held, and could no longer follow it), and the
/// evaluations wait meanwhile.
final class GroupPopulator: Service, Sendable {
    /// One group to evaluate.
    struct Job: Sendable, Hashable {
        var workspace: String
        var group: GroupUUID
    }

    /// Who caused an evaluation: its events carry the actor and peer of the command that scheduled it.
    private struct Cause: Codable {
        var actor: String?
        var peer: Peer?
    }

    static let chunkSize = 500
    /// How long one chunk may evaluate: the commands behind it in the writer wait for it.
    static let chunkNanoseconds: UInt64 = 5_000_000
    private static let keyPrefix = Array("populate/".utf8)
    private static let causeKeyPrefix = Array("populate-cause/".utf8)
    /// The ``SmartGroups/matchingRulesVersion`` the memberships were last evaluated under (none: 0).
    private static let matchingRulesKey = Array("populate-matching-rules".utf8)

    private let ledger: Ledger
    private let logger: Logger
    /// False on a read replica: it records evaluations but runs none (its log is its primary's).
    private let evaluates: Bool
    /// Whether the events of its evaluations and marks may be appended now.
    private let mayWrite: OwnWritesGate
    private let evaluating = Mutex<Set<Job>>([])
    private let requests: AsyncStream<Job>
    private let requestSink: AsyncStream<Job>.Continuation

    init(ledger: Ledger, logger: Logger, evaluates: Bool = true, mayWrite: OwnWritesGate = OwnWritesGate(isOpen: true)) {
        self.ledger = ledger
        self.logger = logger
        self.evaluates = evaluates
        self.mayWrite = mayWrite
        (self.requests, self.requestSink) = AsyncStream.makeStream(of: Job.self)
    }

    /// Whether the group is still being evaluated.
    func isEvaluating(_ group: GroupUUID, workspace: String) -> Bool {
        self.evaluating.withLock { $0.contains(Job(workspace: workspace, group: group)) }
    }

    /// Whether `job`'s evaluation is scheduled and unfinished as of `txn`.
    func isScheduled(_ job: Job, in txn: Transaction) throws -> Bool {
        try txn.get(self.ledger.stores.meta, key: Self.key(job)) != nil
    }

    private static func key(_ job: Job) -> [UInt8] {
        Self.keyPrefix + Array("\(job.workspace)\u{0}\(job.group.rawValue)".utf8)
    }

    private static func causeKey(_ job: Job) -> [UInt8] {
        Self.causeKeyPrefix + Array("\(job.workspace)\u{0}\(job.group.rawValue)".utf8)
    }

    /// Records, in the transaction that appended `events` to `workspace`'s stream (or copied them from
    /// the primary's log), what they do to its smart groups' evaluations; returns the evaluations they
    /// schedule.
    ///
    /// A smart group created, a query changed, or the workspace's settings changed (a query means
    /// something else under another time zone or anonymity: `smartGroups` names every smart group then)
    /// schedule an evaluation from the start, recording who asked (the membership changes it makes are
    /// that actor's and peer's, as an import's are); the evaluation starts once that command is durable
    /// (``start(_:)``). A group evaluated or deleted ends its own.
    @discardableResult
    func record(
        _ events: [LedgerEvent],
        workspace: String,
        smartGroups: () throws -> [GroupUUID],
        by command: CommandContext,
        in txn: Transaction
    ) throws -> [Job] {
        let meta = self.ledger.stores.meta
        var scheduled: [Job] = []
        for event in events {
            let groups: [GroupUUID]
            switch event {
            case .groupCreated(let created) where created.query != nil: groups = [created.uuid]
            case .groupUpdated(let update) where update.query != nil: groups = [update.uuid]
            case .workspaceConfigured: groups = try smartGroups()
            case .groupEvaluated(let uuid), .groupDeleted(let uuid):
                let job = Job(workspace: workspace, group: uuid)
                try txn.delete(meta, key: Self.key(job))
                try txn.delete(meta, key: Self.causeKey(job))
                scheduled.removeAll { $0 == job }
                continue
            default: continue
            }
            let cause = Array(try JSONEncoder().encode(Cause(actor: command.actor, peer: command.peer)))
            for group in groups {
                let job = Job(workspace: workspace, group: group)
                try txn.put(meta, key: Self.key(job), value: [])
                try txn.put(meta, key: Self.causeKey(job), value: cause)
                if !scheduled.contains(job) { scheduled.append(job) }
            }
        }
        return scheduled
    }

    /// Starts evaluating a scheduled group (once the command that scheduled it is durable).
    func start(_ job: Job) {
        guard self.evaluates else { return }
        self.evaluating.withLock { _ = $0.insert(job) }
        self.requestSink.yield(job)
    }

    /// Starts evaluating a scheduled group unless an evaluation of it runs already: that one reads the
    /// position again at each chunk, so it starts over from what the schedule reset.
    func startUnlessRunning(_ job: Job) {
        guard self.evaluates else { return }
        let started = self.evaluating.withLock { $0.insert(job).inserted }
        if started { self.requestSink.yield(job) }
    }

    func run() async throws {
        guard self.evaluates else {
            // A replica's scheduled evaluations are its primary's: kept for a promotion, never run here.
            try? await gracefulShutdown()
            return
        }
        guard await self.writeAtStart() else { return }
        // Resume evaluations a restart interrupted (and start those just scheduled).
        let stores = self.ledger.stores
        let pending: [Job] = try stores.environment.read { txn in
            var jobs: [Job] = []
            try txn.withCursor(stores.meta) { cursor in
                try cursor.forEach(from: Self.keyPrefix) { entry in
                    guard entry.key.hasPrefix(Self.keyPrefix) else { return false }
                    let parts = Array(entry.key.dropFirst(Self.keyPrefix.count)).split(separator: 0, maxSplits: 1)
                    if parts.count == 2, let uuid = GroupUUID(String(decoding: parts[1], as: UTF8.self)) {
                        jobs.append(Job(workspace: String(decoding: parts[0], as: UTF8.self), group: uuid))
                    }
                    return true
                }
            }
            return jobs
        }
        for job in pending {
            self.evaluating.withLock { _ = $0.insert(job) }
            self.requestSink.yield(job)
        }
        await withDiscardingTaskGroup { group in
            for await job in self.requests.cancelOnGracefulShutdown() {
                group.addTask { await self.evaluate(job) }
            }
        }
    }

    /// Marks the evaluations ended before their event and schedules those new matching rules ask for, once
    /// the daemon may write its own events; again if the gate closed in between (both are done once: what
    /// is done is stored). Returns false if the daemon stopped first.
    ///
    /// A promoted replica (which never stores the matching rules its primary ran) schedules every smart
    /// group here: its primary may have run older rules, so the memberships it copied are evaluated again.
    private func writeAtStart() async -> Bool {
        while await self.waitUntilMayWrite() {
            // Each is tried again at the next start if it fails: what it did is stored with it, or nothing.
            guard
                await self.writeAtStart("earlier smart group evaluations not marked in the log", self.markEvaluationsEndedBeforeTheirEvent),
                await self.writeAtStart("smart groups not scheduled after a change of matching rules", self.scheduleEvaluationsAfterTheMatchingRulesChanged)
            else { continue }
            return true
        }
        return false
    }

    /// Runs one of the start-up writes; false if the gate closed under it (nothing written). Its other
    /// failures (a full disk, a full map) are not worth a start refused: logged, and true.
    private func writeAtStart(_ warning: Logger.Message, _ write: () async throws -> Void) async -> Bool {
        do {
            try await write()
        } catch is OwnWritesGate.Closed {
            return false
        } catch {
            self.logger.warning(warning, metadata: ["error.type": "\(type(of: error))"])
        }
        return true
    }

    /// Waits until the daemon may append events of its own; false if it stopped first.
    private func waitUntilMayWrite() async -> Bool {
        if self.mayWrite.isOpen { return true }
        do {
            try await cancelWhenGracefulShutdown { try await self.mayWrite.waitUntilOpen() }
            return true
        } catch {
            return false
        }
    }

    private func evaluate(_ job: Job) async {
        let stores = self.ledger.stores
        let reference = self.ledger.reference
        let key = Self.key(job)
        let causeKey = Self.causeKey(job)
        // Evaluations scheduled before causes were kept have none: their events name nobody.
        let cause = (try? stores.environment.read { try $0.get(stores.meta, key: causeKey) })
            .flatMap { $0 }.flatMap { try? JSONDecoder().decode(Cause.self, from: Data($0)) }
        var context = CommandContext(workspace: job.workspace, actor: cause?.actor, peer: cause?.peer, idempotencyKey: nil, paramsHash: [])
        context.isBulk = true
        do {
            while !Task.isCancelled {
                let finished = try await self.ledger.execute(context) { tx in
                    // Read where it writes: the publisher may have closed the gate since the last chunk.
                    guard self.mayWrite.isOpen else { return [2] }
                    // The position is the last contact evaluated; none: the start; missing key: cancelled.
                    guard let stored = try tx.txn.get(stores.meta, key: key) else { return [1] }
                    let after = stored.isEmpty ? nil : ContactUUID(String(decoding: stored, as: UTF8.self))
                    let workspace = try tx.workspace()
                    guard let group = workspace.group(job.group), group.isSmart else {
                        try tx.txn.delete(stores.meta, key: key)
                        try tx.txn.delete(stores.meta, key: causeKey)
                        return [1]
                    }
                    let smartGroups = SmartGroups(workspace: workspace, reference: reference)
                    let membership = GroupReference(uuid: group.uuid, name: group.name)
                    var changes: [(ContactUUID, LedgerEvent)] = []
                    var last: ContactUUID?
                    var seen = 0
                    var isCut = false
                    let started = DispatchTime.now().uptimeNanoseconds
                    try stores.projector(tx.txn).contacts.forEachContact(workspace: job.workspace, after: after, in: tx.txn) { contact in
                        seen += 1
                        last = contact.uuid
                        isCut = seen == Self.chunkSize || DispatchTime.now().uptimeNanoseconds - started >= Self.chunkNanoseconds
                        guard !contact.isDeleted else { return !isCut }
                        let belongs = smartGroups.matching(contact).contains(group.uuid)
                        let member = contact.groups.contains(group.uuid)
                        if belongs && !member {
                            changes.append((contact.uuid, .contactGroupsChanged(ContactGroupsChanged(groupsAdded: [membership], groupsRemoved: nil))))
                        } else if !belongs && member {
                            changes.append((contact.uuid, .contactGroupsChanged(ContactGroupsChanged(groupsAdded: nil, groupsRemoved: [membership]))))
                        }
                        return !isCut
                    }
                    for (contact, event) in changes {
                        try tx.append([event], to: EventHeader.contactStream(contact))
                    }
                    if let last, isCut {
                        try tx.txn.put(stores.meta, key: key, value: Array(last.rawValue.utf8))
                        return [0]
                    }
                    // Done: the log says so (a replica learns it from there), which ends the schedule.
                    let done: [LedgerEvent] = [.groupEvaluated(uuid: group.uuid)]
                    try tx.append(done, to: EventHeader.workspaceStream(job.workspace))
                    try self.record(done, workspace: job.workspace, smartGroups: { [] }, by: tx.context, in: tx.txn)
                    return [1]
                }
                if finished == [1] { break }
                // Its position is kept: it goes on from there once the gate opens, or at the next start.
                if finished == [2], !(await self.waitUntilMayWrite()) {
                    self.logger.info("smart group evaluation stopped with the daemon", metadata: ["group.uuid": "\(job.group.rawValue)"])
                    break
                }
            }
        } catch let stopping as StorageUnavailable where stopping.reason == "shutting_down" {
            // Its position is stored: the next start goes on from there.
            self.logger.info("smart group evaluation stopped with the daemon", metadata: ["group.uuid": "\(job.group.rawValue)"])
        } catch {
            self.logger.error("smart group evaluation failed", metadata: ["group.uuid": "\(job.group.rawValue)"])
        }
        self.evaluating.withLock { _ = $0.remove(job) }
    }

    /// Memberships recorded under older matching rules (``SmartGroups/matchingRulesVersion``) may contradict
    /// their queries under today's: every smart group of every workspace is scheduled for an evaluation from
    /// the start, once, in the transaction that stores the new version (an evaluation running is reset to
    /// its start). The evaluations' events name no actor: the daemon's upgrade made them.
    private func scheduleEvaluationsAfterTheMatchingRulesChanged() async throws {
        let stores = self.ledger.stores
        let current = SmartGroups.matchingRulesVersion
        let stored = try stores.environment.read { txn in try txn.get(stores.meta, key: Self.matchingRulesKey).flatMap { BigEndian.uint64($0) } } ?? 0
        guard stored < current else { return }
        let scheduled = try await self.ledger.execute(.daemonRecord) { tx in
            // Evaluations it schedules would be this node's own events (a replica refused promotion that
            // goes back to following showed them evaluating): it schedules them once it may write.
            guard self.mayWrite.isOpen else { throw OwnWritesGate.Closed() }
            let workspaces = try stores.projector(tx.txn).workspaces
            var count: UInt64 = 0
            for name in try workspaces.names(in: tx.txn) {
                for group in try workspaces.workspace(name, in: tx.txn).groups where group.isSmart {
                    try tx.txn.put(stores.meta, key: Self.key(Job(workspace: name, group: group.uuid)), value: [])
                    count += 1
                }
            }
            try tx.txn.put(stores.meta, key: Self.matchingRulesKey, value: BigEndian.bytes(current))
            return BigEndian.bytes(count)
        }
        if let count = BigEndian.uint64(scheduled), count > 0 {
            self.logger.notice(
                "smart groups scheduled for evaluation under new matching rules",
                metadata: ["groups.scheduled": "\(count)", "rules.version": "\(current)", "rules.stored": "\(stored)"])
        }
    }

    /// Logs written before `group_evaluated` existed mark no evaluation's end: a replica following one
    /// would show those smart groups `evaluating` for good. So a workspace whose stream holds no
    /// `group_evaluated` gets one for each smart group not being evaluated, once (the mark is then in the
    /// log, for this node and its replicas).
    private func markEvaluationsEndedBeforeTheirEvent() async throws {
        let stores = self.ledger.stores
        let unmarked: [String] = try stores.environment.read { txn in
            let projector = try stores.projector(txn)
            return try projector.workspaces.names(in: txn).filter { name in
                guard try projector.workspaces.workspace(name, in: txn).groups.contains(where: \.isSmart) else { return false }
                // From the newest: a stream marked holds its latest mark near its end, so a start finds it at once.
                return try !stores.log.seqs(of: EventHeader.workspaceStream(name), in: txn).reversed().contains { seq in
                    try stores.log.record(at: seq, in: txn).map { try EventHeader.decode($0.header).type == "group_evaluated" } ?? false
                }
            }
        }
        for name in unmarked {
            let context = CommandContext(workspace: name, actor: nil, peer: nil, idempotencyKey: nil, paramsHash: [])
            let marked = try await self.ledger.execute(context) { tx in
                // Read where it writes: the publisher may have closed the gate since the start's wait.
                guard self.mayWrite.isOpen else { throw OwnWritesGate.Closed() }
                let ended: [LedgerEvent] = try tx.workspace().groups.filter(\.isSmart).compactMap { group in
                    try self.isScheduled(Job(workspace: name, group: group.uuid), in: tx.txn) ? nil : .groupEvaluated(uuid: group.uuid)
                }
                if !ended.isEmpty { try tx.append(ended, to: EventHeader.workspaceStream(name)) }
                return BigEndian.bytes(UInt64(ended.count))
            }
            if let count = BigEndian.uint64(marked), count > 0 {
                self.logger.notice("smart group evaluations marked in the log", metadata: ["workspace": "\(name)", "groups.marked": "\(count)"])
            }
        }
    }
}
