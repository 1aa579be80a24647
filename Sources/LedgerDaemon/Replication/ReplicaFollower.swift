// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import LedgerStore
import Logging
import NATSClient
import Projections
import ServiceLifecycle

/// Follows a primary's JetStream stream as a read replica (`--follow`): a durable pull consumer
/// delivers the primary's records, which are appended to this daemon's own log through the writer —
/// each one must come at the next position, chain onto the head hash and recompute its own hash — and
/// applied to the read models in the same transaction. Acknowledgements go out once the batch is
/// durable, so a crash loses nothing: at every (re)connection the consumer goes on from where it is if it
/// delivered nothing past the log's head, and is made again from the head otherwise.
final class ReplicaFollower: Service, Sendable {
    static let durableKey = Array("replication.durable".utf8)
    static let batchSize = 512
    /// How long a JetStream request may take before the replica asks again: while a killed node's streams
    /// elect new leaders, requests go unanswered, and the 5 s default kept the replica waiting seconds after
    /// the new leaders were there.
    static let requestTimeout: Duration = .seconds(2)

    private let ledger: Ledger
    private let populator: GroupPopulator
    private let stores: LedgerStores
    private let settings: ReplicationSettings
    private let status: ReplicationStatus
    private let logger: Logger

    init(ledger: Ledger, populator: GroupPopulator, settings: ReplicationSettings, status: ReplicationStatus, logger: Logger) {
        self.ledger = ledger
        self.populator = populator
        self.stores = ledger.stores
        self.settings = settings
        self.status = status
        self.logger = logger
    }

    func run() async throws {
        try await self.settings.runClient(named: "contactledgerd-replica", logger: self.logger) { client in await self.followLoop(client) }
    }

    private var head: UInt64 {
        get throws { try self.stores.environment.read { try self.stores.log.head(in: $0).seq } }
    }

    /// This replica's durable consumer name, made once and kept in `ledger.meta`.
    private func durableName() async throws -> String {
        if let stored = try self.stores.environment.read({ try $0.get(self.stores.meta, key: Self.durableKey) }) {
            return String(decoding: stored, as: UTF8.self)
        }
        let name = "replica_" + NATSClient.randomToken()
        let meta = self.stores.meta
        let bytes = try await self.ledger.execute(.daemonRecord) { tx in
            if let existing = try tx.txn.get(meta, key: Self.durableKey) { return existing }
            try tx.txn.put(meta, key: Self.durableKey, value: Array(name.utf8))
            return Array(name.utf8)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func followLoop(_ client: NATSClient) async {
        var pacing = RetryPacing()
        while !Task.isCancelled {
            pacing.attemptBegins(at: (try? self.head) ?? 0)
            do {
                if client.status != .connected { try await client.connect() }
                if client.status == .connected {
                    // Connected again: no longer `disconnected`, though still behind since it was.
                    self.status.update {
                        $0.connected = true
                        if $0.state == "disconnected" { $0.state = "following" }
                    }
                }
                let jetStream = JetStream(client: client, timeout: Self.requestTimeout)
                let info = try await jetStream.streamInfo(self.settings.stream)
                let head = try self.head
                // Shown as the stream's length even when its history turns out not to be this log's.
                self.status.update { $0.streamLastSeq = info.state.lastSeq }
                // This log must be the stream's, up to where both hold events, before anything of the stream
                // is taken (its refs' key included): a log followed from another shard's stream said
                // `caught_up` and served that shard's contacts as this one's.
                let streamLast = info.state.lastSeq
                if try await StreamHistory.matches(jetStream, stream: self.settings.stream, stores: self.stores, at: min(head, streamLast)) == false {
                    throw ReplicationError.notTheStreamsHistory(seq: min(head, streamLast))
                }
                guard head <= streamLast else { throw ReplicationError.ledgerAheadOfStream(head: head, stream: streamLast) }
                try await self.takeAnonymousKey(of: info)
                let durable = try await self.durableName()
                let consumer = try await Self.consumer(durable, of: self.settings.stream, after: head, jetStream)
                defer { consumer.close() }
                self.status.update {
                    $0.connected = true
                    $0.state = "following"
                    $0.streamLastSeq = info.state.lastSeq
                    $0.behindSince = info.state.lastSeq > head ? ($0.behindSince ?? .now) : nil
                    $0.durable = durable
                    $0.lastError = nil
                }
                if pacing.shouldAnnounceConnection() {
                    self.logger.notice("replica following again", metadata: ["ledger.seq": "\(head)"])
                }
                // The log and the stored answers side by side; the first to stop stops the other, and both
                // start again.
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await self.follow(consumer, jetStream: jetStream) }
                    group.addTask { try await self.followAnswers(jetStream, durable: durable) }
                    try await group.next()
                    group.cancelAll()
                }
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                let text = "\(error)"
                // Judged by the error, not by the client's state now: it may have reconnected already, and a
                // status read `error` "not connected" beside `connected: true`.
                let connected = !TransientNATSFailure.isConnectionLoss(error) && client.status == .connected
                self.status.update {
                    $0.connected = connected
                    $0.state = connected ? ((error as? ReplicationError)?.state ?? "error") : "disconnected"
                    $0.lastError = text
                    // What the stream holds is unknown until it answers again: behind, maybe, from now.
                    if !$0.connected, $0.behindSince == nil { $0.behindSince = .now }
                }
                if pacing.failed((error as? ReplicationError)?.repeatKey ?? text, at: (try? self.head) ?? 0) {
                    if case .chainBroken? = error as? ReplicationError {
                        self.logger.error("replica refused a record that does not verify", metadata: ["error": "\(text)"])
                    } else {
                        self.logger.warning("replica paused; retrying", metadata: ["error": "\(text)"])
                    }
                }
                do {
                    // The cluster electing leaders answers again within a second or so of being ready.
                    try await Task.sleep(for: TransientNATSFailure.matches(error) ? min(pacing.delay, Self.requestTimeout / 4) : pacing.delay)
                } catch {
                    return
                }
                pacing.waited()
            }
        }
    }

    /// Keys the anonymous refs as the stream's primary keys them (``StreamClaim``), so a contact shows the
    /// same ref here as there, and after this replica is promoted.
    private func takeAnonymousKey(of info: StreamInfo) async throws {
        guard let key = StreamClaim(description: info.config.description)?.anonymousKey,
            try await self.ledger.anonymousKey.adopt(key, ledger: self.ledger)
        else { return }
        self.logger.notice("anonymous refs keyed as the stream's primary keys them", metadata: ["replication.stream": "\(self.settings.stream)"])
    }

    /// Fetches, appends and acknowledges until an error.
    private func follow(_ consumer: PullConsumer, jetStream: JetStream) async throws {
        var idleSince = ContinuousClock.now
        // The stream's last sequence is read from the stream's info (on connecting, then at most once a
        // second): a message's count of those pending after it leaves out deleted messages, so the
        // erased copies of deleted contacts' events made a following replica report a stream shorter
        // than it was (lag 8,567 events where it was 10,326).
        var infoReadAt = ContinuousClock.now
        while !Task.isCancelled {
            let messages = try await consumer.fetch(batch: Self.batchSize, maxWait: .seconds(1))
            guard let last = messages.last else {
                // Idle: refresh the stream's last sequence now and then, for the lag figures.
                if ContinuousClock.now - idleSince >= .seconds(1) {
                    idleSince = .now
                    // Unanswered while the stream elects a leader: fetching goes on meanwhile.
                    guard let info = try await Self.unlessTransient({ try await jetStream.streamInfo(self.settings.stream) }) else { continue }
                    // A primary of an older version claims the stream once it is upgraded.
                    try await self.takeAnonymousKey(of: info)
                    let lastSeq = info.state.lastSeq
                    let head = try self.head
                    if lastSeq > head {
                        // Behind and sent nothing: a consumer deleted on the server (by hand, or with a
                        // NATS store that was lost and the stream made again) takes no pull request, and
                        // the replica waited for ever while it said `following`. Made again by the loop.
                        do {
                            _ = try await Self.unlessTransient({ try await jetStream.consumerInfo(stream: self.settings.stream, name: consumer.name) })
                        } catch let error as JetStreamError where error.isConsumerNotFound {
                            throw ReplicationError.consumerLost(name: consumer.name)
                        }
                    }
                    self.status.update {
                        $0.streamLastSeq = lastSeq
                        if lastSeq <= head { $0.behindSince = nil }
                    }
                }
                continue
            }
            let records = try Self.decode(messages, as: ReplicatedRecord.self, format: \.format)
            let head = try await self.append(try await self.fillingErasedGaps(records, after: try self.head, jetStream))
            try consumer.ack(messages)
            var streamLast: UInt64?
            if ContinuousClock.now - infoReadAt >= .seconds(1) {
                streamLast = try await Self.unlessTransient({ try await jetStream.streamInfo(self.settings.stream) })?.state.lastSeq
                infoReadAt = .now
            }
            self.status.update {
                let known = max(streamLast ?? $0.streamLastSeq, last.streamSequence, head)
                $0.streamLastSeq = known
                if known > head {
                    if $0.behindSince == nil { $0.behindSince = .now }
                } else {
                    $0.behindSince = nil
                }
            }
            idleSince = .now
        }
        throw CancellationError()
    }

    /// `records` with the erased copies of the records missing between them (from `head` on): messages
    /// the primary erased from the stream when their contact was deleted (``ReplicationPublisher``), which
    /// the consumer passes over. A seq missing from the erased stream too is left missing: ``append(_:)``
    /// says which.
    private func fillingErasedGaps(_ records: [ReplicatedRecord], after head: UInt64, _ jetStream: JetStream) async throws -> [ReplicatedRecord] {
        var filled: [ReplicatedRecord] = []
        var expected = head + 1
        for record in records {
            while expected < record.seq {
                guard let erased = try await self.erasedCopy(of: expected, jetStream) else { return filled + [record] }
                filled.append(erased)
                expected += 1
            }
            filled.append(record)
            expected = max(expected, record.seq + 1)
        }
        return filled
    }

    /// The erased copy of the record at `seq`, if the erased stream holds one.
    private func erasedCopy(of seq: UInt64, _ jetStream: JetStream) async throws -> ReplicatedRecord? {
        do {
            let copy = try await jetStream.lastMessage(stream: self.settings.erasedStream, subject: self.settings.erasedSubject(seq: seq))
            guard let erased = try? JSONDecoder().decode(ReplicatedRecord.self, from: Data(copy.payload)), erased.format == 1, erased.seq == seq else {
                throw ReplicationError.malformedRecord(streamSequence: copy.seq)
            }
            return erased
        } catch let error as JetStreamError where error.isMessageNotFound || error.isStreamNotFound {
            return nil
        }
    }

    /// Receives the primary's stored idempotent answers (``ReplicatedAnswer``, from
    /// ``ReplicationSettings/answersStream``) and stores them as the primary stores them, so that once
    /// promoted this node answers a retry as the primary did: the first answer again,
    /// `idempotency_key_reused`, or `deleted`. Its position in that stream is kept in `ledger.meta`,
    /// written with the answers.
    ///
    /// An answer arrives before its command's events: it is held, with the ones after it, until this log
    /// holds the record it names, and stored only if that record is the one it was stored at
    /// (``store(_:upTo:)``). One whose events the stream may never get (its primary went down between the
    /// two) is not counted in `answers_pending` while the stream holds no event at its `seq`, and is
    /// dropped once the stream no longer holds it (a promoted node erases such answers).
    private func followAnswers(_ jetStream: JetStream, durable: String) async throws {
        let name = durable + "_answers"
        let stream = self.settings.answersStream
        while !Task.isCancelled {
            let info: StreamInfo
            do {
                info = try await jetStream.streamInfo(stream)
            } catch let error as JetStreamError where error.isStreamNotFound {
                // A primary of an earlier version sends none: looked for again now and then.
                try await Task.sleep(for: .seconds(5))
                continue
            } catch where TransientNATSFailure.matches(error) {
                // Asked again soon, without stopping the events beside it.
                try await Task.sleep(for: .milliseconds(250))
                continue
            }
            var position = try self.stores.environment.read { try $0.get(self.stores.meta, key: Self.answersPositionKey) }.flatMap { BigEndian.uint64($0) } ?? 0
            // A stream made again (a NATS store lost) starts over; answers received before are replaced.
            if position > info.state.lastSeq { position = 0 }
            guard let consumer = try await Self.unlessTransient({ try await Self.consumer(name, of: stream, after: position, jetStream) }) else {
                try await Task.sleep(for: .milliseconds(250))
                continue
            }
            defer { consumer.close() }
            // Delivered, not yet stored: the answers waiting for their records, and those after them.
            var held: [(message: JetStreamMessage, answer: ReplicatedAnswer)] = []
            var undelivered: UInt64 = 0
            while !Task.isCancelled {
                // Fetching goes on while answers are held, so that those after them are seen and counted.
                if held.count < Self.batchSize {
                    let delivered = try await consumer.fetch(batch: Self.batchSize - held.count, maxWait: held.isEmpty ? .seconds(1) : .milliseconds(50))
                    // Delivered again, when holding outlasted the acknowledgement deadline: stored already, or
                    // held already.
                    let heldUpTo = held.last?.message.streamSequence ?? position
                    try consumer.ack(delivered.filter { $0.streamSequence <= position })
                    let fresh = delivered.filter { $0.streamSequence > heldUpTo }
                    held += zip(fresh, try Self.decode(fresh, as: ReplicatedAnswer.self, format: \.format)).map { ($0, $1) }
                    undelivered = delivered.last?.pending ?? 0
                }
                // Those whose record this log holds, up to the first it does not hold yet, are stored.
                let head = try self.head
                let ready = held.prefix { ($0.answer.seq ?? 0) <= head }.count
                if ready > 0 {
                    let stored = held[..<ready]
                    let reached = stored.last?.message.streamSequence ?? position
                    try await self.store(stored.map(\.answer)[...], upTo: reached)
                    try consumer.ack(stored.map(\.message))
                    position = reached
                    held.removeFirst(ready)
                }
                self.status.update { status in
                    // Answers whose events the stream does not hold (yet, or ever) are left out.
                    let onStream = max(status.streamLastSeq, head)
                    status.answersPending = undelivered + UInt64(held.filter { ($0.answer.seq ?? 0) <= onStream }.count)
                }
                guard let first = held.first, ready == 0 else { continue }
                // Held until its events are here, or dropped when the stream no longer holds it.
                await self.ledger.headWatcher.wait(pastSeq: head, atMost: .seconds(1))
                try Task.checkCancellation()
                if try self.head == head, try await Self.unlessTransient({ try await Self.holds(jetStream, stream, first.message) }) == false {
                    try consumer.ack([first.message])
                    position = first.message.streamSequence
                    try await self.store([], upTo: position)
                    held.removeFirst()
                }
            }
        }
        throw CancellationError()
    }

    /// Whether `stream` still holds `message`.
    private static func holds(_ jetStream: JetStream, _ stream: String, _ message: JetStreamMessage) async throws -> Bool {
        do {
            _ = try await jetStream.message(stream: stream, seq: message.streamSequence)
            return true
        } catch let error as JetStreamError where error.isMessageNotFound {
            return false
        }
    }

    /// Subscribes to the durable consumer `name` of `stream` for what comes after `position` (all of the
    /// stream from 0): the one the server holds, if it delivered nothing past `position`; else one made
    /// again from there.
    ///
    /// Going on with the consumer the server holds is what lets a replica resume as soon as a killed node's
    /// leaders are elected again: deleting and creating it needs the cluster's metadata leader, itself
    /// elected again when that node held it (8 to 15 s behind the primary after a node kill or freeze). A
    /// consumer that delivered past `position` lost messages in flight (a batch received, not appended):
    /// it would send them again only after its 30 s acknowledgement deadline, after later ones, so it is
    /// made again. Messages up to `position` it sends again are passed over.
    private static func consumer(_ name: String, of stream: String, after position: UInt64, _ jetStream: JetStream) async throws -> PullConsumer {
        let config = ConsumerConfig(
            durableName: name,
            deliverPolicy: position == 0 ? "all" : "by_start_sequence",
            optStartSeq: position == 0 ? nil : position + 1,
            ackPolicy: "explicit",
            ackWait: .seconds(30),
            maxAckPending: 4 * Self.batchSize
        )
        do {
            let existing = try await jetStream.consumerInfo(stream: stream, name: name)
            if Self.resumes(existing, as: config, after: position) { return try jetStream.pullConsumer(stream: stream, name: name) }
            try await jetStream.deleteConsumer(stream: stream, name: name)
        } catch let error as JetStreamError where error.isConsumerNotFound {}
        _ = try await jetStream.createConsumer(stream: stream, config: config)
        return try jetStream.pullConsumer(stream: stream, name: name)
    }

    /// Whether `existing` can go on delivering what comes after `position`: configured as `wanted` would be,
    /// it delivered nothing past `position`, and not so little that it would send a backlog again (a log
    /// restored from a newer backup than the consumer's position).
    static func resumes(_ existing: ConsumerInfo, as wanted: ConsumerConfig, after position: UInt64) -> Bool {
        existing.config.ackPolicy == wanted.ackPolicy && existing.config.ackWait == wanted.ackWait
            && existing.config.maxAckPending == wanted.maxAckPending && (existing.config.filterSubject ?? "").isEmpty
            && existing.delivered.streamSeq <= position && position - existing.delivered.streamSeq <= UInt64(4 * Self.batchSize)
    }

    /// `request`'s answer, or nil when the cluster could not answer just then (``TransientNATSFailure``).
    private static func unlessTransient<Answer>(_ request: () async throws -> Answer) async throws -> Answer? {
        do {
            return try await request()
        } catch where TransientNATSFailure.matches(error) {
            return nil
        }
    }

    /// The messages' bodies as `Body` of format 1; ``ReplicationError/malformedRecord(streamSequence:)``
    /// for the first that is not one.
    private static func decode<Body: Decodable>(_ messages: [JetStreamMessage], as type: Body.Type, format: (Body) -> Int) throws -> [Body] {
        let decoder = JSONDecoder()
        return try messages.map { message in
            guard let body = try? decoder.decode(Body.self, from: Data(message.payload)), format(body) == 1 else {
                throw ReplicationError.malformedRecord(streamSequence: message.streamSequence)
            }
            return body
        }
    }

    /// In `ledger.meta`: the last sequence of the answers stream stored.
    static let answersPositionKey = Array("replication.answers_applied_seq".utf8)

    /// Stores the answers received, indexed by the contacts they name, and the position they reach. An
    /// answer whose `seq` holds another record in this log is dropped: the events it answered for never
    /// reached the stream (``ReplicatedAnswer``).
    private func store(_ answers: ArraySlice<ReplicatedAnswer>, upTo position: UInt64) async throws {
        let stores = self.stores
        let dropped = try await self.ledger.execute(.daemonRecord) { tx in
            let txn = tx.txn
            let contacts = try stores.projector(txn).contacts
            var dropped = 0
            for answer in answers {
                let key = Array(answer.key)
                guard let separator = key.firstIndex(of: 0), key.count == separator + 33, let record = IdempotencyRecord(decoding: Array(answer.record)) else {
                    throw ReplicationError.malformedRecord(streamSequence: position)
                }
                if let seq = answer.seq, try stores.log.record(at: seq, in: txn).map({ Data($0.hash) }) != answer.hash {
                    dropped += 1
                    continue
                }
                let workspace = String(decoding: key[..<separator], as: UTF8.self)
                var received = record
                if case .answer(_, let named) = record.content {
                    // An answer sent before its contact's deletion, received after this replica applied the
                    // deletion, is kept erased, as the primary's replacement (still to come) will be.
                    if let deleted = try named.first(where: { uuid in
                        try ContactUUID(uuid).flatMap { try contacts.contact($0, workspace: workspace, in: txn) }?.isDeleted == true
                    }) {
                        received.content = .erased(contact: deleted)
                    }
                }
                let isNew = try txn.get(stores.idempotency, key: key) == nil
                // Erased here, it is queued for the stream, whose copy still holds the contact until the
                // primary's replacement comes (should this node be promoted first, it sends it).
                let erasedHere: Bool
                if case .erased = received.content, case .answer = record.content { erasedHere = true } else { erasedHere = false }
                try received.store(at: key, replacingPersonalData: erasedHere, stores: stores, in: txn)
                if case .answer(_, let named) = received.content {
                    try IdempotencyIndex.add(named, answerAt: key, workspace: workspace, stores: stores, in: txn)
                }
                if isNew { try IdempotencyIndex.countStoredAnswer(stores, in: txn) }
            }
            try txn.put(stores.meta, key: Self.answersPositionKey, value: BigEndian.bytes(position))
            return BigEndian.bytes(UInt64(dropped))
        }
        if let count = BigEndian.uint64(dropped), count > 0 {
            self.logger.notice(
                "dropped idempotent answers to events this log does not hold (their primary went down before publishing them)",
                metadata: ["replication.answers_dropped": "\(count)", "replication.answers_seq": "\(position)"]
            )
        }
    }

    /// Appends `records` (skipping those already held) and applies them; returns the new head.
    private func append(_ records: [ReplicatedRecord]) async throws -> UInt64 {
        let stores = self.stores
        let populator = self.populator
        let answer = try await self.ledger.execute(.daemonRecord) { tx in
            let txn = tx.txn
            var head = try stores.log.head(in: txn).seq
            var deletions: [(stream: String, seq: UInt64)] = []
            // The time of the last record copied: times never decrease along the log.
            var lastTime: Timestamp?
            for record in records {
                guard record.seq > head else { continue }  // delivered again
                guard record.seq == head + 1 else { throw ReplicationError.gap(expected: head + 1, received: record.seq) }
                let header: EventHeader
                do {
                    header = try EventHeader.decode(Array(record.header))
                    try stores.log.appendCopy(of: record.storedEvent, to: header.stream, in: txn)
                } catch {
                    throw ReplicationError.chainBroken(seq: record.seq)
                }
                head = record.seq
                lastTime = header.createdOn
                switch header.type {
                case "contact_deleted":
                    deletions.append((header.stream, record.seq))
                case "contact_created":
                    // Keep the numeric id counter in step, so a promoted replica never reuses an id.
                    if let payload = record.payload,
                        case .contactCreated(let created)? = try? LedgerEvent.decode(type: header.type, schemaVersion: header.schemaVersion, data: Array(payload))
                    {
                        let key = Array("next_contact_id".utf8)
                        let next = try txn.get(stores.meta, key: key).flatMap { BigEndian.uint64($0) } ?? 1
                        if UInt64(max(created.id, 0)) + 1 > next {
                            try txn.put(stores.meta, key: key, value: BigEndian.bytes(UInt64(created.id) + 1))
                        }
                    }
                case "group_created", "group_updated", "group_deleted", "group_evaluated", "workspace_configured":
                    // Smart groups' evaluations as the primary schedules and ends them: the same status,
                    // and, once promoted, the evaluations its primary left unfinished.
                    guard let payload = record.payload else { break }
                    let event = try LedgerEvent.decode(type: header.type, schemaVersion: header.schemaVersion, data: Array(payload))
                    let command = CommandContext(workspace: header.workspace, actor: header.actor, peer: header.peer, idempotencyKey: nil, paramsHash: [])
                    try populator.record([event], workspace: header.workspace, smartGroups: {
                        // The workspace as of this record (the read models follow the batch's records).
                        let projector = try stores.projector(txn)
                        _ = try projector.catchUp(log: stores.log, limit: Int.max, in: txn)
                        return try projector.workspaces.workspace(header.workspace, in: txn).groups.filter(\.isSmart).map(\.uuid)
                    }, by: command, in: txn)
                default:
                    break
                }
            }
            if let lastTime { self.ledger.appended(at: lastTime) }
            _ = try stores.projector(txn).catchUp(log: stores.log, limit: Int.max, in: txn)
            // The primary erased the deleted contacts' personal data in the same transaction: do likewise.
            for deletion in deletions {
                try PersonalDataErasure.erase(stream: deletion.stream, before: deletion.seq, stores: stores, in: txn)
                // The answers received that named the contact, as the primary replaced its own (its
                // replacements may come later on the answers stream).
                if let header = try stores.log.record(at: deletion.seq, in: txn).flatMap({ try? EventHeader.decode($0.header) }),
                    let uuid = header.contactUUID
                {
                    try self.ledger.eraseIdempotentAnswers(mentioning: uuid.rawValue, workspace: header.workspace, in: txn)
                }
            }
            return BigEndian.bytes(head)
        }
        return BigEndian.uint64(answer) ?? 0
    }
}
