// ContactLedger — JSON-RPC layer.
import Synchronization

/// The bytes of unfinished request lines that all connections may hold together, and that one peer
/// (a user id) may hold: half of that.
///
/// Each connection may send a line of up to the line limit (16 MiB by default), and the server holds
/// it until its newline comes. Without a bound over all of them, a local peer opening a few thousand
/// connections that each send most of a line and stall made the daemon hold gigabytes (15 MB each).
/// A line that would take the total past the budget, or its peer past its half, is dropped like an
/// oversized one and answered ``LineFrame/overBudget(limit:)``, which names the budget it would have
/// passed; its connection stays usable. The half keeps one peer that stalls its lines from taking the
/// whole budget from the others. The start of a line, up to ``uncountedBytes``, is held without counting
/// (nothing shared is touched per read of nearly every request): 4 KiB with the default line limit, a
/// sixteenth of the line limit when that is shorter, so the budget holds at every line limit. With a
/// 2 KiB limit and uncounted 4 KiB every line went uncounted, and one peer held 100 lines against a
/// budget of 8.
public final class PendingLineBudget: Sendable {
    /// The most bytes held together.
    public let limit: Int
    /// A partial line this short is held without counting.
    let uncountedBytes: Int

    private struct Holdings {
        var total = 0
        var byPeer: [UInt32: Int] = [:]
    }

    private let holdings = Mutex(Holdings())

    public init(limit: Int) {
        self.limit = limit
        // A sixteenth of the line limit (the budget is sixteen lines).
        self.uncountedBytes = min(4096, limit / 256)
    }

    /// The bytes one peer may hold: half of ``limit``.
    public var peerLimit: Int { self.limit / 2 }

    /// The budget for lines of at most `maximumLineBytes`: sixteen of the longest at once.
    public convenience init(maximumLineBytes: Int) {
        self.init(limit: Self.limit(maximumLineBytes: maximumLineBytes))
    }

    /// The limit ``init(maximumLineBytes:)`` sets.
    public static func limit(maximumLineBytes: Int) -> Int { 16 * maximumLineBytes }

    /// The bytes held now.
    public var inUse: Int { self.holdings.withLock { $0.total } }

    /// Takes `bytes` more for `peer` (a user id; nil when the socket did not say, counted as one
    /// peer). Returns nil when taken, else the budget it would have passed (the peer's half, or the
    /// whole), and nothing is taken.
    func reserve(_ bytes: Int, for peer: UInt32?) -> Int? {
        let key = peer ?? UInt32.max
        return self.holdings.withLock { holdings in
            let held = holdings.byPeer[key, default: 0]
            if held + bytes > self.peerLimit { return self.peerLimit }
            if holdings.total + bytes > self.limit { return self.limit }
            holdings.total += bytes
            holdings.byPeer[key] = held + bytes
            return nil
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
