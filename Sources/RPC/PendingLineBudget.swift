// ContactLedger — JSON-RPC layer.
import Synchronization

/// The bytes of unfinished request lines that all connections may hold together.
///
/// Each connection may send a line of up to the line limit (16 MiB by default), and the server holds
/// it until its newline comes. Without a bound over all of them, a local peer opening a few thousand
/// connections that each send most of a line and stall made the daemon hold gigabytes (15 MB each).
/// A line that would take the total past the budget is dropped like an oversized one, and answered
/// ``LineFrame/overBudget``; its connection stays usable. Lines of a few kilobytes, nearly every
/// request, are held without counting (no shared counter touched per read).
public final class PendingLineBudget: Sendable {
    /// The most bytes held together.
    public let limit: Int
    /// A partial line this short is held without counting.
    static let uncountedBytes = 4096
    private let used = Atomic<Int>(0)

    public init(limit: Int) {
        self.limit = limit
    }

    /// The budget for lines of at most `maximumLineBytes`: sixteen of the longest at once.
    public convenience init(maximumLineBytes: Int) {
        self.init(limit: Self.limit(maximumLineBytes: maximumLineBytes))
    }

    /// The limit ``init(maximumLineBytes:)`` sets.
    public static func limit(maximumLineBytes: Int) -> Int { 16 * maximumLineBytes }

    /// The bytes held now.
    public var inUse: Int { self.used.load(ordering: .relaxed) }

    /// Takes `bytes` more from the budget; false (nothing taken) if that would pass the limit.
    func reserve(_ bytes: Int) -> Bool {
        var current = self.used.load(ordering: .relaxed)
        while current + bytes <= self.limit {
            let (exchanged, original) = self.used.compareExchange(expected: current, desired: current + bytes, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
        return false
    }

    /// Gives `bytes` back.
    func release(_ bytes: Int) {
        guard bytes > 0 else { return }
        self.used.subtract(bytes, ordering: .relaxed)
    }
}
