// ContactLedger — storage layer.
import CLMDB

/// A named LMDB database (a DBI) inside an ``Environment``.
///
/// Handles are opened once at start-up by ``Environment/openTables(_:durability:)`` and stay valid for
/// the life of the environment, so they can be shared freely.
public struct Table: Sendable, Hashable {
    /// What a commit promises about a table's writes.
    public enum Durability: Sendable, Hashable {
        /// Synced to disk before the commit returns.
        case durable
        /// Committed without a sync: a process crash keeps it (the page cache survives), a power loss
        /// may not, so its owner must be able to rebuild it from durable tables. Kept in the
        /// environment's rebuildable part when it has one, and then discarded after a power loss.
        case rebuildable
    }

    /// The name that opens a part's root table (``Environment/openTables(_:durability:)``): LMDB's
    /// unnamed database, which lists the part's named tables. Every write that changes a table rewrites
    /// its page, so a small record every commit rewrites (the log's head, the commit stamp) costs no page
    /// of its own to write and sync there: a table of its own would cost each commit one more. Its keys
    /// must begin with a 0 byte, which no table name does.
    public static let rootName = ""

    /// The table's name in the environment.
    public let name: String
    let dbi: MDB_dbi
    /// Whether the table lives in the environment's rebuildable (unsynced) part.
    let isInRebuildablePart: Bool
}
