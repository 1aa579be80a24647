// ContactLedger — daemon tests.
import Foundation
import RPC
import TestSupport
import Testing

/// Connections stay below the daemon's limit on open files, so that what the daemon opens itself (an
/// export's file, a backup, a verification's scratch store) still opens, and the process lives: at the
/// limit, libdispatch stops the process when it cannot read `/proc`.
@Suite(.ownThreads, .timeLimit(.minutes(3)))
struct ConnectionLimitTests {
    @Test func connectionsPastTheLimitAreRefusedAndTheDaemonKeepsWorking() throws {
        // 256 descriptors: 128 kept in reserve, 128 for connections.
        let daemon = try DaemonHarness(openFileLimit: 256)
        let admin = try daemon.client()
        try admin.call("contacts.create", ["name": "Ada", "urns": ["ext:ada"]])
        // Each connection sends a call and reads its answer: served, or refused with one line naming the
        // limit. A connection closed just before (the harness's readiness probe) is counted out when its
        // close completes on its event loop, so a refusal before the limit is tried again.
        func connect() throws -> (client: RPCClient, answer: JSONValue) {
            let client = try daemon.client()
            // A refused connection may be closed before the call is sent (EPIPE); its line is read all the same.
            try? client.send(raw: Array(#"{"jsonrpc":"2.0","id":1,"method":"system.health"}"#.utf8) + [10])
            return (client, try client.readValue())
        }
        var held: [RPCClient] = []
        var refusals = 0
        for _ in 0..<400 where held.count < 127 {
            let (client, answer) = try connect()
            if answer["result"] != nil {
                held.append(client)
            } else {
                refusals += 1
                usleep(50_000)
            }
        }
        #expect(held.count == 127)

        // Past the limit: one line, -32006 naming the limit, then the end of the connection.
        for _ in 0..<20 {
            let (refused, line) = try connect()
            refusals += 1
            #expect(line["id"] == .null)
            #expect(line["error"]?.int("code") == -32006)
            #expect(line["error"]?["data"]?.string("reason") == "too_many_connections")
            #expect(line["error"]?["data"]?.int("limit") == 128)
            #expect(throws: RPCClient.TransportError.self) { try refused.readLine() }
        }
        // The CLI says why, as for any JSON-RPC error: the refusal is an answer, with id null.
        let refusedCLI = try CLITests().run(daemon, ["health"])
        refusals += 1
        #expect(refusedCLI.status == 1)
        #expect(refusedCLI.error.contains("-32006") && refusedCLI.error.contains("too_many_connections"), "\(refusedCLI.error)")
        // Also when the connection is already closed as the request goes out (EPIPE): the line that came
        // first is the answer. The CLI failed 1 run in 10 with "Broken pipe" on a loaded machine.
        let late = try daemon.client()
        refusals += 1
        usleep(300_000)
        do {
            try late.call("system.health")
            Issue.record("a connection past the limit was served")
        } catch let error as RPCError {
            #expect(error.code == -32006 && error.data?.string("reason") == "too_many_connections")
        }
        // Every refusal is counted in a warning: the first at once, the rest ten seconds later.
        func loggedRefusals() -> Int {
            daemon.log().split(separator: "\n").filter { $0.contains("connections refused: too many open") }
                .compactMap { line in line.split(separator: " ").first { $0.hasPrefix("rpc.connections.refused=") }.flatMap { Int($0.dropFirst(24)) } }
                .reduce(0, +)
        }
        for _ in 0..<300 where loggedRefusals() < refusals { usleep(50_000) }
        #expect(loggedRefusals() == refusals)

        // The daemon still opens files of its own, and every connection held still answers.
        let backup = daemon.directory + "-backup"
        defer { try? FileManager.default.removeItem(atPath: backup) }
        #expect(try admin.call("ledger.backup", ["path": .string(backup)]).string("path") == backup)
        let exportPath = daemon.directory + "-export.csv"
        defer { try? FileManager.default.removeItem(atPath: exportPath) }
        let export = try #require(try admin.call("exports.start", ["format": "csv", "path": .string(exportPath)]).string("export"))
        var state: String?
        for _ in 0..<600 where state != "complete" && state != "failed" {
            state = try admin.call("exports.status", ["export": .string(export)]).string("state")
            usleep(50_000)
        }
        #expect(state == "complete")
        #expect(try String(contentsOfFile: exportPath, encoding: .utf8).contains("Ada"))
        #expect(try admin.call("projections.verify", ["name": "contacts"])["differences"] == [])
        for client in held { #expect(try client.call("system.health").string("status") == "ok") }

        // Closed connections make room again.
        held.removeLast(10)
        var served = false
        for _ in 0..<200 where !served {
            served = (try? daemon.client().call("system.health"))?.string("status") == "ok"
            if !served { usleep(50_000) }
        }
        #expect(served)
        #expect(daemon.stop() == 0)
    }

    /// The metrics endpoint's 64 connections come out of the same open-file limit: the socket's limit
    /// leaves room for them (a local user filling both used every descriptor under a limit of 200).
    @Test func theMetricsEndpointsConnectionsAreKeptOutOfTheLimit() throws {
        let port = try Operations.freePort()
        let daemon = try DaemonHarness(arguments: ["--metrics-listen", "127.0.0.1:\(port)"], openFileLimit: 256)
        #expect(daemon.log().contains("rpc.connections.limit=64"), "\(daemon.log())")
        let plain = try DaemonHarness(openFileLimit: 256)
        #expect(plain.log().contains("rpc.connections.limit=128"), "\(plain.log())")
    }
}
