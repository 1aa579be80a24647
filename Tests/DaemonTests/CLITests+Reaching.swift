// ContactLedger — daemon tests.
import Foundation
import RPC
import TestSupport
import Testing

/// Reaching the daemon: which socket a command goes to, and what it says when it cannot.
extension CLITests {
    /// `doctor` with a shard map that has no "default" and no `--workspace` fails as `health` does (exit
    /// status 64, one line saying why): it checked ./.contactledger/ledger.sock, which the map never names.
    /// With `--workspace`, it checks that workspace's primary.
    @Test func doctorRoutesByTheShardMap() throws {
        let daemon = try DaemonHarness()
        let map = "/tmp/clt-map-\(UUID().uuidString.prefix(8).lowercased()).json"
        try #"{"shards": {"acme": "\#(daemon.socketPath)"}}"#.write(toFile: map, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: map) }
        let health = try self.run(daemon, ["health", "--shard-map", map])
        #expect(health.status == 64)
        let doctor = try self.run(daemon, ["doctor", "--shard-map", map])
        #expect(doctor.status == 64, "\(doctor.output)")
        #expect(doctor.output.isEmpty, "\(doctor.output)")
        #expect(doctor.error.split(separator: "\n").count == 1, "\(doctor.error)")
        #expect(doctor.error.contains("no \"default\"") && !doctor.error.contains(".contactledger"), "\(doctor.error)")
        let routed = try self.run(daemon, ["doctor", "--shard-map", map, "--workspace", "acme"])
        #expect(routed.output.contains(daemon.socketPath) && routed.output.contains("ok    daemon"), "\(routed.output)")
        // verify, which asks system.health for the head first, is refused as itself.
        let verify = try self.run(daemon, ["verify", "--shard-map", map])
        #expect(verify.status == 64)
        #expect(verify.error.hasPrefix("error: verify names no workspace"), "\(verify.error)")
    }

    /// A socket this user may not open (`EACCES`) is a matter of permissions, and the CLI says so (exit
    /// status 2, one line): it asked "is contactledgerd running?" of a daemon that was. Root only: the
    /// CLI runs as another user.
    @Test(.enabled(if: geteuid() == 0)) func aSocketThisUserMayNotOpenSaysWhy() throws {
        let daemon = try DaemonHarness()
        let bin = try Operations.cliForOtherUsers(beside: daemon)
        defer { try? FileManager.default.removeItem(atPath: bin) }
        func health() throws -> Operations.Run {
            try Operations.run(
                "/usr/bin/setpriv", ["--reuid=4242", "--regid=4242", "--clear-groups", bin + "/contactledger", "health", "--socket", daemon.socketPath],
                environment: ["HOME": bin]
            )
        }
        // The data directory (the socket's) denies this user; then the socket itself (0660, root's).
        for mode: mode_t in [0o750, 0o751] {
            chmod(daemon.directory, mode)
            let run = try health()
            #expect(run.status == 2, "\(run.error)")
            #expect(run.error.contains("Permission denied") && run.error.contains("may not open the socket"), "\(run.error)")
            #expect(run.error.contains("--socket-group") && !run.error.contains("is contactledgerd running"), "\(run.error)")
            #expect(run.error.split(separator: "\n").count == 1, "\(run.error)")
        }
    }

    /// A socket path that is a regular file, a directory, or too long for a Unix socket is named as such
    /// (exit status 2, one line): each said "Connection refused — is contactledgerd running?", which sent
    /// people after the daemon rather than the path. `doctor` says the same.
    @Test func aSocketPathThatCannotBeASocketSaysWhy() throws {
        let daemon = try DaemonHarness()
        let file = daemon.directory + "/file.sock"
        try Data().write(to: URL(fileURLWithPath: file))
        let long = "/tmp/" + String(repeating: "d", count: 120) + ".sock"
        let cases = [
            (file, "\(file) is not a socket"), (daemon.directory, "\(daemon.directory) is a directory"),
            (long, "socket path too long (\(long.utf8.count) bytes, at most 107)"),
        ]
        for (socket, said) in cases {
            let run = try self.run(daemon, ["health"], socket: socket)
            #expect(run.status == 2, "\(socket): \(run.error)")
            #expect(run.error.contains(said) && !run.error.contains("is contactledgerd running"), "\(run.error)")
            #expect(run.error.split(separator: "\n").count == 1, "\(run.error)")
        }
        let doctor = try self.run(daemon, ["doctor", "--data-dir", daemon.directory], socket: daemon.directory)
        #expect(doctor.output.contains("\(daemon.directory) is a directory"), "\(doctor.output)")
        // A socket nobody listens on still asks whether the daemon runs.
        daemon.stop()
        #expect(try self.run(daemon, ["health"]).error.contains("is contactledgerd running"))
    }

    /// `call` replaces a params' `workspace` or `actor` that is null with `--workspace` or `--actor`, as
    /// the daemon takes a null optional param for an absent one: `{"workspace": null}` with `--workspace
    /// acme` counted in main, and a shard map routed it as naming no workspace (exit status 64).
    @Test func aNullWorkspaceOrActorInCallParamsTakesTheOption() throws {
        let daemon = try DaemonHarness()
        try daemon.call("contacts.create", ["workspace": "acme", "name": "A"])
        let total = { (run: Run) throws -> Int64? in try JSONValue(parsing: Array(run.output.utf8)).int("total") }
        let counted = try self.run(daemon, ["call", "contacts.count", #"{"workspace": null, "query": ""}"#, "--workspace", "acme"])
        #expect(try total(counted) == 1, "\(counted.output) \(counted.error)")
        let map = "/tmp/clt-map-\(UUID().uuidString.prefix(8).lowercased()).json"
        try #"{"shards": {"acme": "\#(daemon.socketPath)"}}"#.write(toFile: map, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: map) }
        let routed = try self.run(daemon, ["call", "contacts.count", #"{"workspace": null, "query": ""}"#, "--workspace", "acme", "--shard-map", map])
        #expect(routed.status == 0, "\(routed.error)")
        #expect(try total(routed) == 1, "\(routed.output) \(routed.error)")
        // A workspace the params name is still theirs.
        let named = try self.run(daemon, ["call", "contacts.count", #"{"workspace": "main", "query": ""}"#, "--workspace", "acme"])
        #expect(try total(named) == 0, "\(named.output) \(named.error)")

        let created = try self.run(daemon, ["call", "contacts.create", #"{"name": "B", "actor": null}"#, "--actor", "ops@example.com"])
        #expect(created.status == 0, "\(created.error)")
        let events = try daemon.call("events.read", ["after_seq": 0])["items"]?.arrayValue ?? []
        #expect(events.last?.string("actor") == "ops@example.com", "\(events)")
    }

    /// `--timeout` bounds sending a request as a whole, as the README says (the most it waits at each
    /// step, to send among them), and the failure says the request was not taken: a 3 MB request to a
    /// stopped daemon with `--timeout 2` waited about 4.4 s (the send timeout ran again for each part sent)
    /// and said "no answer from the daemon within 2 s".
    @Test func aTimeoutBoundsSendingARequest() throws {
        let daemon = try DaemonHarness()
        let input = daemon.directory + "-big.json"
        defer { try? FileManager.default.removeItem(atPath: input) }
        try #"{"query": "name ~ \#(String(repeating: "a", count: 1_000_000))"}"#.write(toFile: input, atomically: true, encoding: .utf8)
        let pid = try #require(daemon.process?.processIdentifier)
        #expect(Glibc.kill(pid, SIGSTOP) == 0)
        defer { Glibc.kill(pid, SIGCONT) }
        let run = try self.run(daemon, ["call", "contacts.count", "-", "--timeout", "2"], input: input)
        #expect(run.status == 2, "\(run.error)")
        #expect(run.error.contains("the daemon did not take the request within 2 s"), "\(run.error)")
        #expect(run.error.split(separator: "\n").count == 1, "\(run.error)")
        // The client's send alone (the CLI's time includes reading and parsing the params): one deadline
        // for every part the socket takes.
        let client = try RPCClient(socketPath: daemon.socketPath, timeout: 1)
        let started = ContinuousClock.now
        let error = #expect(throws: RPCClient.TransportError.self) { try client.send(raw: Array(repeating: UInt8(ascii: "a"), count: 4_000_000)) }
        let elapsed = ContinuousClock.now - started
        #expect(error.map { "\($0)" } == "the daemon did not take the request within 1 s")
        #expect(elapsed < .milliseconds(1_800), "\(elapsed)")
        // Woken, it answers the next call.
        #expect(Glibc.kill(pid, SIGCONT) == 0)
        #expect(try self.run(daemon, ["--timeout", "5", "health"]).status == 0)
    }
}
