// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import LedgerStore
import RPC

extension LedgerMethods {
    /// `ledger.backup {path}`: a consistent, compacted hot copy of the whole store (the read models, then
    /// the log, rewritten into fresh trees from one paired read snapshot: ``Environment/copy(to:noting:)``)
    /// into `path`, a new or empty directory, while writes go on. The copy's read models are those beside
    /// its log, so it starts with nothing to catch up; before, they came from an earlier snapshot, and a
    /// contact deleted in between left audit entries its log no longer held. The answer names where the
    /// copy's log ends (`head_seq`, `head_hash`), to compare with an anchor kept elsewhere.
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
                // On the long-call thread, not the cooperative pool, whose threads every connection needs.
                let log = self.stores.log
                let head = try environment.copy(to: directory.path) { try log.head(in: $0) }
                let size = (try? FileManager.default.attributesOfItem(atPath: directory.path + "/data.mdb")[.size] as? NSNumber)?.int64Value ?? 0
                answer = [
                    "path": .string(path), "head_seq": .integer(Int64(head.seq)),
                    "head_hash": head.seq == 0 ? .null : .string(EventPresenter.hex(head.hash)),
                    // Kept for clients of earlier versions: the copy is of the log as the backup began.
                    "head_seq_at_start": .integer(Int64(head.seq)), "bytes": .integer(size),
                ]
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
