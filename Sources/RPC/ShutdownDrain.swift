// ContactLedger — JSON-RPC layer.
import NIOCore
import Synchronization

/// What one connection does with the lines its peer had already sent when the server shuts down.
///
/// Closing a Unix socket that still holds unread bytes resets the connection: a peer that had written
/// its requests just before the signal got `ECONNRESET` and no answer, and could not tell requests
/// that never ran from answers it lost. So on shutdown the connection keeps reading for a moment: the
/// calls already in flight finish and answer, and every line read from then on is answered -32005
/// `shutting_down` without running. Its input closes once the peer has been quiet for
/// ``quietPeriod`` with no call in flight and no line read but not yet taken (reading stays on while
/// none waits, so a line still in the socket is read before the loop's timers see a quiet peer), and
/// after ``longest`` whatever it does.
///
/// The listening socket drains the same way: connections that connected just before the signal may
/// still wait in its backlog, and closing it resets them unanswered. It closes once no connection has
/// been accepted for ``quietPeriod``; those accepted meanwhile drain like the others.
final class ShutdownDrain: Sendable {
    /// How long a draining connection waits for its peer's next line before closing its input.
    static let quietPeriod: TimeAmount = .milliseconds(250)
    /// How long a connection drains at most: a peer that keeps writing is cut off then.
    static let longest: TimeAmount = .seconds(2)
    /// How long a draining connection waits, after its input closed, for its calls still running to make
    /// their answers: a command of seconds is answered (on a loaded machine a bulk modification of 20,000
    /// contacts took more than 30 s), a read of minutes (a whole log's verification) does not hold the
    /// stop past systemd's default 90 s (this, the drain's 2 s and the answers' 5 s).
    static let longestRunningCalls: TimeAmount = .seconds(60)
    /// How late a check may run before it counts as the loop (or the whole machine) having been busy.
    static let lateness: TimeAmount = .milliseconds(20)

    private let draining = Atomic<Bool>(false)
    /// The connection's lines decoded and not yet answered.
    private let inFlight = Atomic<Int>(0)
    /// The connection's calls running: their answers are not made yet (written or not).
    private let running = Atomic<Int>(0)
    /// The uptime, in nanoseconds, of the connection's last line read or call answered while draining.
    private let lastActivity = Atomic<Int64>(0)
    /// Whether the drain has begun, and what to call when it does (``onBegin(_:)``).
    private let beginning = Mutex<(hasBegun: Bool, handlers: [@Sendable () -> Void])>((false, []))

    /// Whether the server is shutting down (lines read now are refused).
    var isDraining: Bool { self.draining.load(ordering: .acquiring) }

    /// A line was decoded from the socket: it is in flight until ``callEnded()``.
    fileprivate func lineDecoded() {
        self.inFlight.add(1, ordering: .relaxed)
        self.noteActivity()
    }

    /// A call begins to run: its answer is being made.
    func callStarted() {
        self.running.add(1, ordering: .relaxed)
    }

    /// A call's answer is made (it is written next, if it has one).
    func answerMade() {
        self.running.subtract(1, ordering: .relaxed)
    }

    /// A line decoded was answered (or needed no answer).
    func callEnded() {
        self.inFlight.subtract(1, ordering: .relaxed)
        self.noteActivity()
    }

    /// Calls `handler` once the drain begins, at once if it has begun: a connection whose input has
    /// ended already (its peer shut its sending side) but whose subscriptions still feed it learns of
    /// the shutdown here, as nothing more is read from it.
    func onBegin(_ handler: @escaping @Sendable () -> Void) {
        let hasBegun = self.beginning.withLock { state in
            if !state.hasBegun { state.handlers.append(handler) }
            return state.hasBegun
        }
        if hasBegun { handler() }
    }

    /// While draining, the quiet period starts again from now (a line read, a call answered, a
    /// connection accepted).
    func noteActivity() {
        guard self.isDraining else { return }
        self.lastActivity.store(NIODeadline.now().uptimeNanoseconds.clamped, ordering: .relaxed)
    }

    /// Starts draining: refuses the lines read from now on, and closes `channel`'s input once its peer
    /// has been quiet for ``quietPeriod`` (or after ``longest``), which ends the connection's lines; then,
    /// once no call of it is still running, closes it whole ``RPCServer/answerDeliveryGrace`` later if it
    /// is still open, the time any ending connection has to hand its peer the answers already written.
    /// Calls waiting to write to a peer that stopped reading (50 unread catch-up subscriptions fill its
    /// socket) held the shutdown for good: no call ended, so the connection never read to the end of its
    /// input. A call still running is waited for (``longestRunningCalls`` at most): a command of many
    /// seconds (a bulk modification of 20,000 contacts) was committed after its connection had been
    /// closed, its answer lost.
    func begin(closingInputOf channel: any Channel) {
        self.begin(on: channel) {
            channel.close(mode: .input, promise: nil)
            let inputClosed = NIODeadline.now()
            channel.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(50)) { task in
                guard self.running.load(ordering: .relaxed) == 0 || !channel.isActive || NIODeadline.now() - inputClosed >= Self.longestRunningCalls
                else { return }
                task.cancel()
                channel.eventLoop.scheduleTask(in: RPCServer.answerDeliveryGrace) { channel.close(promise: nil) }
            }
        }
    }

    /// Starts draining `channel` and calls `close` on its loop once it has been quiet for
    /// ``quietPeriod`` (or after ``longest``, or once it is inactive).
    func begin(on channel: any Channel, close: @escaping @Sendable () -> Void) {
        let start = NIODeadline.now()
        self.lastActivity.store(start.uptimeNanoseconds.clamped, ordering: .relaxed)
        self.draining.store(true, ordering: .releasing)
        let handlers = self.beginning.withLock { state in
            state.hasBegun = true
            defer { state.handlers = [] }
            return state.handlers
        }
        for handler in handlers { handler() }
        let check = TimeAmount.nanoseconds(Self.quietPeriod.nanoseconds / 2)
        let lastCheck = Atomic<Int64>(start.uptimeNanoseconds.clamped)
        channel.eventLoop.scheduleRepeatedTask(initialDelay: check, delay: check) { task in
            let now = NIODeadline.now()
            // A check that runs late found the loop busy (serving other connections' calls), perhaps
            // before it read what this peer sent: the quiet period counts only time the loop was free.
            if now.uptimeNanoseconds.clamped - lastCheck.exchange(now.uptimeNanoseconds.clamped, ordering: .relaxed) > check.nanoseconds + Self.lateness.nanoseconds {
                self.noteActivity()
            }
            let quiet =
                self.inFlight.load(ordering: .relaxed) == 0
                && now.uptimeNanoseconds.clamped - self.lastActivity.load(ordering: .relaxed) >= Self.quietPeriod.nanoseconds
            guard quiet || now - start >= Self.longest || !channel.isActive else { return }
            task.cancel()
            close()
        }
    }

    /// Counts the lines decoded, between the line decoder and the connection's async channel.
    final class FrameCounter: ChannelInboundHandler, Sendable {
        typealias InboundIn = LineFrame
        typealias InboundOut = LineFrame

        private let drain: ShutdownDrain

        init(drain: ShutdownDrain) { self.drain = drain }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            self.drain.lineDecoded()
            context.fireChannelRead(data)
        }
    }

    /// The answer to every call read while draining: nothing of it ran.
    static let refusal = RPCError.storageUnavailable(reason: "shutting_down")
}

extension UInt64 {
    /// The value as an `Int64`, at most `Int64.max`.
    fileprivate var clamped: Int64 { Int64(clamping: self) }
}
