// ContactLedger — JSON-RPC layer.
import CLedgerSys
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A JSON-RPC 2.0 server on a Unix stream socket, one JSON value per line.
///
/// Every connection is served concurrently; on one connection up to
/// ``Configuration/maximumInFlightPerConnection`` calls run at once and each answer is written as soon as
/// it is ready. A peer that does not read its answers only holds back its own connection: its calls
/// wait for their answers to be written, and no new line is read from it meanwhile.
///
/// On graceful shutdown the server stops accepting, lets in-flight calls finish, answers the lines
/// already sent -32005 `shutting_down` (``ShutdownDrain``), closes, and removes its socket file.
public final class RPCServer: Service {
    /// How the server listens.
    public struct Configuration: Sendable {
        /// The socket file to create.
        public var socketPath: String
        /// The longest line accepted, in bytes; longer lines are answered -32600.
        public var maximumLineBytes: Int
        /// The file mode of the socket.
        public var socketMode: mode_t
        /// Calls served at once on one connection.
        public var maximumInFlightPerConnection: Int
        /// The most bytes of answers made and not yet written that one connection holds before it takes
        /// no new line (``AnswerBudget``).
        public var maximumUnreadAnswerBytes: Int
        /// The group to give the socket file, if any.
        public var socketGroup: gid_t?
        /// Connections held open at once; nil: the process's limit on open files less a reserve and less
        /// ``descriptorsForOtherListeners`` (``ConnectionLimit``).
        public var maximumConnections: Int?
        /// Descriptors the process's other listeners may hold at once (the metrics endpoint's connections),
        /// kept out of this server's reach as well.
        public var descriptorsForOtherListeners: Int

        public init(
            socketPath: String,
            maximumLineBytes: Int = 16 << 20,
            socketMode: mode_t = 0o660,
            maximumInFlightPerConnection: Int = 32,
            maximumUnreadAnswerBytes: Int = 64 << 20,
            socketGroup: gid_t? = nil,
            maximumConnections: Int? = nil,
            descriptorsForOtherListeners: Int = 0
        ) {
            self.socketGroup = socketGroup
            self.maximumConnections = maximumConnections
            self.descriptorsForOtherListeners = descriptorsForOtherListeners
            self.socketPath = socketPath
            self.maximumLineBytes = maximumLineBytes
            self.socketMode = socketMode
            self.maximumInFlightPerConnection = maximumInFlightPerConnection
            self.maximumUnreadAnswerBytes = maximumUnreadAnswerBytes
        }
    }

    private let configuration: Configuration
    private let dispatcher: RPCDispatcher
    private let handler: any RPCHandler
    private let logger: Logger
    private let eventLoopGroup: any EventLoopGroup
    private let onListening: @Sendable () -> Void
    private let nextConnectionID = Atomic<UInt64>(1)
    private let connectionLimit: ConnectionLimit

    public init(
        configuration: Configuration,
        handler: any RPCHandler,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger,
        onListening: @escaping @Sendable () -> Void = {}
    ) {
        self.configuration = configuration
        self.handler = handler
        self.dispatcher = RPCDispatcher(handler: handler, logger: logger)
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
        self.onListening = onListening
        self.connectionLimit =
            configuration.maximumConnections.map { ConnectionLimit(maximum: $0, logger: logger) }
            ?? .forOpenFileLimit(keeping: configuration.descriptorsForOtherListeners, logger: logger)
    }

    /// An accepted connection; `refused` past ``ConnectionLimit/maximum``: answered the refusal and closed.
    private typealias Connection = (channel: NIOAsyncChannel<LineFrame, ByteBuffer>, peer: PeerCredentials?, drain: ShutdownDrain, refused: Bool)

    /// The accepted connections ``run()`` has not served yet, and whether it still takes new ones.
    private struct UnservedConnections {
        var connections: [ObjectIdentifier: Connection] = [:]
        var isAccepting = true
    }

    /// Lines at least this long are parsed and served on ``LongLineThreads``.
    static let longLineBytes = 1 << 20
    /// Batches at least this long are served on ``LongLineThreads`` too: each of their calls is short,
    /// but thousands of them in a row (a batch of 9,000 creates is under 1 MiB) held the loop, and its
    /// other connections, for up to a second and more. A batch of a few calls stays on its loop.
    static let longBatchBytes = 16 << 10

    public func run() async throws {
        let maximumLineBytes = self.configuration.maximumLineBytes
        // Accepted connections not handed to the loop below yet. A connection accepted while the listener
        // closes can be dropped by it unserved, and NIO traps when an async channel goes without being
        // finished (apple/swift-nio#2813): held here, each is closed below instead. Once they are closed,
        // a connection accepted late is refused before it becomes an async channel.
        let unserved = Mutex(UnservedConnections())
        let lineBudget = PendingLineBudget(maximumLineBytes: maximumLineBytes)
        LongCallThreads.start()
        LongLineThreads.start()
        let connectionLimit = self.connectionLimit
        let socketPath = self.configuration.socketPath
        let staged = try StagedSocketPath(path: socketPath)
        let bound: NIOAsyncChannel<Connection, Never>
        do {
            bound = try await ServerBootstrap(group: self.eventLoopGroup)
                .serverChannelOption(.backlog, value: 1024)
                // A client that shuts down its sending side after its last request (`socat`, `nc -N`, a script
                // that half-closes) still reads the answers: the end of its input ends the connection's lines,
                // not the connection.
                .childChannelOption(.allowRemoteHalfClosure, value: true)
                // The owner claims the path first (``SocketPathClaim``): whatever is still there is not ours to remove.
                .bind(unixDomainSocketPath: staged.bindPath, cleanupExistingSocketFile: false) { channel in
                    let admitted = connectionLimit.admit(channel)
                    return Self.peerCredentials(of: channel).flatMapThrowing { peer in
                        let drain = ShutdownDrain()
                        try channel.pipeline.syncOperations.addHandlers(
                            ByteToMessageHandler(LineFrameDecoder(maximumLineBytes: maximumLineBytes, budget: lineBudget, peer: peer?.uid)),
                            ShutdownDrain.FrameCounter(drain: drain)
                        )
                        let wrapped = try unserved.withLock { held -> NIOAsyncChannel<LineFrame, ByteBuffer>? in
                            guard held.isAccepting else { return nil }
                            let wrapped = try NIOAsyncChannel<LineFrame, ByteBuffer>(wrappingChannelSynchronously: channel)
                            held.connections[ObjectIdentifier(channel)] = (wrapped, peer, drain, !admitted)
                            return wrapped
                        }
                        // Failed, NIO leaves it unregistered (and open): only while the listener closes, as the process stops.
                        guard let wrapped else { throw ChannelError.ioOnClosedChannel }
                        return (wrapped, peer, drain, !admitted)
                    }
                }
        } catch {
            staged.discard()
            throw error
        }
        do {
            try staged.publish(mode: self.configuration.socketMode, group: self.configuration.socketGroup)
        } catch {
            try? await bound.executeThenClose { _ in }
            throw error
        }
        let server = bound
        // Removed at exit only if the path still names this socket (``SocketFileIdentity``).
        let published = SocketFileIdentity(path: socketPath)
        defer { SocketFileIdentity.removeIfUnchanged(socketPath, published: published) }
        self.logger.info(
            "listening",
            metadata: ["rpc.socket_mode": "\(String(self.configuration.socketMode, radix: 8))", "rpc.connections.limit": "\(connectionLimit.maximum)"]
        )
        self.onListening()

        let listener = server.channel
        let drains = DrainRegistry()
        try await withGracefulShutdownHandler {
            try await self.acceptConnections(server, listener: listener, unserved: unserved, drains: drains)
        } onGracefulShutdown: {
            self.handler.serverStopping()
            drains.beginAll()
        }
        self.logger.info("stopped listening")
    }

    /// Serves every connection the listening socket accepts until it closes (drained on graceful
    /// shutdown), then waits for the connections to end.
    private func acceptConnections(
        _ server: NIOAsyncChannel<Connection, Never>,
        listener: any Channel,
        unserved: borrowing Mutex<UnservedConnections>,
        drains: DrainRegistry
    ) async throws {
        try await server.executeThenClose { inbound in
            try await withThrowingDiscardingTaskGroup { group in
                let shards = ConnectionShards(in: &group)
                // However accepting ends, the shards end once their connections have.
                defer { shards.finish() }
                // On graceful shutdown the listening socket drains (``ShutdownDrain``): it closes once no
                // connection has come for a moment, and the loop ends once it has handed out the
                // connections accepted before. Each must be served to its end (a connection's channel
                // dropped unserved traps in NIO), and is: it drains, its lines answered -32005. One
                // accepted as the listener closes may be dropped by it; it is closed below.
                let accepting: Result<Void, any Error>
                let listenerDrain = ShutdownDrain()
                do {
                    try await withGracefulShutdownHandler {
                        for try await connection in inbound {
                            listenerDrain.noteActivity()
                            _ = unserved.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(connection.0.channel)) }
                            // The connection's calls run on its channel's loop, not the cooperative pool.
                            let running = shards.run(executorPreference: EventLoopTaskExecutor(connection.0.channel.eventLoop)) {
                                await self.serve(connection, drains: drains)
                            }
                            // The shards ended (the service's tasks cancelled: another service failed at
                            // start): closed here, not dropped, which traps in NIO.
                            if !running { group.addTask { try? await connection.0.executeThenClose { _, _ in } } }
                        }
                    } onGracefulShutdown: {
                        // Not at once: connections may still wait in the backlog (``ShutdownDrain``).
                        listenerDrain.begin(on: listener) { listener.close(promise: nil) }
                    }
                    accepting = .success(())
                } catch {
                    accepting = .failure(error)
                }
                // Whether accepting ended or failed, the connections it dropped are closed.
                let dropped = unserved.withLock { held in
                    defer {
                        held.isAccepting = false
                        held.connections.removeAll()
                    }
                    return Array(held.connections.values)
                }
                for connection in dropped {
                    group.addTask { try? await connection.channel.executeThenClose { _, _ in } }
                }
                try accepting.get()
            }
        }
    }

    private func serve(_ connection: Connection, drains: DrainRegistry) async {
        let connectionID = self.nextConnectionID.wrappingAdd(1, ordering: .relaxed).oldValue
        let limit = self.configuration.maximumInFlightPerConnection
        let maximumLineBytes = self.configuration.maximumLineBytes
        let answerBudget = AnswerBudget(limit: self.configuration.maximumUnreadAnswerBytes)
        if connection.refused {
            let refusal = self.connectionLimit.refusal(on: connection.channel.channel.eventLoop)
            try? await connection.channel.executeThenClose { _, outbound in try await outbound.write(ByteBuffer(bytes: refusal)) }
            return
        }
        do {
            try await connection.channel.executeThenClose { inbound, outbound in
                let channel = connection.channel.channel
                // Closed (by its peer or by us), it drops its long calls still waiting for a thread: an
                // input's end alone does not, as a peer that shut only its sending side still reads.
                let closed = ConnectionClosed()
                // Completed once the connection's follow-ups (below) are to end: when they all have, when the
                // channel closes, or when the server drains the connection.
                let followUpsEnding = channel.eventLoop.makePromise(of: Void.self)
                channel.closeFuture.whenComplete { _ in
                    closed.record()
                    LongCallThreads.dropWaiting(connection: connectionID)
                    followUpsEnding.succeed()
                }
                let notifier = RPCNotifier(
                    write: { line in try await outbound.write(ByteBuffer(bytes: line)) },
                    close: { channel.close(promise: nil) },
                    writeLast: { line, grace in
                        // Straight to the channel: the outbound writer waits for the peer to read.
                        let deadline = channel.eventLoop.scheduleTask(in: TimeAmount(grace)) { channel.close(promise: nil) }
                        channel.writeAndFlush(ByteBuffer(bytes: line)).whenComplete { _ in
                            deadline.cancel()
                            channel.close(promise: nil)
                        }
                    }
                )
                // Long-lived work started after an answer (subscription feeds) runs beside the calls. When
                // the input ends because the server drains the connection, it is cancelled at once. When it
                // ends because the peer shut its sending side (`nc -N`, `socat`), it runs on: that peer still
                // reads, and one that sent only `events.subscribe` is owed the catch-up and live events. It
                // is cancelled then once it has ended by itself (a subscription ended by `events.error`),
                // once the channel closes (a peer gone for good: the kernel reports the hang-up, or the
                // next write to it fails), or once the server shuts down, whichever comes first.
                let (followUps, followUpSink) = AsyncStream.makeStream(of: (@Sendable () async -> Void).self)
                try await withThrowingTaskGroup(of: Void.self) { connectionGroup in
                    connectionGroup.addTask {
                        await withDiscardingTaskGroup { group in
                            for await work in followUps { group.addTask { await work() } }
                        }
                        followUpsEnding.succeed()
                    }
                    let drain = connection.drain
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        var inFlight = 0
                        // On graceful shutdown the connection drains (``ShutdownDrain``, begun by the
                        // ``DrainRegistry``): the calls in flight still answer, the lines already sent are
                        // refused, and then its input is closed, which ends `inbound`. Not
                        // `cancelOnGracefulShutdown()`: it merges the lines with the shutdown signal through
                        // tasks on the global pool, which moved every line to a pool thread and back, two
                        // thread wake-ups per call.
                        try await drains.whileRegistered(connectionID, drain: drain, channel: connection.channel.channel) {
                            for try await frame in inbound {
                                // While its answers wait for its peer to read them, over budget, the
                                // connection takes no new line: its calls in flight end as their answers
                                // are written.
                                while inFlight >= limit || (inFlight > 0 && answerBudget.isOver) {
                                    try await group.next()
                                    inFlight -= 1
                                }
                                inFlight += 1
                                let hooks = RPCAfterAnswer()
                                var context = RPCContext(
                                    peer: connection.peer, connectionID: connectionID, notifier: notifier, afterAnswer: hooks,
                                    answerBudget: answerBudget, closed: closed
                                )
                                if drain.isDraining { context.refusal = ShutdownDrain.refusal }
                                group.addTask {
                                    defer { drain.callEnded() }
                                    drain.callStarted()
                                    let answer = await self.answer(to: frame, context: context, maximumLineBytes: maximumLineBytes)
                                    drain.answerMade()
                                    if let answer {
                                        answerBudget.charge(answer.count)
                                        defer { answerBudget.release(answer.count) }
                                        try await outbound.write(ByteBuffer(bytes: answer))
                                    }
                                    for work in hooks.take() { followUpSink.yield(work) }
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                    followUpSink.finish()
                    if !drain.isDraining {
                        // Its peer shut its sending side. Registered again, as nothing is read from it now,
                        // so that a shutdown still ends its follow-ups, as promptly as a full-duplex
                        // connection's. A connection without follow-ups does not wait: their task ends as
                        // soon as nothing more can be started.
                        drain.onBegin { followUpsEnding.succeed() }
                        try await drains.whileRegistered(connectionID, drain: drain, channel: channel) {
                            try await followUpsEnding.futureResult.get()
                        }
                    }
                    connectionGroup.cancelAll()
                }
                await Self.deliverWrittenAnswers(on: channel)
            }
        } catch {
            self.logger.debug("connection ended with an error", metadata: ["rpc.connection": "\(connectionID)", "error": "\(error)"])
        }
        await self.handler.connectionClosed(connectionID)
    }

    /// How long a connection that is ending waits for its peer to take the answers already written.
    static let answerDeliveryGrace: TimeAmount = .seconds(5)

    /// Waits until the answers written to `channel` have reached its socket, for at most
    /// ``answerDeliveryGrace``: closing a channel drops the writes still queued in it
    /// (apple/swift-nio#2795), and an answer to a command that was committed must not be lost to a
    /// connection's end or the daemon's shutdown. A peer that does not read is closed at the deadline.
    private static func deliverWrittenAnswers(on channel: any Channel) async {
        guard channel.isActive else { return }
        // Writes go out in order: an empty write completes once every earlier one has been written.
        let deadline = channel.eventLoop.scheduleTask(in: Self.answerDeliveryGrace) { channel.close(promise: nil) }
        try? await channel.writeAndFlush(ByteBuffer())
        deadline.cancel()
    }

    /// The answer line to one frame, its newline included; nil for a notification.
    private func answer(to frame: LineFrame, context: RPCContext, maximumLineBytes: Int) async -> [UInt8]? {
        var answer: [UInt8]?
        switch frame {
        case .oversized:
            answer = JSONLine.failure(id: .null, error: .invalidRequest(reason: "line_too_long", limit: maximumLineBytes))
        case .overBudget(let limit):
            // Not this line's fault alone: the unfinished lines of its peer's connections, or of all of
            // them, together; `limit` is the budget it would have passed.
            answer = JSONLine.failure(id: .null, error: .invalidRequest(reason: "pending_lines_over_budget", limit: limit))
        case .line(let buffer):
            let line = Array(buffer.readableBytesView)
            if line.count >= Self.longLineBytes || (line.count >= Self.longBatchBytes && Self.isBatch(line)) {
                // Parsing megabytes, or serving thousands of calls, takes long enough to stall this
                // loop's other connections. Its long calls take their turns on LongCallThreads.
                answer = await LongLineThreads.run { await self.dispatcher.serve(line: line, context: context) }
            } else {
                answer = await self.dispatcher.serve(line: line, context: context)
            }
        }
        answer?.append(UInt8(ascii: "\n"))
        return answer
    }

    /// Whether the line's first character other than JSON white space opens an array (a batch).
    static func isBatch(_ line: [UInt8]) -> Bool {
        line.first { $0 != 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D } == UInt8(ascii: "[")
    }

    /// The peer's SO_PEERCRED credentials and SO_PEERGROUPS groups, or nil where the socket does not
    /// report the credentials (no groups where it does not report those).
    private static func peerCredentials(of channel: any Channel) -> EventLoopFuture<PeerCredentials?> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeSucceededFuture(nil)
        }
        let credentials: EventLoopFuture<CLedgerSys_PeerCredentials> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET),
            name: SocketOptionName(CLedgerSys_SO_PEERCRED)
        )
        let groups: EventLoopFuture<[UInt32]> = provider.unsafeGetSocketOption(
            level: SocketOptionLevel(SOL_SOCKET),
            name: SocketOptionName(CLedgerSys_SO_PEERGROUPS)
        )
        .map { (buffer: CLedgerSys_PeerGroups) in
            // The option's length is not returned and the buffer was zeroed: its groups are the entries
            // other than 0 (the kernel sorts them, so a group 0 of the peer's would come first, not end them).
            withUnsafeBytes(of: buffer.gids) { Array($0.bindMemory(to: UInt32.self).filter { $0 != 0 }) }
        }
        .recover { _ in [] }
        return credentials.and(groups)
            .map { credentials, groups in Optional(PeerCredentials(uid: credentials.uid, gid: credentials.gid, pid: credentials.pid, groups: groups)) }
            .recover { _ in nil }
    }
}
