// ContactLedger — daemon wiring.
import Foundation
import LedgerStore
import Projections

/// The staging area of an online rebuild: an LMDB environment of its own, in `<data-dir>/rebuild-staging`,
/// where the rebuilder replays most of the log before copying the result into the ledger's environment.
///
/// Replaying into the ledger's own environment must go through the single writer in small chunks (a
/// writer waits for a whole chunk), and small chunks of a random-order index dirty nearly a page per
/// entry, each written and synced at every commit. Here the rebuilder is the only writer, so it commits
/// large chunks; the copy then appends every table in key order, a few pages per thousand entries.
/// Its tables are rebuildable, like the ledger's read models (committed without a sync, in the
/// ``tablesSubdirectory`` part): staging commits hundreds of megabytes, and syncing them made the
/// ledger's own commits wait behind them on the disk. A rebuild interrupted while staging (a stop, a
/// process crash) resumes from the staging checkpoint; after a power loss the part is discarded and
/// staging starts again. The area is deleted once copied.
struct RebuildStaging: Sendable {
    /// The directory's name inside the data directory.
    static let directoryName = "rebuild-staging"
    /// The subdirectory of the staging area holding its tables (the environment's rebuildable part).
    static let tablesSubdirectory = "tables"

    let environment: Environment
    let projector: Projector

    /// Opens (creating if needed) the staging area under `dataDirectory`; empties it when `reset`, or
    /// when it was written by another read-model version. Its map starts at `mapSize`, the ledger's:
    /// staging holds at most what the ledger's read models hold, and a map grown while a transaction runs
    /// runs that transaction's whole body again (sparse, the map costs address space, not disk).
    ///
    /// Blocking file and LMDB work: call it off the event loops and the cooperative pool.
    static func open(dataDirectory: String, reset: Bool, mapSize: Int) throws -> RebuildStaging {
        let directory = Self.path(dataDirectory: dataDirectory)
        if !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        }
        // Never compacted at open, as the ledger's read models are when sparse: the area is copied and
        // deleted once staged, and compacting a resumed one (a copy of hundreds of megabytes, synced)
        // held the resumed rebuild for seconds while `projections.status` still showed position 0.
        var configuration = Environment.Configuration()
        configuration.rebuildableCompactionMinimumFreeBytes = .max
        configuration.initialMapSize = max(configuration.initialMapSize, mapSize)
        let environment = try Environment(directory: directory, configuration: configuration, rebuildableSubdirectory: Self.tablesSubdirectory)
        let tables = try environment.openTables(Projector.tableNames(generation: 0), durability: .rebuildable)
        let projector = try Projector(tables: tables, generation: 0)
        try environment.write { txn in
            let stored = try projector.state(in: txn)
            if reset || stored?.version != Projector.version { try projector.reset(in: txn) }
        }
        return RebuildStaging(environment: environment, projector: projector)
    }

    /// Deletes the staging area's files (the environment must be closed: no value of it left).
    static func remove(dataDirectory: String) {
        try? FileManager.default.removeItem(atPath: Self.path(dataDirectory: dataDirectory))
    }

    private static func path(dataDirectory: String) -> String {
        (dataDirectory as NSString).appendingPathComponent(Self.directoryName)
    }
}
