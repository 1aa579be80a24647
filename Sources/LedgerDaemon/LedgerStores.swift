// ContactLedger — daemon wiring.
import LedgerStore
import Projections

/// The opened LMDB environment with the log, the read models and the daemon's own tables.
struct LedgerStores: Sendable {
    static let ownTableNames = ["ledger.meta", "ledger.idempotency"]

    let environment: Environment
    let log: EventLog
    let projector: Projector
    let meta: Table
    let idempotency: Table

    init(environment: Environment) throws {
        let tables = try environment.openTables(EventLog.tableNames + Projector.tableNames + Self.ownTableNames)
        self.environment = environment
        self.log = try EventLog(tables: tables)
        self.projector = try Projector(tables: tables)
        guard let meta = tables["ledger.meta"], let idempotency = tables["ledger.idempotency"] else {
            throw ReadModelError.missingTables
        }
        self.meta = meta
        self.idempotency = idempotency
    }
}
