// ContactLedger — daemon tests.
import Foundation
import JSONText
import NATSClient
import TestSupport
import Testing

/// A replica whose NATS connection comes back goes on with the durable consumers the server holds: making
/// them again needs the cluster's metadata leader, and after a node kill the replica waited for its
/// election on top of the stream's (README: Running on more than one machine).
@Suite("A replica reconnecting", .ownThreads, .serialized, .enabled(if: NATSServerProcess.isAvailable))
struct ReplicaReconnectionTests: ReplicationChecks {
    /// Found by a replication audit: each kill of the NATS node a replica read from left it 5 to 12 s
    /// behind its primary, which had resumed; it deleted and made again both its consumers at every
    /// reconnection.
    @Test("after the NATS server comes back, the replica's consumers are the ones it had; its status says connected once it is")
    func consumersAreKeptAcrossAReconnection() async throws {
        let nats = try NATSServerProcess()
        let primary = try DaemonHarness(arguments: ["--replicate", nats.url])
        let replica = try DaemonHarness(arguments: ["--follow", nats.url])
        try self.keyedCreates(primary, 0..<200)
        _ = try self.converge(primary, replica)
        let durable = try #require(try replica.call("system.stats")["replication"]?.string("durable"))
        let before = try await self.deliveries(nats, durable)
        #expect(before.events >= 200 && before.answers >= 200, "\(before)")

        nats.kill()
        #expect(self.eventually { try replica.call("system.stats")["replication"]?["connected"] == false })
        try nats.start()
        // Sampled while it reconnects: never `disconnected` once connected, nor an error about a connection
        // it has again.
        var samples: [String] = []
        #expect(
            self.eventually {
                let replication = try #require(try replica.call("system.stats")["replication"])
                samples.append("\(replication.string("state") ?? "?")/\(replication["connected"].map { "\($0)" } ?? "?")/\(replication.string("last_error") ?? "-")")
                return replication.string("state") == "caught_up" && replication["connected"] == true
            }
        )
        for sample in samples {
            #expect(!sample.hasPrefix("disconnected/true") && !(sample.contains("/true/") && sample.contains("not connected")), "\(samples)")
        }
        try self.keyedCreates(primary, 200..<210)
        _ = try self.converge(primary, replica)
        #expect(self.eventually { try replica.call("system.stats")["replication"]?.int("answers_pending") == 0 })
        let after = try await self.deliveries(nats, durable)
        // Made again, a consumer counts its deliveries from 0: about 10 here.
        #expect(after.events >= before.events + 10, "\(before) → \(after)")
        #expect(after.answers >= before.answers + 10, "\(before) → \(after)")
    }

    /// Creates contacts `range`, each with an idempotency key, so that answers travel too.
    private func keyedCreates(_ daemon: DaemonHarness, _ range: Range<Int>) throws {
        for index in range {
            try daemon.call("contacts.create", ["name": .string("Keyed \(index)"), "urns": [.string("ext:keyed-\(index)")], "idempotency_key": .string("keyed-\(index)")])
        }
    }

    /// How many messages each of the replica's consumers delivered since it was made.
    private func deliveries(_ nats: NATSServerProcess, _ durable: String) async throws -> (events: UInt64, answers: UInt64) {
        let client = NATSClient(configuration: try .init(url: nats.url))
        try await client.connect()
        let jetStream = JetStream(client: client)
        let events = try await jetStream.consumerInfo(stream: "LEDGER", name: durable).delivered.consumerSeq
        let answers = try await jetStream.consumerInfo(stream: "LEDGER_IDEMPOTENCY", name: durable + "_answers").delivered.consumerSeq
        await client.close()
        return (events, answers)
    }
}
