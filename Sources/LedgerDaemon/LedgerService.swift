// ContactLedger — daemon wiring.
import LedgerStore
import Logging
import ServiceLifecycle

/// Runs the single writer for the life of the daemon; on graceful shutdown (after the RPC server has
/// stopped and its in-flight calls have finished) it commits what is queued and closes the store.
final class LedgerService: Service {
    private let ledger: Ledger
    private let lock: DataDirectoryLock
    private let logger: Logger

    init(ledger: Ledger, lock: DataDirectoryLock, logger: Logger) {
        self.ledger = ledger
        self.lock = lock
        self.logger = logger
    }

    func run() async throws {
        self.ledger.start()
        try? await gracefulShutdown()
        let ledger = self.ledger
        let unrecorded = await Task.detached { () -> LMDBError? in
            ledger.stop()
            // The last write is done: sync the read models and mark them closed cleanly.
            do throws(LMDBError) {
                try ledger.stores.environment.closeRebuildablePart()
                return nil
            } catch {
                return error
            }
        }.value
        if let unrecorded {
            // Nothing is lost: the read models stay marked open, so a start after a reboot rebuilds them
            // from the log (a start in the same boot trusts them).
            self.logger.error(
                "read models' clean stop not recorded; a start after a reboot rebuilds them",
                metadata: ["error.reason": "\(unrecorded.isDiskFull ? "disk_full" : "storage_error")", "lmdb.code": "\(unrecorded.code.rawValue)"]
            )
        }
        self.logger.info("ledger closed")
        withExtendedLifetime(self.lock) {}
    }
}
