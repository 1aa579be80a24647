// ContactLedger — command-line client.
import RPC

/// One connection to the daemon that adds the global `workspace` and `actor` to every call.
///
/// Blocking and single-threaded, like the ``RPCClient`` it wraps: use it on one thread, inside
/// ``GlobalOptions/withConnection(_:)``.
struct LedgerConnection {
    /// The options the connection was opened with.
    let options: GlobalOptions
    private let client: RPCClient

    /// Connects to ``GlobalOptions/socketPath``.
    ///
    /// - Throws: ``RPCClient/TransportError`` when the socket cannot be reached.
    init(options: GlobalOptions) throws {
        self.options = options
        self.client = try RPCClient(socketPath: options.socketPath)
    }

    /// Calls `method` with `params` (plus `workspace`/`actor`) and waits for its answer.
    ///
    /// - Parameters:
    ///   - onNotification: receives, on this thread, every notification that arrives before the answer.
    /// - Returns: the `result` member.
    /// - Throws: ``RPCError`` for an error answer, ``RPCClient/TransportError`` when the connection fails.
    func call(
        _ method: String,
        _ params: [String: JSONValue] = [:],
        onNotification: (JSONValue) -> Void = { _ in }
    ) throws -> JSONValue {
        try self.client.call(method, .object(self.options.decorate(params)), onNotification: onNotification)
    }

    /// Calls `method` with `params` sent exactly as given (no `workspace`/`actor` added to a non-object).
    func callRaw(_ method: String, _ params: JSONValue) throws -> JSONValue {
        if case .object(let members) = params {
            return try self.call(method, members)
        }
        return try self.client.call(method, params)
    }

    /// Waits for the next message from the daemon (for subscriptions, after the subscribe call answered).
    ///
    /// - Throws: ``RPCClient/TransportError`` when the connection fails or the daemon closes it.
    func nextMessage() throws -> JSONValue {
        try self.client.readValue()
    }
}
