// ContactLedger — replication.
import Foundation

/// What a stream's description says of the ledger that publishes to it: its primary (a node id made
/// once per data directory) and the key of its anonymous refs (``AnonymousKey``).
///
/// A primary claims the stream when it first publishes to it; a replica promoted onto it (one that
/// followed a stream before) claims it from the primary before. A publisher that finds the stream claimed
/// by another node, and never followed it, is an old primary restarted after a failover: it is fenced and
/// publishes nothing, even while its log still chains onto the stream (before the new primary has
/// written, comparing histories let it publish the events it had kept). Replicas take the key, so a
/// contact shows the same ref on every node; it is no secret (answers show `id` beside `ref`).
struct StreamClaim: Codable, Equatable {
    /// The primary's node id.
    var primary: String
    /// The anonymous refs' key, 16 hex digits.
    var refKey: String

    private struct Description: Codable {
        var contactledger: StreamClaim
    }

    private enum CodingKeys: String, CodingKey {
        case primary
        case refKey = "ref_key"
    }

    init(primary: String, anonymousKey: UInt64) {
        self.primary = primary
        self.refKey = String(anonymousKey, radix: 16)
    }

    /// The claim a stream's description holds, if any (a stream made by hand or by an older version has none).
    init?(description: String?) {
        guard let description, let decoded = try? JSONDecoder().decode(Description.self, from: Data(description.utf8)) else { return nil }
        self = decoded.contactledger
    }

    /// The anonymous refs' key, if the claim holds a valid one.
    var anonymousKey: UInt64? { UInt64(self.refKey, radix: 16).flatMap { $0 == 0 ? nil : $0 } }

    /// The stream description that holds this claim.
    var streamDescription: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(Description(contactledger: self))).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }
}
