// ContactLedger — command-line client.
import RPC

/// Where the CLI's calls go: one socket, or the socket of each call's workspace in a ``ShardMap``.
enum DaemonRoute: Sendable, Equatable {
    /// Every call to this socket (`--socket`, `$CONTACTLEDGER_SOCKET`, or the default).
    case socket(String)
    /// Each call to its workspace's primary (`--shard-map`, `$CONTACTLEDGER_SHARD_MAP`).
    case shards(ShardMap)

    /// The socket of a call in `workspace` (nil: the call names none) to `method`.
    ///
    /// - Throws: ``RoutingError`` when a shard map has no primary for it.
    func socketPath(workspace: String?, method: String) throws(RoutingError) -> String {
        switch self {
        case .socket(let path): path
        case .shards(let map): try map.socketPath(workspace: workspace, method: method)
        }
    }
}

/// The open connections of one CLI command, one per daemon socket, opened on first use.
///
/// A command that makes several calls (an import that polls its status, `doctor`) reuses the connection
/// of each socket. Blocking and single-threaded, like the ``RPCClient``s it holds: use it on one thread.
final class DaemonClients {
    /// Where calls go.
    let route: DaemonRoute
    /// How long each connection waits for its daemon at each step (nil: no limit).
    let timeout: Double?
    /// The socket of the last call (or connection attempt), for messages; nil before the first.
    private(set) var lastSocketPath: String?
    private var clients: [String: RPCClient] = [:]
    private var lastClient: RPCClient?

    init(route: DaemonRoute, timeout: Double? = nil) {
        self.route = route
        self.timeout = timeout
    }

    /// The connection for a call in `workspace` to `method`, connecting to its socket on first use.
    ///
    /// - Throws: ``RoutingError`` when the route has no socket for it; ``RPCClient/TransportError`` when
    ///   the socket cannot be reached.
    func client(workspace: String?, method: String) throws -> RPCClient {
        let path = try self.route.socketPath(workspace: workspace, method: method)
        self.lastSocketPath = path
        // Fractions with every digit: --json and `call` print the daemon's numbers as it wrote them (a
        // number field's 3.141592653589793238462643383279 came out as the nearest double, 3.141592653589793).
        let client = try self.clients[path] ?? RPCClient(socketPath: path, timeout: self.timeout, fractions: .decimalElseDouble)
        self.clients[path] = client
        self.lastClient = client
        return client
    }

    /// The connection of the last call (a subscription's notifications come on it).
    ///
    /// - Throws: ``RPCClient/TransportError/closed`` before any call.
    func current() throws -> RPCClient {
        guard let client = self.lastClient else { throw RPCClient.TransportError.closed }
        return client
    }
}
