// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import LedgerStore
import RPC
import Synchronization

/// How a daemon takes part in replication through NATS JetStream.
public struct ReplicationSettings: Sendable, Hashable {
    /// What the daemon does with the stream.
    public enum Role: String, Sendable, Hashable {
        /// Publishes every committed event (`--replicate`).
        case publisher
        /// Follows a primary's stream as a read replica (`--follow`).
        case replica
    }

    /// The default stream name.
    public static let defaultStream = "LEDGER"

    public var role: Role
    /// `nats://host:port`, or several separated by commas (a cluster's nodes, tried in turn).
    public var url: String
    /// The JetStream stream.
    public var stream: String
    /// Copies of the stream a publisher asks for when it creates the stream (1, or 3 on a 3-node
    /// cluster); an existing stream keeps its own.
    public var streamReplicas: Int

    public init(role: Role, url: String, stream: String = Self.defaultStream, streamReplicas: Int = 1) {
        self.role = role
        self.url = url
        self.stream = stream
        self.streamReplicas = streamReplicas
    }

    /// The first token of the stream's subjects: the stream name in lower case (`LEDGER` → `ledger`), so
    /// that primaries publishing to their own streams on one NATS cluster never overlap.
    public var subjectPrefix: String { self.stream.lowercased() }

    /// The stream that holds the erased copies of the records whose messages were erased from ``stream``
    /// when their contact was deleted (`LEDGER_ERASED`), so a replica that had not yet received them
    /// still builds the whole chain.
    var erasedStream: String { self.stream + "_ERASED" }

    /// The subject of the erased copy of the record at `seq` (`ledger_erased.42`: outside `ledger.>`).
    func erasedSubject(seq: UInt64) -> String { "\(self.subjectPrefix)_erased.\(seq)" }

    /// The subjects of ``erasedStream``.
    var erasedSubjects: String { "\(self.subjectPrefix)_erased.>" }

    /// The stream that holds the latest copy of every stored idempotent answer (`LEDGER_IDEMPOTENCY`),
    /// one subject per answer (``ReplicatedAnswer/subject(prefix:key:)``), so a promoted replica answers
    /// retries as its primary did.
    var answersStream: String { self.stream + "_IDEMPOTENCY" }

    /// The first token of ``answersStream``'s subjects (`ledger_idempotency`: outside `ledger.>`).
    var answersSubjectPrefix: String { "\(self.subjectPrefix)_idempotency" }
}

/// What `system.stats` and `projections.status` report of replication: shared by the publisher or
/// follower (which update it) and the methods (which read it).
final class ReplicationStatus: Sendable {
    /// The figures, as last updated.
    struct Snapshot: Sendable {
        var connected = false
        /// `starting`, `publishing` (primary) or `following` (replica) while its loop runs, `disconnected`,
        /// `chain_broken`, `fenced`, `error`. `caught_up` is never stored: an answer says it from its own lag
        /// (``json(stores:)``), which the loops once set beside it and an answer read between two updates
        /// contradicted.
        var state = "starting"
        /// Publisher: the last `seq` the stream acknowledged.
        var publishedSeq: UInt64 = 0
        /// Replica: the stream's last sequence, as last seen.
        var streamLastSeq: UInt64 = 0
        /// Replica: since when it has been behind the stream, on the continuous clock (a stepped wall
        /// clock moves no lag).
        var behindSince: ContinuousClock.Instant?
        var lastError: String?
        var durable: String?
        /// Replica: the stored idempotent answers the answers stream holds that it has not received yet
        /// (nil until it has read that stream).
        var answersPending: UInt64?
    }

    /// The settings; nil when the daemon neither publishes nor follows.
    let settings: ReplicationSettings?
    private let snapshot = Mutex(Snapshot())

    init(settings: ReplicationSettings? = nil) { self.settings = settings }

    /// Whether the daemon refuses commands (a read replica).
    var isReadOnly: Bool { self.settings?.role == .replica }

    /// The current figures.
    var current: Snapshot { self.snapshot.withLock { $0 } }

    /// Changes the figures.
    func update(_ body: (inout Snapshot) -> Void) {
        self.snapshot.withLock { body(&$0) }
    }

    /// The `replication` member of `system.stats` and `projections.status`, or nil when not replicating.
    func json(stores: LedgerStores) throws -> JSONValue? {
        guard let settings = self.settings else { return nil }
        let figures = self.current
        let (head, nextTime, answersQueued) = try stores.environment.read { txn -> (UInt64, Timestamp?, Int) in
            let head = try stores.log.head(in: txn).seq
            let queued = try IdempotencyOutbox.pending(stores, in: txn)
            guard settings.role == .publisher, figures.publishedSeq < head,
                let record = try stores.log.record(at: figures.publishedSeq + 1, in: txn)
            else { return (head, nil, queued) }
            return (head, try? EventHeader.decode(record.header).createdOn, queued)
        }
        var object: [String: JSONValue] = [
            "role": .string(settings.role.rawValue),
            "url": .string(settings.url),
            "stream": .string(settings.stream),
            "connected": .bool(figures.connected),
            "state": .string(figures.state),
            "head_seq": .integer(Int64(head)),
            "last_error": figures.lastError.map { .string($0) } ?? .null,
        ]
        let lagEvents: UInt64
        var lagSeconds = 0.0
        switch settings.role {
        case .publisher:
            lagEvents = head - min(figures.publishedSeq, head)
            if let nextTime { lagSeconds = max(0, Timestamp.now.date.timeIntervalSince(nextTime.date)) }
            object["published_seq"] = .integer(Int64(figures.publishedSeq))
            object["answers_pending"] = .integer(Int64(answersQueued))
        case .replica:
            // The stream holds at least what was applied from it (a connection lost between applying a
            // batch and noting the stream's length showed it shorter than the log).
            // Except a stream whose history is not this log's: its own length, whatever this log holds.
            let streamLast = figures.state == "chain_broken" ? figures.streamLastSeq : max(figures.streamLastSeq, head)
            lagEvents = streamLast - min(streamLast, head)
            // Cut off from the stream, it may be behind since it lost it: counted from then.
            if lagEvents > 0 || !figures.connected, let since = figures.behindSince { lagSeconds = max(0, since.duration(to: .now) / .seconds(1)) }
            object["applied_seq"] = .integer(Int64(head))
            object["stream_last_seq"] = .integer(Int64(streamLast))
            object["durable"] = figures.durable.map { .string($0) } ?? .null
            object["answers_pending"] = figures.answersPending.map { .integer(Int64($0)) } ?? .null
        }
        object["lag"] = ["events": .integer(Int64(lagEvents)), "seconds": .double((lagSeconds * 1000).rounded() / 1000)]
        // Said by the same figures as `lag` (the loops store only that they run).
        if ["publishing", "following"].contains(figures.state) {
            // A replica is behind while it may be: cut off from the stream since `behindSince`.
            let behind = lagEvents > 0 || (settings.role == .replica && figures.behindSince != nil)
            object["state"] = .string(behind ? (settings.role == .publisher ? "publishing" : "following") : "caught_up")
        }
        return .object(object)
    }
}

/// The record a publisher sends for each event: the stored record with its hashes, so a replica can
/// rebuild the exact chain. Byte fields are base64 in JSON.
struct ReplicatedRecord: Codable, Sendable {
    var format: Int
    var seq: UInt64
    var prevHash: Data
    var hash: Data
    var payloadHash: Data
    var header: Data
    /// Nil once the payload was erased (the hashes still verify).
    var payload: Data?

    enum CodingKeys: String, CodingKey {
        case format, seq, hash, header, payload
        case prevHash = "prev_hash"
        case payloadHash = "payload_hash"
    }

    /// Writes every member, `payload` as `null` once erased (the synthesized encoding left it out, where
    /// the README documents the body's shape with it).
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.format, forKey: .format)
        try container.encode(self.seq, forKey: .seq)
        try container.encode(self.prevHash, forKey: .prevHash)
        try container.encode(self.hash, forKey: .hash)
        try container.encode(self.payloadHash, forKey: .payloadHash)
        try container.encode(self.header, forKey: .header)
        try container.encode(self.payload, forKey: .payload)
    }

    init(_ record: StoredEvent) {
        self.format = 1
        self.seq = record.seq
        self.prevHash = Data(record.prevHash)
        self.hash = Data(record.hash)
        self.payloadHash = Data(record.payloadHash)
        self.header = Data(record.header)
        self.payload = record.payload.map { Data($0) }
    }

    /// The record to append.
    var storedEvent: StoredEvent {
        StoredEvent(
            seq: self.seq, prevHash: Array(self.prevHash), hash: Array(self.hash), payloadHash: Array(self.payloadHash),
            header: Array(self.header), payload: self.payload.map { Array($0) }
        )
    }

    /// `<prefix>.<workspace>.<type>` (`ledger.main.contact_created` for the stream `LEDGER`); a `.` in a
    /// workspace name (a token separator in NATS) becomes `%2E`.
    static func subject(prefix: String, workspace: String, type: String) -> String {
        "\(prefix).\(workspace.replacingOccurrences(of: ".", with: "%2E")).\(type)"
    }
}

/// Why replication stopped for now (it retries with back-off).
enum ReplicationError: Error, CustomStringConvertible {
    /// The stream holds more messages than the ledger has events: it belongs to another ledger.
    case streamAheadOfLedger(stream: UInt64, head: UInt64)
    /// The stream acknowledged a message at another sequence than its `seq`.
    case sequenceMismatch(seq: UInt64, stream: UInt64)
    /// The replica received a record past the next position.
    case gap(expected: UInt64, received: UInt64)
    /// A received record does not chain onto the replica's head, or its hash does not recompute.
    case chainBroken(seq: UInt64)
    /// A message is not a replicated record.
    case malformedRecord(streamSequence: UInt64)
    /// The stream exists but does not take this publisher's subjects (made by hand, or for another stream name).
    case streamSubjects(expected: String)
    /// The stream's message at `seq` is another event than this ledger's: another primary wrote it.
    case diverged(seq: UInt64)
    /// The replica's durable consumer is gone from the server while the stream is ahead of the replica.
    case consumerLost(name: String)
    /// Another node claimed the stream (a replica promoted in a failover), and this one never followed it.
    case fenced(primary: String)
    /// A replica's event at `seq` is not the stream's: its log came from another stream (or another
    /// primary's history).
    case notTheStreamsHistory(seq: UInt64)
    /// A replica's log holds more events than the stream it follows.
    case ledgerAheadOfStream(head: UInt64, stream: UInt64)

    var description: String {
        switch self {
        case .streamAheadOfLedger(let stream, let head): "the stream holds \(stream) messages but the ledger only \(head) events"
        case .sequenceMismatch(let seq, let stream): "event \(seq) was stored at stream sequence \(stream)"
        case .gap(let expected, let received): "expected event \(expected), received \(received)"
        case .chainBroken(let seq): "event \(seq) does not verify against the hash chain"
        case .malformedRecord(let sequence): "stream message \(sequence) is not a ledger record"
        case .streamSubjects(let expected): "the stream exists but does not take the subjects \(expected)"
        case .diverged(let seq):
            "the stream's event \(seq) is not this ledger's: another primary wrote it, and this ledger's history diverged (it must not publish; rebuild it as a replica)"
        case .consumerLost(let name): "the durable consumer \(name) is gone from the server; making it again"
        case .fenced(let primary):
            "the stream is claimed by \(primary), and this ledger never followed it: it must not publish to that stream (a former primary after a failover, or a second primary started on the same stream; rebuild it as a replica)"
        case .notTheStreamsHistory(let seq):
            "this ledger's event \(seq) is not the stream's: its log holds another history than the stream it follows (follow the stream it came from, or start from an empty data directory)"
        case .ledgerAheadOfStream(let head, let stream):
            "this ledger holds \(head) events but the stream it follows only \(stream): it holds events the stream does not (follow the stream it came from, or start from an empty data directory)"
        }
    }

    /// What retries compare to log an error once (``RetryPacing``): its kind where its text names a
    /// position that moves while it holds (a diverged ledger compared at its growing head).
    var repeatKey: String {
        switch self {
        case .diverged: "diverged"
        case .streamAheadOfLedger: "stream_ahead_of_ledger"
        case .ledgerAheadOfStream: "ledger_ahead_of_stream"
        default: self.description
        }
    }

    /// The `state` reported while this error holds.
    var state: String {
        switch self {
        case .chainBroken, .malformedRecord, .notTheStreamsHistory, .ledgerAheadOfStream: "chain_broken"
        case .fenced: "fenced"
        default: "error"
        }
    }
}
