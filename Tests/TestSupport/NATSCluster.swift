// ContactLedger — shared test support.
import Foundation

/// A real `nats-server` cluster with JetStream on loopback ports (three nodes by default, for streams
/// with `replicas: 3`): each node has its own config file, store directory and log in a temporary
/// directory, client, cluster-route and monitoring ports chosen free, and routes to every other node.
/// ``init(size:timeout:)`` returns once the JetStream meta group has a leader every node agrees on and
/// that sees every other node as current.
///
/// Each node's configuration (the README's 3-node example is the same):
///
/// ```
/// server_name: n1
/// listen: 127.0.0.1:4222
/// http: 127.0.0.1:8222
/// jetstream { store_dir: "/var/lib/nats/n1" }
/// cluster {
///   name: ledger
///   listen: 127.0.0.1:6222
///   routes: [nats-route://127.0.0.1:6223, nats-route://127.0.0.1:6224]
/// }
/// ```
public final class NATSCluster: @unchecked Sendable {
    // @unchecked: each test owns its cluster and uses it from one task.

    /// One node of the cluster.
    public struct Node: Sendable {
        /// The node's `server_name` (`n1`, `n2`, …).
        public let name: String
        /// The client port.
        public let port: Int
        /// The cluster-route port.
        public let clusterPort: Int
        /// The HTTP monitoring port (`/jsz`, `/varz`).
        public let monitorPort: Int
        /// The node's config file.
        public let configPath: String
        /// Where the node writes its log.
        public let logPath: String

        /// `nats://127.0.0.1:<port>`.
        public var url: String { "nats://127.0.0.1:\(self.port)" }
    }

    /// The temporary directory holding every node's config, store and log.
    public let directory: String
    public private(set) var nodes: [Node] = []
    private var processes: [ChildProcess?] = []

    /// Every node's URL, comma-separated: the value for `--replicate` and `--follow`.
    public var urls: String { self.nodes.map(\.url).joined(separator: ",") }

    /// Starts `size` nodes and waits (up to `timeout` seconds) until JetStream is ready on all of them.
    ///
    /// - Throws: ``ClusterError`` when a node does not start or no meta leader is elected in time.
    public init(size: Int = 3, timeout: Double = 90) throws {
        self.directory = NSTemporaryDirectory() + "natsc-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        // Another test may take one of the free ports before a node binds it: start again on new ports.
        var attempt = 0
        while true {
            attempt += 1
            do {
                try self.configure(size: size)
                for index in self.nodes.indices { try self.start(index) }
                break
            } catch {
                self.killAll()
                guard attempt < 5 else { throw error }
            }
        }
        try self.waitUntilReady(timeout: timeout)
    }

    deinit {
        self.killAll()
        try? FileManager.default.removeItem(atPath: self.directory)
    }

    /// Writes the nodes' config files on fresh free ports.
    private func configure(size: Int) throws {
        var ports = Set<Int>()
        while ports.count < 3 * size { ports.insert(NATSServerProcess.freePort()) }
        let chosen = Array(ports)
        self.nodes = (0..<size).map { index in
            Node(
                name: "n\(index + 1)", port: chosen[3 * index], clusterPort: chosen[3 * index + 1], monitorPort: chosen[3 * index + 2],
                configPath: "\(self.directory)/n\(index + 1).conf", logPath: "\(self.directory)/n\(index + 1).log"
            )
        }
        self.processes = Array(repeating: nil, count: size)
        for node in self.nodes {
            let routes = self.nodes.filter { $0.name != node.name }.map { "nats-route://127.0.0.1:\($0.clusterPort)" }
            let config = """
                server_name: \(node.name)
                listen: 127.0.0.1:\(node.port)
                http: 127.0.0.1:\(node.monitorPort)
                jetstream { store_dir: "\(self.directory)/\(node.name)" }
                cluster {
                  name: ledger
                  listen: 127.0.0.1:\(node.clusterPort)
                  routes: [\(routes.joined(separator: ", "))]
                }

                """
            try config.write(toFile: node.configPath, atomically: true, encoding: .utf8)
        }
    }

    /// Starts (or restarts, with the same ports and store) node `index` and waits until it accepts
    /// clients; JetStream may not be ready yet (see ``waitUntilReady(timeout:)``).
    ///
    /// - Throws: ``ClusterError/nodeDidNotStart(_:log:)`` when it exits or does not listen within 20 s.
    public func start(_ index: Int) throws {
        let node = self.nodes[index]
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: NATSServerProcess.executable)
        process.arguments = ["-c", node.configPath]
        _ = FileManager.default.createFile(atPath: node.logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: node.logPath)
        log?.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.processes[index] = process
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, process.isRunning {
            if NATSServerProcess.accepts(port: node.port) {
                usleep(100_000)
                if process.isRunning { return }
            }
            usleep(20_000)
        }
        throw ClusterError.nodeDidNotStart(node.name, log: self.log(index))
    }

    /// SIGKILL to node `index`, and waits for its exit.
    public func kill(_ index: Int) {
        guard let process = self.processes[index], process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    private func killAll() {
        for index in self.processes.indices { self.kill(index) }
    }

    /// Sends node `index` `signal` (`SIGSTOP` freezes it with its connections open, `SIGCONT` resumes it).
    public func signal(_ index: Int, _ signal: Int32) {
        guard let process = self.processes[index], process.isRunning else { return }
        Foundation.kill(process.processIdentifier, signal)
    }

    /// Whether node `index` is running.
    public func isRunning(_ index: Int) -> Bool { self.processes[index]?.isRunning == true }

    /// The index of the node named `name`.
    public func index(of name: String) -> Int? { self.nodes.firstIndex { $0.name == name } }

    /// Node `index`'s log so far.
    public func log(_ index: Int) -> String { (try? String(contentsOfFile: self.nodes[index].logPath, encoding: .utf8)) ?? "" }

    /// Node `index`'s `/jsz` (JetStream) monitoring answer with `query`, parsed; nil when it does not answer.
    public func jsz(_ index: Int, query: String = "") -> [String: Any]? {
        guard let body = LoopbackSocket.httpGet(port: self.nodes[index].monitorPort, path: "/jsz" + query) else { return nil }
        return (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
    }

    /// The JetStream meta leader every running node names, when they agree and the leader sees all the
    /// other running nodes as current; nil otherwise.
    public func metaLeader() -> String? {
        let running = self.nodes.indices.filter { self.isRunning($0) }
        let leaders = running.map { (self.jsz($0)?["meta_cluster"] as? [String: Any])?["leader"] as? String }
        guard let leader = leaders.first ?? nil, !leader.isEmpty, leaders.allSatisfy({ $0 == leader }),
            let leaderIndex = self.index(of: leader),
            let replicas = (self.jsz(leaderIndex)?["meta_cluster"] as? [String: Any])?["replicas"] as? [[String: Any]]
        else { return nil }
        let current = replicas.filter { ($0["current"] as? Bool) == true }.compactMap { $0["name"] as? String }
        let others = running.map { self.nodes[$0].name }.filter { $0 != leader }
        return others.allSatisfy(current.contains) ? leader : nil
    }

    /// The node that leads `stream`'s replica group, as the first running node that knows it reports.
    public func streamLeader(_ stream: String) -> String? {
        for index in self.nodes.indices where self.isRunning(index) {
            guard let accounts = self.jsz(index, query: "?accounts=true&streams=true")?["account_details"] as? [[String: Any]] else { continue }
            for account in accounts {
                for detail in account["stream_detail"] as? [[String: Any]] ?? [] where detail["name"] as? String == stream {
                    if let leader = (detail["cluster"] as? [String: Any])?["leader"] as? String, !leader.isEmpty { return leader }
                }
            }
        }
        return nil
    }

    /// Polls until ``metaLeader()`` names a leader.
    ///
    /// - Throws: ``ClusterError/noMetaLeader(log:)`` after `timeout` seconds.
    @discardableResult
    public func waitUntilReady(timeout: Double = 90) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let leader = self.metaLeader() { return leader }
            usleep(100_000)
        }
        throw ClusterError.noMetaLeader(log: self.nodes.indices.map { "\(self.nodes[$0].name):\n\(self.log($0).suffix(1500))" }.joined(separator: "\n"))
    }

    /// Why a cluster is not usable.
    public enum ClusterError: Error, CustomStringConvertible {
        case nodeDidNotStart(String, log: String)
        case noMetaLeader(log: String)

        public var description: String {
            switch self {
            case .nodeDidNotStart(let name, let log): "nats-server \(name) did not start: \(log.suffix(1500))"
            case .noMetaLeader(let log): "no JetStream meta leader was elected in time:\n\(log)"
            }
        }
    }
}
