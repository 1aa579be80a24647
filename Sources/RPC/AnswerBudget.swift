// ContactLedger — JSON-RPC server.
import Synchronization

/// The bytes of one connection's answers that are made but not yet written to its socket: its peer
/// reads them at its own pace, and until it does they are held in the daemon's memory.
///
/// A client that sent small lines asking for big answers (batches of 50 `events.read`, 32 MB of answer
/// per 5 KB line) and read none of them made the daemon hold 2 GB for it. With this budget:
/// - the connection takes no new line while the answers it holds are over the limit (its calls in
///   flight still end), so its socket pushes back on the peer, as it does for unread single answers;
/// - a batch's calls that start once the connection's answers are over the limit are not run: each is
///   answered -32006 `{reason: "unread_answers_over_budget", limit}` (a batch's answer is written whole,
///   so it could not wait for its own). A long call checks when it gets its thread.
public final class AnswerBudget: Sendable {
    /// The most bytes of answers held before the connection stops taking lines.
    public let limit: Int
    private let held = Atomic<Int>(0)

    /// The budget of the batch whose call the current task serves (for ``LongCallThreads``).
    @TaskLocal static var ofBatch: AnswerBudget?

    public init(limit: Int) {
        self.limit = limit
    }

    /// Whether the answers held reach the limit.
    public var isOver: Bool { self.held.load(ordering: .relaxed) >= self.limit }

    /// Counts `bytes` of answer made.
    func charge(_ bytes: Int) { self.held.add(bytes, ordering: .relaxed) }

    /// Counts `bytes` charged before as written (or given up).
    func release(_ bytes: Int) { self.held.subtract(bytes, ordering: .relaxed) }

    /// The answer to a batch's call not run because the connection's answers are over the limit.
    var refusal: RPCError {
        RPCError(
            code: -32006, message: "Limit exceeded",
            data: ["reason": "unread_answers_over_budget", "limit": .integer(Int64(self.limit))]
        )
    }

    /// Throws ``refusal`` if the current task serves a batch's call and its connection's answers are
    /// over the limit.
    static func checkBatch() throws(RPCError) {
        if let budget = Self.ofBatch, budget.isOver { throw budget.refusal }
    }
}
