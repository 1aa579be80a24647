// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import LedgerStore
import RPC

extension LedgerMethods {
    /// `ledger.backup {path}`: a consistent, compacted hot copy of the whole store (the read models
    /// rewritten into fresh trees, then the log by LMDB's copy with compaction, each under one read
    /// snapshot: ``Environment/copy(to:)``) into `path`, a new or empty directory, while writes go on.
    /// `contactledgerd --data-dir PATH` starts on the copy. A retry with the same idempotency key answers
    /// the first call's answer: a client whose answer a timeout lost would otherwise find its own copy in
    /// the way (`not_an_empty_directory`) and not know whether it is whole.
    func ledgerBackup(_ call: RPCCall, _ caller: Caller) async throws -> any MethodAnswer {
        let params = try self.params(BackupParams.self, call)
        if let earlier = try self.earlierAnswer(call, caller) { return earlier }
        let path = try OutputPath.checked(params.path, field: "path", dataDirectory: self.stores.environment.directory)
        let environment = self.stores.environment
        return try await self.backups.inTurn { () async throws -> any MethodAnswer in
            // In turn: a second backup into the same directory finds it in use, whatever its timing, and a
            // retry that waited for the first call's turn finds its answer.
            if let earlier = try self.earlierAnswer(call, caller) { return earlier }
            // Opened now and copied into through its descriptor: the directory checked is the one written.
            let target = try BackupTarget.prepare(path, dataDirectory: environment.directory)
            let directory = target.directory
            let answer: JSONValue
            do {
                let head = try self.read { try self.stores.log.head(in: $0).seq }
                // On the long-call thread, not the cooperative pool, whose threads every connection needs.
                try environment.copy(to: directory.path)
                let size = (try? FileManager.default.attributesOfItem(atPath: directory.path + "/data.mdb")[.size] as? NSNumber)?.int64Value ?? 0
                answer = ["path": .string(path), "head_seq_at_start": .integer(Int64(head)), "bytes": .integer(size)]
            } catch {
                // Whatever failed, nothing of the backup stays: a retry to the same path must work.
                target.discard()
                throw BackupTarget.copyFailure(error)
            }
            do {
                // Answered once the answer (and the key) is durable.
                return try await self.answerAppendingNothing(answer, call, caller)
            } catch {
                // Not answered as made, so not left behind either: a retry to the same path works.
                target.discardWholeCopy()
                throw error
            }
        }
    }
}
