// ContactLedger — JSON-RPC layer.
import Synchronization

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
    /// Work to start once this call's answer has been written (a subscription's feed), running until it
    /// ends by itself, the connection closes or the server shuts down; the end of the connection's input
    /// does not end it (a peer that shut only its sending side still reads).
    public var afterAnswer: RPCAfterAnswer
    /// When set, every valid call is answered with this error and not handled (the server is shutting
    /// down: see ``ShutdownDrain``).
    public var refusal: RPCError?
    /// The connection's answers made and not yet written; nil where nothing limits them.
    public var answerBudget: AnswerBudget?
    /// Set once the connection has closed: its long calls that have not started are not run.
    public var closed: ConnectionClosed

    public init(
        peer: PeerCredentials?, connectionID: UInt64, notifier: RPCNotifier, afterAnswer: RPCAfterAnswer = RPCAfterAnswer(),
        answerBudget: AnswerBudget? = nil, closed: ConnectionClosed = ConnectionClosed()
    ) {
        self.peer = peer
        self.connectionID = connectionID
        self.notifier = notifier
        self.afterAnswer = afterAnswer
        self.answerBudget = answerBudget
        self.closed = closed
    }
}

/// Whether a connection has closed, shared by every call made on it.
public final class ConnectionClosed: Sendable {
    private let isSet = Atomic(false)

    public init() {}

    /// Whether the connection has closed.
    public var hasClosed: Bool { self.isSet.load(ordering: .acquiring) }

    /// Records that the connection has closed.
    public func record() { self.isSet.store(true, ordering: .releasing) }
}

/// Collects work a call wants started after its answer is on the wire.
public final class RPCAfterAnswer: Sendable {
    private let work = Mutex<[@Sendable () async -> Void]>([])

    public init() {}

    /// Schedules `body` to start once the answer has been written.
    public func schedule(_ body: @escaping @Sendable () async -> Void) {
        self.work.withLock { $0.append(body) }
    }

    /// Takes the scheduled work (the server calls this after writing the answer).
    public func take() -> [@Sendable () async -> Void] {
        self.work.withLock { work in
            defer { work = [] }
            return work
        }
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

    /// Called once when the server begins its graceful shutdown (it stops accepting and drains), before
    /// the calls in flight end: work of the handler's own that outlives calls can stop now.
    func serverStopping()
}

extension RPCHandler {
    public func connectionClosed(_ connectionID: UInt64) async {}
    public func serverStopping() {}
}
