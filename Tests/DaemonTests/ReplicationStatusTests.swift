// ContactLedger — daemon tests.
import Foundation
import LedgerStore
import TestSupport
import RPC
import Synchronization
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

    /// Found by a replication audit: a former primary holding events it never published, restarted once
    /// the promoted node had written past its head, showed the position it had stored (1788 where the
    /// stream held its log up to 1897) and a lag of 119 where 10 events were its own.
    @Test("a former primary whose log diverged shows as published where the stream still holds its log, and counts only its own events as lag")
    func aDivergedFormerPrimaryShowsWhereTheStreamAgrees() throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        try self.createContacts(primary, 0..<30)
        _ = try self.converge(primary, replica)
        let agreed = try #require(try primary.call("system.health").int("head_seq"))
        let promoted = try self.promoteAfterUnpublishedWrites(nats, primary, replica, unpublished: 30..<37)
        #expect(self.eventually { try promoted.call("system.stats")["replication"]?.string("state") == "caught_up" })
        // The promoted node writes past the former primary's head: the two differ there.
        try self.createContacts(promoted, 100..<140)
        // As if killed before it stored its last position.
        let environment = try Environment(directory: primary.directory)
        let meta = try #require(try environment.openTables(["ledger.meta"])["ledger.meta"])
        try environment.write { try $0.put(meta, key: Array("replication.published_seq".utf8), value: BigEndian.bytes(UInt64(5))) }

        let former = try DaemonHarness(arguments: ["--replicate", nats.url], directory: primary.directory)
        #expect(self.eventually { try former.call("system.stats")["replication"]?.string("state") == "fenced" })
        let replication = try #require(try former.call("system.stats")["replication"])
        let head = try #require(replication.int("head_seq"))
        #expect(replication.int("published_seq") == agreed, "\(replication)")
        #expect(replication["lag"]?.int("events") == head - agreed, "\(replication)")
        #expect(former.stop() == 0)
        #expect(promoted.stop() == 0)
    }

    /// Found by a replication audit: a primary's `state` said `caught_up` beside a lag of 2 events, and
    /// `publishing` beside none, in one answer (120 of 339 samples under writes).
    @Test("a primary's state says what its lag says, in every answer, while clients write")
    func stateAgreesWithLag() throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        let writing = Atomic<Bool>(true)
        let samples = try onThreads(2) { thread -> [String] in
            if thread == 0 {
                try self.createContacts(primary, 0..<400, threads: 4)
                writing.store(false, ordering: .sequentiallyConsistent)
                return []
            }
            let client = try primary.client()
            var contradictions: [String] = []
            while writing.load(ordering: .sequentiallyConsistent) {
                let replication = try #require(try client.call("system.stats")["replication"])
                let lag = replication["lag"]?.int("events") ?? -1
                let state = replication.string("state") ?? "?"
                if (state == "caught_up" && lag != 0) || (state == "publishing" && lag == 0) {
                    contradictions.append("\(state)/\(lag)")
                }
            }
            return contradictions
        }
        let contradictions = samples.flatMap { $0 }
        #expect(contradictions.isEmpty, "\(contradictions.count): \(contradictions.prefix(10))")
    }

    /// Found by a replication audit: a data directory that never followed the stream, started as its
    /// primary, was told it was the stream's former primary, replaced by a promoted replica.
    @Test("a second primary on a claimed stream is fenced, told the stream is another's it never followed")
    func aSecondPrimaryIsToldWhy() throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        try self.createContacts(primary, 0..<3)
        #expect(self.eventually { try primary.call("system.stats")["replication"]?.string("state") == "caught_up" })
        let second = try DaemonHarness(arguments: ["--replicate", nats.url])
        #expect(self.eventually { try second.call("system.stats")["replication"]?.string("state") == "fenced" })
        let error = try #require(try second.call("system.stats")["replication"]?.string("last_error"))
        #expect(error.contains("never followed it") && !error.contains("its former primary"), "\(error)")
    }
}
