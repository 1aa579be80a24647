// ContactLedger — daemon wiring.
import ContactDomain
import LedgerStore
import Projections

extension LedgerMethods {
    /// Where a page read by ``forEachIndexedEvent(workspace:types:filters:in:limit:in:_:)`` ended.
    enum IndexedPageEnd {
        /// Every match in the range was visited.
        case rangeDone
        /// More matches follow the last one visited.
        case moreAfterLastVisited
        /// The index search stopped (its steps spent) with every match up to this position visited.
        case searchStopped(at: UInt64)
    }

    /// The index steps one page may take (``AuditIndex/matches(workspace:_:in:limit:maximumSteps:in:)``):
    /// tens of milliseconds, after which the page ends with a cursor, however rare the matches.
    static let indexSearchSteps = 200_000

    /// Visits, in log order, the first `limit` events of `workspace` in `range` that the audit index
    /// lists under every filter, of the types `types` (all of them when nil, which keeps the workspace's
    /// events from the others'), while `body` returns true. Each is read with its link to the record
    /// before it and the position its header names checked, as a scan of the log checks them.
    ///
    /// Returns nil, visiting nothing, when the answering generation's audit index is another version's
    /// (during its rebuild): the caller scans the log instead.
    func forEachIndexedEvent(
        workspace: String,
        types: Set<String>?,
        filters: [AuditIndex.Filter] = [],
        in range: ClosedRange<UInt64>,
        limit: Int,
        in txn: Transaction,
        _ body: (StoredEvent) throws -> Bool
    ) throws -> IndexedPageEnd? {
        let projector = try self.stores.projector(txn)
        guard try projector.readableIndexes(in: txn).audit else { return nil }
        let matches = try projector.audit.matches(
            workspace: workspace, [AuditIndex.Filter(.type, (types ?? LedgerEvent.allTypes).sorted())] + filters,
            in: range, limit: limit + 1, maximumSteps: Self.indexSearchSteps, in: txn
        )
        // Each run of consecutive seqs is read in one walk of the log's cursor: one lookup a record made a
        // subscriber of a busy workspace catch up 5% slower than its scan of the log did.
        let seqs = Array(matches.seqs.prefix(limit))
        var start = 0
        var goesOn = true
        while start < seqs.count, goesOn {
            var end = start
            while end + 1 < seqs.count, seqs[end + 1] == seqs[end] + 1 { end += 1 }
            var remaining = end - start + 1
            try self.stores.log.forEach(after: seqs[start] - 1, checkingLinks: true, in: txn) { record in
                goesOn = try body(record)
                remaining -= 1
                return goesOn && remaining > 0
            }
            start = end + 1
        }
        if matches.seqs.count > limit { return .moreAfterLastVisited }
        return matches.listedThrough < range.upperBound ? .searchStopped(at: matches.listedThrough) : .rangeDone
    }
}
