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

    /// Gathers the entries of one event into `writes` (applied with ``apply(_:in:)``); `event` is nil
    /// when its payload was erased (only the header is known).
    func gather(_ event: LedgerEvent?, header: EventHeader, into writes: inout SortedWrites) {
        let seq = BigEndian.bytes(header.seq)
        writes.put(key: Self.prefix(header.workspace, .type, header.type) + seq, value: [])
        if let actor = header.actor { writes.put(key: Self.prefix(header.workspace, .actor, actor) + seq, value: []) }
        if let peer = header.peer { writes.put(key: Self.prefix(header.workspace, .peerUID, String(peer.uid)) + seq, value: []) }
        if case .contactFieldChanged(let change)? = event {
            writes.put(key: Self.prefix(header.workspace, .field, change.field.key) + seq, value: [])
        }
    }

    /// Writes entries gathered by ``gather(_:header:into:)``.
    func apply(_ writes: inout SortedWrites, in txn: Transaction) throws {
        try writes.apply(to: self.table, in: txn)
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
