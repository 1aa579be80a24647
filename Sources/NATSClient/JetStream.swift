// ContactLedger — NATS client.
import Foundation

/// The JetStream API over a ``NATSClient``: streams, publishing with acknowledgement, durable pull
/// consumers. Requests go to `$JS.API.…` subjects with JSON bodies.
public struct JetStream: Sendable {
    public let client: NATSClient
    /// `$JS.API` unless the account uses a JetStream domain.
    public var apiPrefix: String
    /// How long API calls and publish acknowledgements may take.
    public var timeout: Duration

    public init(client: NATSClient, apiPrefix: String = "$JS.API", timeout: Duration = .seconds(5)) {
        self.client = client
        self.apiPrefix = apiPrefix
        self.timeout = timeout
    }

    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }()

    private struct ErrorEnvelope: Decodable {
        var error: JetStreamError?
    }

    /// Decodes an API answer: its `error` member, or else a `T`.
    static func decode<T: Decodable>(_ type: T.Type, from message: NATSMessage) throws -> T {
        if let status = message.status, status >= 400 {
            throw JetStreamError(code: status, errCode: 0, description: message.headers?.statusDescription ?? "status \(status)")
        }
        if let error = try? Self.decoder.decode(ErrorEnvelope.self, from: Data(message.payload)).error { throw error }
        return try Self.decoder.decode(T.self, from: Data(message.payload))
    }

    /// Calls `$JS.API.<api>` with a JSON body.
    func call<Body: Encodable, Answer: Decodable>(_ api: String, _ body: Body?, as answer: Answer.Type) async throws -> Answer {
        let payload = try body.map { Array(try Self.encoder.encode($0)) } ?? []
        let message = try await self.client.request(payload, to: "\(self.apiPrefix).\(api)", timeout: self.timeout)
        return try Self.decode(Answer.self, from: message)
    }

    // MARK: - Streams

    /// The stream's configuration and state.
    ///
    /// - Throws: ``JetStreamError`` with ``JetStreamError/isStreamNotFound`` when there is none.
    public func streamInfo(_ name: String) async throws -> StreamInfo {
        try await self.call("STREAM.INFO.\(name)", String?.none, as: StreamInfo.self)
    }

    /// Creates a stream (creating it again with the same configuration succeeds).
    public func createStream(_ config: StreamConfig) async throws -> StreamInfo {
        try await self.call("STREAM.CREATE.\(config.name)", config, as: StreamInfo.self)
    }

    /// The stream's info, creating the stream first when it does not exist.
    public func ensureStream(_ config: StreamConfig) async throws -> StreamInfo {
        do {
            return try await self.streamInfo(config.name)
        } catch let error as JetStreamError where error.isStreamNotFound {
            return try await self.createStream(config)
        }
    }

    /// Sets the stream's description, keeping every other member of its configuration as the server
    /// holds it (limits an operator set included: ``StreamConfig`` carries only what this client sets, and
    /// an update replaces the whole configuration). Returns the stream's info after the update.
    public func setDescription(_ description: String, ofStream name: String) async throws -> StreamInfo {
        let answer = try await self.client.request([], to: "\(self.apiPrefix).STREAM.INFO.\(name)", timeout: self.timeout)
        _ = try Self.decode(StreamInfo.self, from: answer)  // its error, if any
        guard let info = try JSONSerialization.jsonObject(with: Data(answer.payload)) as? [String: Any],
            var config = info["config"] as? [String: Any]
        else { throw JetStreamError(code: 500, errCode: 0, description: "STREAM.INFO answered no configuration") }
        config["description"] = description
        let body = Array(try JSONSerialization.data(withJSONObject: config))
        let updated = try await self.client.request(body, to: "\(self.apiPrefix).STREAM.UPDATE.\(name)", timeout: self.timeout)
        return try Self.decode(StreamInfo.self, from: updated)
    }

    /// Deletes a stream and its messages.
    public func deleteStream(_ name: String) async throws {
        _ = try await self.call("STREAM.DELETE.\(name)", String?.none, as: SuccessResponse.self)
    }

    /// The message at stream sequence `seq`.
    public func message(stream: String, seq: UInt64) async throws -> StoredMessage {
        struct Request: Encodable { var seq: UInt64 }
        struct Response: Decodable { var message: StoredMessage }
        return try await self.call("STREAM.MSG.GET.\(stream)", Request(seq: seq), as: Response.self).message
    }

    /// The last message the stream holds on `subject`.
    ///
    /// - Throws: ``JetStreamError`` with ``JetStreamError/isMessageNotFound`` when it holds none.
    public func lastMessage(stream: String, subject: String) async throws -> StoredMessage {
        struct Request: Encodable { var lastBySubj: String }
        struct Response: Decodable { var message: StoredMessage }
        return try await self.call("STREAM.MSG.GET.\(stream)", Request(lastBySubj: subject), as: Response.self).message
    }

    /// Deletes the message at `seq`, overwriting its bytes in the server's store (not only marking it):
    /// what it held must be gone. Returns false when the stream holds no message there (already deleted).
    @discardableResult
    public func eraseMessage(stream: String, seq: UInt64) async throws -> Bool {
        struct Request: Encodable { var seq: UInt64 }
        do {
            return try await self.call("STREAM.MSG.DELETE.\(stream)", Request(seq: seq), as: SuccessResponse.self).success ?? false
        } catch let error as JetStreamError {
            // A message already deleted is refused with a store error whose text varies ("no message
            // found", "sequence 1280 not found"): it is gone if the stream says it holds nothing there.
            do {
                _ = try await self.message(stream: stream, seq: seq)
            } catch let lookup as JetStreamError where lookup.isMessageNotFound {
                return false
            }
            throw error
        }
    }

    // MARK: - Publishing

    /// One message for ``publishBatch(_:)``.
    public struct Outgoing: Sendable {
        public var subject: String
        public var payload: [UInt8]
        public var headers: NATSHeaders?

        /// A message; `messageID` becomes `Nats-Msg-Id` (deduplication), `expectedLastSequence`
        /// becomes `Nats-Expected-Last-Sequence` (the stream refuses it unless its last sequence is that).
        public init(subject: String, payload: [UInt8], messageID: String? = nil, expectedLastSequence: UInt64? = nil, headers: NATSHeaders? = nil) {
            self.subject = subject
            self.payload = payload
            var all = headers ?? NATSHeaders()
            if let messageID { all.append("Nats-Msg-Id", messageID) }
            if let expectedLastSequence { all.append("Nats-Expected-Last-Sequence", String(expectedLastSequence)) }
            self.headers = all.fields.isEmpty && headers == nil ? nil : all
        }
    }

    /// Publishes one message and waits for the stream's acknowledgement.
    public func publish(_ message: Outgoing) async throws -> PubAck {
        try await self.publishBatch([message])[0].get()
    }

    /// Publishes `messages` in order, in one write, and waits for every acknowledgement: the results are
    /// in the same order. Once one fails, the ones after it may fail too (e.g. wrong last sequence).
    public func publishBatch(_ messages: [Outgoing]) async throws -> [Result<PubAck, any Error>] {
        let answers = try await self.client.requestBatch(
            messages.map { NATSClient.Request(subject: $0.subject, headers: $0.headers, payload: $0.payload) },
            timeout: self.timeout
        )
        return answers.map { answer in
            Result { try Self.decode(PubAck.self, from: try answer.get()) }
        }
    }

    // MARK: - Consumers

    /// Creates a durable consumer (the config needs `durableName`).
    public func createConsumer(stream: String, config: ConsumerConfig) async throws -> ConsumerInfo {
        struct Request: Encodable {
            var streamName: String
            var config: ConsumerConfig
        }
        let name = config.durableName ?? ""
        return try await self.call("CONSUMER.DURABLE.CREATE.\(stream).\(name)", Request(streamName: stream, config: config), as: ConsumerInfo.self)
    }

    /// The consumer's state.
    ///
    /// - Throws: ``JetStreamError`` with ``JetStreamError/isConsumerNotFound`` when there is none.
    public func consumerInfo(stream: String, name: String) async throws -> ConsumerInfo {
        try await self.call("CONSUMER.INFO.\(stream).\(name)", String?.none, as: ConsumerInfo.self)
    }

    /// Deletes a consumer.
    public func deleteConsumer(stream: String, name: String) async throws {
        _ = try await self.call("CONSUMER.DELETE.\(stream).\(name)", String?.none, as: SuccessResponse.self)
    }

    /// A pull subscription on an existing consumer.
    public func pullConsumer(stream: String, name: String) throws -> PullConsumer {
        try PullConsumer(jetStream: self, stream: stream, name: name)
    }
}

/// An error answered by the JetStream API.
public struct JetStreamError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    /// The HTTP-like code (400, 404, 503…).
    public var code: Int
    /// JetStream's own error code (10059 stream not found, 10014 consumer not found, 10071 wrong last sequence…).
    public var errCode: Int
    public var description: String

    public init(code: Int, errCode: Int, description: String) {
        self.code = code
        self.errCode = errCode
        self.description = description
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.code = try container.decode(Int.self, forKey: .code)
        self.errCode = try container.decodeIfPresent(Int.self, forKey: .errCode) ?? 0
        self.description = try container.decodeIfPresent(String.self, forKey: .description) ?? ""
    }

    public var isStreamNotFound: Bool { self.errCode == 10059 }
    public var isConsumerNotFound: Bool { self.errCode == 10014 }
    /// `STREAM.MSG.GET` of a sequence the stream does not hold (never stored, or dropped by its limits).
    public var isMessageNotFound: Bool { self.errCode == 10037 }
    /// `Nats-Expected-Last-Sequence` did not match.
    public var isWrongLastSequence: Bool { self.errCode == 10071 }
}

struct SuccessResponse: Decodable {
    var success: Bool?
}

/// A stream's configuration (the members this client sets; the server fills the rest).
public struct StreamConfig: Sendable, Codable, Hashable {
    public var name: String
    public var subjects: [String]
    /// `file` or `memory`.
    public var storage: String
    public var numReplicas: Int
    /// How long `Nats-Msg-Id`s are remembered for deduplication, in nanoseconds.
    public var duplicateWindow: Int64?
    /// Free text the server keeps with the stream (``JetStream/setDescription(_:ofStream:)``).
    public var description: String?
    /// The most messages kept per subject (older ones are dropped); nil: no limit.
    public var maxMsgsPerSubject: Int?

    public init(
        name: String, subjects: [String], storage: String = "file", numReplicas: Int = 1, duplicateWindow: Duration? = nil, description: String? = nil,
        maxMsgsPerSubject: Int? = nil
    ) {
        self.name = name
        self.subjects = subjects
        self.storage = storage
        self.numReplicas = numReplicas
        self.duplicateWindow = duplicateWindow.map { NATSClient.nanoseconds($0) }
        self.description = description
        self.maxMsgsPerSubject = maxMsgsPerSubject
    }
}

/// A stream's message counts and sequences.
public struct StreamState: Sendable, Codable, Hashable {
    public var messages: UInt64
    public var bytes: UInt64
    public var firstSeq: UInt64
    public var lastSeq: UInt64
}

/// `STREAM.INFO` and `STREAM.CREATE` answers.
public struct StreamInfo: Sendable, Codable, Hashable {
    public var config: StreamConfig
    public var state: StreamState
}

/// A stored message, from `STREAM.MSG.GET`.
public struct StoredMessage: Sendable, Codable, Hashable {
    public var subject: String
    public var seq: UInt64
    /// Base64 of the header block, if any.
    public var hdrs: String?
    /// Base64 of the body.
    public var data: String?

    /// The decoded body.
    public var payload: [UInt8] { self.data.flatMap { Data(base64Encoded: $0) }.map { Array($0) } ?? [] }
    /// The decoded headers.
    public var headers: NATSHeaders? { self.hdrs.flatMap { Data(base64Encoded: $0) }.flatMap { NATSHeaders.parse(Array($0)) } }
}

/// The acknowledgement of a published message.
public struct PubAck: Sendable, Codable, Hashable {
    public var stream: String
    /// The message's stream sequence.
    public var seq: UInt64
    /// True when the `Nats-Msg-Id` was seen before and the message was not stored again.
    public var duplicate: Bool?
}

/// A consumer's configuration.
public struct ConsumerConfig: Sendable, Codable, Hashable {
    public var durableName: String?
    /// `all`, `last`, `new`, `by_start_sequence`…
    public var deliverPolicy: String
    public var optStartSeq: UInt64?
    /// `explicit`, `all` or `none`.
    public var ackPolicy: String
    /// Nanoseconds before an unacknowledged message is delivered again.
    public var ackWait: Int64?
    public var maxAckPending: Int?
    public var filterSubject: String?

    public init(
        durableName: String,
        deliverPolicy: String = "all",
        optStartSeq: UInt64? = nil,
        ackPolicy: String = "explicit",
        ackWait: Duration? = nil,
        maxAckPending: Int? = nil,
        filterSubject: String? = nil
    ) {
        self.durableName = durableName
        self.deliverPolicy = deliverPolicy
        self.optStartSeq = optStartSeq
        self.ackPolicy = ackPolicy
        self.ackWait = ackWait.map { NATSClient.nanoseconds($0) }
        self.maxAckPending = maxAckPending
        self.filterSubject = filterSubject
    }
}

/// A consumer's position.
public struct SequenceInfo: Sendable, Codable, Hashable {
    public var consumerSeq: UInt64
    public var streamSeq: UInt64
}

/// `CONSUMER.INFO` and `CONSUMER.DURABLE.CREATE` answers.
public struct ConsumerInfo: Sendable, Codable, Hashable {
    public var streamName: String
    public var name: String
    public var config: ConsumerConfig
    public var delivered: SequenceInfo
    public var ackFloor: SequenceInfo
    /// Messages not yet delivered.
    public var numPending: UInt64
    /// Messages delivered and not yet acknowledged.
    public var numAckPending: UInt64
}
