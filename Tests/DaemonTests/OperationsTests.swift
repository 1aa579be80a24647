// ContactLedger — daemon tests: configuration, metrics, service files, doctor, OpenRPC.
import Foundation
import RPC
import TestSupport
import Testing

/// Operating the daemon: settings precedence, the Prometheus endpoint, structured logs, readiness
/// notification, the systemd unit and install script, `contactledger doctor` and completions, and the
/// OpenRPC document against the methods really served.
@Suite(.ownThreads, .timeLimit(.minutes(3)))
struct OperationsTests {
    // MARK: Configuration

    /// Parses `contactledgerd --print-config` run with `arguments` and `environment`.
    private func effectiveConfig(_ arguments: [String], environment: [String: String] = [:]) throws -> JSONValue {
        let run = try Operations.run("contactledgerd", arguments + ["--print-config"], environment: environment)
        #expect(run.status == 0, "\(run.error)")
        return try JSONDecoder().decode(JSONValue.self, from: Data(run.output.utf8))
    }

    @Test func defaultsAreDocumentedValues() throws {
        let config = try self.effectiveConfig([])
        #expect(config["data_dir"] == "./.contactledger")
        #expect(config["socket"] == "./.contactledger/ledger.sock")
        #expect(config["map_size"] == .integer(1 << 30))
        #expect(config["max_map_size"] == .integer(1 << 40))
        #expect(config["max_line_bytes"] == .integer(16 << 20))
        #expect(config["socket_mode"] == "0660")
        #expect(config["log_level"] == "info")
        #expect(config["log_format"] == "logfmt")
        #expect(config["metrics_listen"] == .null)
        #expect(config["grants"] == [])
        #expect(config["read_model_compaction_min_free"] == .integer(64 << 20))
        #expect(config["rebuild_commit_seconds"] == .integer(60))
        #expect(config["subscriber_max_lag"] == .integer(1_000_000))
        #expect(config["replicate"] == .null)
        #expect(config["follow"] == .null)
        #expect(config["stream"] == "LEDGER")
        #expect(config["stream_replicas"] == .null)
        // The dist config file parses, and --print-config's output is itself a valid config file.
        let dist = Operations.repositoryRoot.appendingPathComponent("dist/contactledgerd.json").path
        let distConfig = try self.effectiveConfig(["--config", dist])
        #expect(distConfig["socket"] == "/run/contactledger/ledger.sock")
        // It lists every key, as the README says (max_unread_answer_bytes was missing).
        func keys(_ value: JSONValue) -> Set<String> {
            guard case .object(let members) = value else { return [] }
            return Set(members.keys)
        }
        let listed = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: dist)))
        #expect(keys(listed) == keys(distConfig))
        #expect(keys(listed).contains("max_unread_answer_bytes"))
        let directory = "/tmp/clo-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let printed = try Operations.run("contactledgerd", ["--config", dist, "--print-config"]).output
        try printed.write(toFile: directory + "/round.json", atomically: true, encoding: .utf8)
        #expect(try self.effectiveConfig(["--config", directory + "/round.json"]) == distConfig)
    }

    @Test func flagsBeatEnvironmentBeatFileBeatDefaults() throws {
        let directory = "/tmp/clo-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/contactledgerd.json"
        try """
        {"map_size": "2GiB", "max_map_size": 8589934592, "log_level": "warning", "log_format": "json", "rebuild_commit_seconds": 2.5,
         "socket_mode": "640", "grants": ["uid=1000,mode=read"], "data_dir": "/srv/from-file", "socket_group": null}
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let environment = [
            "CONTACTLEDGER_CONFIG": file,
            "CONTACTLEDGER_MAP_SIZE": "3GiB",
            "CONTACTLEDGER_LOG_LEVEL": "debug",
            "CONTACTLEDGER_GRANTS": "uid=1;gid=2,workspace=main",
            "CONTACTLEDGER_METRICS_LISTEN": "127.0.0.1:9464",
            "CONTACTLEDGER_SOCKET": "",  // empty: unset
            "CONTACTLEDGER_READ_MODEL_COMPACTION_MIN_FREE": "off",
        ]
        let config = try self.effectiveConfig(["--map-size", "4G", "--metrics-listen", "off"], environment: environment)
        #expect(config["map_size"] == .integer(4 << 30))  // flag over env over file
        #expect(config["log_level"] == "debug")  // env over file
        #expect(config["grants"] == ["uid=1", "gid=2,workspace=main"])  // env over file
        #expect(config["metrics_listen"] == .null)  // flag "off" over env
        #expect(config["max_map_size"] == .integer(8 << 30))  // file over default
        #expect(config["log_format"] == "json")
        #expect(config["socket_mode"] == "0640")
        #expect(config["data_dir"] == "/srv/from-file")
        #expect(config["socket"] == "/srv/from-file/ledger.sock")  // derived from the effective data_dir
        #expect(config["max_line_bytes"] == .integer(16 << 20))  // default
        #expect(config["read_model_compaction_min_free"] == "off")  // env: never compacted
        #expect(config["rebuild_commit_seconds"] == .double(2.5))  // file: a fraction of a second kept
        // --config beats $CONTACTLEDGER_CONFIG.
        let other = directory + "/other.json"
        try #"{"log_format": "logfmt", "data_dir": "/srv/other"}"#.write(toFile: other, atomically: true, encoding: .utf8)
        let chosen = try self.effectiveConfig(["--config", other], environment: ["CONTACTLEDGER_CONFIG": file])
        #expect(chosen["data_dir"] == "/srv/other")
        #expect(chosen["map_size"] == .integer(1 << 30))
    }

    @Test(arguments: [
        (["--map-size", "lots"], [String: String](), "map_size (--map-size)"),
        ([], ["CONTACTLEDGER_LOG_LEVEL": "loud"], "log_level (CONTACTLEDGER_LOG_LEVEL)"),
        ([], ["CONTACTLEDGER_METRICS_LISTEN": "0.0.0.0:9464"], "loopback"),
        (["--socket-mode", "999"], [:], "socket_mode"),
        (["--grant", "everyone"], [:], "grant"),
        // An empty grant in the environment took the config file's grants away (fail open).
        ([], ["CONTACTLEDGER_GRANTS": ";"], "grants (CONTACTLEDGER_GRANTS): holds an empty grant"),
        ([], ["CONTACTLEDGER_GRANTS": " "], "grants (CONTACTLEDGER_GRANTS): holds an empty grant"),
        ([], ["CONTACTLEDGER_GRANTS": "uid=1;;uid=2"], "grants (CONTACTLEDGER_GRANTS): holds an empty grant"),
        (["--log-format", "xml"], [:], "logfmt or json"),
        (["--read-model-compaction-min-free", "lots"], [:], "read_model_compaction_min_free (--read-model-compaction-min-free)"),
        ([], ["CONTACTLEDGER_REBUILD_COMMIT_SECONDS": "0"], "rebuild_commit_seconds (CONTACTLEDGER_REBUILD_COMMIT_SECONDS)"),
        (["--subscriber-max-lag", "0"], [:], "subscriber_max_lag (--subscriber-max-lag)"),
        (["--map-size", "4GiB", "--max-map-size", "1GiB"], [:], "max_map_size (--max-map-size): must be at least map_size"),
        ([], ["CONTACTLEDGER_STREAM_REPLICAS": "9", "CONTACTLEDGER_REPLICATE": "nats://127.0.0.1:4222"], "stream_replicas (CONTACTLEDGER_STREAM_REPLICAS): must be 1 to 5"),
        ([], ["CONTACTLEDGER_REPLICATE": "http://127.0.0.1:4222"], "replicate (CONTACTLEDGER_REPLICATE): must look like nats://"),
        // Taken before and ignored: the port truncated (99999 reached 34463), the credentials never sent.
        (["--follow", "nats://127.0.0.1:99999"], [:], "follow (--follow): must look like nats://"),
        (["--replicate", "nats://user:secret@127.0.0.1:4222"], [:], "replicate (--replicate): must look like nats://"),
        (["--replicate", "nats://127.0.0.1:4222/path?q=1"], [:], "replicate (--replicate): must look like nats://"),
        (["--follow", "nats://127.0.0.1:4222"], ["CONTACTLEDGER_REPLICATE": "nats://127.0.0.1:4222"], "replicate (CONTACTLEDGER_REPLICATE) and follow (--follow) exclude each other"),
        (["--stream-replicas", "3"], [:], "stream_replicas (--stream-replicas) goes with replicate"),
        ([], ["CONTACTLEDGER_STREAM": "a.b"], "stream (CONTACTLEDGER_STREAM): must be a JetStream stream name"),
    ])
    func badSettingsAreUsageErrorsNamingTheKey(arguments: [String], environment: [String: String], message: String) throws {
        let run = try Operations.run("contactledgerd", arguments + ["--print-config"], environment: environment)
        #expect(run.status == 64)
        #expect(run.error.contains(message), "\(run.error)")
    }

    /// Replication is set like every other setting: the environment and the config file were ignored (a
    /// daemon started with CONTACTLEDGER_REPLICATE ran without publishing), and the file refused the keys.
    @Test func replicationSettingsComeFromEveryLayer() throws {
        let environment = ["CONTACTLEDGER_REPLICATE": "nats://127.0.0.1:4222,nats://127.0.0.1:4223", "CONTACTLEDGER_STREAM_REPLICAS": "3"]
        let fromEnvironment = try self.effectiveConfig(["--stream", "PRIMARY"], environment: environment)
        #expect(fromEnvironment["replicate"] == "nats://127.0.0.1:4222,nats://127.0.0.1:4223")
        #expect(fromEnvironment["stream_replicas"] == .integer(3))
        #expect(fromEnvironment["stream"] == "PRIMARY")
        #expect(fromEnvironment["follow"] == .null)

        let directory = "/tmp/clo-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/contactledgerd.json"
        // Port 1 refuses connections: the publisher starts and reports itself disconnected.
        try #"{"replicate": "nats://127.0.0.1:1", "stream": "FROMFILE", "stream_replicas": 2}"#.write(toFile: file, atomically: true, encoding: .utf8)
        let printed = try self.effectiveConfig(["--config", file])
        #expect(printed["replicate"] == "nats://127.0.0.1:1")
        #expect(printed["stream"] == "FROMFILE")
        let daemon = try DaemonHarness(arguments: ["--config", file])
        let replication = try #require(try daemon.call("system.stats")["replication"])
        #expect(replication.string("role") == "publisher")
        #expect(replication.string("stream") == "FROMFILE")
    }

    /// A socket group no one has is a usage error before the daemon starts (it stopped with exit status 1
    /// after opening the ledger); `--print-config` still shows it, for a config whose group is made later.
    @Test func anUnknownSocketGroupIsAUsageError() throws {
        let directory = "/tmp/clt-group-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let run = try Operations.run("contactledgerd", ["--data-dir", directory, "--socket-group", "no-such-group-here"])
        #expect(run.status == 64)
        #expect(run.error.contains("socket_group (--socket-group): no group is named 'no-such-group-here'"), "\(run.error)")
        #expect(try self.effectiveConfig(["--socket-group", "no-such-group-here"])["socket_group"] == "no-such-group-here")
    }

    /// A socket path longer than a Unix socket address holds is a usage error naming the setting, before
    /// anything is made: found at the bind, it stopped the daemon with exit status 1 and
    /// `unixDomainSocketPathTooLong`, after creating the data directory and its LMDB files (operations audit).
    @Test func aSocketPathTooLongIsAUsageError() throws {
        let directory = "/tmp/clt-long-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let long = "/tmp/" + String(repeating: "s", count: 120) + "/s.sock"
        let given = try Operations.run("contactledgerd", ["--data-dir", directory, "--socket", long])
        #expect(given.status == 64)
        #expect(given.error.contains("socket (--socket): the socket path is 132 bytes, longer than a Unix socket's 107"), "\(given.error)")
        let deep = directory + "/" + String(repeating: "d", count: 100)
        let derived = try Operations.run("contactledgerd", ["--data-dir", deep], environment: ["CONTACTLEDGER_SOCKET": ""])
        #expect(derived.status == 64)
        #expect(derived.error.contains("data_dir (--data-dir): the socket path under it, \(deep)/ledger.sock,"), "\(derived.error)")
        #expect(!FileManager.default.fileExists(atPath: directory), "nothing is made")
        // The longest path that fits serves.
        let fits = directory + "/" + String(repeating: "f", count: 107 - directory.utf8.count - 1)
        let daemon = try DaemonHarness(directory: directory, socket: fits)
        #expect(try daemon.call("system.health").string("status") == "ok")
    }

    @Test func badConfigFilesAreRefusedWithTheirPath() throws {
        let directory = "/tmp/clo-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (name, text, message) in [
            ("unknown.json", #"{"mapsize": 1}"#, "unknown key 'mapsize'"),
            ("broken.json", "{", "not valid JSON"),
            ("array.json", "[]", "one JSON object"),
            ("type.json", #"{"log_level": true}"#, "log_level"),
            // The last one won, without a word (operations audit).
            ("twice.json", #"{"map_size": "1GiB", "log_level": "info", "map_size": "2MiB"}"#, "sets 'map_size' twice"),
        ] {
            try text.write(toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8)
            let run = try Operations.run("contactledgerd", ["--config", "\(directory)/\(name)", "--print-config"])
            #expect(run.status == 64, "\(name)")
            #expect(run.error.contains(message), "\(name): \(run.error)")
        }
        let missing = try Operations.run("contactledgerd", ["--config", "\(directory)/none.json", "--print-config"])
        #expect(missing.status == 64)
        #expect(missing.error.contains("cannot read the config file"))
    }

    // MARK: Metrics

    @Test func metricsAfterAKnownLoad() throws {
        let port = try Operations.freePort()
        let daemon = try DaemonHarness(arguments: ["--metrics-listen", "127.0.0.1:\(port)"])
        let creates = 40
        // From 8 threads at once, so some commits carry several commands.
        _ = try onThreads(8) { thread in
            let client = try daemon.client()
            for index in 0..<(creates / 8) {
                try client.call("contacts.create", ["name": .string("c\(thread)-\(index)")])
            }
        }
        _ = try? daemon.call("contacts.frobnicate")
        _ = try? daemon.call("contacts.get", ["uuid": "not-a-uuid"])
        let response = try Operations.httpGet(port: port, path: "/metrics")
        #expect(response.status == 200)
        #expect(response.headers.lowercased().contains("content-type: text/plain; version=0.0.4"))
        let samples = Operations.samples(response.body)
        #expect(samples[#"contactledger_rpc_requests_total{method="contacts.create",code="ok"}"#] ?? 0 >= Double(creates))
        #expect(samples[#"contactledger_rpc_requests_total{method="unknown",code="-32601"}"#] == 1)
        #expect(samples[#"contactledger_rpc_requests_total{method="contacts.get",code="-32602"}"#] == 1)
        #expect(samples[#"contactledger_rpc_request_duration_seconds_count{method="contacts.create"}"#] ?? 0 >= Double(creates))
        // Every create went through a commit: the batch sizes add up to at least the creates.
        let commits = samples["contactledger_commit_batch_commands_count"] ?? 0
        #expect(samples["contactledger_commit_batch_commands_sum"] ?? 0 >= Double(creates))
        #expect(commits >= 1 && commits <= Double(creates) + 5)
        #expect(samples["contactledger_commit_duration_seconds_count"] == commits)
        #expect(samples["contactledger_commit_sync_duration_seconds_count"] == commits)
        #expect(samples[#"contactledger_commit_duration_seconds_bucket{le="+Inf"}"#] == commits)
        #expect(samples["contactledger_commit_sync_duration_seconds_sum"] ?? 0 > 0)
        #expect(samples["contactledger_lmdb_map_used_bytes"] ?? 0 > 0)
        #expect(samples["contactledger_lmdb_map_size_bytes"] ?? 0 >= samples["contactledger_lmdb_map_used_bytes"] ?? 0)
        #expect(samples["contactledger_lmdb_readers_max"] ?? 0 > 0)
        #expect(samples["contactledger_log_head_seq"] ?? 0 >= Double(creates))
        #expect(samples["contactledger_projection_lag_events"] == 0)
        #expect(samples["contactledger_projection_position_seq"] == samples["contactledger_log_head_seq"])
        #expect(samples["contactledger_subscriptions"] == 0)
        #expect(samples["contactledger_long_calls_running"] == 0)
        #expect(samples["contactledger_long_calls_waiting"] == 0)
        // Labels carry methods and codes only: no contact name reaches the exposition.
        #expect(!response.body.contains("c0-0"))
        #expect(try Operations.httpGet(port: port, path: "/").status == 404)
        #expect(daemon.stop() == 0)
    }

    /// The metrics port is on loopback, where every local user reaches it: it holds 64 connections at
    /// once and closes one past them unanswered, so that nobody can take the daemon's descriptors through it.
    @Test func metricsConnectionsAreBounded() throws {
        let port = try Operations.freePort()
        let daemon = try DaemonHarness(arguments: ["--metrics-listen", "127.0.0.1:\(port)"])
        var held: [Int32] = []
        defer { held.forEach { close($0) } }
        for _ in 0..<64 { held.append(try #require(LoopbackSocket.connect(port: port))) }
        // The last one held is served, and kept open (HTTP/1.1 keeps the connection alive).
        let request = Array("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        #expect(send(held[63], request, request.count, Int32(MSG_NOSIGNAL)) == request.count)
        var head = [UInt8](repeating: 0, count: 12)
        #expect(recv(held[63], &head, 12, Int32(MSG_WAITALL)) == 12)
        #expect(String(decoding: head, as: UTF8.self).hasSuffix(" 200"), "\(String(decoding: head, as: UTF8.self))")
        let past = try #require(LoopbackSocket.connect(port: port, timeoutSeconds: 10))
        defer { close(past) }
        var byte: UInt8 = 0
        #expect(recv(past, &byte, 1, 0) == 0, "the connection past the limit is closed")
        close(held.removeFirst())
        var served = false
        for _ in 0..<100 where !served {
            served = (try? Operations.httpGet(port: port, path: "/metrics"))?.status == 200
            if !served { usleep(50_000) }
        }
        #expect(served)
        #expect(daemon.stop() == 0)
    }

    /// A request the HTTP parser refuses gets one 400 and the connection closes (NIO's error handler
    /// answered `GET /metrics` without a version twice); the endpoint goes on serving.
    @Test func aBadRequestGetsOneAnswer() throws {
        let port = try Operations.freePort()
        let daemon = try DaemonHarness(arguments: ["--metrics-listen", "127.0.0.1:\(port)"])
        let connection = try #require(LoopbackSocket.connect(port: port))
        defer { close(connection) }
        let request = Array("GET /metrics\r\n\r\n".utf8)
        #expect(send(connection, request, request.count, Int32(MSG_NOSIGNAL)) == request.count)
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while case let count = recv(connection, &buffer, buffer.count, 0), count > 0 { received += buffer[0..<count] }
        let text = String(decoding: received, as: UTF8.self)
        #expect(text.components(separatedBy: "HTTP/1.1 400 Bad Request").count == 2, "\(text)")
        #expect(try Operations.httpGet(port: port, path: "/metrics").status == 200)
        #expect(daemon.stop() == 0)
    }

    @Test func subscriptionsAreCountedLive() throws {
        let port = try Operations.freePort()
        let daemon = try DaemonHarness(arguments: ["--metrics-listen", "127.0.0.1:\(port)"])
        let client = try daemon.client()
        try client.call("events.subscribe", ["after_seq": 0])
        var live: Double?
        for _ in 0..<100 {
            live = Operations.samples(try Operations.httpGet(port: port, path: "/metrics").body)["contactledger_subscriptions"]
            if live == 1 { break }
            usleep(20_000)
        }
        #expect(live == 1)
    }

    // MARK: Logs and readiness

    @Test func logsAreStructuredAndCarryNoPersonalData() throws {
        let daemon = try DaemonHarness(arguments: ["--log-format", "json", "--log-level", "debug"])
        try daemon.call("contacts.create", ["name": "Ben Haggerty", "urns": ["tel:+250788123123"]])
        #expect(daemon.stop() == 0)
        let lines = daemon.log().split(separator: "\n")
        #expect(lines.count >= 3)
        for line in lines {
            let object = try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))
            #expect(object["ts"]?.stringValue?.hasSuffix("Z") == true)
            #expect(object["level"] != nil && object["msg"] != nil && object["logger"] == "contactledgerd")
        }
        #expect(!daemon.log().contains("Haggerty") && !daemon.log().contains("788123123"))
        let logfmt = try DaemonHarness()
        #expect(logfmt.stop() == 0)
        #expect(logfmt.log().split(separator: "\n").allSatisfy { $0.hasPrefix("ts=") && $0.contains(" level=") && $0.contains(" msg=") })
    }

    /// A datagram socket at `path` receiving sd_notify messages (20 s at most per message).
    private static func notifyReceiver(at path: String) -> Int32 {
        let receiver = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in path.utf8.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(receiver, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(receiver >= 0 && bound == 0)
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(receiver, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return receiver
    }

    /// The next sd_notify message `receiver` gets ("" when none came in time).
    private static func nextMessage(_ receiver: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = recv(receiver, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : ""
    }

    /// The daemon on `directory/data`, telling `directory/notify`, with `arguments`.
    private static func notifyingDaemon(_ directory: String, _ arguments: [String] = []) throws -> ChildProcess {
        let process = ChildProcess()
        process.executableURL = DaemonHarness.productsDirectory.appendingPathComponent("contactledgerd")
        process.arguments = ["--data-dir", directory + "/data"] + arguments
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CONTACTLEDGER_") }
        environment["NOTIFY_SOCKET"] = directory + "/notify"
        process.environment = environment
        return process
    }

    @Test func readinessIsSentToNotifySocket() throws {
        let directory = "/tmp/clo-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o750)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let receiver = Self.notifyReceiver(at: directory + "/notify")
        defer { close(receiver) }
        let process = try Self.notifyingDaemon(directory)
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
        }
        #expect(Self.nextMessage(receiver).split(separator: "\n").contains("READY=1"))
        // Ready means the socket answers.
        #expect(try RPCClient(socketPath: directory + "/data/ledger.sock").call("system.health")["status"] == "ok")
        // The data directory it made lets its group reach the socket, nothing more.
        let mode = try FileManager.default.attributesOfItem(atPath: directory + "/data")[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o710)
        process.terminate()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
    }

    /// Ready means every listener listens: with the metrics port taken, systemd was told READY=1 and the
    /// daemon then exited 1 with NIO's bind error, naming neither the setting nor the address.
    @Test func aMetricsPortTakenFailsTheStartBeforeReadiness() throws {
        let directory = "/tmp/clo-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o750)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A port taken on loopback.
        let taken = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(taken) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(taken, $0, length) == 0 && listen(taken, 1) == 0 && getsockname(taken, $0, &length) == 0 }
        }
        #expect(listening)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let receiver = Self.notifyReceiver(at: directory + "/notify")
        defer { close(receiver) }
        let process = try Self.notifyingDaemon(directory, ["--metrics-listen", "127.0.0.1:\(port)"])
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1)
        #expect(stderr.contains("metrics_listen 127.0.0.1:\(port): cannot listen: Address already in use"), "\(stderr)")
        // Found before the socket listens: a client connecting as the daemon stopped made NIO trap.
        #expect(!stderr.contains("msg=listening"), "\(stderr)")
        var messages: [String] = []
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(receiver, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        while case let message = Self.nextMessage(receiver), !message.isEmpty { messages.append(message) }
        #expect(!messages.joined(separator: "\n").contains("READY=1"), "\(messages)")
    }

    // MARK: Service files

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze"), "needs Debian's systemd (systemd-analyze)"))
    func unitFilePassesSystemdAnalyzeVerify() throws {
        let unit = try String(contentsOf: Operations.repositoryRoot.appendingPathComponent("dist/contactledgerd.service"), encoding: .utf8)
        for hardening in [
            "Type=notify", "User=contactledger", "StateDirectory=contactledger", "RuntimeDirectory=contactledger",
            "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "ProtectHome=yes", "CapabilityBoundingSet=",
        ] {
            #expect(unit.contains("\n\(hardening)\n"), "\(hardening)")
        }
        // verify also checks that ExecStart exists: point it at the built daemon.
        let directory = "/tmp/clo-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemonPath = DaemonHarness.productsDirectory.appendingPathComponent("contactledgerd").path
        try unit.replacingOccurrences(of: "/usr/local/bin/contactledgerd", with: daemonPath)
            .write(toFile: directory + "/contactledgerd.service", atomically: true, encoding: .utf8)
        let run = try Operations.run("/usr/bin/systemd-analyze", ["verify", directory + "/contactledgerd.service"])
        #expect(run.status == 0, "\(run.output)\(run.error)")
        // Unknown keys and bad values are only warnings to verify: there must be none about this unit.
        let complaints = (run.output + run.error).split(separator: "\n").filter { $0.contains("contactledgerd.service") }
        #expect(complaints.isEmpty, "\(complaints)")
    }

    @Test func installScriptStagesEverything() throws {
        let stage = "/tmp/clo-\(UUID().uuidString.prefix(8).lowercased())"
        defer { try? FileManager.default.removeItem(atPath: stage) }
        let script = Operations.repositoryRoot.appendingPathComponent("dist/install.sh").path
        let run = try Operations.run(
            "/bin/bash", [script, "--destdir", stage, "--prefix", "/opt/cl", "--bin-dir", DaemonHarness.productsDirectory.path]
        )
        #expect(run.status == 0, "\(run.error)")
        for file in [
            "/opt/cl/bin/contactledgerd", "/opt/cl/bin/contactledger", "/etc/systemd/system/contactledgerd.service",
            "/etc/contactledger/contactledgerd.json", "/usr/share/bash-completion/completions/contactledger",
            "/usr/share/zsh/vendor-completions/_contactledger", "/usr/share/fish/vendor_completions.d/contactledger.fish",
        ] {
            #expect(FileManager.default.fileExists(atPath: stage + file), "\(file)")
        }
        let unit = try String(contentsOfFile: stage + "/etc/systemd/system/contactledgerd.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=/opt/cl/bin/contactledgerd --config /etc/contactledger/contactledgerd.json"))
        let bash = try String(contentsOfFile: stage + "/usr/share/bash-completion/completions/contactledger", encoding: .utf8)
        #expect(bash.contains("complete") && bash.contains("doctor"))
    }

    // MARK: CLI

    @Test func doctorOnAHealthyDaemon() throws {
        let daemon = try DaemonHarness()
        try daemon.call("contacts.create", ["name": "x"])
        let environment = ["CONTACTLEDGER_SOCKET": daemon.socketPath]
        let run = try Operations.run("contactledger", ["doctor", "--verify"], environment: environment)
        #expect(run.status == 0, "\(run.output)\(run.error)")
        for check in ["data_dir", "disk", "socket", "daemon", "map", "readers", "projections", "chain"] {
            #expect(run.output.contains(check), "\(check)")
        }
        #expect(!run.output.contains("FAIL"))
        #expect(run.output.contains(", 0 failed"))
        #expect(!run.output.contains("\u{1B}["))  // no colour when not on a terminal
        let json = try Operations.run("contactledger", ["doctor", "--json"], environment: environment)
        #expect(json.status == 0)
        let report = try JSONDecoder().decode(JSONValue.self, from: Data(json.output.utf8))
        #expect(report["ok"] == true)
        #expect(report["checks"]?.arrayValue?.count == 7)
        #expect(report["checks"]?.arrayValue?.allSatisfy { $0["status"] == "ok" || $0["status"] == "warn" } == true)
    }

    @Test func doctorOnBrokenDataDirectories() throws {
        let daemon = try DaemonHarness()
        let environment = ["CONTACTLEDGER_SOCKET": daemon.socketPath]
        // A data directory every user can write (the daemon would refuse to start on it).
        chmod(daemon.directory, 0o777)
        let writable = try Operations.run("contactledger", ["doctor"], environment: environment)
        #expect(writable.status == 4)
        #expect(writable.output.contains("FAIL  data_dir"), "\(writable.output)")
        #expect(writable.output.contains("writable by every user"))
        chmod(daemon.directory, 0o750)
        // A daemon that died: its socket file is left behind and refuses connections.
        daemon.kill()
        let dead = try Operations.run("contactledger", ["doctor", "--json"], environment: environment)
        #expect(dead.status == 4)
        let report = try JSONDecoder().decode(JSONValue.self, from: Data(dead.output.utf8))
        #expect(report["ok"] == false)
        let daemonCheck = report["checks"]?.arrayValue?.first { $0["name"] == "daemon" }
        #expect(daemonCheck?["status"] == "fail")
        #expect(daemonCheck?["detail"]?.stringValue?.contains("nobody listens on") == true, "\(daemonCheck ?? .null)")
        // No data directory and no socket at all.
        let missing = try Operations.run("contactledger", ["doctor", "--socket", "/tmp/clo-none/ledger.sock"])
        #expect(missing.status == 4)
        #expect(missing.output.contains("FAIL  socket"))
        #expect(missing.output.contains("FAIL  data_dir"))
        #expect(missing.output.contains("is contactledgerd running?"))
        #expect(missing.output.contains("no socket at /tmp/clo-none/ledger.sock: is the daemon running?"), "\(missing.output)")
        #expect(missing.output.contains("skip"))
    }

    /// A map at `--max-map-size` no longer grows, and past three quarters the daemon refuses commands:
    /// doctor says so (it said the map doubles on the next full commit).
    @Test func doctorOnAMapAtItsLimit() throws {
        let daemon = try DaemonHarness(arguments: ["--map-size", "1048576", "--max-map-size", "1048576"])
        let client = try daemon.client()
        var refused = false
        for index in 0..<5_000 where !refused {
            do {
                try client.call("contacts.create", ["name": .string(String(repeating: "z", count: 120)), "urns": [.string("ext:d\(index)")]])
            } catch let error as RPCError {
                refused = error.code == -32005
            }
        }
        #expect(refused)
        #expect(try daemon.call("system.stats").int("map_max_size") == 1_048_576)
        let run = try Operations.run("contactledger", ["doctor"], environment: ["CONTACTLEDGER_SOCKET": daemon.socketPath])
        #expect(run.status == 4)
        #expect(run.output.contains("FAIL  map"), "\(run.output)")
        #expect(run.output.contains("commands are refused"))
    }

    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScripts(shell: String) throws {
        let run = try Operations.run("contactledger", ["completion", shell])
        #expect(run.status == 0)
        #expect(run.output.contains("contactledger"))
        #expect(run.output.contains("doctor"))
    }

    // MARK: OpenRPC

    @Test func openRPCListsExactlyTheMethodsServed() throws {
        let document = try JSONDecoder().decode(
            JSONValue.self,
            from: Data(contentsOf: Operations.repositoryRoot.appendingPathComponent("Schemas/openrpc.json"))
        )
        #expect(document["openrpc"] == "1.2.6")
        let listed = try #require(document["methods"]?.arrayValue).compactMap { $0["name"]?.stringValue }
        #expect(Set(listed).count == listed.count)
        let daemon = try DaemonHarness()
        let served = try #require(try daemon.call("system.methods")["methods"]?.arrayValue).compactMap(\.stringValue)
        #expect(served == served.sorted())
        #expect(Set(listed) == Set(served), "only in openrpc.json: \(Set(listed).subtracting(served)); only served: \(Set(served).subtracting(listed))")
        // Every listed method is answered: a result or any error but "method not found".
        let client = try daemon.client()
        for method in listed {
            do {
                _ = try client.call(method, [:])
            } catch let error as RPCError {
                #expect(error.code != -32601, "\(method)")
            }
        }
        #expect(try daemon.error("contacts.frobnicate").code == -32601)
        // The document is what the generator makes from the schemas now.
        let check = try Operations.run(
            "/usr/bin/env", ["python3", "Tools/generate-openrpc.py", "--check"], directory: Operations.repositoryRoot.path
        )
        #expect(check.status == 0, "\(check.error)")
    }

    // MARK: Threads

    /// The daemon's own threads carry names the system shows (`top -H`, `perf`): the writer's at least.
    @Test func theWriterThreadIsNamedForTheSystem() throws {
        let daemon = try DaemonHarness()
        _ = try daemon.call("contacts.create", ["name": .string("named")])
        let pid = try #require(daemon.process?.processIdentifier)
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")
        let names = tasks.compactMap { try? String(contentsOfFile: "/proc/\(pid)/task/\($0)/comm", encoding: .utf8) }
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        #expect(names.contains("ledger-writer"), "thread names: \(names.sorted())")
    }
}
