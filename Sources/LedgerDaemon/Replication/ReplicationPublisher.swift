// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import LedgerStore
import Logging
import NATSClient
import ServiceLifecycle

/// Publishes every committed event, in log order, to a JetStream stream (`--replicate`).
///
/// Each event goes to `<prefix>.<workspace>.<type>` (`ledger.…` for the stream `LEDGER`, see
/// ``ReplicationSettings/subjectPrefix``) with `Nats-Msg-Id` = event id and
/// `Nats-Expected-Last-Sequence` = seq − 1, so the stream is a gapless, duplicate-free copy of the log
/// whose sequence equals the ledger's `seq`. The position is kept in `ledger.meta` (written through the
/// writer) and reconciled with the stream's last sequence on every (re)connection, which is the truth
/// when they differ. While NATS is unreachable the ledger keeps accepting writes; the publisher
/// retries with back-off and catches up from its position.
///
/// It also keeps the daemon's own writes (``OwnWritesGate``) to a log the stream holds: open once it has
/// found the stream holding this log's history and publishes, closed again when a check fails while it is
/// connected (behind, fenced, diverged). Losing the connection leaves it as it was: a primary keeps
/// writing while NATS is down, and its publisher sends those events when it is back.
final class ReplicationPublisher: Service, Sendable {
    static let positionKey = Array("replication.published_seq".utf8)
    /// This data directory's node id, made at its first publication (``StreamClaim``).
    static let nodeKey = Array("replication.node".utf8)
    /// Events sent per write (their acknowledgements are awaited together).
    static let batchSize = 256
    /// How often the position is written while events keep coming.
    static let persistInterval: Duration = .milliseconds(500)
    /// How often the stream's claim is checked while publishing or idle.
    static let claimCheckInterval: Duration = .seconds(5)

    private let ledger: Ledger
    private let stores: LedgerStores
    private let settings: ReplicationSettings
    private let status: ReplicationStatus
    /// Opened once the stream holds this log's history, closed when it does not (or may not).
    private let ownWrites: OwnWritesGate
    private let logger: Logger

    init(ledger: Ledger, settings: ReplicationSettings, status: ReplicationStatus, ownWrites: OwnWritesGate, logger: Logger) {
        self.ledger = ledger
        self.stores = ledger.stores
        self.settings = settings
        self.status = status
        self.ownWrites = ownWrites
        self.logger = logger
    }

    func run() async throws {
        // What was published before this start, until the stream says otherwise: a status asked while
        // NATS is unreachable showed 0, and a lag of the whole log. A data directory that followed the
        // stream (a replica promoted, or refused promotion) holds the stream's events, none its own.
        var stored = try self.storedPosition()
        if stored == 0, try self.stores.environment.read({ try $0.get(self.stores.meta, key: ReplicaFollower.durableKey) }) != nil {
            stored = try self.stores.environment.read { try self.stores.log.head(in: $0).seq }
        }
        self.status.update { $0.publishedSeq = stored }
        try await self.settings.runClient(named: "contactledgerd-publisher", logger: self.logger) { client in await self.publishLoop(client) }
    }

    /// The stored position (0 before the first publication).
    func storedPosition() throws -> UInt64 {
        try self.stores.environment.read { try $0.get(self.stores.meta, key: Self.positionKey) }.flatMap { BigEndian.uint64($0) } ?? 0
    }

    private func persist(_ position: UInt64) async throws {
        let meta = self.stores.meta
        _ = try await self.ledger.execute(.daemonRecord) { tx in
            try tx.txn.put(meta, key: Self.positionKey, value: BigEndian.bytes(position))
            return []
        }
    }

    private func publishLoop(_ client: NATSClient) async {
        var pacing = RetryPacing()
        while !Task.isCancelled {
            pacing.attemptBegins(at: self.status.current.publishedSeq)
            do {
                if client.status != .connected { try await client.connect() }
                let jetStream = JetStream(client: client)
                let subjects = "\(self.settings.subjectPrefix).>"
                let node = try await self.nodeID()
                let info = try await jetStream.ensureStream(
                    StreamConfig(
                        name: self.settings.stream, subjects: [subjects], numReplicas: self.settings.streamReplicas,
                        description: StreamClaim(primary: node, anonymousKey: self.ledger.anonymousKey.value).streamDescription
                    )
                )
                guard info.config.subjects.contains(subjects) else { throw ReplicationError.streamSubjects(expected: subjects) }
                // One erased copy per seq, however often a crash made the publisher write it again.
                _ = try await jetStream.ensureStream(
                    StreamConfig(
                        name: self.settings.erasedStream, subjects: [self.settings.erasedSubjects], numReplicas: self.settings.streamReplicas,
                        maxMsgsPerSubject: 1
                    )
                )
                // The latest copy of each stored idempotent answer.
                _ = try await jetStream.ensureStream(
                    StreamConfig(
                        name: self.settings.answersStream, subjects: [self.settings.answersSubjectPrefix + ".>"],
                        numReplicas: self.settings.streamReplicas, maxMsgsPerSubject: 1
                    )
                )
                let stored = try self.storedPosition()
                let head = try self.stores.environment.read { try self.stores.log.head(in: $0).seq }
                let last = info.state.lastSeq
                let found = StreamClaim(description: info.config.description)
                // Where both hold an event (``StreamHistory``): a stream that has grown past a diverged ledger is
                // not merely ahead, and a primary replaced in a failover and restarted, which went on taking
                // writes, published its own events onto the new primary's stream, breaking every replica.
                let sameHistory = try await StreamHistory.matches(jetStream, stream: self.settings.stream, stores: self.stores, at: min(last, head))
                // The stream holds this log up to where they agree, whatever comes next: a former primary
                // restarted showed the position it had stored, and a lag of events the stream held (the
                // runbook's step 1 reads it).
                if sameHistory == true {
                    self.status.update { $0.publishedSeq = max($0.publishedSeq, min(last, head)) }
                } else if sameHistory == false {
                    let agreed = try await StreamHistory.lastAgreement(
                        jetStream, stream: self.settings.stream, stores: self.stores, from: min(stored, min(last, head)), to: min(last, head) - 1
                    )
                    self.status.update { $0.publishedSeq = max($0.publishedSeq, agreed) }
                }
                // A former primary is told so first, whether its log is behind the stream, chains onto it or not.
                try self.checkNotFenced(as: node, found: found)
                if sameHistory == false { throw ReplicationError.diverged(seq: min(last, head)) }
                guard last <= head else {
                    // Every event this log holds is on the stream (the same history up to its head): a
                    // replica refused promotion while behind showed the whole log as never published.
                    self.status.update { $0.publishedSeq = max($0.publishedSeq, head) }
                    throw ReplicationError.streamAheadOfLedger(stream: last, head: head)
                }
                // Only once the log holds the whole stream: a replica promoted while behind claims nothing.
                try await self.claim(jetStream, as: node, found: found)
                // A former primary still running may have published between the look above and the claim;
                // this node's next event would then land on another history. Fenced now, it publishes no more.
                let claimedAt = try await jetStream.streamInfo(self.settings.stream).state.lastSeq
                guard claimedAt <= head else {
                    self.status.update { $0.publishedSeq = max($0.publishedSeq, head) }
                    throw ReplicationError.streamAheadOfLedger(stream: claimedAt, head: head)
                }
                // Answers stored while this node did not publish (or before it ever did) are queued now;
                // read first, so a reconnection costs no write when there is nothing to queue.
                let stores = self.stores
                if try !IdempotencyOutbox.isComplete(stores) {
                    _ = try await self.ledger.execute(.daemonRecord) { tx in
                        try IdempotencyOutbox.queueEveryAnswer(stores, in: tx.txn)
                        return []
                    }
                }
                if last < stored {
                    self.logger.warning(
                        "the stream holds fewer events than were published; publishing them again",
                        metadata: ["replication.stream": "\(self.settings.stream)", "replication.stream_last_seq": "\(last)", "replication.published_seq": "\(stored)"]
                    )
                }
                if last != stored { try await self.persist(last) }
                self.status.update {
                    $0.connected = true
                    $0.state = "publishing"
                    $0.publishedSeq = last
                    $0.lastError = nil
                }
                if pacing.shouldAnnounceConnection() {
                    self.logger.notice("replication publisher connected", metadata: ["replication.published_seq": "\(last)"])
                }
                // The stream holds this log's history, claimed by this node: the daemon's own events may follow.
                self.ownWrites.open()
                pacing.attemptBegins(at: last)
                try await self.publish(jetStream, from: last, as: node)
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                let text = "\(error)"
                // Connected, a failed check or publication may mean the node is behind, fenced or diverged: its
                // own events would then take seqs the stream holds. Disconnected, nothing new is known.
                if client.status == .connected { self.ownWrites.close() }
                self.status.update {
                    $0.connected = client.status == .connected
                    $0.state = client.status == .connected ? ((error as? ReplicationError)?.state ?? "error") : "disconnected"
                    $0.lastError = text
                }
                if pacing.failed((error as? ReplicationError)?.repeatKey ?? text, at: self.status.current.publishedSeq) {
                    self.logger.warning("replication publisher paused; retrying", metadata: ["error": "\(text)"])
                }
                do {
                    try await Task.sleep(for: pacing.delay)
                } catch {
                    return
                }
                pacing.waited()
            }
        }
    }

    /// This data directory's node id, made once and kept in `ledger.meta`.
    private func nodeID() async throws -> String {
        if let stored = try self.stores.environment.read({ try $0.get(self.stores.meta, key: Self.nodeKey) }) {
            return String(decoding: stored, as: UTF8.self)
        }
        let fresh = Array(("node_" + NATSClient.randomToken()).utf8)
        let meta = self.stores.meta
        let bytes = try await self.ledger.execute(.daemonRecord) { tx in
            if let existing = try tx.txn.get(meta, key: Self.nodeKey) { return existing }
            try tx.txn.put(meta, key: Self.nodeKey, value: fresh)
            return fresh
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Makes the stream this node's, or refuses to publish to it: see ``StreamClaim``.
    ///
    /// - Unclaimed (made by hand, or by an older version) or claimed by this node: (re)claimed with this
    ///   ledger's anonymous key.
    /// - Claimed by another node, and this data directory followed a stream as a replica: a promotion.
    ///   It takes the stream's anonymous key first (so its refs stay the ones the replicas show), claims
    ///   the stream, and is no longer a replica.
    /// - Claimed by another node otherwise: an old primary restarted after a failover. Fenced: callers
    ///   check that first (``checkNotFenced(as:found:)``).
    private func claim(_ jetStream: JetStream, as node: String, found: StreamClaim?) async throws {
        if let found, found.primary != node {
            if let key = found.anonymousKey, try await self.ledger.anonymousKey.adopt(key, ledger: self.ledger) {
                self.logger.notice("anonymous refs keyed as the stream's former primary keyed them", metadata: ["replication.stream": "\(self.settings.stream)"])
            }
            self.logger.notice(
                "replication publisher took the stream over from its former primary (a promotion)",
                metadata: ["replication.stream": "\(self.settings.stream)", "replication.former_primary": "\(found.primary)", "replication.node": "\(node)"]
            )
        }
        let claim = StreamClaim(primary: node, anonymousKey: self.ledger.anonymousKey.value)
        if found != claim {
            _ = try await jetStream.setDescription(claim.streamDescription, ofStream: self.settings.stream)
        }
        if found?.primary != node {
            if found != nil { try await self.eraseOrphanedAnswers(jetStream) }
            // A primary now: should it ever follow again, it makes a new consumer.
            let meta = self.stores.meta
            _ = try await self.ledger.execute(.daemonRecord) { tx in
                _ = try tx.txn.delete(meta, key: ReplicaFollower.durableKey)
                return []
            }
        }
    }

    /// Erases from the answers stream, at a promotion, the answers the former primary sent for events the
    /// stream never got (it went down between the two, ``ReplicatedAnswer``): their commands are in no
    /// node's log now, and the answers, which may hold personal data, would otherwise stay on the stream
    /// until their keys are used again. Answers go out in the order of their `seq`, so they are the stream's
    /// last messages: looked for from its end back to the first answer this log holds the events of.
    private func eraseOrphanedAnswers(_ jetStream: JetStream) async throws {
        let head = try self.stores.environment.read { try self.stores.log.head(in: $0).seq }
        let stream = self.settings.answersStream
        let state = try await jetStream.streamInfo(stream).state
        let decoder = JSONDecoder()
        var erased = 0
        var seq = state.lastSeq
        while seq >= max(state.firstSeq, 1) {
            defer { seq -= 1 }
            let message: StoredMessage
            do {
                message = try await jetStream.message(stream: stream, seq: seq)
            } catch let error as JetStreamError where error.isMessageNotFound {
                continue
            }
            guard let answer = try? decoder.decode(ReplicatedAnswer.self, from: Data(message.payload)), let storedAt = answer.seq, storedAt > head else { break }
            if try await jetStream.eraseMessage(stream: stream, seq: seq) { erased += 1 }
        }
        if erased > 0 {
            self.logger.notice(
                "erased the former primary's answers to events the stream never got",
                metadata: ["replication.stream": "\(self.settings.answersStream)", "replication.answers_erased": "\(erased)", "ledger.seq": "\(head)"]
            )
        }
    }

    /// Throws ``ReplicationError/fenced(primary:)`` when another node claimed the stream and this data
    /// directory never followed it (see ``claim(_:as:found:)``).
    private func checkNotFenced(as node: String, found: StreamClaim?) throws {
        guard let found, found.primary != node else { return }
        let durableKey = ReplicaFollower.durableKey
        guard try self.stores.environment.read({ try $0.get(self.stores.meta, key: durableKey) }) != nil else {
            throw ReplicationError.fenced(primary: found.primary)
        }
    }

    /// Erases from the stream the messages of `stream`'s events before `seq` that were published (up to
    /// `published`) with personal data the contact's deletion has since erased from the log: each is
    /// overwritten in the server's store, after its erased copy (payload null, hashes kept) is in the
    /// erased stream for replicas that had not received it. Done again after a crash: both steps are
    /// idempotent (the copy has a message id; a message already erased is passed over).
    private func erasePublished(of stream: String, before seq: UInt64, upTo published: UInt64, _ jetStream: JetStream) async throws {
        let erased = try self.stores.environment.read { txn -> [StoredEvent] in
            try self.stores.log.seqs(of: stream, in: txn).filter { $0 < seq && $0 <= published }.compactMap { earlier in
                guard let record = try self.stores.log.record(at: earlier, in: txn), record.payload == nil,
                    let header = try? EventHeader.decode(record.header), PersonalDataErasure.types.contains(header.type)
                else { return nil }
                return record
            }
        }
        guard !erased.isEmpty else { return }
        let copies = try erased.map { record in
            JetStream.Outgoing(
                subject: self.settings.erasedSubject(seq: record.seq),
                payload: Array(try JSONEncoder().encode(ReplicatedRecord(record))),
                messageID: "erased-\(record.seq)"
            )
        }
        for result in try await jetStream.publishBatch(copies) { _ = try result.get() }
        for record in erased { try await jetStream.eraseMessage(stream: self.settings.stream, seq: record.seq) }
    }

    /// Sends a slice of the idempotent answers queued (``IdempotencyOutbox``): first answers at or before
    /// `position`, replacements at or before `published` (the stream's last event); removes them from the
    /// queue; returns whether more wait. The first answers to a command go before its events
    /// (``ReplicatedAnswer`` says why): the caller publishes no event from the first answer still queued
    /// on. A slice at a time, between the log's batches: the whole queue of a first publishing start
    /// (every stored answer) held the log's publication back for as long as it took.
    ///
    /// An answer that replaced one holding personal data first erases the stream's copy of the one it
    /// replaced (overwritten in the server's store: the stream's own limit of one message per subject
    /// would only drop it); when the stream's copy is this one already, nothing is sent. Done again after
    /// a crash: both steps are idempotent.
    private func publishAnswers(_ jetStream: JetStream, upTo position: UInt64, published: UInt64) async throws -> Bool {
        let stores = self.stores
        let entries = try stores.environment.read { txn in
            try IdempotencyOutbox.entries(upTo: position, replacementsUpTo: published, limit: Self.batchSize, stores: stores, in: txn)
        }
        guard !entries.isEmpty else { return false }
        let stream = self.settings.answersStream
        let encoder = JSONEncoder()
        // An answer no longer stored has nothing to send.
        let messages = try entries.compactMap { entry -> (replaces: Bool, answer: ReplicatedAnswer, message: JetStream.Outgoing)? in
            guard let record = entry.record else { return nil }
            let answer = ReplicatedAnswer(key: entry.answerKey, record: record, storedAt: entry.queuedAt)
            let subject = ReplicatedAnswer.subject(prefix: self.settings.answersSubjectPrefix, key: entry.answerKey)
            return (entry.replacesPersonalData, answer, JetStream.Outgoing(subject: subject, payload: Array(try encoder.encode(answer))))
        }
        // The replacements' earlier copies, looked up and erased concurrently. A copy holding the same answer
        // stays, whatever record it names: a start that queues every answer again queues each at the log's
        // head, and comparing whole messages sent every one again.
        let unchanged = try await withThrowingTaskGroup(of: String?.self) { group in
            for (replaces, answer, message) in messages where replaces {
                group.addTask {
                    do {
                        let earlier = try await jetStream.lastMessage(stream: stream, subject: message.subject)
                        if let copy = try? JSONDecoder().decode(ReplicatedAnswer.self, from: Data(earlier.payload)),
                            copy.key == answer.key, copy.record == answer.record
                        {
                            return message.subject
                        }
                        try await jetStream.eraseMessage(stream: stream, seq: earlier.seq)
                    } catch let error as JetStreamError where error.isMessageNotFound {}
                    return nil
                }
            }
            var unchanged: Set<String> = []
            for try await subject in group { if let subject { unchanged.insert(subject) } }
            return unchanged
        }
        let outgoing = messages.map(\.message).filter { !unchanged.contains($0.subject) }
        if !outgoing.isEmpty {
            for result in try await jetStream.publishBatch(outgoing) { _ = try result.get() }
        }
        _ = try await self.ledger.execute(.daemonRecord) { tx in
            try IdempotencyOutbox.remove(entries, stores: stores, in: tx.txn)
            return []
        }
        return entries.count == Self.batchSize
    }

    /// Checks the stream's claim while publishing, not only at connection: a description an operator
    /// re-applied without it (a config tool's STREAM.UPDATE) is written back, and a replica promoted
    /// meanwhile fences this node (``checkNotFenced(as:found:)``).
    private func checkClaim(_ jetStream: JetStream, as node: String) async throws {
        let found = StreamClaim(description: try await jetStream.streamInfo(self.settings.stream).config.description)
        if found != StreamClaim(primary: node, anonymousKey: self.ledger.anonymousKey.value) {
            try self.checkNotFenced(as: node, found: found)
            try await self.claim(jetStream, as: node, found: found)
        }
    }

    /// Sends the events after `start` and then follows the log, until an error.
    private func publish(_ jetStream: JetStream, from start: UInt64, as node: String) async throws {
        var position = start
        var persisted = start
        var lastPersist = ContinuousClock.now
        var lastClaimCheck = ContinuousClock.now
        while !Task.isCancelled {
            if ContinuousClock.now - lastClaimCheck >= Self.claimCheckInterval {
                try await self.checkClaim(jetStream, as: node)
                lastClaimCheck = .now
            }
            var deletion: (stream: String, seq: UInt64)?
            var batch = try self.stores.environment.read { txn -> [JetStream.Outgoing] in
                var batch: [JetStream.Outgoing] = []
                try self.stores.log.forEach(after: position, in: txn) { record in
                    let header = try EventHeader.decode(record.header)
                    if header.type == "contact_deleted" {
                        // Its erasures reach the stream before it does: it starts a batch of its own.
                        guard batch.isEmpty else { return false }
                        deletion = (header.stream, record.seq)
                    }
                    batch.append(
                        JetStream.Outgoing(
                            subject: ReplicatedRecord.subject(prefix: self.settings.subjectPrefix, workspace: header.workspace, type: header.type),
                            payload: Array(try JSONEncoder().encode(ReplicatedRecord(record))),
                            messageID: header.id,
                            expectedLastSequence: record.seq - 1
                        )
                    )
                    return batch.count < Self.batchSize
                }
                return batch
            }
            if batch.isEmpty {
                if try await self.publishAnswers(jetStream, upTo: position, published: position) { continue }
                if persisted != position {
                    try await self.persist(position)
                    persisted = position
                    lastPersist = .now
                }
                await self.ledger.headWatcher.wait(pastSeq: position, atMost: Self.claimCheckInterval)
                continue
            }
            // Before every batch too: a replica promoted while this node still ran had up to 5 s in which
            // this node published onto the stream it had claimed, and then neither could publish.
            try await self.checkClaim(jetStream, as: node)
            lastClaimCheck = .now
            // The batch's answers first; its events only up to the first answer still queued.
            _ = try await self.publishAnswers(jetStream, upTo: position + UInt64(batch.count), published: position)
            if let unsent = try self.stores.environment.read({ try IdempotencyOutbox.firstAnswerQueued(after: position, stores: self.stores, in: $0) }) {
                // A deletion is a batch's first event: it goes or the batch is empty.
                batch = Array(batch.prefix(Int(min(unsent - position - 1, UInt64(batch.count)))))
                if batch.isEmpty { continue }
            }
            if let deletion { try await self.erasePublished(of: deletion.stream, before: deletion.seq, upTo: position, jetStream) }
            let results = try await jetStream.publishBatch(batch)
            var failure: (any Error)?
            for result in results {
                switch result {
                case .success(let ack):
                    guard ack.seq == position + 1 else {
                        failure = ReplicationError.sequenceMismatch(seq: position + 1, stream: ack.seq)
                        break
                    }
                    position = ack.seq
                case .failure(let error):
                    failure = error
                }
                if failure != nil { break }
            }
            self.status.update { $0.publishedSeq = position }
            if let failure {
                if persisted != position { try? await self.persist(position) }
                throw failure
            }
            if ContinuousClock.now - lastPersist >= Self.persistInterval {
                try await self.persist(position)
                persisted = position
                lastPersist = .now
            }
        }
        throw CancellationError()
    }
}
