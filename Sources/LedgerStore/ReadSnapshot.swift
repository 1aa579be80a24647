// ContactLedger — storage layer.
import CLMDB
import Foundation

/// A read transaction that outlives the call that opened it: opened at one precise moment (on the
/// writer's thread, between two batches, say) and read on another thread afterwards.
///
/// It sees both parts of the environment as of one write, like ``Environment/read(_:)``, for as long as
/// it is open. While it is open the map cannot be resized (the reader gate waits for it), so a write
/// that needs a larger map waits too: keep it for one piece of work, and close it.
///
/// `@unchecked Sendable`: LMDB's read transactions may move between threads (the environment is opened
/// with MDB_NOTLS); `transaction` must still be used by one thread at a time, and not after ``close()``.
public final class ReadSnapshot: @unchecked Sendable {
    private let environment: Environment
    private let transaction: Transaction
    private let isOpen = NSLock()
    private var closed = false

    fileprivate init(environment: Environment, transaction: Transaction) {
        self.environment = environment
        self.transaction = transaction
    }

    /// Runs `body` with the snapshot's transaction (valid only inside `body`).
    ///
    /// - Throws: `body`'s errors, or ``LMDBError`` (`.badTransaction`) once the snapshot is closed.
    public func read<T>(_ body: (Transaction) throws -> T) throws -> T {
        self.isOpen.lock()
        defer { self.isOpen.unlock() }
        guard !self.closed else { throw LMDBError(code: .init(rawValue: MDB_BAD_TXN), operation: "read snapshot") }
        return try body(self.transaction)
    }

    /// Ends the transaction; later calls of ``read(_:)`` throw. Closing twice does nothing.
    public func close() {
        self.isOpen.lock()
        defer { self.isOpen.unlock() }
        guard !self.closed else { return }
        self.closed = true
        self.transaction.abortRead()
        self.environment.gate.leave()
    }

    deinit { self.close() }
}

extension Environment {
    /// Opens a ``ReadSnapshot`` of the environment as it is now.
    public func openSnapshot() throws -> ReadSnapshot {
        self.gate.enter()
        do {
            return ReadSnapshot(environment: self, transaction: try self.beginPairedRead())
        } catch {
            self.gate.leave()
            throw error
        }
    }
}
