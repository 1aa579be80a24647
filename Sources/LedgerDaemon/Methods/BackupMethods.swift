// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import LedgerStore
import RPC

extension LedgerMethods {
    /// `ledger.backup {path}`: a consistent, compacted hot copy of the whole store (LMDB's copy with
    /// compaction, under one read snapshot) into `path`, a new or empty directory, while writes go on.
    /// `contactledgerd --data-dir PATH` starts on the copy.
    func ledgerBackup(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(BackupParams.self, call)
        try OutputPath.check(params.path, field: "path", dataDirectory: self.stores.environment.directory)
        let environment = self.stores.environment
        let head = try await self.backups.inTurn { () async throws -> UInt64 in
            // In turn: a second backup into the same directory finds it in use, whatever its timing.
            let target = try BackupTarget.prepare(params.path)
            do {
                let head = try self.read { try self.stores.log.head(in: $0).seq }
                try await Task.detached { try environment.copy(to: params.path) }.value
                return head
            } catch {
                // Whatever failed, nothing of the backup stays: a retry to the same path must work.
                target.discard()
                throw BackupTarget.copyFailure(error)
            }
        }
        let manager = FileManager.default
        let size = (try? manager.attributesOfItem(atPath: params.path + "/data.mdb")[.size] as? NSNumber)?.int64Value ?? 0
        return [
            "path": .string(params.path),
            "head_seq_at_start": .integer(Int64(head)),
            "bytes": .integer(size),
        ]
    }
}
