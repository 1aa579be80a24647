// ContactLedger — daemon tests.
import Foundation
import LedgerStore
import TestSupport
import RPC
import Testing

/// What `replication` in `system.stats` says when a node cannot see all of the stream, or comes back as a
/// former primary: the figures an operator reads in a failover (README: Failover: promoting a replica).
@Suite("Replication status in a failover", .ownThreads, .serialized, .enabled(if: NATSServerProcess.isAvailable))
struct ReplicationStatusTests: ReplicationChecks {
    /// Found by a replication audit: cut off from NATS for a minute while its primary wrote, a replica
    /// said `lag {events: 0, seconds: 0}`.
    @Test("a replica cut off from the stream counts its lag's seconds from then, and never shows the stream shorter than its log")
    func aDisconnectedReplicaShowsItMayBeBehind() throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        try self.createContacts(primary, 0..<10)
        _ = try self.converge(primary, replica)
        #expect(self.eventually { try replica.call("system.stats")["replication"]?["lag"]?.number("seconds") == 0 })
        nats.kill()
        #expect(self.eventually { try replica.call("system.stats")["replication"]?["connected"] == false })
        try self.createContacts(primary, 10..<12)
        usleep(1_500_000)
        let replication = try #require(try replica.call("system.stats")["replication"])
        #expect(replication.string("state") == "disconnected")
        #expect((replication["lag"]?.number("seconds") ?? 0) >= 1, "\(replication)")
        #expect((replication.int("stream_last_seq") ?? -1) >= (replication.int("applied_seq") ?? 0), "\(replication)")
        try nats.start()
        _ = try self.converge(primary, replica)
        #expect(self.eventually { try replica.call("system.stats")["replication"]?["lag"]?.number("seconds") == 0 })
    }

    /// Found by a replication audit: a former primary restarted showed the position it had stored (it
    /// stores it every half second) and a lag four times the events it alone held.
    @Test("a former primary restarted shows as published what the stream holds of its log")
    func aFormerPrimaryShowsWhatTheStreamHolds() throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        try self.createContacts(primary, 0..<20)
        let (verified, _) = try self.converge(primary, replica)
        let head = try #require(verified.int("head_seq"))
        #expect(self.eventually { try primary.call("system.stats")["replication"]?.int("published_seq") == head })
        #expect(primary.stop() == 0)
        // As if killed before it stored its last position.
        let environment = try Environment(directory: primary.directory)
        let meta = try #require(try environment.openTables(["ledger.meta"])["ledger.meta"])
        try environment.write { try $0.put(meta, key: Array("replication.published_seq".utf8), value: BigEndian.bytes(UInt64(5))) }
        #expect(replica.stop() == 0)
        let promoted = try DaemonHarness(arguments: ["--replicate", nats.url], directory: replica.directory)
        #expect(self.eventually { try promoted.call("system.stats")["replication"]?.string("state") == "caught_up" })

        let former = try DaemonHarness(arguments: ["--replicate", nats.url], directory: primary.directory)
        #expect(self.eventually { try former.call("system.stats")["replication"]?.string("state") == "fenced" })
        let replication = try #require(try former.call("system.stats")["replication"])
        #expect(replication.int("published_seq") == head, "\(replication)")
        #expect(replication["lag"]?.int("events") == 0, "\(replication)")
        #expect(former.stop() == 0)
    }
}
