// ContactLedger — daemon wiring.
import LedgerStore
import Projections

/// The opened LMDB environment with the log, both generations of read models and the daemon's own tables.
struct LedgerStores: Sendable {
    static let ownTableNames = ["ledger.meta", "ledger.idempotency"]
    private static let activeGenerationKey = Array("active_generation".utf8)

    let environment: Environment
    let log: EventLog
    /// The read models by generation; ``projector(_:)`` names the one answering.
    let projectors: [Projector]
    let meta: Table
    let idempotency: Table

    init(environment: Environment) throws {
        let names = EventLog.tableNames + Projector.generations.flatMap { Projector.tableNames(generation: $0) } + Self.ownTableNames
        let tables = try environment.openTables(names)
        self.environment = environment
        self.log = try EventLog(tables: tables)
        self.projectors = try Projector.generations.map { try Projector(tables: tables, generation: $0) }
        guard let meta = tables["ledger.meta"], let idempotency = tables["ledger.idempotency"] else {
            throw ReadModelError.missingTables
        }
        self.meta = meta
        self.idempotency = idempotency
    }

    /// The generation of read models that answers, as of `txn`.
    func activeGeneration(_ txn: Transaction) throws -> Int {
        guard let bytes = try txn.get(self.meta, key: Self.activeGenerationKey), let value = BigEndian.uint64(bytes) else { return 0 }
        return Int(value) % self.projectors.count
    }

    /// Makes `generation` the one that answers, from the commit of `txn` on.
    func setActiveGeneration(_ generation: Int, in txn: Transaction) throws {
        try txn.put(self.meta, key: Self.activeGenerationKey, value: BigEndian.bytes(UInt64(generation)))
    }

    /// The read models that answer, as of `txn` (reads and commands pick them in their own transaction,
    /// so a swap is atomic for everyone).
    func projector(_ txn: Transaction) throws -> Projector {
        self.projectors[try self.activeGeneration(txn)]
    }
}
