// ContactLedger — storage layer.
import Foundation

/// Lets the map be resized while no read transaction is open, as `mdb_env_set_mapsize` requires.
///
/// Readers pass through the gate cheaply; a resize closes it, waits for the readers inside to leave,
/// resizes, and opens it again. A closed gate holds new readers back, so a resize is never starved.
final class ReaderGate: @unchecked Sendable {
    // @unchecked: every stored property is guarded by `condition`.
    private let condition = NSCondition()
    private var readersInside = 0
    private var isClosed = false

    func enter() {
        self.condition.lock()
        while self.isClosed { self.condition.wait() }
        self.readersInside += 1
        self.condition.unlock()
    }

    func leave() {
        self.condition.lock()
        self.readersInside -= 1
        if self.readersInside == 0 { self.condition.broadcast() }
        self.condition.unlock()
    }

    /// Runs `body` with no reader inside and none let in until it returns.
    func withGateClosed<T>(_ body: () throws -> T) rethrows -> T {
        self.condition.lock()
        self.isClosed = true
        while self.readersInside > 0 { self.condition.wait() }
        self.condition.unlock()
        defer {
            self.condition.lock()
            self.isClosed = false
            self.condition.broadcast()
            self.condition.unlock()
        }
        return try body()
    }
}
