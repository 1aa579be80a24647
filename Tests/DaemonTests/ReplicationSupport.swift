// ContactLedger — daemon tests.
import Foundation
import RPC
import TestSupport
import Testing

/// Waiting and writing helpers shared by the replication suites.
protocol ReplicationChecks {}

extension ReplicationChecks {
    /// Waits until `condition` holds, polling; false when the time is up.
    func eventually(seconds: Double = 30, _ condition: () throws -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if (try? condition()) == true { return true }
            usleep(50_000)
        }
        return false
    }

    /// Waits until the replica's verified head equals the primary's; returns both `ledger.verify` answers.
    func converge(
        _ primary: DaemonHarness, _ replica: DaemonHarness, seconds: Double = 30, sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (JSONValue, JSONValue) {
        let head = try primary.call("ledger.verify")
        let caughtUp = self.eventually(seconds: seconds) { try replica.call("system.health").int("head_seq") == head.int("head_seq") }
        #expect(
            caughtUp,
            "replica at \(String(describing: try? replica.call("system.health").int("head_seq"))), primary at \(head.int("head_seq") ?? -1)\n\(replica.log().suffix(2000))",
            sourceLocation: sourceLocation
        )
        return (head, try replica.call("ledger.verify"))
    }

    /// Creates contacts `c<index>` (URN `ext:c<index>`) for every index of `range`, from `threads` clients.
    func createContacts(_ daemon: DaemonHarness, _ range: Range<Int>, threads: Int = 4, workspace: String? = nil) throws {
        _ = try onThreads(threads) { thread in
            let client = try daemon.client()
            for index in range where index % threads == thread {
                var params: [String: JSONValue] = ["name": .string("c\(index)"), "urns": [.string("ext:c\(index)")]]
                if let workspace { params["workspace"] = .string(workspace) }
                try client.call("contacts.create", .object(params))
            }
        }
    }

    /// A failover that leaves the old primary with events it never published: `primary` writes
    /// `unpublished` while nats-server is down and is stopped; `replica`, caught up, is stopped once NATS
    /// is back and started again on its directory as the stream's primary, which it returns.
    func promoteAfterUnpublishedWrites(
        _ nats: NATSServerProcess, _ primary: DaemonHarness, _ replica: DaemonHarness, unpublished: Range<Int>
    ) throws -> DaemonHarness {
        _ = try self.converge(primary, replica)
        nats.kill()
        try self.createContacts(primary, unpublished)
        #expect(primary.stop() == 0)
        try nats.start()
        #expect(self.eventually { try replica.call("system.stats")["replication"]?["connected"] == true })
        #expect(replica.stop() == 0)
        return try DaemonHarness(arguments: ["--replicate", nats.url], directory: replica.directory)
    }
}
