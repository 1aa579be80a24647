// ContactLedger — NATS client.
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A NATS client over one TCP connection: publish (with headers), subscribe, request/reply through a
/// shared inbox, and reconnection with back-off once connected.
///
/// Subscriptions survive reconnects (they are sent again); requests and flushes in flight when the
/// connection drops fail with ``NATSError/disconnected``; publishing while disconnected fails at once
/// with ``NATSError/notConnected`` (nothing is buffered: callers that must not lose messages retry).
public final class NATSClient: Sendable {
    /// Where and how to connect.
    public struct Configuration: Sendable {
        /// One server of the pool.
        public struct Server: Sendable, Hashable {
            public var host: String
            public var port: Int
            public init(host: String, port: Int) {
                self.host = host
                self.port = port
            }
        }

        /// The servers to connect to, tried in order: a connection that fails or drops moves on to the next
        /// one (a cluster's nodes, so that losing one node does not stop the client). Never empty.
        public var servers: [Server]
        /// The first server's host.
        public var host: String {
            get { self.servers.first?.host ?? "" }
            set { self.servers = [Server(host: newValue, port: self.port)] + self.servers.dropFirst() }
        }
        /// The first server's port.
        public var port: Int {
            get { self.servers.first?.port ?? 4222 }
            set { self.servers = [Server(host: self.host, port: newValue)] + self.servers.dropFirst() }
        }
        /// The client name the server shows in its monitoring.
        public var name: String
        /// How long requests wait for their answer by default.
        public var requestTimeout: Duration
        /// The first wait before reconnecting; doubled after each failure up to ``reconnectMaximumDelay``.
        public var reconnectInitialDelay: Duration
        public var reconnectMaximumDelay: Duration
        /// How long connecting (TCP and handshake) may take.
        public var connectTimeout: Duration

        public init(
            host: String = "127.0.0.1",
            port: Int = 4222,
            name: String = "contactledger",
            requestTimeout: Duration = .seconds(5),
            reconnectInitialDelay: Duration = .milliseconds(50),
            reconnectMaximumDelay: Duration = .seconds(2),
            connectTimeout: Duration = .seconds(5)
        ) {
            self.servers = [Server(host: host, port: port)]
            self.name = name
            self.requestTimeout = requestTimeout
            self.reconnectInitialDelay = reconnectInitialDelay
            self.reconnectMaximumDelay = reconnectMaximumDelay
            self.connectTimeout = connectTimeout
        }

        /// Parses `nats://host:port` (the port defaults to 4222), or several separated by commas
        /// (`nats://127.0.0.1:4222,nats://127.0.0.1:4223`): the pool of ``servers``. Nothing else: a port
        /// past 65535 was truncated (99999 reached 34463), and credentials, a path or a query, which this
        /// client never sends, were taken and ignored.
        public init(url: String) throws(NATSError) {
            var servers: [Server] = []
            for part in url.split(separator: ",", omittingEmptySubsequences: false) {
                let text = part.trimmingCharacters(in: .whitespaces)
                guard let components = URLComponents(string: text), components.scheme == "nats", let host = components.host, !host.isEmpty,
                    components.path.isEmpty || components.path == "/", components.user == nil, components.password == nil,
                    components.query == nil, components.fragment == nil
                else { throw NATSError.invalidURL(url) }
                let port = components.port ?? 4222
                guard (1...65535).contains(port) else { throw NATSError.invalidURL(url) }
                // An IPv6 address is written in brackets, which name no host to resolve.
                let address = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
                servers.append(Server(host: address, port: port))
            }
            guard let first = servers.first else { throw NATSError.invalidURL(url) }
            self.init(host: first.host, port: first.port)
            self.servers = servers
        }
    }

    /// Where the connection stands.
    public enum Status: Sendable, Hashable {
        case idle, connecting, connected, reconnecting, closed
    }

    private struct Subscription {
        var subject: String
        var queue: String?
        var handler: @Sendable (NATSMessage) -> Void
    }

    private struct State {
        var status: Status = .idle
        var channel: (any Channel)?
        /// Completed by the first `PONG` after `CONNECT`.
        var handshake: EventLoopPromise<Void>?
        var serverInfo: [UInt8] = []
        var subscriptions: [UInt64: Subscription] = [:]
        var nextSID: UInt64 = 0
        var inboxSID: UInt64?
        var requests: [String: EventLoopPromise<NATSMessage>] = [:]
        var nextToken: UInt64 = 0
        var pongWaiters: [EventLoopPromise<Void>] = []
        var reconnectTask: Task<Void, Never>?
        /// Counts successful handshakes: a change tells a reader that the connection was replaced.
        var generation: UInt64 = 0
        /// The index in ``Configuration/servers`` of the server to connect to next (or connected to).
        var serverIndex = 0
    }

    public let configuration: Configuration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let state = Mutex(State())
    /// The prefix of this client's reply subjects.
    public let inboxPrefix: String

    public init(configuration: Configuration, logger: Logger = Logger(label: "nats"), group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.logger = logger
        self.group = group
        self.inboxPrefix = "_INBOX." + Self.randomToken()
    }

    /// A random token for inbox subjects.
    public static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next() as UInt64, radix: 36) + String(generator.next() as UInt64, radix: 36)
    }

    /// Where the connection stands now.
    public var status: Status { self.state.withLock { $0.status } }

    /// How many handshakes have succeeded: it grows by one on every reconnect.
    public var connectionGeneration: UInt64 { self.state.withLock { $0.generation } }

    /// The server's `INFO` JSON from the last handshake.
    public var serverInfo: [UInt8] { self.state.withLock { $0.serverInfo } }

    // MARK: - Connecting

    /// Connects once; throws when the server cannot be reached. Once connected, the client reconnects
    /// by itself whenever the connection drops, until ``close()``.
    public func connect() async throws {
        let proceed = self.state.withLock { state -> Bool in
            guard state.status == .idle || state.status == .reconnecting else { return false }
            state.status = .connecting
            return true
        }
        guard proceed else {
            if self.status == .closed { throw NATSError.closed }
            return
        }
        // Each server of the pool once, from the current one.
        var attempts = 0
        while true {
            do {
                try await self.openConnection()
                return
            } catch {
                attempts += 1
                let retry = self.state.withLock { state -> Bool in
                    guard state.status == .connecting, attempts < self.configuration.servers.count else {
                        if state.status == .connecting { state.status = .idle }
                        return false
                    }
                    self.moveToNextServer(&state)
                    return true
                }
                if !retry { throw error }
            }
        }
    }

    /// The server the next connection attempt goes to.
    private var currentServer: Configuration.Server {
        let servers = self.configuration.servers
        let index = self.state.withLock { $0.serverIndex }
        return servers.isEmpty ? Configuration.Server(host: "", port: 0) : servers[index % servers.count]
    }

    private func moveToNextServer(_ state: inout State) {
        state.serverIndex = (state.serverIndex + 1) % max(1, self.configuration.servers.count)
    }

    /// Closes the connection; pending operations fail with ``NATSError/closed``.
    public func close() async {
        let (channel, task, handshake) = self.state.withLock { state -> ((any Channel)?, Task<Void, Never>?, EventLoopPromise<Void>?) in
            state.status = .closed
            defer {
                state.channel = nil
                state.reconnectTask = nil
                state.handshake = nil
            }
            return (state.channel, state.reconnectTask, state.handshake)
        }
        task?.cancel()
        handshake?.fail(NATSError.closed)
        self.failPending(NATSError.closed)
        try? await channel?.close()
    }

    private func openConnection() async throws {
        let loop = self.group.next()
        let handshake = loop.makePromise(of: Void.self)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.nanoseconds(Self.nanoseconds(self.configuration.connectTimeout)))
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [self] channel in
                // Adopt the channel before it reads anything: the server's INFO comes first thing.
                let accepted = self.state.withLock { state -> Bool in
                    guard state.status == .connecting else { return false }
                    state.channel = channel
                    state.handshake = handshake
                    return true
                }
                guard accepted else { return channel.eventLoop.makeFailedFuture(NATSError.closed) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(NATSFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(NATSChannelHandler(client: self))
                }
            }
        let channel: any Channel
        do {
            let server = self.currentServer
            channel = try await bootstrap.connect(host: server.host, port: server.port).get()
        } catch {
            self.state.withLock { state in
                if state.handshake?.futureResult === handshake.futureResult {
                    state.handshake = nil
                    state.channel = nil
                }
            }
            handshake.fail(error)
            throw error
        }
        let timeout = loop.scheduleTask(in: .nanoseconds(Self.nanoseconds(self.configuration.connectTimeout))) {
            channel.close(promise: nil)
        }
        defer { timeout.cancel() }
        do {
            try await handshake.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    /// Called when the connection drops: fails what waited on it and starts reconnecting.
    fileprivate func connectionLost(_ channel: any Channel) {
        let lostPort = self.currentServer.port
        let (startReconnecting, handshake) = self.state.withLock { state -> (Bool, EventLoopPromise<Void>?) in
            guard let current = state.channel, current === channel else { return (false, nil) }
            state.channel = nil
            let handshake = state.handshake
            state.handshake = nil
            guard state.status == .connected else { return (false, handshake) }
            state.status = .reconnecting
            // The server that dropped the connection is tried last.
            self.moveToNextServer(&state)
            return (true, handshake)
        }
        handshake?.fail(NATSError.disconnected)
        self.failPending(NATSError.disconnected)
        guard startReconnecting else { return }
        self.logger.warning("NATS connection lost; reconnecting", metadata: ["nats.port": "\(lostPort)"])
        let task = Task { [self] in await self.reconnectLoop() }
        self.state.withLock { state in
            if state.status == .closed { task.cancel() } else { state.reconnectTask = task }
        }
    }

    private func reconnectLoop() async {
        var delay = self.configuration.reconnectInitialDelay
        var attempts = 0
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: delay)
            } catch {
                return
            }
            let proceed = self.state.withLock { state -> Bool in
                guard state.status == .reconnecting else { return false }
                state.status = .connecting
                return true
            }
            guard proceed else { return }
            attempts += 1
            do {
                try await self.openConnection()
                self.logger.notice("NATS connection restored", metadata: ["nats.attempts": "\(attempts)"])
                return
            } catch {
                // The next server at once; the delay grows once the whole pool has failed.
                let wrapped = self.state.withLock { state -> Bool in
                    if state.status == .connecting { state.status = .reconnecting }
                    self.moveToNextServer(&state)
                    return state.serverIndex == 0
                }
                if wrapped || self.configuration.servers.count == 1 {
                    delay = min(delay * 2, self.configuration.reconnectMaximumDelay)
                }
            }
        }
    }

    private func failPending(_ error: NATSError) {
        let (requests, pongs) = self.state.withLock { state -> ([EventLoopPromise<NATSMessage>], [EventLoopPromise<Void>]) in
            defer {
                state.requests = [:]
                state.pongWaiters = []
            }
            return (Array(state.requests.values), state.pongWaiters)
        }
        for request in requests { request.fail(error) }
        for pong in pongs { pong.fail(error) }
    }

    // MARK: - Receiving

    fileprivate func received(_ operation: ServerOperation, on channel: any Channel) {
        switch operation {
        case .info(let json):
            let isHandshake = self.state.withLock { state -> Bool in
                guard let current = state.channel, current === channel else { return false }
                state.serverInfo = json
                return state.handshake != nil
            }
            guard isHandshake else { return }
            // CONNECT, every subscription again, then PING: the PONG ends the handshake.
            let subscriptions = self.state.withLock { $0.subscriptions }
            var buffer = channel.allocator.buffer(capacity: 512)
            let connect = #"{"verbose":false,"pedantic":false,"headers":true,"no_responders":true,"protocol":1,"#
                + #""lang":"swift","version":"0.1.0","name":"\#(self.configuration.name)"}"#
            buffer.writeString("CONNECT \(connect)\r\n")
            for (sid, subscription) in subscriptions.sorted(by: { $0.key < $1.key }) {
                ClientOperation.subscribe(into: &buffer, subject: subscription.subject, queue: subscription.queue, sid: sid)
            }
            buffer.writeStaticString("PING\r\n")
            channel.writeAndFlush(buffer, promise: nil)
        case .ping:
            channel.writeAndFlush(channel.allocator.buffer(staticString: "PONG\r\n"), promise: nil)
        case .pong:
            let (handshake, waiter) = self.state.withLock { state -> (EventLoopPromise<Void>?, EventLoopPromise<Void>?) in
                if let handshake = state.handshake, let current = state.channel, current === channel {
                    state.handshake = nil
                    state.status = .connected
                    state.generation += 1
                    return (handshake, nil)
                }
                return (nil, state.pongWaiters.isEmpty ? nil : state.pongWaiters.removeFirst())
            }
            handshake?.succeed()
            waiter?.succeed()
        case .message(let message):
            self.deliver(message)
        case .ok:
            break
        case .error(let text):
            self.logger.warning("NATS server error", metadata: ["nats.error": "\(text)"])
            let handshake = self.state.withLock { state -> EventLoopPromise<Void>? in
                defer { state.handshake = nil }
                return state.handshake
            }
            handshake?.fail(NATSError.serverError(text))
        }
    }

    private func deliver(_ message: NATSMessage) {
        let (handler, request) = self.state.withLock { state -> (Subscription?, EventLoopPromise<NATSMessage>?) in
            if message.sid == state.inboxSID {
                guard let dot = message.subject.lastIndex(of: ".") else { return (nil, nil) }
                return (nil, state.requests.removeValue(forKey: String(message.subject[message.subject.index(after: dot)...])))
            }
            return (state.subscriptions[message.sid], nil)
        }
        if let request {
            if message.status == 503 {
                request.fail(NATSError.noResponders)
            } else {
                request.succeed(message)
            }
        }
        handler?.handler(message)
    }

    // MARK: - Sending

    private func write(_ build: (inout ByteBuffer) -> Void) throws(NATSError) {
        let channel = self.state.withLock { state -> (any Channel)? in
            state.status == .connected ? state.channel : nil
        }
        guard let channel else { throw self.status == .closed ? NATSError.closed : NATSError.notConnected }
        var buffer = channel.allocator.buffer(capacity: 256)
        build(&buffer)
        channel.writeAndFlush(buffer, promise: nil)
    }

    /// Publishes a message (fire and forget).
    public func publish(_ payload: [UInt8], to subject: String, replyTo: String? = nil, headers: NATSHeaders? = nil) throws(NATSError) {
        try self.write { buffer in
            ClientOperation.publish(into: &buffer, subject: subject, replyTo: replyTo, headers: headers, payload: payload)
        }
    }

    /// Publishes several bodies without reply subjects, in order, in one write.
    public func publishBatch(_ messages: [(subject: String, payload: [UInt8])]) throws(NATSError) {
        guard !messages.isEmpty else { return }
        try self.write { buffer in
            for message in messages {
                ClientOperation.publish(into: &buffer, subject: message.subject, replyTo: nil, headers: nil, payload: message.payload)
            }
        }
    }

    /// Waits until the server has processed everything sent before (a `PING`/`PONG` round trip).
    public func flush(timeout: Duration? = nil) async throws {
        let loop = self.group.next()
        let promise = loop.makePromise(of: Void.self)
        let channel = self.state.withLock { state -> (any Channel)? in
            guard state.status == .connected, let channel = state.channel else { return nil }
            state.pongWaiters.append(promise)
            return channel
        }
        guard let channel else {
            promise.fail(NATSError.notConnected)
            throw self.status == .closed ? NATSError.closed : NATSError.notConnected
        }
        channel.writeAndFlush(channel.allocator.buffer(staticString: "PING\r\n"), promise: nil)
        let timer = loop.scheduleTask(in: .nanoseconds(Self.nanoseconds(timeout ?? self.configuration.requestTimeout))) { [self] in
            let waiting = self.state.withLock { state -> Bool in
                guard let index = state.pongWaiters.firstIndex(where: { $0.futureResult === promise.futureResult }) else { return false }
                state.pongWaiters.remove(at: index)
                return true
            }
            if waiting { promise.fail(NATSError.timeout) }
        }
        defer { timer.cancel() }
        try await promise.futureResult.get()
    }

    /// Subscribes `handler` to `subject`; it is called on a NIO thread, in delivery order, and must not block.
    ///
    /// - Returns: the subscription id, for ``unsubscribe(_:)``.
    @discardableResult
    public func subscribe(to subject: String, queue: String? = nil, handler: @escaping @Sendable (NATSMessage) -> Void) throws(NATSError) -> UInt64 {
        let (sid, channel) = self.state.withLock { state -> (UInt64, (any Channel)?) in
            state.nextSID += 1
            state.subscriptions[state.nextSID] = Subscription(subject: subject, queue: queue, handler: handler)
            return (state.nextSID, state.status == .connected ? state.channel : nil)
        }
        if let channel {
            var buffer = channel.allocator.buffer(capacity: 64)
            ClientOperation.subscribe(into: &buffer, subject: subject, queue: queue, sid: sid)
            channel.writeAndFlush(buffer, promise: nil)
        } else if self.status == .closed {
            throw NATSError.closed
        }
        return sid
    }

    /// Subscribes to `subject`; messages arrive on the returned stream (buffered without bound).
    public func subscribe(to subject: String, queue: String? = nil) throws(NATSError) -> (sid: UInt64, messages: AsyncStream<NATSMessage>) {
        let (stream, continuation) = AsyncStream.makeStream(of: NATSMessage.self)
        let sid = try self.subscribe(to: subject, queue: queue) { message in continuation.yield(message) }
        continuation.onTermination = { [weak self] _ in self?.unsubscribe(sid) }
        return (sid, stream)
    }

    /// Ends a subscription.
    public func unsubscribe(_ sid: UInt64) {
        let channel = self.state.withLock { state -> (any Channel)? in
            guard state.subscriptions.removeValue(forKey: sid) != nil else { return nil }
            return state.status == .connected ? state.channel : nil
        }
        guard let channel else { return }
        var buffer = channel.allocator.buffer(capacity: 32)
        ClientOperation.unsubscribe(into: &buffer, sid: sid)
        channel.writeAndFlush(buffer, promise: nil)
    }

    // MARK: - Request and reply

    /// One request of ``requestBatch(_:timeout:)``.
    public struct Request: Sendable {
        public var subject: String
        public var headers: NATSHeaders?
        public var payload: [UInt8]
        public init(subject: String, headers: NATSHeaders? = nil, payload: [UInt8]) {
            self.subject = subject
            self.headers = headers
            self.payload = payload
        }
    }

    /// Sends a request and waits for the first answer.
    ///
    /// - Throws: ``NATSError/noResponders``, ``NATSError/timeout``, ``NATSError/notConnected``,
    ///   ``NATSError/disconnected``.
    public func request(_ payload: [UInt8], to subject: String, headers: NATSHeaders? = nil, timeout: Duration? = nil) async throws -> NATSMessage {
        let results = try await self.requestBatch([Request(subject: subject, headers: headers, payload: payload)], timeout: timeout)
        return try results[0].get()
    }

    /// Sends `requests` in one write, in order, and waits for every answer; the results are in the
    /// same order. Failing to send at all throws; a request without its answer gets a failure.
    public func requestBatch(_ requests: [Request], timeout: Duration? = nil) async throws -> [Result<NATSMessage, NATSError>] {
        guard !requests.isEmpty else { return [] }
        try self.ensureInbox()
        let loop = self.group.next()
        let promises = requests.map { _ in loop.makePromise(of: NATSMessage.self) }
        let tokens = self.state.withLock { state -> [String]? in
            guard state.status == .connected else { return nil }
            var tokens: [String] = []
            for promise in promises {
                state.nextToken += 1
                let token = String(state.nextToken, radix: 36)
                state.requests[token] = promise
                tokens.append(token)
            }
            return tokens
        }
        guard let tokens else {
            // Every promise must be completed, or NIO reports it leaked.
            let error = self.status == .closed ? NATSError.closed : NATSError.notConnected
            for promise in promises { promise.fail(error) }
            throw error
        }
        do {
            try self.write { buffer in
                for (request, token) in zip(requests, tokens) {
                    ClientOperation.publish(
                        into: &buffer, subject: request.subject, replyTo: self.inboxPrefix + "." + token,
                        headers: request.headers, payload: request.payload
                    )
                }
            }
        } catch {
            let orphans = self.state.withLock { state in tokens.compactMap { state.requests.removeValue(forKey: $0) } }
            for orphan in orphans { orphan.fail(error) }
            throw error
        }
        let timer = loop.scheduleTask(in: .nanoseconds(Self.nanoseconds(timeout ?? self.configuration.requestTimeout))) { [self] in
            let expired = self.state.withLock { state in tokens.compactMap { state.requests.removeValue(forKey: $0) } }
            for promise in expired { promise.fail(NATSError.timeout) }
        }
        defer { timer.cancel() }
        var results: [Result<NATSMessage, NATSError>] = []
        results.reserveCapacity(requests.count)
        var timedOut = false
        for promise in promises {
            do {
                results.append(.success(try await promise.futureResult.get()))
            } catch let error as NATSError {
                if case .timeout = error { timedOut = true }
                results.append(.failure(error))
            } catch {
                results.append(.failure(.protocolError("\(error)")))
            }
        }
        if timedOut { await self.dropConnectionIfUnresponsive() }
        return results
    }

    /// After a request timed out: a server that does not answer a `PING` within ``unresponsiveTimeout``
    /// loses its connection, and the client reconnects to the next server of the pool. A server stopped
    /// (`SIGSTOP`, a hung process or machine) keeps its TCP connections open: the client stayed on it, every
    /// request timing out, for as long as it was stopped, while the other nodes of its cluster served. A
    /// server that answers the `PING` keeps the connection (a JetStream request may time out on a live server,
    /// while a stream elects its leader).
    private func dropConnectionIfUnresponsive() async {
        guard let channel = self.state.withLock({ $0.status == .connected ? $0.channel : nil }) else { return }
        do {
            try await self.flush(timeout: Self.unresponsiveTimeout)
        } catch NATSError.timeout {
            self.logger.warning("NATS server unresponsive; dropping its connection", metadata: ["nats.port": "\(self.currentServer.port)"])
            try? await channel.close()
        } catch {}
    }

    /// How long a server that let a request time out has to answer a `PING`.
    static let unresponsiveTimeout: Duration = .seconds(2)

    /// Subscribes the shared inbox (`<prefix>.*`) once.
    private func ensureInbox() throws(NATSError) {
        let needed = self.state.withLock { $0.inboxSID == nil }
        guard needed else { return }
        let sid = try self.subscribe(to: self.inboxPrefix + ".*") { _ in }
        let duplicate = self.state.withLock { state -> Bool in
            if state.inboxSID != nil { return true }
            state.inboxSID = sid
            return false
        }
        if duplicate { self.unsubscribe(sid) }
    }

    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

/// Hands the decoded operations and the end of the connection to the client.
private final class NATSChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ServerOperation

    private let client: NATSClient

    init(client: NATSClient) { self.client = client }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        self.client.received(self.unwrapInboundIn(data), on: context.channel)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.client.connectionLost(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
