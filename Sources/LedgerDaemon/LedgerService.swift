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
        await Task.detached {
            ledger.stop()
            // The last write is done: sync the read models and mark them closed cleanly.
            ledger.stores.environment.closeRebuildablePart()
        }.value
        self.logger.info("ledger closed")
        withExtendedLifetime(self.lock) {}
    }
}
