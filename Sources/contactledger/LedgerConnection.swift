// ContactLedger — command-line client.
import RPC

/// The connection to the daemon that adds the global `workspace` and `actor` to every call, and sends
/// each call to its daemon: the one socket, or with a shard map the primary of the call's workspace
/// (``DaemonRoute``). Sockets are connected on first use.
///
/// Blocking and single-threaded, like the ``RPCClient``s it wraps: use it on one thread, inside
/// ``GlobalOptions/withConnection(_:)``.
struct LedgerConnection {
    /// The options the connection was opened with.
    let options: GlobalOptions
    private let clients: DaemonClients

    /// Prepares calls along ``GlobalOptions/route``; nothing is connected yet.
    ///
    /// - Throws: ``ShardMapError`` when the shard map cannot be read.
    init(options: GlobalOptions) throws {
        self.options = options
        self.clients = DaemonClients(route: try options.route, timeout: try options.answerTimeout)
    }

    /// The socket of the last call (or the one a failed call tried), for messages.
    var socketPath: String? { self.clients.lastSocketPath }

    /// Calls `method` with `params` (plus `workspace`/`actor`) and waits for its answer.
    ///
    /// - Parameters:
    ///   - onNotification: receives, on this thread, every notification that arrives before the answer.
    /// - Returns: the `result` member.
    /// - Throws: ``RPCError`` for an error answer, ``RPCClient/TransportError`` when the connection fails,
    ///   ``RoutingError`` when a shard map has no primary for the call.
    func call(
        _ method: String,
        _ params: [String: JSONValue] = [:],
        onNotification: (JSONValue) -> Void = { _ in }
    ) throws -> JSONValue {
        let params = self.options.decorate(params)
        let client = try self.clients.client(workspace: params["workspace"]?.stringValue, method: method)
        return try client.call(method, .object(params), onNotification: onNotification)
    }

    /// Waits for the next message from the daemon of the last call (for subscriptions, after the subscribe
    /// call answered), as long as it takes: a quiet log sends nothing, so no ``GlobalOptions/timeout`` applies.
    ///
    /// - Throws: ``RPCClient/TransportError`` when the connection fails or the daemon closes it.
    func nextMessage() throws -> JSONValue {
        let client = try self.clients.current()
        client.timeout = nil
        return try client.readValue()
    }
}
