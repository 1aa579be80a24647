// ContactLedger — metrics: the Prometheus scrape endpoint.
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import RPC
import ServiceLifecycle

/// A tiny HTTP/1.1 server answering `GET /metrics` with ``DaemonMetrics/exposition()`` in the Prometheus
/// text format (version 0.0.4). Anything else is 404 (or 405 for methods other than GET/HEAD).
///
/// It listens on a loopback ``MetricsAddress`` only. Each connection is served in its own child task
/// (keep-alive honoured); the exposition, which reads LMDB figures, runs in that task, never on an event
/// loop. On graceful shutdown it stops accepting and closes its connections.
final class MetricsServer: Service {
    private let address: MetricsAddress
    private let metrics: DaemonMetrics
    private let logger: Logger
    private let eventLoopGroup: any EventLoopGroup
    private let onListening: @Sendable () -> Void

    /// The content type of the exposition.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"
    /// Connections served at once. A scraper holds one; the port is on loopback, where every local user
    /// reaches it, and unbounded, their connections could take every descriptor the daemon may open
    /// (``ConnectionLimit``). One past it is closed unanswered.
    static let maximumConnections = 64
    /// How long a connection may send nothing before it is closed (a scraper sends a request every
    /// scrape interval, 15 to 60 s by default, and reconnects when closed).
    static let idleTimeout = TimeAmount.seconds(90)

    init(
        address: MetricsAddress,
        metrics: DaemonMetrics,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger,
        onListening: @escaping @Sendable () -> Void = {}
    ) {
        self.onListening = onListening
        self.address = address
        self.metrics = metrics
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    private typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    func run() async throws {
        let limit = ConnectionLimit(maximum: Self.maximumConnections)
        let server: NIOAsyncChannel<(Connection, Bool), Never>
        do {
            server = try await self.bind(limit)
        } catch {
            throw ListenFailure(address: self.address, cause: error)
        }
        self.logger.info(
            "metrics listening",
            metadata: ["metrics.host": "\(self.address.host)", "metrics.port": "\(server.channel.localAddress?.port ?? 0)"]
        )
        self.onListening()
        try await server.executeThenClose { inbound in
            try await withThrowingDiscardingTaskGroup { group in
                for try await (connection, admitted) in inbound.cancelOnGracefulShutdown() {
                    guard admitted else {
                        group.addTask { try? await connection.executeThenClose { _, _ in } }
                        continue
                    }
                    group.addTask { await self.serve(connection) }
                }
            }
        }
        self.logger.info("metrics stopped listening")
    }

    /// Binds `address` once and lets it go: a port already taken fails the start here, before the socket
    /// listens (the endpoint's own bind failing later stopped a daemon whose socket already took
    /// connections, and one taken in that moment trapped, NIO finding its channel dropped unserved).
    static func probe(_ address: MetricsAddress) throws {
        do {
            let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: address.host, port: address.port)
                .wait()
            try channel.close().wait()
        } catch {
            throw ListenFailure(address: address, cause: error)
        }
    }

    /// The endpoint could not listen (its port taken, say): the start fails naming the setting and the
    /// address, where NIO's error named neither.
    struct ListenFailure: Error, CustomStringConvertible {
        var address: MetricsAddress
        var cause: any Error
        var description: String {
            let reason = (self.cause as? IOError).map { String(cString: strerror($0.errnoCode)) + " (errno \($0.errnoCode))" } ?? "\(self.cause)"
            return "metrics_listen \(self.address): cannot listen: \(reason)"
        }
    }

    private func bind(_ limit: ConnectionLimit) async throws -> NIOAsyncChannel<(Connection, Bool), Never> {
        try await ServerBootstrap(group: self.eventLoopGroup)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: self.address.host, port: self.address.port) { channel in
                // Counted here, refused once served: NIO registers an accepted channel only after this.
                let admitted = limit.admit(channel)
                return channel.eventLoop.makeCompletedFuture {
                    // A connection held without a request would keep its place for good: 64 of them, and no
                    // scraper could connect.
                    try channel.pipeline.syncOperations.addHandlers(IdleStateHandler(readTimeout: Self.idleTimeout), ClosingWhenIdle())
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
                    try channel.pipeline.syncOperations.addHandler(AnsweringOneBadRequest())
                    return (try Connection(wrappingChannelSynchronously: channel), admitted)
                }
            }
    }

    private func serve(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                for try await part in inbound.cancelOnGracefulShutdown() {
                    switch part {
                    case .head(let request):
                        head = request
                    case .body:
                        continue
                    case .end:
                        guard let request = head else { continue }
                        head = nil
                        try await self.answer(request, outbound)
                        if !request.isKeepAlive { return }
                    }
                }
            }
        } catch {
            self.logger.debug("metrics connection ended with an error", metadata: ["error.type": "\(type(of: error))"])
        }
    }

    private func answer(_ request: HTTPRequestHead, _ outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>) async throws {
        let status: HTTPResponseStatus
        let body: [UInt8]
        var headers = HTTPHeaders()
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        if request.method != .GET && request.method != .HEAD {
            status = .methodNotAllowed
            body = Array("only GET and HEAD\n".utf8)
            headers.add(name: "Allow", value: "GET, HEAD")
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        } else if path == "/metrics" {
            status = .ok
            body = self.metrics.exposition()
            headers.add(name: "Content-Type", value: Self.contentType)
        } else {
            status = .notFound
            body = Array("not found; metrics are at /metrics\n".utf8)
            headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        }
        headers.add(name: "Content-Length", value: String(body.count))
        if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
        try await outbound.write(.head(HTTPResponseHead(version: request.version, status: status, headers: headers)))
        if request.method != .HEAD { try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: body)))) }
        try await outbound.write(.end(nil))
    }
}

/// Closes a connection when ``IdleStateHandler`` says it has been idle for its timeout.
private final class ClosingWhenIdle: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is IdleStateHandler.IdleStateEvent else { return context.fireUserInboundEventTriggered(event) }
        context.close(promise: nil)
    }
}

/// Answers a request the HTTP parser refuses with one `400 Bad Request` and closes the connection.
/// NIO's own error handler answered some such requests twice (`GET /metrics` without a version: two
/// 400s on one connection), for the parser reports more than one error for them.
private final class AnsweringOneBadRequest: ChannelDuplexHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Touched on the channel's event loop only.
    private var answered = false

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError else { return context.fireErrorCaught(error) }
        guard !self.answered else { return }
        self.answered = true
        let head = HTTPResponseHead(version: .http1_1, status: .badRequest, headers: ["Connection": "close", "Content-Length": "0"])
        context.write(self.wrapOutboundOut(.head(head)), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(self.wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
        context.fireErrorCaught(error)
    }
}
