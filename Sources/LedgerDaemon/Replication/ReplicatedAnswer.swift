// ContactLedger — daemon wiring.
import Crypto
import Foundation

/// The message a publisher sends to the answers stream (``ReplicationSettings/answersStream``) for each
/// stored idempotent answer (``IdempotencyOutbox``), and again each time it is replaced: the record as
/// stored, under its own key, so a replica stores the same bytes and, once promoted, answers a retry
/// as its primary did. Byte fields are base64 in JSON.
struct ReplicatedAnswer: Codable, Sendable, Equatable {
    var format: Int
    /// The key in `ledger.idempotency`: the workspace, `0`, the SHA-256 of the idempotency key.
    var key: Data
    /// The stored ``IdempotencyRecord``.
    var record: Data

    init(key: [UInt8], record: [UInt8]) {
        self.format = 1
        self.key = Data(key)
        self.record = Data(record)
    }

    /// The answer's subject: one per answer, so the stream keeps only its latest copy. The key is hashed
    /// (a workspace name may hold what a subject token cannot, and be long).
    static func subject(prefix: String, key: [UInt8]) -> String {
        "\(prefix).\(EventPresenter.hex(Array(SHA256.hash(data: key))))"
    }
}
