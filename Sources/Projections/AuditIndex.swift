// ContactLedger — read models.
import ContactDomain
import Crypto
import Foundation
import LedgerStore

/// Secondary indexes of the log for audits: by actor, by peer uid, by event type and by field key,
/// each `workspace NUL value NUL seq`, so a narrow `audit.changes` filter reads only its entries.
public struct AuditIndex: Sendable {
    static let tableNames = ["rm.audit"]
    private let table: Table

    /// The dimension an index entry belongs to.
    public enum Dimension: String, Sendable {
        case actor = "a"
        case peerUID = "u"
        case type = "t"
        case field = "f"
    }

    init(tables: [String: Table]) throws(ReadModelError) {
        guard let table = tables["rm.audit"] else { throw ReadModelError.missingTables }
        self.table = table
    }

    var allTables: [Table] { [self.table] }

    private static func prefix(_ workspace: String, _ dimension: Dimension, _ value: String) -> [UInt8] {
        // Long values (an actor may be 256 characters) are hashed to keep keys under LMDB's 511 bytes.
        let bytes = Array(value.utf8)
        let indexed = bytes.count <= 128 ? value : "#" + SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        return KeyEncoding.prefix(workspace, dimension.rawValue, indexed)
    }

    /// Indexes one event; `event` is nil when its payload was erased (only the header is known).
    func apply(_ event: LedgerEvent?, header: EventHeader, in txn: Transaction) throws {
        let seq = BigEndian.bytes(header.seq)
        var entries: [(Dimension, String)] = [(.type, header.type)]
        if let actor = header.actor { entries.append((.actor, actor)) }
        if let peer = header.peer { entries.append((.peerUID, String(peer.uid))) }
        if case .contactFieldChanged(let change)? = event { entries.append((.field, change.field.key)) }
        for (dimension, value) in entries {
            try txn.put(self.table, key: Self.prefix(header.workspace, dimension, value) + seq, value: [])
        }
    }

    /// Drops the field entry of an event whose payload is being erased, so the live index equals one
    /// rebuilt from the erased log.
    public func removeFieldEntry(workspace: String, key: String, seq: UInt64, in txn: Transaction) throws {
        try txn.delete(self.table, key: Self.prefix(workspace, .field, key) + BigEndian.bytes(seq))
    }

    /// The positions indexed under `value` in `seqs`, ascending, at most `limit`.
    public func seqs(
        workspace: String,
        _ dimension: Dimension,
        _ value: String,
        in seqs: ClosedRange<UInt64>,
        limit: Int,
        in txn: Transaction
    ) throws -> [UInt64] {
        let prefix = Self.prefix(workspace, dimension, value)
        var result: [UInt64] = []
        try txn.withCursor(self.table) { cursor in
            try cursor.forEach(from: prefix + BigEndian.bytes(seqs.lowerBound)) { entry in
                guard entry.key.hasPrefix(prefix), let seq = BigEndian.uint64(entry.key, at: prefix.count), seq <= seqs.upperBound
                else { return false }
                result.append(seq)
                return result.count < limit
            }
        }
        return result
    }
}
