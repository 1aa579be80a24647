// ContactLedger — read models.
import ContactDomain
import Crypto
import Foundation
import LedgerStore

/// Secondary indexes of the log for audits: by actor, by peer uid, by event type and by field key, so a
/// narrow `audit.changes` filter reads only its entries.
///
/// Each (workspace, dimension, value) keeps its log positions as ``PostingBlocks``, keyed
/// `workspace NUL dimension NUL value NUL block`: an entry per event and dimension made this index
/// larger than the log's headers, and a replay wrote millions of them; as blocks, consecutive events of
/// one type or actor share an entry.
public struct AuditIndex: Sendable {
    static let tableNames = ["rm.audit"]
    let table: Table

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

    /// One posting block of the index: a workspace's dimension value and the block's number.
    struct Block: Hashable, Sendable {
        var workspace: String
        var dimension: Dimension
        var value: String
        var number: UInt64

        var key: [UInt8] { AuditIndex.prefix(self.workspace, self.dimension, self.value) + BigEndian.bytes(self.number) }

        /// All but the workspace, which a batch's blocks nearly always share (hashing its text added only
        /// cost); equal blocks still compare it.
        func hash(into hasher: inout Hasher) {
            hasher.combine(self.dimension)
            hasher.combine(self.value)
            hasher.combine(self.number)
        }
    }

    static func prefix(_ workspace: String, _ dimension: Dimension, _ value: String) -> [UInt8] {
        // Long values (an actor may be 256 characters) are hashed to keep keys under LMDB's 511 bytes.
        let bytes = Array(value.utf8)
        let indexed = bytes.count <= 128 ? value : "#" + SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        return KeyEncoding.prefix(workspace, dimension.rawValue, indexed)
    }

    /// Postings to gather a batch of events' entries into: an event's entries go to the blocks of its
    /// type, actor, peer and field, mostly the blocks the events before it changed.
    static func postingChanges() -> PostingChanges<Block> { PostingChanges(recentBlocks: 6) }

    /// Gathers the entries of one event into `postings` (applied with ``apply(_:in:)``); `event` is nil
    /// when its payload was erased (only the header is known).
    func gather(_ event: LedgerEvent?, header: EventHeader, into postings: inout PostingChanges<Block>) {
        let position = PostingBlocks.position(ofNumber: header.seq)
        func post(_ dimension: Dimension, _ value: String) {
            postings.add(position.offset, to: Block(workspace: header.workspace, dimension: dimension, value: value, number: position.block))
        }
        post(.type, header.type)
        if let actor = header.actor { post(.actor, actor) }
        if let peer = header.peer { post(.peerUID, String(peer.uid)) }
        if case .contactFieldChanged(let change)? = event { post(.field, change.field.key) }
    }

    /// Writes entries gathered by ``gather(_:header:into:)``.
    func apply(_ postings: PostingChanges<Block>, in txn: Transaction) throws {
        try postings.apply(to: self.table, in: txn) { $0.key }
    }

    /// Drops the field entry of an event whose payload is being erased, so the live index equals one
    /// rebuilt from the erased log.
    public func removeFieldEntry(workspace: String, key: String, seq: UInt64, in txn: Transaction) throws {
        let position = PostingBlocks.position(ofNumber: seq)
        var postings = PostingChanges<Block>()
        postings.remove(position.offset, from: Block(workspace: workspace, dimension: .field, value: key, number: position.block))
        try self.apply(postings, in: txn)
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
            try cursor.forEach(from: prefix + BigEndian.bytes(PostingBlocks.position(ofNumber: seqs.lowerBound).block)) { entry in
                guard entry.key.hasPrefix(prefix), entry.key.count == prefix.count + 8,
                    let block = BigEndian.uint64(entry.key, at: prefix.count)
                else { return false }
                for seq in PostingBlocks.numbers(in: entry.value, block: block) where seq >= seqs.lowerBound {
                    guard seq <= seqs.upperBound, result.count < limit else { return false }
                    result.append(seq)
                }
                return result.count < limit
            }
        }
        return result
    }
}
