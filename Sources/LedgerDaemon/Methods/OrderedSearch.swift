// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import LedgerStore
import Projections

extension LedgerMethods {
    /// Who may be on an ordered page: every live contact, or those under one exact index term.
    private enum Membership {
        case everyone
        case term(ContactIndex.Term)
    }

    /// A `contacts.search` page read from the index that holds its order (ids, or a number or datetime
    /// field's values), instead of loading, sorting and paging every match: a page of a 100,000-member
    /// group sorted by a field read all 100,000 contacts.
    ///
    /// Applies when the query is empty or one exactly indexed condition (`group =`, `status =`), whose
    /// total the index counts without reading contacts. Nil when it does not apply, or when the page
    /// reaches past the sort field's indexed values (contacts without a value come last in both
    /// directions, and only the general path orders them): the caller then takes the general path.
    func orderedPage(
        query: ContactQuery?,
        order: SearchOrder,
        after cursor: SearchOrder.Position?,
        limit: Int,
        workspace: Workspace,
        in txn: Transaction
    ) throws -> SearchPage? {
        guard let indexedKey = order.indexedKey, let membership = Self.membership(of: query, workspace: workspace) else { return nil }
        let readModel = try self.stores.projector(txn).contacts
        let index = readModel.index
        let name = workspace.name
        let total = try Self.total(of: membership, index: index, workspace: name, in: txn)
        guard total > 0 else { return SearchPage(contacts: [], total: 0, hasMore: false) }
        // Index entries the walk may read before giving up for the general path, whose cost grows with
        // the matches: a sort field few members have would otherwise walk the whole index first.
        var budget = 4 * total + 1000
        var page: [Contact] = []
        /// Whether the contact with `id` is a member, asked before reading the contact.
        func isMember(_ id: Int64) throws -> Bool {
            budget -= 1
            guard case .term(let term) = membership else { return true }
            return try index.contains(term, id: id, workspace: name, in: txn)
        }
        /// Adds `contact` if it is live and placed after the cursor; false once the page and one more are in.
        func take(_ contact: Contact) throws -> Bool {
            guard !contact.isDeleted else { return true }
            let position = order.position(of: contact)
            // An indexed datetime the workspace's zone gives no four-digit year counts as no value: such
            // contacts come last with those without one, where the general path places them.
            guard position.value != nil else { return true }
            if let cursor, !order.precedes(cursor, position) { return true }
            page.append(contact)
            return page.count <= limit
        }

        var exhausted = true
        var outOfBudget = false
        switch indexedKey {
        case .id:
            guard cursor.map({ $0.value != nil }) ?? true else { return nil }
            let after = cursor.map(\.id)
            try readModel.forEachID(workspace: name, descending: order.descending, after: after, in: txn) { id, uuid in
                guard budget > 0 else {
                    outOfBudget = true
                    return false
                }
                guard try isMember(id), let contact = try readModel.contact(uuid, workspace: name, in: txn) else { return true }
                return try take(contact)
            }
            // Every contact has an id: running out of ids is the end of the matches.
            exhausted = false
        case .number(let field), .datetime(let field):
            // A cursor among the contacts without a value is past every indexed one.
            if let cursor, cursor.value == nil { return nil }
            let kind: ContactIndex.Term = indexedKey == .number(field: field) ? .fieldNumber(key: field, value: 0) : .fieldDate(key: field, microseconds: 0)
            let start = try cursor.flatMap { try Self.indexTerm(of: $0, like: kind) }
            // Entries of one index value are ordered by id, as the order breaks ties. Datetimes are indexed
            // exactly, so their entries are the order itself. Numbers are indexed as doubles, which several
            // decimals may share: a run of equal doubles holding an approximate entry is read whole and put
            // in the order's own order; any other run is one exact value, read as it streams.
            let isDatetime = indexedKey == .datetime(field: field)
            var streaming = isDatetime
            var run: [Contact] = []
            var runValue: [UInt8] = []
            func flush() throws -> Bool {
                defer { run.removeAll(keepingCapacity: true) }
                for contact in order.sorted(run) where try !take(contact) { return false }
                return true
            }
            try index.walk(kind, from: start, descending: order.descending, workspace: name, in: txn) { entry in
                guard budget > 0 else {
                    outOfBudget = true
                    return false
                }
                if !isDatetime, entry.value != runValue {
                    guard try flush() else {
                        exhausted = false
                        return false
                    }
                    runValue = entry.value
                    streaming = try !index.hasApproximateNumbers(key: field, orderedValue: entry.value, workspace: name, in: txn)
                }
                guard try isMember(entry.id), let contact = try readModel.contact(entry.uuid, workspace: name, in: txn) else { return true }
                if streaming {
                    guard try take(contact) else {
                        exhausted = false
                        return false
                    }
                } else {
                    run.append(contact)
                }
                return true
            }
            // The last run is whole only when the index ran out, not the budget.
            if exhausted, !outOfBudget, try !flush() { exhausted = false }
        }
        // Out of budget, or out of indexed values before the page was full (contacts without one may follow).
        if outOfBudget || exhausted && page.count <= limit { return nil }
        let hasMore = page.count > limit
        return SearchPage(contacts: Array(page.prefix(limit)), total: total, hasMore: hasMore)
    }

    /// The number of contacts matching `query`, counted from index keys without reading a contact, when
    /// the query is empty or one index term holds exactly its matches; nil when the evaluator is needed.
    func indexedTotal(of query: ContactQuery?, workspace: Workspace, in txn: Transaction) throws -> Int? {
        guard let membership = Self.membership(of: query, workspace: workspace) else { return nil }
        return try Self.total(of: membership, index: try self.stores.projector(txn).contacts.index, workspace: workspace.name, in: txn)
    }

    /// How many live contacts `membership` holds.
    private static func total(of membership: Membership, index: ContactIndex, workspace: String, in txn: Transaction) throws -> Int {
        switch membership {
        case .everyone:
            try index.liveContacts(of: workspace, in: txn)
        case .term(let term):
            try index.count(matching: term, workspace: workspace, in: txn)
        }
    }

    /// The members of `query` when one index term holds exactly them (deleted contacts are never indexed);
    /// nil when the evaluator is needed.
    private static func membership(of query: ContactQuery?, workspace: Workspace) -> Membership? {
        guard let query else { return .everyone }
        guard case .condition(let condition) = query.root, condition.comparator == .equal else { return nil }
        switch condition.property {
        case .attribute(.group):
            guard let group = workspace.group(named: condition.value) else { return nil }
            return .term(.group(group.uuid))
        case .attribute(.status):
            guard case .status(let status) = condition.typedValue else { return nil }
            return .term(.status(status))
        default:
            return nil
        }
    }

    /// The index term of `kind`'s field at a cursor's value, where an ordered walk resumes.
    private static func indexTerm(of position: SearchOrder.Position, like kind: ContactIndex.Term) throws -> ContactIndex.Term? {
        switch (kind, position.value) {
        case (.fieldNumber(let key, _), .number(let number)?):
            return .fieldNumber(key: key, value: NSDecimalNumber(decimal: number).doubleValue)
        case (.fieldDate(let key, _), .time(let microseconds)?):
            return .fieldDate(key: key, microseconds: microseconds)
        default:
            // A cursor whose value is of another kind: start from the beginning and let the cursor
            // check skip what comes before it.
            return nil
        }
    }
}
