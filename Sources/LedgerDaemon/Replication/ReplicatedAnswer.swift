// ContactLedger — daemon wiring.
import Crypto
import Foundation

/// The message a publisher sends to the answers stream (``ReplicationSettings/answersStream``) for each
/// stored idempotent answer (``IdempotencyOutbox``), and again each time it is replaced: the record as
/// stored, under its own key, so a replica stores the same bytes and, once promoted, answers a retry
/// as its primary did. Byte fields are base64 in JSON.
///
/// A publisher sends an answer before the events of the command it answers (a primary killed between the
/// two otherwise left a promoted replica with the events and not the answer, and a retry applied the
/// command twice), so it names the log record it was stored at: a replica stores it once its own log
/// holds that record, and drops it when its record there is another (those events never reached the
/// stream, and a promoted node runs the retry as a new command).
struct ReplicatedAnswer: Codable, Sendable, Equatable {
    var format: Int
    /// The key in `ledger.idempotency`: the workspace, `0`, the SHA-256 of the idempotency key.
    var key: Data
    /// The stored ``IdempotencyRecord``.
    var record: Data
    /// The log's head when the answer was stored (the last event of its command, if it made any); nil
    /// from a publisher of an earlier version, which sent answers after their events, and for an answer
    /// stored on an empty log.
    var seq: UInt64?
    /// The hash of the log's record at ``seq``.
    var hash: Data?

    init(key: [UInt8], record: [UInt8], storedAt position: (seq: UInt64, hash: [UInt8])?) {
        self.format = 1
        self.key = Data(key)
        self.record = Data(record)
        self.seq = position?.seq
        self.hash = position.map { Data($0.hash) }
    }

    /// The answer's subject: one per answer, so the stream keeps only its latest copy. The key is hashed
    /// (a workspace name may hold what a subject token cannot, and be long).
    static func subject(prefix: String, key: [UInt8]) -> String {
        "\(prefix).\(EventPresenter.hex(Array(SHA256.hash(data: key))))"
    }
}
