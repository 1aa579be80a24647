// ContactLedger — daemon wiring.
import CLedgerSys
import ContactDomain
import Foundation
import LedgerStore
import RPC
import Synchronization

/// Masks a deleted contact's URNs in the row errors imports keep (`URN tel:+250… already taken by
/// another contact`), wherever they are kept: the batches' stored errors (`import/<id>/errors/<batch>`
/// in the meta table, read by `imports.status` after a restart), the stored idempotent answers of those
/// batches (`import:<id>:<batch>`, whose `errors` carry the same text), and the errors of the import
/// jobs in this process's memory. The URN is masked as an anonymous workspace shows it; the error's row,
/// column and the rest of its message stay, so the report still says which row failed and why.
enum ImportErrorErasure {
    /// The meta-table prefix of every import's summary and stored errors.
    private static let importPrefix = Array("import/".utf8)
    private static let errorsInfix = Array("/errors/".utf8)

    /// Masks `urns` (identities) in the row errors of `workspace`'s imports, in `txn`.
    ///
    /// The stored errors are found by one prefix scan of `import/` in the meta table, which holds one
    /// summary per import and one record per batch of 500 rows that had errors: imports, and batches
    /// with errors, are few next to contacts, and this runs once per deletion. Their keys carry no
    /// workspace (an import is named by its id alone), so the scan passes other workspaces' imports
    /// too; a per-workspace index would need a migration of existing imports for little gain. Records
    /// are decoded only when their bytes hold a URN's text, and the summary (for its workspace) only
    /// then: the same text in another workspace's import is another contact's URN and stays.
    static func mask(_ urns: Set<String>, workspace: String, stores: LedgerStores, in txn: Transaction) throws {
        guard !urns.isEmpty else { return }
        let needles = urns.map(Self.needle)
        self.maskRunningJobs(urns, needles: needles, workspace: workspace)
        var maskedRecords: [(key: [UInt8], value: [UInt8])] = []
        var maskedBatches: [(id: String, batch: UInt64)] = []
        var workspaces: [String: String?] = [:]
        try txn.withCursor(stores.meta) { cursor in
            try cursor.forEach(from: Self.importPrefix) { entry in
                guard entry.key.hasPrefix(Self.importPrefix) else { return false }
                // Searched where LMDB maps it (memmem, at memory speed): a generic search of a copy of each
                // record made a deletion cost 0.7 s once imports had stored 100,000 row errors.
                guard Self.holdsAny(entry.value, needles),
                    let (id, batch) = Self.errorsKey(Array(entry.key)),
                    let errors = try? JSONDecoder().decode([ImportCellError].self, from: Data(entry.value))
                else { return true }
                let masked = errors.map { $0.maskingURNs(urns) }
                guard masked != errors else { return true }
                if workspaces[id] == nil { workspaces[id] = try Self.workspace(ofImport: id, stores: stores, in: txn) }
                guard workspaces[id] == workspace else { return true }
                maskedRecords.append((Array(entry.key), Array(try JSONEncoder().encode(masked))))
                maskedBatches.append((id, batch))
                return true
            }
        }
        for record in maskedRecords { try txn.put(stores.meta, key: record.key, value: record.value) }
        for (id, batch) in maskedBatches {
            try self.maskStoredAnswer(urns, workspace: workspace, idempotencyKey: "import:\(id):\(batch)", stores: stores, in: txn)
        }
    }

    /// The errors `imports.status` answers from memory for jobs of this run of the daemon. Masked while
    /// the deletion's transaction is open: should it not commit, they stay masked until a restart, which
    /// hides more than needed and shows nothing it should not. A batch committed just before the deletion
    /// adds its errors to the job only after its commit; if that lands after this, they show unmasked
    /// until a restart (their stored copy is masked here).
    ///
    /// Only the errors whose text holds a URN's are rewritten: rewriting each of an import's 25,000
    /// errors held the writer 235 ms (debug build) at every deletion in its workspace.
    private static func maskRunningJobs(_ urns: Set<String>, needles: [[UInt8]], workspace: String) {
        let jobs = ImportJob.registry.withLock { Array($0.values) }
        for job in jobs {
            job.update { state in
                guard state.workspace == workspace else { return }
                for index in state.errors.indices {
                    var message = state.errors[index].message
                    guard message.withUTF8({ Self.holdsAny(UnsafeRawBufferPointer($0), needles) }) else { continue }
                    state.errors[index] = state.errors[index].maskingURNs(urns)
                }
            }
        }
    }

    /// The stored answer of an import batch, which a retry of the batch would answer again.
    private static func maskStoredAnswer(
        _ urns: Set<String>, workspace: String, idempotencyKey: String, stores: LedgerStores, in txn: Transaction
    ) throws {
        let key = Ledger.idempotencyRecord(workspace: workspace, key: idempotencyKey)
        guard let stored = try txn.get(stores.idempotency, key: key),
            let record = IdempotencyRecord(decoding: stored),
            case .answer(let answer, let named) = record.content,
            case .object(var members)? = try? EncodedAnswer.decode(answer),
            let errors = members["errors"]?.arrayValue
        else { return }
        members["errors"] = .array(errors.map { error in
            guard case .object(var error) = error, let message = error["message"]?.stringValue else { return error }
            error["message"] = .string(ImportCellError.maskingURNs(urns, in: message))
            return .object(error)
        })
        let masked = IdempotencyRecord(paramsHash: record.paramsHash, content: .answer(JSONLine.encode(.object(members)), namedContacts: named))
        try masked.store(at: key, replacingPersonalData: true, stores: stores, in: txn)
    }

    /// The import id and batch of an `import/<id>/errors/<batch>` key; nil for a summary's key.
    private static func errorsKey(_ key: [UInt8]) -> (String, UInt64)? {
        let infixEnd = key.count - 8
        let idEnd = infixEnd - Self.errorsInfix.count
        guard idEnd > Self.importPrefix.count, key[idEnd..<infixEnd].elementsEqual(Self.errorsInfix),
            let batch = BigEndian.uint64(key[infixEnd...])
        else { return nil }
        return (String(decoding: key[Self.importPrefix.count..<idEnd], as: UTF8.self), batch)
    }

    /// The workspace of the import `id`, from its summary.
    private static func workspace(ofImport id: String, stores: LedgerStores, in txn: Transaction) throws -> String? {
        struct Owner: Decodable { var workspace: String }
        guard let bytes = try txn.get(stores.meta, key: LedgerMethods.importKey(id)) else { return nil }
        return try? JSONDecoder().decode(Owner.self, from: Data(bytes)).workspace
    }

    /// Whether one of `needles` occurs in `bytes` (an empty needle always does: see ``needle(_:)``).
    private static func holdsAny(_ bytes: UnsafeRawBufferPointer, _ needles: [[UInt8]]) -> Bool {
        needles.contains { needle in
            guard !needle.isEmpty else { return true }
            guard let base = bytes.baseAddress else { return false }
            return needle.withUnsafeBytes { CLedgerSys_contains(base, bytes.count, $0.baseAddress, needle.count) != 0 }
        }
    }

    /// Bytes that a stored record quoting `urn` holds whatever the encoder escaped (`/` as `\/`, a
    /// quote or backslash): the longest run of the URN's text without such characters. Empty when there
    /// is none, and then every record is decoded.
    private static func needle(_ urn: String) -> [UInt8] {
        let runs = urn.utf8.split { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 }
        return runs.max { $0.count < $1.count }.map { Array($0) } ?? []
    }
}
