// ContactLedger — daemon tests.
import Foundation
import NATSClient
import RPC
import TestSupport
import Testing

/// A replica restarted with `--replicate` (the runbook's promotion) appends no event of its own, its smart
/// groups' evaluations among them, before its publisher has found the stream holding its log.
@Suite("Replica promotion: the daemon's own events wait for the stream", .ownThreads, .serialized, .enabled(if: NATSServerProcess.isAvailable))
struct ReplicaPromotionOwnWritesTests: ReplicationChecks {
    /// A primary with a smart group (`age >= 18`, evaluated and ready) and a replica that has all of it;
    /// returns the group's uuid.
    private func primaryWithASmartGroup(_ primary: DaemonHarness, _ replica: DaemonHarness) throws -> String {
        try primary.call("fields.create", ["key": "age", "type": "number"])
        let group = try #require(try primary.call("groups.create", ["name": "Adults", "query": "age >= 18"]).string("uuid"))
        for index in 0..<10 {
            try primary.call("contacts.create", ["name": .string("p\(index)"), "fields": ["age": .string("\(14 + index)")]])
        }
        _ = try QueryAndGroupTests.waitUntilReady(primary, group)
        _ = try self.converge(primary, replica)
        return group
    }

    @Test("a replica promoted while behind appends nothing, says the stream is ahead of it, and follows again from its data directory")
    func aReplicaPromotedWhileBehindWritesNothing() throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        let group = try self.primaryWithASmartGroup(primary, replica)
        let behind = try #require(try replica.call("system.health").int("head_seq"))
        #expect(replica.stop() == 0)
        try self.createContacts(primary, 0..<10)
        #expect(self.eventually { try primary.call("system.stats")["replication"]?["lag"]?.int("events") == 0 })
        let stream = try primary.call("ledger.verify")
        let streamHead = try #require(stream.int("head_seq"))
        #expect(primary.stop() == 0)

        // The runbook's step 3 on a replica that is behind: refused, as its status says. Before, its smart
        // groups were evaluated at start (a replica never stores the matching rules' version), at seq
        // `behind + 1`, where the stream holds the old primary's event: it said `diverged`.
        let refused = try DaemonHarness(arguments: ["--replicate", nats.url], directory: replica.directory)
        #expect(self.eventually { try refused.call("system.stats")["replication"]?.string("last_error") != nil })
        usleep(3_000_000)
        let status = try #require(try refused.call("system.stats")["replication"])
        #expect(status.string("state") == "error", "\(status)")
        #expect(status.string("last_error") == "the stream holds \(streamHead) messages but the ledger only \(behind) events", "\(status)")
        #expect(try refused.call("system.health").int("head_seq") == behind)
        let after = try refused.call("events.read", ["after_seq": .integer(behind), "limit": 10])["items"]?.arrayValue ?? []
        #expect(after.isEmpty, "\(after.map { ($0.int("seq") ?? 0, $0.string("type") ?? "") })")
        #expect(try refused.call("groups.list")["groups"]?.arrayValue?.first { $0.string("uuid") == group }?.string("status") == "ready")
        #expect(refused.stop() == 0)

        // It took no writes: it follows the stream again from its own data directory, to the old primary's head.
        let following = try DaemonHarness(arguments: ["--follow", nats.url], directory: replica.directory)
        let caughtUp = self.eventually { try following.call("system.health").int("head_seq") == streamHead }
        #expect(caughtUp, "\(String(describing: try? following.call("system.stats")["replication"]))")
        let verified = try following.call("ledger.verify")
        #expect(verified["verified"] == true)
        #expect(verified.string("head_hash") == stream.string("head_hash"))
        #expect(try following.call("system.stats")["replication"]?.string("state") != "chain_broken")
        #expect(following.stop() == 0)
    }

    @Test("a replica promoted when caught up evaluates its smart groups once its publisher publishes; a follower takes those events")
    func aPromotedReplicaEvaluatesOnceItPublishes() async throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        let group = try self.primaryWithASmartGroup(primary, replica)
        let before = try primary.call("ledger.verify")
        let head = try #require(before.int("head_seq"))
        #expect(primary.stop() == 0)
        #expect(self.eventually { try replica.call("system.stats")["replication"]?["lag"]?.int("events") == 0 })
        #expect(replica.stop() == 0)

        let promoted = try DaemonHarness(arguments: ["--replicate", nats.url], directory: replica.directory)
        // The promoted node re-evaluates its smart groups (its primary may have run older matching rules)…
        var ends: [JSONValue] = []
        let evaluated = self.eventually {
            ends = try promoted.call("events.read", ["after_seq": .integer(head), "types": ["group_evaluated"], "limit": 10])["items"]?.arrayValue ?? []
            return !ends.isEmpty
        }
        #expect(evaluated, "\(promoted.log().suffix(2_000))")
        #expect(ends.map { $0["data"]?.string("uuid") } == [group])
        // …only once its publisher has taken the stream over and found its log to be the stream's.
        let log = promoted.log()
        let takenOver = try #require(log.range(of: "took the stream over"), "\(log.suffix(2_000))")
        let scheduled = try #require(log.range(of: "smart groups scheduled for evaluation"), "\(log.suffix(2_000))")
        #expect(takenOver.lowerBound < scheduled.lowerBound, "\(log.suffix(2_000))")

        // It publishes them: the stream ends where its log does, with no error on the way.
        let promotedHead = try #require(try promoted.call("system.health").int("head_seq"))
        #expect(promotedHead > head)
        #expect(self.eventually { try promoted.call("system.stats")["replication"]?.string("state") == "caught_up" })
        let status = try #require(try promoted.call("system.stats")["replication"])
        #expect(status.int("published_seq") == promotedHead && status["last_error"] == .null, "\(status)")
        let client = NATSClient(configuration: try .init(url: nats.url))
        try await client.connect()
        #expect(try await JetStream(client: client).streamInfo("LEDGER").state.lastSeq == UInt64(promotedHead))
        await client.close()
        #expect(try promoted.call("groups.list")["groups"]?.arrayValue?.first { $0.string("uuid") == group }?.int("count") == 6)

        // A follower from an empty data directory has the promoted node's history, evaluations included.
        let follower = try DaemonHarness(arguments: ["--follow", nats.url])
        let (promotedVerify, followerVerify) = try self.converge(promoted, follower)
        #expect(followerVerify.string("head_hash") == promotedVerify.string("head_hash"))
        #expect(try follower.call("system.stats")["replication"]?.string("state") != "chain_broken")
    }
}
