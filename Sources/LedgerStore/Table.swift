// ContactLedger — storage layer.
import CLMDB

/// A named LMDB database (a DBI) inside an ``Environment``.
///
/// Handles are opened once at start-up by ``Environment/openTables(_:)`` and stay valid for the life of
/// the environment, so they can be shared freely.
public struct Table: Sendable, Hashable {
    /// The table's name in the environment.
    public let name: String
    let dbi: MDB_dbi
}
