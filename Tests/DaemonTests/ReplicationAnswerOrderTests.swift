// ContactLedger — daemon tests.
import Crypto
import Foundation
import LedgerStore
import NATSClient
import RPC
import TestSupport
import Testing

/// A primary sends a command's idempotent answer before its events, and replicas store an answer only
/// once their log holds the record it was stored at: a primary that goes down between the two leaves
/// no promoted node with the events and not the answer (a retry applied twice), nor with an answer to
/// events it never got.
@Suite("Idempotent answers around their events in a failover", .ownThreads, .serialized, .enabled(if: NATSServerProcess.isAvailable))
struct ReplicationAnswerOrderTests: ReplicationChecks {
    @Test("a command's events wait for its answer: while the answers stream refuses messages, they stay off the stream")
    func eventsWaitForTheirAnswer() async throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        try self.createContacts(primary, 0..<3)
        try self.waitUntilPublished(primary)
        let jetStream = try await self.jetStream(nats)
        let published = try await jetStream.streamInfo("LEDGER").state.lastSeq

        try await self.refuseNewMessages(.subjectsMoved, stream: "LEDGER_IDEMPOTENCY", jetStream)
        try primary.call("contacts.create", ["name": "Keyed", "urns": ["ext:keyed"], "idempotency_key": "keyed-1"])
        try primary.call("contacts.create", ["name": "After", "urns": ["ext:after"]])
        try await Task.sleep(for: .seconds(2))
        #expect(try await jetStream.streamInfo("LEDGER").state.lastSeq == published)
        #expect(try primary.call("system.stats")["replication"]?.int("answers_pending") == 1)

        try await self.refuseNewMessages(nil, stream: "LEDGER_IDEMPOTENCY", jetStream)
        try self.waitUntilPublished(primary)
        #expect(self.eventually { try primary.call("system.stats")["replication"]?.int("answers_pending") == 0 })
    }

    @Test("a primary gone between a command's answer and its events: the replica holds the answer uncounted; promoted, it runs the retry anew and erases that answer from the stream")
    func anAnswerWhoseEventsNeverCameIsDropped() async throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        try self.createContacts(primary, 0..<3)
        _ = try self.converge(primary, replica)
        let jetStream = try await self.jetStream(nats)
        let answersBefore = try await jetStream.streamInfo("LEDGER_IDEMPOTENCY").state.lastSeq

        try await self.refuseNewMessages(.holdsNoMore, stream: "LEDGER", jetStream)
        let params: JSONValue = ["name": "Orphan Answer", "urns": ["ext:orphan"], "idempotency_key": "orphan-1"]
        let first = try #require(try primary.call("contacts.create", params).string("uuid"))
        let answerSent = await self.eventuallyAsync { try await jetStream.streamInfo("LEDGER_IDEMPOTENCY").state.lastSeq > answersBefore }
        #expect(answerSent)
        // More of them, from several clients, so that the replica holds some while more come (a recheck
        // found `answers_pending` stuck at the count the stream had after the first it held).
        _ = try onThreads(4) { thread in
            let client = try primary.client()
            for index in 0..<5 {
                try client.call("contacts.create", ["name": .string("o\(thread)-\(index)"), "idempotency_key": .string("o\(thread)-\(index)")])
                usleep(20_000)
            }
        }
        #expect(await self.eventuallyAsync { try await jetStream.streamInfo("LEDGER_IDEMPOTENCY").state.lastSeq >= answersBefore + 21 })
        // The runbook's step 2 passes: the replica has the whole stream, and the held answer is not counted.
        let replication = { try replica.call("system.stats")["replication"] }
        #expect(self.eventually { try replication()?.int("answers_pending") == 0 })
        #expect(try replication()?.int("applied_seq") == replication()?.int("stream_last_seq"))
        primary.kill()

        try await self.refuseNewMessages(nil, stream: "LEDGER", jetStream)
        #expect(replica.stop() == 0)
        let promoted = try DaemonHarness(arguments: ["--replicate", nats.url], directory: replica.directory)
        let retried = try #require(try promoted.call("contacts.create", params).string("uuid"))
        #expect(retried != first)
        #expect(try promoted.call("contacts.count", ["query": ""]).int("total") == 4)
        #expect(try promoted.call("contacts.create", ["name": "o0-0", "idempotency_key": "o0-0"]).string("name") == "o0-0")
        #expect(try promoted.call("contacts.count", ["query": ""]).int("total") == 5)
        // Once the promoted node claimed the stream, the first answer is gone from it; the retry's is there.
        #expect(self.eventually { try promoted.call("system.stats")["replication"]?.int("answers_pending") == 0 })
        let held = try await self.answerRecords(jetStream)
        #expect(!held.contains { $0.contains(first) })
        #expect(held.contains { $0.contains(retried) })
    }

    /// Found by the recheck: a deletion's replacement of an answer went to the stream before the deletion's
    /// events, erasing the stream's copy of the first answer; the primary went down before the deletion was
    /// published, and a replica that had not received the first answer held neither: the promoted node
    /// made the contact again on retry.
    @Test("a deletion's replacement of an answer waits for the deletion's events: the first answer stays on the stream until then")
    func aReplacementWaitsForItsDeletion() async throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        let params: JSONValue = ["name": "Soon Gone", "urns": ["ext:soon-gone"], "idempotency_key": "gone-1"]
        let created = try primary.call("contacts.create", params)
        let uuid = try #require(created.string("uuid"))
        try primary.call("contacts.modify", ["uuid": .string(uuid), "modifiers": [ContactKit.status("archived")]])
        try self.waitUntilPublished(primary)
        #expect(self.eventually { try primary.call("system.stats")["replication"]?.int("answers_pending") == 0 })
        let jetStream = try await self.jetStream(nats)
        try await self.refuseNewMessages(.subjectsMoved, stream: "LEDGER", jetStream)
        try primary.call("contacts.delete", ["uuid": .string(uuid)])
        try await Task.sleep(for: .seconds(1))
        // A replica that never saw the first answer, started while the deletion waits.
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        #expect(self.eventually { try replica.call("system.stats")["replication"]?.int("answers_pending") == 0 })
        #expect(self.eventually {
            let replication = try replica.call("system.stats")["replication"]
            return replication?.int("applied_seq") == replication?.int("stream_last_seq") && replication?.string("state") == "caught_up"
        })
        primary.kill()
        try await self.refuseNewMessages(nil, stream: "LEDGER", jetStream)
        #expect(replica.stop() == 0)
        let promoted = try DaemonHarness(arguments: ["--replicate", nats.url], directory: replica.directory)
        // The deletion never reached the stream: the contact is there, and the retry answers as first.
        #expect(try promoted.call("contacts.create", params) == created)
        #expect(try promoted.call("contacts.count", ["query": "status = archived"]).int("total") == 1)
    }

    @Test("a replica drops an answer whose seq holds another record in its log, once its log gets there")
    func anAnswerToAnotherHistoryIsDropped() async throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        try self.createContacts(primary, 0..<3)
        let (verified, _) = try self.converge(primary, replica)
        let head = UInt64(try #require(verified.int("head_seq")))
        let jetStream = try await self.jetStream(nats)

        // An answer stored at the next seq by another history (a hash this log will not have there), whose
        // params hash no retry matches: stored, it would answer the retry idempotency_key_reused.
        let key = Array("main".utf8) + [0] + Array(SHA256.hash(data: Array("forged-1".utf8)))
        let answer: JSONValue = [
            "format": 1, "key": .string(Data(key).base64EncodedString()),
            "record": .string(Data(Array(repeating: 7, count: 32) + Array("{}".utf8)).base64EncodedString()),
            "seq": .integer(Int64(head + 1)), "hash": .string(Data(Array(repeating: 0, count: 32)).base64EncodedString()),
        ]
        let subject = "ledger_idempotency." + SHA256.hash(data: key).map { String(format: "%02x", $0) }.joined()
        let sent = try await jetStream.publish(JetStream.Outgoing(subject: subject, payload: answer.jsonText))
        // Held while the stream has no event at its seq, and not counted as pending.
        try await Task.sleep(for: .seconds(1))
        #expect(try replica.call("system.stats")["replication"]?.int("answers_pending") == 0)
        try primary.call("contacts.create", ["name": "Next", "urns": ["ext:next"]])
        _ = try self.converge(primary, replica)
        let durable = try #require(try replica.call("system.stats")["replication"]?.string("durable"))
        let handled = await self.eventuallyAsync {
            try await jetStream.consumerInfo(stream: "LEDGER_IDEMPOTENCY", name: durable + "_answers").ackFloor.streamSeq >= sent.seq
        }
        #expect(handled)

        #expect(primary.stop() == 0)
        #expect(replica.stop() == 0)
        let promoted = try DaemonHarness(arguments: ["--replicate", nats.url], directory: replica.directory)
        let created = try promoted.call("contacts.create", ["name": "Forged Key", "idempotency_key": "forged-1"])
        #expect(created.string("uuid") != nil, "\(created)")
    }

    /// Found by a replication audit: a replica's promotion queued every answer it held again (the answers
    /// it stored dropped the queue's mark), and its own new answers, and so its events, waited behind them
    /// for a minute; a second failover then lost those answers, and retries made their contacts twice.
    @Test("a promoted replica has no answers to send again: those it stored are the stream's; its own go at once")
    func aPromotedReplicaSendsNoAnswerAgain() async throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        _ = try onThreads(4) { thread in
            let client = try primary.client()
            for index in stride(from: thread, to: 300, by: 4) {
                try client.call("contacts.create", ["name": .string("k\(index)"), "idempotency_key": .string("k\(index)")])
            }
        }
        _ = try self.converge(primary, replica)
        #expect(self.eventually { try primary.call("system.stats")["replication"]?.int("answers_pending") == 0 })
        #expect(self.eventually { try replica.call("system.stats")["replication"]?.int("answers_pending") == 0 })
        #expect(primary.stop() == 0)
        #expect(replica.stop() == 0)
        // Every answer it holds is the stream's, and it says so.
        let environment = try Environment(directory: replica.directory)
        let tables = try environment.openTables(["ledger.meta", "ledger.idempotency_outbox"])
        let (meta, outbox) = (try #require(tables["ledger.meta"]), try #require(tables["ledger.idempotency_outbox"]))
        let (complete, queued) = try environment.read { txn in
            (try txn.get(meta, key: Array("replication.idempotency_complete".utf8)) != nil, try txn.count(outbox))
        }
        #expect(complete)
        #expect(queued == 0)

        let promoted = try DaemonHarness(arguments: ["--replicate", nats.url], directory: replica.directory)
        #expect(try promoted.call("contacts.create", ["name": "k7", "idempotency_key": "k7"]).string("name") == "k7")
        try promoted.call("contacts.create", ["name": "After", "idempotency_key": "after"])
        var mostPending: Int64 = 0
        let published = self.eventually {
            let replication = try promoted.call("system.stats")["replication"]
            mostPending = max(mostPending, replication?.int("answers_pending") ?? 0)
            return replication?.int("answers_pending") == 0 && replication?["lag"]?.int("events") == 0 && replication?.string("state") == "caught_up"
        }
        #expect(published)
        #expect(mostPending <= 1)
        #expect(try promoted.call("contacts.count", ["query": ""]).int("total") == 301)
    }

    @Test("a start that queues every answer again sends only those the stream does not hold as they are")
    func answersQueuedAgainAreNotSentAgain() async throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        for index in 0..<5 { try primary.call("contacts.create", ["name": .string("k\(index)"), "idempotency_key": .string("k\(index)")]) }
        try self.waitUntilPublished(primary)
        #expect(self.eventually { try primary.call("system.stats")["replication"]?.int("answers_pending") == 0 })
        let jetStream = try await self.jetStream(nats)
        let sent = try await jetStream.streamInfo("LEDGER_IDEMPOTENCY").state.lastSeq
        // A start without --replicate stores an answer unqueued: the next publishing start queues them all.
        #expect(primary.stop() == 0)
        let standalone = try DaemonHarness(directory: primary.directory)
        try standalone.call("contacts.create", ["name": "Alone", "idempotency_key": "alone"])
        #expect(standalone.stop() == 0)
        let again = try DaemonHarness(arguments: ["--replicate", nats.url], directory: primary.directory)
        try self.waitUntilPublished(again)
        #expect(self.eventually { try again.call("system.stats")["replication"]?.int("answers_pending") == 0 })
        #expect(try await jetStream.streamInfo("LEDGER_IDEMPOTENCY").state.lastSeq == sent + 1)
    }

    // MARK: - Helpers

    private func jetStream(_ nats: NATSServerProcess) async throws -> JetStream {
        let client = NATSClient(configuration: try .init(url: nats.url))
        try await client.connect()
        return JetStream(client: client)
    }

    /// Waits until the primary's stream holds its whole log.
    private func waitUntilPublished(_ primary: DaemonHarness, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let head = try primary.call("system.health").int("head_seq")
        #expect(self.eventually { try primary.call("system.stats")["replication"]?.int("published_seq") == head }, sourceLocation: sourceLocation)
    }

    /// How a test makes a stream take no new message.
    enum Refusal {
        /// At most the messages it holds, new ones refused (a stream holding none is not limited).
        case holdsNoMore
        /// Its subjects moved under `refused.`, so that messages find no stream: for a stream a deletion's
        /// erasures remove messages from, which let as many new ones in. A publisher's check of its stream's
        /// subjects then fails at each reconnection.
        case subjectsMoved
    }

    /// Makes `stream` take no new message, as `refusal` says, or lifts that (`nil`).
    private func refuseNewMessages(_ refusal: Refusal?, stream: String, _ jetStream: JetStream) async throws {
        let info = try await jetStream.client.request([], to: "$JS.API.STREAM.INFO.\(stream)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(info.payload)) as? [String: Any])
        var config = try #require(object["config"] as? [String: Any])
        let state = try #require(object["state"] as? [String: Any])
        let subjects = try #require(config["subjects"] as? [String])
        config["subjects"] = subjects.map { refusal == .subjectsMoved ? "refused." + $0 : String($0.dropFirst($0.hasPrefix("refused.") ? 8 : 0)) }
        config["max_msgs"] = refusal == .holdsNoMore ? (state["messages"] as? Int ?? 0) : -1
        config["discard"] = refusal == .holdsNoMore ? "new" : "old"
        let updated = try await jetStream.client.request(
            Array(try JSONSerialization.data(withJSONObject: config)), to: "$JS.API.STREAM.UPDATE.\(stream)"
        )
        let answer = try #require(try JSONSerialization.jsonObject(with: Data(updated.payload)) as? [String: Any])
        #expect(answer["error"] == nil, "\(answer)")
    }

    /// The records of every answer on the answers stream, as text.
    private func answerRecords(_ jetStream: JetStream) async throws -> [String] {
        var records: [String] = []
        for seq in 1...max(try await jetStream.streamInfo("LEDGER_IDEMPOTENCY").state.lastSeq, 1) {
            guard let message = try? await jetStream.message(stream: "LEDGER_IDEMPOTENCY", seq: seq) else { continue }
            let record = try JSONValue(parsing: message.payload).string("record").flatMap { Data(base64Encoded: $0) } ?? Data()
            records.append(String(decoding: record, as: UTF8.self))
        }
        return records
    }

    private func eventuallyAsync(seconds: Double = 30, _ condition: () async throws -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? await condition()) == true { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return false
    }
}
