// ContactLedger — daemon tests.
import Foundation
import RPC
import Synchronization
import TestSupport
import Testing

/// Primary → a 3-node nats-server cluster holding the stream with `replicas: 3` → read replica, with one
/// NATS node killed while clients write.
@Suite("Replication through a 3-node NATS cluster (R3)", .ownThreads, .serialized, .enabled(if: NATSServerProcess.isAvailable))
struct ReplicationClusterTests: ReplicationChecks {
    /// The `stream_detail` entry of `stream` in a running node's `/jsz`, where that node knows it.
    func streamDetail(_ cluster: NATSCluster, _ stream: String) -> [String: Any]? {
        for index in cluster.nodes.indices where cluster.isRunning(index) {
            let accounts = cluster.jsz(index, query: "?accounts=true&streams=true&config=true")?["account_details"] as? [[String: Any]] ?? []
            for detail in accounts.flatMap({ $0["stream_detail"] as? [[String: Any]] ?? [] }) where detail["name"] as? String == stream {
                return detail
            }
        }
        return nil
    }

    /// The stream's message count and first and last sequence, as the cluster reports them.
    func streamState(_ cluster: NATSCluster, _ stream: String) -> (messages: Int, first: Int, last: Int)? {
        guard let state = self.streamDetail(cluster, stream)?["state"] as? [String: Any],
            let messages = state["messages"] as? Int, let first = state["first_seq"] as? Int, let last = state["last_seq"] as? Int
        else { return nil }
        return (messages, first, last)
    }

    @Test(
        "R3 stream: primary and replica converge under 16 writing clients while the stream leader's node is killed; nothing lost or duplicated",
        .timeLimit(.minutes(10))
    )
    func nodeKilledMidLoad() throws {
        let cluster = try NATSCluster()
        let primary = try DaemonHarness(arguments: ["--replicate", cluster.urls, "--stream-replicas", "3"])
        try self.createContacts(primary, 0..<64, threads: 16)
        #expect(self.eventually(seconds: 120) { try primary.call("system.stats")["replication"]?["lag"]?.int("events") == 0 })

        // The stream has three copies, one of them leading.
        let detail = try #require(self.streamDetail(cluster, "LEDGER"), "no stream LEDGER in /jsz")
        #expect((detail["config"] as? [String: Any])?["num_replicas"] as? Int == 3)
        #expect(((detail["cluster"] as? [String: Any])?["replicas"] as? [Any])?.count == 2)
        let leaderName = try #require(cluster.streamLeader("LEDGER"))
        let leader = try #require(cluster.index(of: leaderName))

        // The replica connects to the stream leader's node first, so that losing it moves the replica too.
        let order = [leader] + cluster.nodes.indices.filter { $0 != leader }
        let replica = try DaemonHarness(arguments: ["--follow", order.map { cluster.nodes[$0].url }.joined(separator: ",")])
        _ = try self.converge(primary, replica, seconds: 180)

        // 16 clients write until 20 writes each after the kill; a 17th thread kills the stream leader's node
        // once 120 more events are published.
        let base = try primary.call("system.health").int("head_seq") ?? 0
        let writers = 16
        let killed = Atomic<Bool>(false)
        let written = try onThreads(writers + 1) { thread -> Int in
            if thread == writers {
                let deadline = Date().addingTimeInterval(120)
                while Date() < deadline {
                    let published = (try? primary.call("system.stats")["replication"]?.int("published_seq")) ?? 0
                    if published >= base + 120 { break }
                    usleep(10_000)
                }
                cluster.kill(leader)
                killed.store(true, ordering: .sequentiallyConsistent)
                return 0
            }
            let client = try primary.client()
            var count = 0
            var afterKill = 0
            while afterKill < 20, count < 400 {
                let index = 64 + count * writers + thread
                try client.call("contacts.create", ["name": .string("c\(index)"), "urns": [.string("ext:c\(index)")]])
                count += 1
                if killed.load(ordering: .sequentiallyConsistent) { afterKill += 1 }
            }
            return count
        }
        #expect(!cluster.isRunning(leader))
        let total = 64 + written.reduce(0, +)
        // And more once the writers are done, on the two remaining nodes.
        try self.createContacts(primary, 10_000..<10_064, threads: 16)

        let (primaryVerify, replicaVerify) = try self.converge(primary, replica, seconds: 180)
        #expect(replicaVerify["verified"] == true)
        #expect(replicaVerify.string("head_hash") == primaryVerify.string("head_hash"))
        #expect(try replica.call("contacts.count", ["query": ""])["total"] == .integer(Int64(total + 64)))
        for index in [0, 63, 64, 64 + written[0] * writers - writers, 10_000, 10_063] {
            #expect(try replica.call("contacts.get", ["urn": .string("ext:c\(index)")]).string("name") == "c\(index)")
        }

        // The stream holds exactly the ledger's events, once each: sequences 1…head_seq, no gap, no duplicate.
        let head = try #require(primaryVerify.int("head_seq"))
        #expect(self.eventually(seconds: 60) { try primary.call("system.stats")["replication"]?.int("published_seq") == head })
        #expect(self.eventually(seconds: 60) { self.streamState(cluster, "LEDGER").map { $0 == (Int(head), 1, Int(head)) } == true })
        let state = self.streamState(cluster, "LEDGER")
        #expect(state?.messages == Int(head), "stream state \(String(describing: state)), head \(head)")
        #expect(self.eventually(seconds: 60) { try replica.call("system.stats")["replication"]?.int("stream_last_seq") == head })
        let primaryEvents = try primary.call("events.read", ["after_seq": .integer(head - 200), "limit": 1000])["items"]?.arrayValue ?? []
        let replicaEvents = try replica.call("events.read", ["after_seq": .integer(head - 200), "limit": 1000])["items"]?.arrayValue ?? []
        #expect(primaryEvents.count == 200)
        #expect(primaryEvents == replicaEvents)
    }

    /// A NATS node frozen (`SIGSTOP`: a hung process or machine) keeps its TCP connections open. The
    /// primary and the replica connected to it stayed on it, every request timing out, and published or
    /// applied nothing for as long as it was frozen, while the two other nodes served the stream (R3
    /// cluster soak): now a server that lets a request time out and does not answer a `PING` loses the
    /// connection, and the client moves to the next node.
    @Test("R3 stream: a frozen node's clients move to the other nodes", .timeLimit(.minutes(10)))
    func frozenNodeIsLeft() throws {
        let cluster = try NATSCluster()
        // Both daemons connect to node 0 first.
        let primary = try DaemonHarness(arguments: ["--replicate", cluster.urls, "--stream-replicas", "3"])
        let replica = try DaemonHarness(arguments: ["--follow", cluster.urls])
        try self.createContacts(primary, 0..<32, threads: 4)
        _ = try self.converge(primary, replica, seconds: 120)
        cluster.signal(0, SIGSTOP)
        defer { cluster.signal(0, SIGCONT) }
        try self.createContacts(primary, 32..<64, threads: 4)
        let head = try #require(try primary.call("system.health").int("head_seq"))
        #expect(self.eventually(seconds: 60) { try primary.call("system.stats")["replication"]?.int("published_seq") == head })
        #expect(self.eventually(seconds: 60) { try replica.call("system.stats")["replication"]?.int("applied_seq") == head })
        #expect(try replica.call("contacts.get", ["urn": "ext:c63"]).string("name") == "c63")
        #expect(primary.log().contains("NATS server unresponsive; dropping its connection"), "\(primary.log())")
    }
}
