// ContactLedger — daemon tests.
import Foundation
import RPC
import TestSupport
import Testing

/// Workspace shards: two primaries on two sockets, each publishing to its own stream on one nats-server,
/// and the `contactledger` CLI routing each call by a shard map.
@Suite("Workspace shards and CLI routing", .ownThreads, .serialized, .enabled(if: NATSServerProcess.isAvailable))
struct ShardMapTests: ReplicationChecks {
    /// Writes `json` to a fresh file under `/tmp` and returns its path.
    func mapFile(_ json: String) throws -> String {
        let path = "/tmp/clt-map-\(UUID().uuidString.prefix(8).lowercased()).json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Runs the CLI with `arguments` (and `environment`), nothing of the test's own `CONTACTLEDGER_*`.
    func cli(_ arguments: [String], environment: [String: String] = [:]) throws -> Operations.Run {
        try Operations.run("contactledger", arguments, environment: environment)
    }

    /// Whether `daemon` holds the contact with URN `urn` in `workspace`.
    func holds(_ daemon: DaemonHarness, _ workspace: String, _ urn: String) throws -> Bool {
        do {
            return try daemon.call("contacts.get", ["workspace": .string(workspace), "urn": .string(urn)]).string("uuid") != nil
        } catch let error as RPCError where error.code == -32001 {
            return false
        }
    }

    @Test("each call lands on its workspace's primary; each primary publishes to its own stream", .timeLimit(.minutes(5)))
    func routing() throws {
        let nats = try NATSServerProcess()
        let shardA = try DaemonHarness(arguments: ["--replicate", nats.url, "--stream", "SHARD_A"])
        let shardB = try DaemonHarness(arguments: ["--replicate", nats.url, "--stream", "SHARD_B"])
        let map = try self.mapFile(
            #"{"shards": {"acme": "\#(shardA.socketPath)", "globex": "\#(shardB.socketPath)"}, "default": "\#(shardA.socketPath)"}"#
        )
        defer { try? FileManager.default.removeItem(atPath: map) }

        // By --workspace, with --shard-map.
        let acme = try self.cli(["contact", "create", "--shard-map", map, "--workspace", "acme", "--name", "A1", "--urn", "ext:a1", "--json"])
        #expect(acme.status == 0, "\(acme.error)")
        let globex = try self.cli(["contact", "create", "--shard-map", map, "--workspace", "globex", "--name", "G1", "--urn", "ext:g1"])
        #expect(globex.status == 0, "\(globex.error)")
        #expect(try self.holds(shardA, "acme", "ext:a1"))
        #expect(try !self.holds(shardB, "acme", "ext:a1"))
        #expect(try self.holds(shardB, "globex", "ext:g1"))
        #expect(try !self.holds(shardA, "globex", "ext:g1"))

        // By the "workspace" member of raw params, with the map from the environment.
        let environment = [ShardMapEnvironment.variable: map]
        let raw = try self.cli(["call", "contacts.create", #"{"workspace": "globex", "name": "G2", "urns": ["ext:g2"]}"#], environment: environment)
        #expect(raw.status == 0, "\(raw.error)")
        #expect(try self.holds(shardB, "globex", "ext:g2"))
        let read = try self.cli(["contact", "get", "--workspace", "globex", "--urn", "ext:g2", "--json"], environment: environment)
        #expect(read.status == 0, "\(read.error)")
        #expect(read.output.contains("G2"))
        let count = try self.cli(["count", "", "--workspace", "globex", "--json"], environment: environment)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(count.output.utf8))["total"] == 2, "\(count.output) \(count.error)")

        // No workspace, or one the map does not name: the default primary.
        #expect(try self.cli(["call", "contacts.create", #"{"name": "M1", "urns": ["ext:m1"]}"#], environment: environment).status == 0)
        #expect(try self.holds(shardA, "main", "ext:m1"))
        #expect(try !self.holds(shardB, "main", "ext:m1"))
        #expect(try self.cli(["contact", "create", "--workspace", "initech", "--name", "I1", "--urn", "ext:i1"], environment: environment).status == 0)
        #expect(try self.holds(shardA, "initech", "ext:i1"))
        #expect(try self.cli(["health"], environment: environment).status == 0)

        // --socket overrides the variable: the call goes to that daemon whatever its workspace.
        let pinned = try self.cli(["contact", "create", "--socket", shardB.socketPath, "--workspace", "acme", "--name", "A2", "--urn", "ext:a2"], environment: environment)
        #expect(pinned.status == 0, "\(pinned.error)")
        #expect(try self.holds(shardB, "acme", "ext:a2"))

        // Relative socket paths are relative to the map's directory.
        let relative = try self.mapFile(#"{"shards": {"globex": "\#(shardB.socketPath.dropFirst("/tmp/".count))"}}"#)
        defer { try? FileManager.default.removeItem(atPath: relative) }
        let viaRelative = try self.cli(["contact", "get", "--shard-map", relative, "--workspace", "globex", "--urn", "ext:g1"])
        #expect(viaRelative.status == 0, "\(viaRelative.error)")

        // Without a default: calls that name no workspace, and unknown workspaces, fail with exit status 64.
        let noWorkspace = try self.cli(["health", "--shard-map", relative])
        #expect(noWorkspace.status == 64)
        #expect(noWorkspace.error.contains("system.health names no workspace"), "\(noWorkspace.error)")
        #expect(noWorkspace.error.split(separator: "\n").count == 1)
        let unknown = try self.cli(["contact", "create", "--shard-map", relative, "--workspace", "acme", "--name", "X", "--urn", "ext:x"])
        #expect(unknown.status == 64)
        #expect(unknown.error.contains("workspace acme is not in the shard map"), "\(unknown.error)")
        #expect(try !self.holds(shardA, "acme", "ext:x"))

        // Each primary published only its own events, to its own stream; a replica of SHARD_B holds only B's.
        for shard in [shardA, shardB] {
            let head = try shard.call("system.health").int("head_seq")
            #expect(self.eventually { try shard.call("system.stats")["replication"]?.int("published_seq") == head }, "\(shard.log().suffix(1500))")
        }
        let replicaB = try DaemonHarness(arguments: ["--follow", nats.url, "--stream", "SHARD_B"])
        let (primaryVerify, replicaVerify) = try self.converge(shardB, replicaB)
        #expect(replicaVerify.string("head_hash") == primaryVerify.string("head_hash"))
        #expect(try self.holds(replicaB, "globex", "ext:g2"))
        #expect(try self.holds(replicaB, "acme", "ext:a2"))
        #expect(try !self.holds(replicaB, "acme", "ext:a1"))
        #expect(try replicaB.call("system.stats")["replication"]?.string("stream") == "SHARD_B")
    }

    @Test("bad maps and flags are refused with exit status 64 and a line naming the problem")
    func badMaps() throws {
        let cases: [(String, String)] = [
            (#"{"shards": {"acme": "/tmp/a.sock"}, "defaults": "/tmp/a.sock"}"#, #"unknown key "defaults""#),
            (#"{"default": "/tmp/a.sock"}"#, #"needs "shards""#),
            (#"{"shards": {"acme": ""}}"#, "shards.acme must be a socket path"),
            (#"{"shards": {"main": "/tmp/b.sock"}, "default": "/tmp/a.sock"}"#, "the two must be the same socket"),
            ("[1, 2]", "is not a JSON object"),
            // A workspace (or key) listed twice: the last one won without a word.
            (#"{"shards": {"globex": "/tmp/b.sock", "globex": "/tmp/a.sock"}, "default": "/tmp/a.sock"}"#, #"lists "globex" twice"#),
            (#"{"shards": {"acme": "/tmp/a.sock"}, "default": "/tmp/a.sock", "default": "/tmp/b.sock"}"#, #"lists "default" twice"#),
        ]
        for (json, message) in cases {
            let map = try self.mapFile(json)
            defer { try? FileManager.default.removeItem(atPath: map) }
            let run = try self.cli(["health", "--shard-map", map])
            #expect(run.status == 64, "\(json)")
            #expect(run.error.contains(message), "\(json): \(run.error)")
            let fromEnvironment = try self.cli(["health"], environment: [ShardMapEnvironment.variable: map])
            #expect(fromEnvironment.status == 64, "\(json)")
        }
        let missing = try self.cli(["health", "--shard-map", "/tmp/clt-no-such-map.json"])
        #expect(missing.status == 64)
        #expect(missing.error.contains("does not exist"))
        let map = try self.mapFile(#"{"shards": {}, "default": "/tmp/a.sock"}"#)
        defer { try? FileManager.default.removeItem(atPath: map) }
        let both = try self.cli(["health", "--socket", "/tmp/a.sock", "--shard-map", map])
        #expect(both.status == 64)
        #expect(both.error.contains("--socket and --shard-map exclude each other"))
    }

    /// `main` and `default` are compared as the sockets they name, not as written: `./ledger.sock`,
    /// `ledger.sock`, `sub/../ledger.sock` and `DIR//./ledger.sock` are one socket (they were refused as
    /// sending `main` elsewhere than the default), relative ones taken from the map's directory, or from
    /// the current directory for a map given by a relative path, as the CLI opens them. Different sockets
    /// are still refused.
    @Test("main and default spelling one socket differently are accepted; different sockets are not")
    func mainAndDefaultAreComparedAsSockets() throws {
        let daemon = try DaemonHarness()
        let name = (daemon.socketPath as NSString).lastPathComponent
        let directory = (daemon.socketPath as NSString).deletingLastPathComponent
        let map = directory + "/map.json"
        defer { try? FileManager.default.removeItem(atPath: map) }
        let same = [
            #"{"shards": {"main": "./\#(name)"}, "default": "\#(name)"}"#,
            #"{"shards": {"main": "sub/../\#(name)"}, "default": "\#(name)"}"#,
            #"{"shards": {"main": "\#(directory)//./\#(name)"}, "default": "\#(daemon.socketPath)"}"#,
            #"{"shards": {"main": "../\#((directory as NSString).lastPathComponent)/\#(name)"}, "default": "\#(name)"}"#,
        ]
        for json in same {
            try json.write(toFile: map, atomically: true, encoding: .utf8)
            let health = try self.cli(["health", "--shard-map", map])
            #expect(health.status == 0, "\(json): \(health.error)")
            // Given relatively, the map's sockets are relative to the current directory, the map's.
            let relative = try Operations.run("contactledger", ["health", "--shard-map", "map.json"], directory: directory)
            #expect(relative.status == 0, "\(json): \(relative.error)")
        }
        let different = [
            #"{"shards": {"main": "./other.sock"}, "default": "\#(name)"}"#,
            #"{"shards": {"main": "sub/\#(name)"}, "default": "\#(name)"}"#,
            #"{"shards": {"main": "\#(name)"}, "default": "../\#(name)"}"#,
        ]
        for json in different {
            try json.write(toFile: map, atomically: true, encoding: .utf8)
            let run = try self.cli(["health", "--shard-map", map])
            #expect(run.status == 64, "\(json)")
            #expect(run.error.contains("the two must be the same socket"), "\(json): \(run.error)")
        }
    }
}

/// The CLI's shard map variable (the CLI's own constant lives in its executable target).
enum ShardMapEnvironment {
    static let variable = "CONTACTLEDGER_SHARD_MAP"
}
