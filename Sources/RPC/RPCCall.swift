// ContactLedger — JSON-RPC layer.

/// One decoded JSON-RPC request or notification.
public struct RPCCall: Sendable {
    /// The method name.
    public var method: String
    /// The `params` member, or nil when absent.
    public var params: JSONValue?
    /// The request id; nil for a notification (which is executed but never answered).
    public var id: JSONValue?

    public init(method: String, params: JSONValue?, id: JSONValue?) {
        self.method = method
        self.params = params
        self.id = id
    }

    /// Whether no answer is expected.
    public var isNotification: Bool { self.id == nil }
}

/// What serving one connection knows about it, handed to every call made on it.
public struct RPCContext: Sendable {
    /// The peer process's credentials (SO_PEERCRED), when the socket reported them.
    public var peer: PeerCredentials?
    /// A number identifying the connection for as long as the server runs.
    public var connectionID: UInt64
    /// Sends notifications to this connection's peer, in order with its answers.
    public var notifier: RPCNotifier

    public init(peer: PeerCredentials?, connectionID: UInt64, notifier: RPCNotifier) {
        self.peer = peer
        self.connectionID = connectionID
        self.notifier = notifier
    }
}

/// Serves JSON-RPC calls: the one thing the ``RPCServer`` needs from the application.
public protocol RPCHandler: Sendable {
    /// Handles one call and returns the encoded JSON of its `result`, or throws an ``RPCError``.
    ///
    /// Any other error thrown is answered -32603 and logged with a reference.
    func handle(_ call: RPCCall, context: RPCContext) async throws -> [UInt8]

    /// Called once when a connection closes, so per-connection state (subscriptions) can be dropped.
    func connectionClosed(_ connectionID: UInt64) async
}

extension RPCHandler {
    public func connectionClosed(_ connectionID: UInt64) async {}
}
