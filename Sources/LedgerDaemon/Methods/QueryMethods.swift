// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import LedgerStore
import Projections
import RPC

extension LedgerMethods {
    /// Parses `text` for `workspace`; an empty query matches everyone.
    static func parseQuery(_ text: String, workspace: Workspace) throws -> ContactQuery? {
        guard !text.trimmingWhitespaceAndNewlines().isEmpty else { return nil }
        return try ContactQuery.parse(text, resolver: WorkspaceQueryResolver(workspace: workspace))
    }

    /// The live contacts of `workspace` matching `query`: the planner's index candidates when an index
    /// narrows the query, every contact otherwise; each checked by the evaluator.
    func matchingContacts(_ query: ContactQuery?, workspace: Workspace, in txn: Transaction) throws -> [Contact] {
        var result: [Contact] = []
        try self.forEachMatchingContact(query, workspace: workspace, in: txn) { result.append($0) }
        return result
    }

    /// Visits the live contacts of `workspace` matching `query`, as ``matchingContacts(_:workspace:in:)``
    /// finds them, without holding them.
    func forEachMatchingContact(_ query: ContactQuery?, workspace: Workspace, in txn: Transaction, _ body: (Contact) throws -> Void) throws {
        let evaluator = QueryEvaluator(workspace: workspace, reference: self.reference)
        let projector = try self.stores.projector(txn)
        let readModel = projector.contacts
        let planner = QueryPlanner(contacts: readModel, indexes: try projector.readableIndexes(in: txn), workspace: workspace)
        if let query, let candidates = try planner.candidates(for: query.root, in: txn) {
            for uuid in candidates.sorted() {
                guard let contact = try readModel.contact(uuid, workspace: workspace.name, in: txn), !contact.isDeleted else { continue }
                if evaluator.matches(contact, query) { try body(contact) }
            }
            return
        }
        try readModel.forEachContact(workspace: workspace.name, in: txn) { contact in
            if !contact.isDeleted, query.map({ evaluator.matches(contact, $0) }) ?? true { try body(contact) }
            return true
        }
    }

    func contactsParseQuery(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(QueryParams.self, call)
        return try self.read { txn in
            let workspace = try self.stores.projector(txn).workspaces.workspace(caller.workspace, in: txn)
            guard let query = try Self.parseQuery(params.query, workspace: workspace) else {
                return ["query": "", "attributes": [], "fields": [], "groups": [], "schemes": [], "allow_as_group": true]
            }
            let inspection = query.inspection
            return [
                "query": .string(query.normalized),
                "attributes": .array(inspection.attributeNames.map { .string($0) }),
                "fields": .array(inspection.fields.map { key in
                    ["key": .string(key), "name": .string(workspace.field(key)?.name ?? "")]
                }),
                "groups": .array(inspection.groups.map { name in
                    ["uuid": workspace.group(named: name).map { .string($0.uuid.rawValue) } ?? .null, "name": .string(name)]
                }),
                "schemes": .array(inspection.schemes.map { .string($0) }),
                "allow_as_group": .bool(inspection.allowAsGroup),
            ]
        }
    }

    func contactsCount(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(QueryParams.self, call)
        return try self.read { txn in
            let workspace = try self.stores.projector(txn).workspaces.workspace(caller.workspace, in: txn)
            let query = try Self.parseQuery(params.query, workspace: workspace)
            let total = try self.indexedTotal(of: query, workspace: workspace, in: txn) ?? self.matchingContacts(query, workspace: workspace, in: txn).count
            return ["total": .integer(Int64(total))]
        }
    }

    /// The query errors that no workspace's fields or groups could have avoided, found by parsing the
    /// query against the workspace as it is now with neither (a condition on a field stops that parse at
    /// `unknown_property`, so its errors, which depend on the field's type then, are left to the past
    /// view). The date format and default country of then may differ from now's: `invalid_date` waits.
    static let queryErrorsWhateverTheWorkspace: Set<QueryError.Code> = [
        .syntax, .tooComplex, .unknownPropertyType, .redactedURNs, .invalidStatus, .invalidLanguage, .invalidPartialName,
        .invalidPartialURN, .unsupportedContains, .unsupportedComparison, .unsupportedSetCheck,
    ]

    func contactsSearch(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(SearchParams.self, call)
        let limit = try Self.limit(params.limit)
        let point = try params.asOf.map { try Point($0, field: "as_of") }
        return try self.read { txn in
            var workspace = try self.stores.projector(txn).workspaces.workspace(caller.workspace, in: txn)
            var contacts: [Contact]
            if let point {
                try point.requireWritten(head: self.stores.log.head(in: txn).seq, field: "as_of")
                let anonymous = workspace.anonymous
                // A query refused whatever the workspace held then (its syntax, its length, a status or a
                // language that is none, a URN value in an anonymous workspace) is refused before the log is
                // folded: 18 s of a long-call thread at 372,000 events, for an error. What depends on the
                // fields and groups of then waits for the fold.
                var bare = workspace
                bare.fields = []
                bare.groups = []
                do {
                    _ = try Self.parseQuery(params.query, workspace: bare)
                } catch let error as QueryError where Self.queryErrorsWhateverTheWorkspace.contains(error.code) {
                    throw error
                } catch {}
                (workspace, contacts) = try self.snapshot(of: caller.workspace, at: point, in: txn)
                // Masking follows the workspace as it is now, not as it was then (behaviour reference §8):
                // a workspace made anonymous since must not show its past names and URNs, nor answer a
                // URN-value query about them.
                workspace.anonymous = anonymous
            } else {
                contacts = []
            }
            let query = try Self.parseQuery(params.query, workspace: workspace)
            // An empty sort is the default, newest first (behaviour reference §5.9).
            let order = try SearchOrder(params.sort.flatMap { $0.isEmpty ? nil : $0 } ?? "-id", workspace: workspace)
            let cursor = try params.cursor.map { try order.position(ofCursor: $0) }
            let page: SearchPage
            if point == nil, let ordered = try self.orderedPage(query: query, order: order, after: cursor, limit: limit, workspace: workspace, in: txn) {
                page = ordered
            } else {
                if point == nil {
                    contacts = try self.matchingContacts(query, workspace: workspace, in: txn)
                } else {
                    let evaluator = QueryEvaluator(workspace: workspace, reference: self.reference)
                    contacts = contacts.filter { contact in !contact.isDeleted && (query.map { evaluator.matches(contact, $0) } ?? true) }
                }
                let sorted = order.sorted(contacts)
                let start = cursor.map { cursor in sorted.firstIndex { order.precedes(cursor, order.position(of: $0)) } ?? sorted.count } ?? 0
                let slice = sorted[start...].prefix(limit)
                page = SearchPage(contacts: Array(slice), total: sorted.count, hasMore: start + slice.count < sorted.count)
            }
            let presenter = ContactPresenter(workspace: workspace, reference: self.reference)
            return [
                "contacts": .array(page.contacts.map { presenter.present($0) }),
                "total": .integer(Int64(page.total)),
                "next_cursor": page.hasMore ? page.contacts.last.map { .string(order.cursor(after: $0)) } ?? .null : .null,
                "query": .string(query?.normalized ?? ""),
            ]
        }
    }

    /// The workspace and its contacts as they were at `point`, folded from the log in this snapshot.
    func snapshot(of workspaceName: String, at point: Point, in txn: Transaction) throws -> (Workspace, [Contact]) {
        var workspace = Workspace(name: workspaceName)
        var contacts: [ContactUUID: Contact] = [:]
        try self.stores.log.forEach(after: 0, in: txn) { record in
            let header = try Self.decodedHeader(record)
            guard point.includes(header) else { return false }
            guard header.workspace == workspaceName else { return true }
            let contactUUID = header.contactUUID
            guard let payload = record.payload else {
                if let contactUUID { contacts[contactUUID]?.version = header.version }
                return true
            }
            let event = try Self.decodedDomainEvent(record, payload: payload, header: header)
            if let contactUUID {
                if case .contactCreated(let created) = event {
                    contacts[contactUUID] = Contact(created: created, workspace: workspaceName, at: header.createdOn, version: header.version)
                } else {
                    contacts[contactUUID]?.apply(event, at: header.createdOn, version: header.version)
                }
            } else {
                workspace.apply(event, seq: header.seq)
                if Contact.isChanged(by: event) {
                    for uuid in Array(contacts.keys) { _ = contacts[uuid]?.applyWorkspaceEvent(event, at: header.createdOn) }
                }
            }
            return true
        }
        return (workspace, Array(contacts.values))
    }
}
