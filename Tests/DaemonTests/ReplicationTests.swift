// ContactLedger — daemon tests.
import Foundation
import NATSClient
import TestSupport
import RPC
import Testing

/// Primary (`--replicate`) → nats-server (JetStream) → read replica (`--follow`).
@Suite("Replication through NATS JetStream", .ownThreads, .serialized, .enabled(if: NATSServerProcess.isAvailable))
struct ReplicationTests: ReplicationChecks {
    @Test("writes on the primary appear on the replica with the same head hash; the replica refuses commands")
    func primaryToReplica() throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        try self.createContacts(primary, 0..<40)
        let doomed = try primary.call("contacts.create", ["name": "Doomed", "urns": ["ext:doomed"]])
        let uuid = try #require(doomed.string("uuid"))
        try primary.call("contacts.modify", ["uuid": .string(uuid), "modifiers": [["type": "name", "name": "Still doomed"], ContactKit.status("archived")]])
        try primary.call("contacts.delete", ["uuid": .string(uuid)])

        let replica = try DaemonHarness(arguments: ["--follow", nats.url, "--stream", "LEDGER"])
        let (primaryVerify, replicaVerify) = try self.converge(primary, replica)
        #expect(replicaVerify["verified"] == true)
        #expect(replicaVerify.string("head_hash") == primaryVerify.string("head_hash"))
        #expect(replicaVerify.int("head_seq") == primaryVerify.int("head_seq"))

        // Queries answer alike.
        #expect(try replica.call("contacts.get", ["urn": "ext:c7"]).string("name") == "c7")
        #expect(try replica.call("contacts.count", ["query": ""])["total"] == (try primary.call("contacts.count", ["query": ""])["total"]))
        #expect(try replica.error("contacts.get", ["uuid": .string(uuid)]).code == -32001)
        let primaryEvents = try primary.call("events.read", ["limit": 1000])["items"]?.arrayValue ?? []
        let replicaEvents = try replica.call("events.read", ["limit": 1000])["items"]?.arrayValue ?? []
        #expect(primaryEvents.count == replicaEvents.count)
        #expect(primaryEvents == replicaEvents)

        // Commands are refused; live writes keep flowing.
        let refused = try replica.error("contacts.create", ["name": "Nope"])
        #expect(refused.code == -32005)
        #expect(refused.data("reason") == "read_only_replica")
        #expect(try replica.error("workspace.configure", ["languages": ["eng"]]).code == -32005)
        try primary.call("contacts.create", ["name": "Late", "urns": ["ext:late"]])
        _ = try self.converge(primary, replica)
        #expect(try replica.call("contacts.get", ["urn": "ext:late"]).string("name") == "Late")

        // Both report their replication state and no lag.
        let head = try primary.call("system.health").int("head_seq")
        #expect(self.eventually { try primary.call("system.stats")["replication"]?.int("published_seq") == head })
        let published = try #require(try primary.call("system.stats")["replication"])
        #expect(published.string("role") == "publisher")
        #expect(published["lag"]?.int("events") == 0)
        #expect(self.eventually { try replica.call("system.stats")["replication"]?.int("stream_last_seq") == head })
        let following = try #require(try replica.call("system.stats")["replication"])
        #expect(following.string("role") == "replica")
        #expect(following["lag"]?.int("events") == 0)
        #expect(try replica.call("projections.status")["replication"]?.string("role") == "replica")
    }

    @Test("a replica shows a smart group evaluating while its primary evaluates it, also once the primary stops; promoted, it finishes the evaluation")
    func smartGroupEvaluationOnReplicas() throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        try primary.populate(count: 10_000)
        _ = try self.converge(primary, replica, seconds: 90)
        func status(_ daemon: DaemonHarness, _ uuid: String) throws -> String? {
            try daemon.call("groups.list")["groups"]?.arrayValue?.first { $0.string("uuid") == uuid }?.string("status")
        }

        // Before, the evaluation's state was the primary's alone: a replica said `ready` over a part-built
        // membership, and kept saying it while the primary was down.
        let group = try #require(try primary.call("groups.create", ["name": "Ps", "query": "name ~ p1"]).string("uuid"))
        #expect(self.eventually(seconds: 10) { try status(replica, group) == "evaluating" })
        #expect(primary.stop() == 0)
        #expect(primary.log().contains("smart group evaluation stopped with the daemon"), "the evaluation ended before the stop: \(primary.log().suffix(2_000))")
        #expect(self.eventually { try replica.call("system.stats")["replication"]?["lag"]?.int("events") == 0 })
        #expect(try status(replica, group) == "evaluating")

        // Promoted, the replica finishes what its primary left; the end is in the log for its followers.
        #expect(replica.stop() == 0)
        let promoted = try DaemonHarness(arguments: ["--replicate", nats.url], directory: replica.directory)
        let ready = try QueryAndGroupTests.waitUntilReady(promoted, group)
        let total = try promoted.call("contacts.count", ["query": "name ~ p1"]).int("total")
        #expect(ready.int("count") == total)
        let ends = try promoted.call("events.read", ["types": ["group_evaluated"], "limit": 100])["items"]?.arrayValue ?? []
        #expect(ends.map { $0["data"]?.string("uuid") } == [group])
        let follower = try DaemonHarness(arguments: ["--follow", nats.url])
        _ = try self.converge(promoted, follower, seconds: 90)
        let followed = try #require(try follower.call("groups.list")["groups"]?.arrayValue?.first { $0.string("uuid") == group })
        #expect(followed.string("status") == "ready")
        #expect(followed.int("count") == total)
    }

    @Test("nats-server down: the primary keeps writing; after the restart the replica catches up, nothing lost or duplicated")
    func natsRestart() throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        try self.createContacts(primary, 0..<60, threads: 8)
        _ = try self.converge(primary, replica)

        nats.kill()
        try self.createContacts(primary, 60..<160, threads: 8)
        let head = try primary.call("system.health").int("head_seq") ?? 0
        #expect(self.eventually(seconds: 5) { (try primary.call("system.stats")["replication"]?["lag"]?.int("events") ?? 0) > 0 })
        #expect(try primary.call("system.stats")["replication"]?["connected"] == false)
        #expect(try replica.call("system.health").int("head_seq") ?? 0 < head)

        try nats.start()
        try self.createContacts(primary, 160..<200, threads: 8)
        let (primaryVerify, replicaVerify) = try self.converge(primary, replica)
        #expect(replicaVerify["verified"] == true)
        #expect(replicaVerify.string("head_hash") == primaryVerify.string("head_hash"))
        #expect(try replica.call("contacts.count", ["query": ""])["total"] == 200)
        for index in [0, 61, 120, 199] {
            #expect(try replica.call("contacts.get", ["urn": .string("ext:c\(index)")]).string("name") == "c\(index)")
        }
        // The stream holds exactly the ledger's events.
        let headSeq = try primary.call("system.health").int("head_seq")
        #expect(self.eventually { try replica.call("system.stats")["replication"]?.int("stream_last_seq") == headSeq })
    }

    @Test("publisher and replica resume from their stored positions after restarts")
    func restarts() throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        try self.createContacts(primary, 0..<30)
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        _ = try self.converge(primary, replica)

        #expect(replica.stop() == 0)
        #expect(primary.stop() == 0)
        // Written while the primary is not publishing: published after its restart.
        try primary.start()
        try self.createContacts(primary, 30..<60)
        try replica.start()
        let (primaryVerify, replicaVerify) = try self.converge(primary, replica)
        #expect(replicaVerify.string("head_hash") == primaryVerify.string("head_hash"))
        #expect(try replica.call("contacts.count", ["query": ""])["total"] == 60)
        let stats = try #require(try primary.call("system.stats")["replication"])
        #expect(stats["lag"]?.int("events") == 0 || self.eventually { try primary.call("system.stats")["replication"]?["lag"]?.int("events") == 0 })
    }

    @Test("failover: a caught-up replica promoted onto the same stream; other replicas keep following it")
    func promoteReplica() throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        let promoted = try DaemonHarness(arguments: ["--follow", nats.url])
        let follower = try DaemonHarness(arguments: ["--follow", nats.url])
        try self.createContacts(primary, 0..<30)
        _ = try self.converge(primary, promoted)
        let before = try primary.call("ledger.verify")

        // The runbook: stop the primary, wait for no lag, restart the replica as the publisher of the same stream.
        #expect(primary.stop() == 0)
        #expect(self.eventually { try promoted.call("system.stats")["replication"]?["lag"]?.int("events") == 0 })
        #expect(try promoted.call("ledger.verify").string("head_hash") == before.string("head_hash"))
        #expect(promoted.stop() == 0)
        let promotedAsPrimary = try DaemonHarness(arguments: ["--replicate", nats.url], directory: promoted.directory)
        try self.createContacts(promotedAsPrimary, 30..<50)
        let (newHead, followerVerify) = try self.converge(promotedAsPrimary, follower)
        #expect(followerVerify.string("head_hash") == newHead.string("head_hash"))
        #expect(try follower.call("contacts.count", ["query": ""])["total"] == 50)
        #expect(self.eventually { try promotedAsPrimary.call("system.stats")["replication"]?["lag"]?.int("events") == 0 })
        #expect(try promotedAsPrimary.call("system.stats")["replication"]?.string("last_error") == nil)

        // The accident the runbook warns of: the old primary restarted as a publisher and written to until
        // its log is longer than the stream. Its events are not the stream's: it publishes none of them
        // (counting messages alone let it publish its own onto the stream, and every replica broke). The
        // stream is claimed by the promoted replica: it is fenced.
        let stale = try DaemonHarness(arguments: ["--replicate", nats.url], directory: primary.directory)
        try self.createContacts(stale, 100..<140)
        #expect(self.eventually { try stale.call("system.stats")["replication"]?.string("state") == "fenced" })
        // It retries with back-off and says so once, not at every retry.
        usleep(3_000_000)
        #expect(stale.log().split(separator: "\n").filter { $0.contains("must not publish") }.count == 1, "\(stale.log().suffix(1_500))")
        try self.createContacts(promotedAsPrimary, 50..<55)
        let (finalHead, finalVerify) = try self.converge(promotedAsPrimary, follower)
        #expect(finalVerify.string("head_hash") == finalHead.string("head_hash"))
        #expect(try promotedAsPrimary.call("system.stats")["replication"]?.string("last_error") == nil)
        #expect(try follower.call("system.stats")["replication"]?.string("state") != "chain_broken")
        #expect(stale.stop() == 0)
    }

    @Test("failover: a retry on the promoted replica answers as the old primary did; the answers stream keeps no deleted contact's data")
    func idempotentAnswersSurviveAFailover() async throws {
        let nats = try NATSServerProcess()
        // An answer stored before the node ever published is sent too, once it does.
        let unpublished = try DaemonHarness()
        let earlyParams: JSONValue = ["name": "Early", "urns": ["tel:+250788000100"], "idempotency_key": "early"]
        let early = try unpublished.call("contacts.create", earlyParams)
        #expect(unpublished.stop() == 0)
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url], directory: unpublished.directory)
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        let keptParams: JSONValue = ["name": "Kept Answer", "urns": ["tel:+250788000111"], "idempotency_key": "create-1"]
        let kept = try primary.call("contacts.create", keptParams)
        let elsewhereParams: JSONValue = ["name": "Other Place", "workspace": "north.region", "idempotency_key": "create-1"]
        let elsewhere = try primary.call("contacts.create", elsewhereParams)
        let goneParams: JSONValue = ["name": "Gone Person", "urns": ["tel:+250788000222"], "idempotency_key": "create-2"]
        let gone = try #require(try primary.call("contacts.create", goneParams).string("uuid"))
        let client = NATSClient(configuration: try .init(url: nats.url))
        try await client.connect()
        let jetStream = JetStream(client: client)
        // The answer naming the contact, as it was sent before the deletion.
        #expect(self.eventually { try primary.call("system.stats")["replication"]?.int("answers_pending") == 0 })
        var sentBeforeDeletion: StoredMessage?
        for seq in 1...max(try await jetStream.streamInfo("LEDGER_IDEMPOTENCY").state.lastSeq, 1) {
            guard let message = try? await jetStream.message(stream: "LEDGER_IDEMPOTENCY", seq: seq) else { continue }
            let record = try JSONValue(parsing: message.payload).string("record").flatMap { Data(base64Encoded: $0) } ?? Data()
            if String(decoding: record, as: UTF8.self).contains("Gone Person") { sentBeforeDeletion = message }
        }
        let lateCopy = try #require(sentBeforeDeletion)
        try primary.call("contacts.modify", ["uuid": .string(gone), "modifiers": [ContactKit.status("archived")]])
        try primary.call("contacts.delete", ["uuid": .string(gone)])
        try self.createContacts(primary, 0..<5)
        _ = try self.converge(primary, replica)
        // The runbook's check: nothing left to send, nothing left to receive.
        #expect(self.eventually { try primary.call("system.stats")["replication"]?.int("answers_pending") == 0 })
        #expect(self.eventually { try replica.call("system.stats")["replication"]?.int("answers_pending") == 0 })

        // One message per answer; the deleted contact's answer is there erased, its first copy overwritten.
        let info = try await jetStream.streamInfo("LEDGER_IDEMPOTENCY")
        var held = 0
        for seq in 1...max(info.state.lastSeq, 1) {
            guard let message = try? await jetStream.message(stream: "LEDGER_IDEMPOTENCY", seq: seq) else { continue }
            held += 1
            let answer = try JSONValue(parsing: message.payload)
            let record = answer.string("record").flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) } ?? ""
            #expect(!record.isEmpty && !record.contains("Gone") && !record.contains("788000222"), "answers stream message \(seq)")
        }
        #expect(held == 4)
        // The first copy delivered late, after the replica applied the deletion: kept erased there.
        let late = try await jetStream.publish(JetStream.Outgoing(subject: lateCopy.subject, payload: lateCopy.payload))
        let durable = try #require(try replica.call("system.stats")["replication"]?.string("durable"))
        var stored = false
        for _ in 0..<300 where !stored {
            // Acknowledged once stored.
            let consumer = try await jetStream.consumerInfo(stream: "LEDGER_IDEMPOTENCY", name: durable + "_answers")
            stored = consumer.ackFloor.streamSeq >= late.seq
            if !stored { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(stored)
        await client.close()

        // The runbook: stop the primary, then promote the caught-up replica.
        #expect(primary.stop() == 0)
        #expect(replica.stop() == 0)
        let promoted = try DaemonHarness(arguments: ["--replicate", nats.url], directory: replica.directory)
        #expect(try promoted.call("contacts.create", keptParams) == kept)
        #expect(try promoted.call("contacts.create", elsewhereParams) == elsewhere)
        #expect(try promoted.call("contacts.create", earlyParams) == early)
        #expect(try promoted.call("contacts.count", ["query": ""]).int("total") == 7)
        let deleted = try promoted.error("contacts.create", goneParams)
        #expect(deleted.code == -32001 && deleted.data("reason") == "deleted", "\(deleted)")
        let reused = try promoted.error("contacts.create", ["name": "Someone Else", "idempotency_key": "create-1"])
        #expect(reused.code == -32002 && reused.data("reason") == "idempotency_key_reused", "\(reused)")
        // Promoted, it publishes the answers it stores from now on.
        try promoted.call("contacts.create", ["name": "After", "idempotency_key": "after-promotion"])
        #expect(self.eventually { try promoted.call("system.stats")["replication"]?.int("answers_pending") == 0 })
    }

    @Test("an old primary whose log is shorter than the promoted primary's stream says fenced, and diverged on an unclaimed stream")
    func divergedOldPrimaryBehindTheStream() async throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        try self.createContacts(primary, 0..<10)
        // Three events the old primary never published, then the failover.
        let promoted = try self.promoteAfterUnpublishedWrites(nats, primary, replica, unpublished: 10..<13)
        try self.createContacts(promoted, 100..<107)
        #expect(self.eventually { try promoted.call("system.stats")["replication"]?.int("published_seq") == 17 })

        // The stream (17) is past the old primary's log (13), whose event 11 is not the stream's: it said only
        // that the stream held more messages than its log, as a replica that is merely behind does. The
        // stream claimed by another node, it is fenced.
        let stale = try DaemonHarness(arguments: ["--replicate", nats.url], directory: primary.directory)
        #expect(self.eventually { try stale.call("system.stats")["replication"]?.string("state") == "fenced" })
        #expect(stale.stop() == 0)
        // On a stream without a claim (made by an older version), its history tells: diverged.
        #expect(promoted.stop() == 0)
        let client = NATSClient(configuration: try .init(url: nats.url))
        try await client.connect()
        _ = try await JetStream(client: client).setDescription("", ofStream: "LEDGER")
        await client.close()
        try stale.start()
        #expect(self.eventually {
            (try stale.call("system.stats")["replication"]?.string("last_error") ?? "").contains("diverged")
        }, "\(String(describing: try? stale.call("system.stats")["replication"]))")
        #expect(stale.stop() == 0)
    }

    @Test("a replica refused promotion while behind shows its events as on the stream, not as unpublished")
    func aReplicaRefusedPromotionShowsNoUnpublishedEvents() throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        try self.createContacts(primary, 0..<10)
        let (_, verified) = try self.converge(primary, replica)
        let head = try #require(verified.int("head_seq"))
        #expect(replica.stop() == 0)
        try self.createContacts(primary, 10..<11)
        // Behind the stream: refused, and every event it holds is the stream's (the runbook's step 1 reads a
        // lag as events that exist only on this node; it showed the whole log).
        let refused = try DaemonHarness(arguments: ["--replicate", nats.url], directory: replica.directory)
        #expect(self.eventually { try refused.call("system.stats")["replication"]?.string("state") == "error" })
        let status = try #require(try refused.call("system.stats")["replication"])
        #expect(status.int("published_seq") == head && status["lag"]?.int("events") == 0, "\(status)")
        #expect(refused.stop() == 0)
    }

    @Test("a primary still running when a replica is promoted publishes nothing more once the claim is made; the promoted one goes on")
    func aRunningOldPrimaryIsFencedBeforeItsNextBatch() async throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        try self.createContacts(primary, 0..<10)
        _ = try self.converge(primary, replica)
        #expect(replica.stop() == 0)
        // Promoted while the old primary still runs (the runbook's step 1 skipped), which writes at once.
        let promoted = try DaemonHarness(arguments: ["--replicate", nats.url], directory: replica.directory)
        #expect(self.eventually { try promoted.call("system.stats")["replication"]?.string("state") == "caught_up" })
        let head = try #require(try promoted.call("system.health").int("head_seq"))
        try self.createContacts(primary, 10..<13)
        #expect(self.eventually { try primary.call("system.stats")["replication"]?.string("state") == "fenced" })
        // It published none of them (within its 5 s between claim checks it did, and the promoted node's
        // next event then diverged from the stream).
        let client = NATSClient(configuration: try .init(url: nats.url))
        try await client.connect()
        #expect(try await JetStream(client: client).streamInfo("LEDGER").state.lastSeq == UInt64(head))
        await client.close()
        try self.createContacts(promoted, 100..<103)
        #expect(self.eventually { try promoted.call("system.stats")["replication"]?.int("published_seq") == head + 3 })
        #expect(try promoted.call("system.stats")["replication"]?.string("last_error") == nil)
    }

    @Test("a replica started on another stream than its log came from says chain_broken and takes nothing of it")
    func aReplicaOnAnotherStreamIsRefused() throws {
        let nats = try NATSServerProcess()
        let shardA = try DaemonHarness(arguments: ["--replicate", nats.url, "--stream", "LEDGER_A"])
        let shardB = try DaemonHarness(arguments: ["--replicate", nats.url, "--stream", "LEDGER_B"])
        let replica = try DaemonHarness(arguments: ["--follow", nats.url, "--stream", "LEDGER_B"])
        try self.createContacts(shardA, 0..<5)
        try self.createContacts(shardB, 100..<120)
        _ = try self.converge(shardB, replica)
        #expect(replica.stop() == 0)
        // Its log (B's, 20 contacts) is ahead of A's stream, and another history where both hold events.
        let wrong = try DaemonHarness(arguments: ["--follow", nats.url, "--stream", "LEDGER_A"], directory: replica.directory)
        #expect(self.eventually { try wrong.call("system.stats")["replication"]?.string("state") == "chain_broken" })
        let status = try #require(try wrong.call("system.stats")["replication"])
        #expect(status.string("last_error")?.contains("another history") == true, "\(status)")
        // The stream's own length, not this log's (a replica audit saw its head shown as the stream's).
        #expect(status.int("stream_last_seq") == (try shardA.call("system.health").int("head_seq")), "\(status)")
        #expect(try wrong.call("contacts.count", ["query": ""]).int("total") == 20)
        #expect(wrong.stop() == 0)
    }

    @Test("a primary writes its claim back when the stream's description loses it")
    func aDroppedClaimIsWrittenBack() async throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        try self.createContacts(primary, 0..<3)
        let client = NATSClient(configuration: try .init(url: nats.url))
        try await client.connect()
        let jetStream = JetStream(client: client)
        let claim = try #require(try await jetStream.streamInfo("LEDGER").config.description)
        #expect(claim.contains("\"primary\""))
        // A config tool's update without the description: it was written back only at the next connection.
        _ = try await jetStream.setDescription("", ofStream: "LEDGER")
        let deadline = Date().addingTimeInterval(15)
        var restored: String?
        while Date() < deadline {
            restored = try await jetStream.streamInfo("LEDGER").config.description
            if restored == claim { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(restored == claim)
        await client.close()
    }

    @Test("an anonymous workspace shows a contact the same ref on the primary, its replicas, and a promoted replica")
    func anonymousRefsAreTheLedgersOnEveryNode() throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        try primary.call("workspace.configure", ["workspace": "hidden", "anonymous": true])
        try self.createContacts(primary, 0..<5, workspace: "hidden")
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        let follower = try DaemonHarness(arguments: ["--follow", nats.url])
        _ = try self.converge(primary, replica)
        _ = try self.converge(primary, follower)
        func refs(_ daemon: DaemonHarness) throws -> [String] {
            let contacts = try daemon.call("contacts.search", ["workspace": "hidden", "query": "", "sort": "id"])["contacts"]?.arrayValue ?? []
            return contacts.compactMap { $0.string("ref") }
        }
        let shown = try refs(primary)
        #expect(shown.count == 5)
        // Each data directory made its own key: the same contact showed another ref on each node.
        #expect(try refs(replica) == shown)
        #expect(try refs(follower) == shown)
        let first = try #require(shown.first)
        #expect(try replica.call("contacts.count", ["workspace": "hidden", "query": .string("ref = \"\(first)\"")]).int("total") == 1)

        // Promoted, the replica keeps the refs, and the stream's other replica too.
        #expect(primary.stop() == 0)
        #expect(replica.stop() == 0)
        let promoted = try DaemonHarness(arguments: ["--replicate", nats.url], directory: replica.directory)
        try self.createContacts(promoted, 5..<6, workspace: "hidden")
        _ = try self.converge(promoted, follower)
        let after = try refs(promoted)
        #expect(Array(after.prefix(5)) == shown && after.count == 6)
        #expect(try refs(follower) == after)
    }

    @Test("an old primary restarted after a promotion publishes nothing, even before the new primary has written")
    func oldPrimaryIsFencedOnceAReplicaIsPromoted() throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        let follower = try DaemonHarness(arguments: ["--follow", nats.url])
        try self.createContacts(primary, 0..<10)
        _ = try self.converge(primary, follower)
        // Five events the old primary never published, then the failover; the promoted replica has not
        // written yet, so the old primary's log still chains onto the stream.
        let promoted = try self.promoteAfterUnpublishedWrites(nats, primary, replica, unpublished: 10..<15)
        #expect(self.eventually { try promoted.call("system.stats")["replication"]?.string("state") == "caught_up" })

        // The mistake: the old primary started as a primary. It published its five events, and the new
        // primary's next write could not be.
        let stale = try DaemonHarness(arguments: ["--replicate", nats.url], directory: primary.directory)
        #expect(self.eventually { try stale.call("system.stats")["replication"]?.string("state") == "fenced" })
        #expect(try stale.call("system.stats")["replication"]?.string("last_error")?.contains("must not publish") == true)
        try self.createContacts(promoted, 100..<103)
        let (head, followerVerify) = try self.converge(promoted, follower)
        #expect(head.int("head_seq") == 13)
        #expect(followerVerify.string("head_hash") == head.string("head_hash"))
        #expect(self.eventually { try promoted.call("system.stats")["replication"]?.int("published_seq") == 13 })
        #expect(try promoted.call("system.stats")["replication"]?.string("last_error") == nil)
        #expect(try stale.call("system.stats")["replication"]?.int("published_seq") == 10)
        // A subscriber of the old primary that had its unpublished event 12 resumes on the new primary,
        // whose head (13) is past it: the seq alone is taken, its hash tells the history differs.
        let lost = try #require(try stale.call("events.read", ["after_seq": 11, "limit": 1])["items"]?.arrayValue?.first?.string("hash"))
        let resumed = try promoted.error("events.subscribe", ["after_seq": 12, "after_hash": .string(lost)])
        #expect(resumed.code == -32002 && resumed.data("reason") == "history_differs", "\(resumed)")
        #expect(stale.stop() == 0)
    }

    @Test("a deleted contact's personal data leaves the stream too; replicas, old and new, still build the whole chain")
    func deletionErasesTheStreamsCopies() async throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        let early = try DaemonHarness(arguments: ["--follow", nats.url])
        let secret = try primary.call("contacts.create", ["name": "Secret Person", "urns": ["tel:+250788111222"]])
        let uuid = try #require(secret.string("uuid"))
        try primary.call("contacts.modify", ["uuid": .string(uuid), "modifiers": [["type": "name", "name": "Secret Again"], ContactKit.status("archived")]])
        try self.createContacts(primary, 0..<5)
        _ = try self.converge(primary, early)
        try primary.call("contacts.delete", ["uuid": .string(uuid)])
        try self.createContacts(primary, 5..<10)
        _ = try self.converge(primary, early)

        // The stream keeps no message that names the contact: its two events were erased from the stream
        // (their erased copies are in LEDGER_ERASED); it held them for good before.
        let client = NATSClient(configuration: try .init(url: nats.url))
        try await client.connect()
        let jetStream = JetStream(client: client)
        let last = try await jetStream.streamInfo("LEDGER").state.lastSeq
        var held = 0
        for seq in 1...last {
            guard let message = try? await jetStream.message(stream: "LEDGER", seq: seq) else { continue }
            held += 1
            let record = try JSONValue(parsing: message.payload)
            let payload = record.string("payload").flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) } ?? ""
            #expect(!payload.contains("Secret") && !payload.contains("788111222"), "stream message \(seq)")
        }
        #expect(held == Int(last) - 2)
        // The erased copy shows its payload as null, as the README documents the body.
        let copy = try JSONValue(parsing: try await jetStream.lastMessage(stream: "LEDGER_ERASED", subject: "ledger_erased.1").payload)
        #expect(copy["payload"] == .null && copy.int("seq") == 1, "\(copy)")
        if case .object(let members) = copy { #expect(members.keys.contains("payload")) } else { Issue.record("not an object: \(copy)") }
        await client.close()

        // A replica that starts now finds two messages missing and takes their erased copies.
        let late = try DaemonHarness(arguments: ["--follow", nats.url])
        let (primaryVerify, lateVerify) = try self.converge(primary, late)
        #expect(lateVerify["verified"] == true)
        #expect(lateVerify.string("head_hash") == primaryVerify.string("head_hash"))
        #expect(try early.call("ledger.verify").string("head_hash") == primaryVerify.string("head_hash"))
        let events = try late.call("events.read", ["limit": 3])["items"]?.arrayValue ?? []
        #expect(events.first?["data"] == .null && events.first?["erased"] == true, "\(events.first ?? .null)")
        #expect(try late.call("contacts.count", ["query": ""]).int("total") == 10)
    }

    @Test("nats-server restarted with its store lost: the primary publishes again and the replica makes its consumer again")
    func natsStoreLost() throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        try self.createContacts(primary, 0..<20)
        _ = try self.converge(primary, replica)

        // The stream and the replica's durable consumer go with the store. The publisher makes the
        // stream again and publishes the whole log; the replica, ahead of the new stream at first, then
        // behind it with a consumer that no longer exists, waited for ever while it said `following`.
        nats.kill()
        try FileManager.default.removeItem(atPath: nats.storeDirectory)
        try FileManager.default.createDirectory(atPath: nats.storeDirectory, withIntermediateDirectories: true)
        try nats.start()
        try self.createContacts(primary, 20..<30)
        let (primaryVerify, replicaVerify) = try self.converge(primary, replica)
        #expect(replicaVerify.string("head_hash") == primaryVerify.string("head_hash"))
        #expect(try replica.call("contacts.get", ["urn": "ext:c29"]).string("name") == "c29")
        #expect(self.eventually { try replica.call("system.stats")["replication"]?.string("state") == "caught_up" })
    }

    @Test("a replica following a stream with erased messages reports the stream's last sequence while it follows")
    func followingAcrossErasedMessages() throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        // Each archived contact, once deleted, leaves its created event erased from the stream: every
        // other message of the stream is a deleted one.
        let count = 1_500
        _ = try onThreads(4) { thread in
            let client = try primary.client()
            for index in 0..<count where index % 4 == thread {
                let uuid = try #require(try client.call("contacts.create", ["name": .string("gone\(index)"), "status": "archived"]).string("uuid"))
                try client.call("contacts.delete", ["uuid": .string(uuid)])
            }
        }
        let head = try #require(try primary.call("system.health").int("head_seq"))
        #expect(self.eventually { try primary.call("system.stats")["replication"]?["lag"]?.int("events") == 0 })
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        var following: [(applied: Int64, last: Int64, lag: Int64)] = []
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let status = try #require(try replica.call("system.stats")["replication"])
            let applied = status.int("applied_seq") ?? 0
            if status.string("state") == "following", let last = status.int("stream_last_seq"), let lag = status["lag"]?.int("events") {
                following.append((applied, last, lag))
            }
            if applied == head { break }
            usleep(5_000)
        }
        #expect(try replica.call("system.health").int("head_seq") == head)
        #expect(!following.isEmpty, "the replica was never seen following")
        // Counting the messages pending after each one, which leaves deleted ones out, said the stream
        // ended where its undeleted messages did.
        for sample in following {
            #expect(sample.last == head && sample.lag == head - sample.applied, "\(sample) of \(head)")
        }
        #expect(self.eventually { try replica.call("system.stats")["replication"]?.string("state") == "caught_up" })
    }

    @Test("a publisher restarted while nats-server is down reports the position it stored, not 0")
    func publisherPositionWhileNATSIsDown() throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        try self.createContacts(primary, 0..<20)
        #expect(self.eventually { try primary.call("system.stats")["replication"]?["lag"]?.int("events") == 0 })
        let head = try #require(try primary.call("system.health").int("head_seq"))
        #expect(primary.stop() == 0)
        nats.kill()
        try primary.start()
        let replication = try primary.call("system.stats")["replication"]
        #expect(replication?.int("published_seq") == head)
        #expect(replication?["lag"]?.int("events") == 0)
    }
}
