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
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: params.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, (try? manager.contentsOfDirectory(atPath: params.path))?.isEmpty == true else {
                throw RPCError.invalidParams(field: "path", reason: "not_an_empty_directory")
            }
        } else {
            do {
                try manager.createDirectory(atPath: params.path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw RPCError.invalidParams(field: "path", reason: "cannot_create")
            }
        }
        let environment = self.stores.environment
        let head = try self.read { try self.stores.log.head(in: $0) }
        do {
            try await Task.detached { try environment.copy(to: params.path) }.value
        } catch let error as LMDBError {
            throw RPCError(code: -32005, message: "Storage unavailable", data: ["reason": error.isOutOfSpace ? "disk_full" : "copy_failed"])
        }
        let size = (try? manager.attributesOfItem(atPath: params.path + "/data.mdb")[.size] as? NSNumber)?.int64Value ?? 0
        return [
            "path": .string(params.path),
            "head_seq_at_start": .integer(Int64(head.seq)),
            "bytes": .integer(size),
        ]
    }
}
