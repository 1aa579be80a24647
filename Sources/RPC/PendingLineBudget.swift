// ContactLedger — JSON-RPC layer.
import Synchronization

/// The bytes of unfinished request lines that all connections may hold together, and that one peer
/// (a user id) may hold: half of that.
///
/// Each connection may send a line of up to the line limit (16 MiB by default), and the server holds
/// it until its newline comes. Without a bound over all of them, a local peer opening a few thousand
/// connections that each send most of a line and stall made the daemon hold gigabytes (15 MB each).
/// A line that would take the total past the budget, or its peer past its half, is dropped like an
/// oversized one and answered ``LineFrame/overBudget``; its connection stays usable. The half keeps
/// one peer that stalls its lines from taking the whole budget from the others. Lines of a few
/// kilobytes, nearly every request, are held without counting (nothing shared is touched per read).
public final class PendingLineBudget: Sendable {
    /// The most bytes held together.
    public let limit: Int
    /// A partial line this short is held without counting.
    static let uncountedBytes = 4096

    private struct Holdings {
        var total = 0
        var byPeer: [UInt32: Int] = [:]
    }

    private let holdings = Mutex(Holdings())

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
    public var inUse: Int { self.holdings.withLock { $0.total } }

    /// Takes `bytes` more for `peer` (a user id; nil when the socket did not say, counted as one
    /// peer); false, nothing taken, if that would pass the limit or the peer's half of it.
    func reserve(_ bytes: Int, for peer: UInt32?) -> Bool {
        let key = peer ?? UInt32.max
        return self.holdings.withLock { holdings in
            let held = holdings.byPeer[key, default: 0]
            guard holdings.total + bytes <= self.limit, held + bytes <= self.limit / 2 else { return false }
            holdings.total += bytes
            holdings.byPeer[key] = held + bytes
            return true
        }
    }

    /// Gives `bytes` of `peer`'s back.
    func release(_ bytes: Int, for peer: UInt32?) {
        guard bytes > 0 else { return }
        let key = peer ?? UInt32.max
        self.holdings.withLock { holdings in
            holdings.total -= bytes
            let left = holdings.byPeer[key, default: 0] - bytes
            holdings.byPeer[key] = left > 0 ? left : nil
        }
    }
}
