// ContactLedger — NATS client.
import Foundation
import NIOCore
import Synchronization

/// The mutable part of a ``PullConsumer``, shared with its subscription handler.
private final class StateBox: Sendable {
    let state = Mutex(PullConsumerState())
}

/// What a ``PullConsumer`` buffers and waits on.
private struct PullConsumerState {
    var buffer: [JetStreamMessage] = []
    /// Messages asked for and not yet received.
    var outstanding = 0
    var requestExpiry = ContinuousClock.now
    var generation: UInt64 = 0
    var waiter: CheckedContinuation<Void, Never>?
    var closed = false
}

/// A message delivered by a JetStream consumer.
public struct JetStreamMessage: Sendable {
    public var subject: String
    public var headers: NATSHeaders?
    public var payload: [UInt8]
    /// The subject acknowledgements go to (`$JS.ACK.…`).
    public var ackSubject: String
    /// The message's stream sequence (from the ack subject).
    public var streamSequence: UInt64
    /// How many times it was delivered.
    public var deliveries: UInt64
    /// Messages the consumer still holds after this one.
    public var pending: UInt64

    /// Reads the metadata of `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>`
    /// (or the longer form with domain and account hash).
    init?(_ message: NATSMessage) {
        guard let reply = message.replyTo, reply.hasPrefix("$JS.ACK.") else { return nil }
        let tokens = reply.split(separator: ".")
        let offset: Int
        switch tokens.count {
        case 9: offset = 4
        case 12...: offset = 6
        default: return nil
        }
        guard let deliveries = UInt64(tokens[offset]), let sequence = UInt64(tokens[offset + 1]), let pending = UInt64(tokens[offset + 4]) else {
            return nil
        }
        self.subject = message.subject
        self.headers = message.headers
        self.payload = message.payload
        self.ackSubject = reply
        self.streamSequence = sequence
        self.deliveries = deliveries
        self.pending = pending
    }
}

/// Pulls messages from a durable consumer: keeps pull requests outstanding on its own inbox, buffers
/// what arrives, and hands it out in batches, so messages are never lost between two fetches.
public final class PullConsumer: Sendable {
    public let stream: String
    public let name: String
    private let jetStream: JetStream
    private let inbox: String
    private let sid: UInt64
    private let box = StateBox()
    /// How long each pull request stays open on the server. A request the consumer's leader held is lost
    /// with that leader (a node killed); none is sent again before this has passed, so it bounds how long
    /// the consumer stays silent once a new leader is elected.
    static let requestExpiry: Duration = .seconds(2)

    init(jetStream: JetStream, stream: String, name: String) throws {
        self.jetStream = jetStream
        self.stream = stream
        self.name = name
        let inbox = jetStream.client.inboxPrefix + ".pull." + NATSClient.randomToken()
        self.inbox = inbox
        let box = self.box
        self.sid = try jetStream.client.subscribe(to: inbox) { message in
            let waiter = box.state.withLock { state -> CheckedContinuation<Void, Never>? in
                if let status = message.status {
                    // 404 no messages, 408 request expired, 409 consumer limits: the request is over.
                    if status == 404 || status == 408 || status == 409 {
                        let unserved = message.headers?["Nats-Pending-Messages"].flatMap { Int($0) }
                        state.outstanding = unserved.map { max(0, state.outstanding - $0) } ?? 0
                    }
                    return nil
                }
                guard let delivered = JetStreamMessage(message) else { return nil }
                state.buffer.append(delivered)
                state.outstanding = max(0, state.outstanding - 1)
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }

    /// Returns up to `batch` messages: at once if some are buffered, else as soon as some arrive, or an
    /// empty array after `maxWait`.
    public func fetch(batch: Int, maxWait: Duration) async throws -> [JetStreamMessage] {
        if let ready = self.take(batch) { return ready }
        try self.requestMore(batch)
        let deadline = ContinuousClock.now + maxWait
        while ContinuousClock.now < deadline {
            if let ready = self.take(batch) { return ready }
            try Task.checkCancellation()
            await self.waitForMessage(until: deadline)
            if self.box.state.withLock({ $0.closed }) { throw NATSError.closed }
        }
        return self.take(batch) ?? []
    }

    private func take(_ batch: Int) -> [JetStreamMessage]? {
        self.box.state.withLock { state -> [JetStreamMessage]? in
            guard !state.buffer.isEmpty else { return nil }
            let count = min(batch, state.buffer.count)
            defer { state.buffer.removeFirst(count) }
            return Array(state.buffer.prefix(count))
        }
    }

    /// Sends a pull request unless enough messages are already asked for on this connection.
    private func requestMore(_ batch: Int) throws {
        let generation = self.jetStream.client.connectionGeneration
        let now = ContinuousClock.now
        let needed = self.box.state.withLock { state -> Bool in
            if state.generation != generation || now >= state.requestExpiry {
                // A new connection or an expired request: nothing is outstanding any more.
                state.generation = generation
                state.outstanding = 0
            }
            guard state.outstanding < max(batch / 2, 1) else { return false }
            state.outstanding += batch
            state.requestExpiry = now + Self.requestExpiry - .milliseconds(100)
            return true
        }
        guard needed else { return }
        let body = #"{"batch":\#(batch),"expires":\#(NATSClient.nanoseconds(Self.requestExpiry))}"#
        do {
            try self.jetStream.client.publish(
                Array(body.utf8),
                to: "\(self.jetStream.apiPrefix).CONSUMER.MSG.NEXT.\(self.stream).\(self.name)",
                replyTo: self.inbox
            )
        } catch {
            self.box.state.withLock { $0.outstanding = 0 }
            throw error
        }
    }

    private func waitForMessage(until deadline: ContinuousClock.Instant) async {
        let box = self.box
        let timer = Task {
            try? await Task.sleep(until: deadline, clock: .continuous)
            let waiter = box.state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
        defer { timer.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = self.box.state.withLock { state -> Bool in
                    if !state.buffer.isEmpty || state.closed || Task.isCancelled || ContinuousClock.now >= deadline { return true }
                    state.waiter?.resume()
                    state.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = box.state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume()
        }
    }

    /// Acknowledges messages (one write).
    public func ack(_ messages: [JetStreamMessage]) throws(NATSError) {
        try self.jetStream.client.publishBatch(messages.map { (subject: $0.ackSubject, payload: Array("+ACK".utf8)) })
    }

    /// Stops receiving; a waiting ``fetch(batch:maxWait:)`` returns.
    public func close() {
        self.jetStream.client.unsubscribe(self.sid)
        let waiter = self.box.state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
