// ContactLedger — daemon wiring.
import ContactDomain
import LedgerStore
import Projections
import RPC

extension LedgerMethods {
    /// A group as the contract shows it: `{uuid, name, query, status, count}`; `status` is
    /// `evaluating` while a smart group's query is being applied to everyone, then `ready`, or `invalid`
    /// when its query no longer parses against the workspace (a field's type or the date format changed
    /// under it): it has no members then (§4.2), and said so, where it showed `ready` with none.
    ///
    /// Status and count come from the same snapshot: the evaluation's scheduled position is deleted in
    /// the transaction of its last chunk, so `ready` is never shown beside a count that lacks members.
    /// An anonymous workspace shows the query with its URN values masked (``ContactPresenter/presentQuery(_:)``).
    func present(_ group: Group, in workspace: Workspace, status: String? = nil, in txn: Transaction) throws -> JSONValue {
        let count = try self.stores.projector(txn).contacts.index.count(matching: .group(group.uuid), workspace: workspace.name, in: txn)
        let evaluating = try group.isSmart && self.populator.isScheduled(GroupPopulator.Job(workspace: workspace.name, group: group.uuid), in: txn)
        let parses = group.query.map { (try? ContactQuery.parse($0, resolver: WorkspaceQueryResolver(workspace: workspace))) != nil } ?? true
        let presenter = ContactPresenter(workspace: workspace, reference: self.reference)
        return [
            "uuid": .string(group.uuid.rawValue),
            "name": .string(group.name),
            "query": group.query.map { .string(presenter.presentQuery($0)) } ?? .null,
            "status": .string(status ?? (evaluating ? "evaluating" : parses ? "ready" : "invalid")),
            "count": .integer(Int64(count)),
        ]
    }

    /// Parses a smart group's query; it must be allowed as a group (no `id`, `ref`, `status`, `group`…).
    static func smartGroupQuery(_ text: String, workspace: Workspace) throws -> String {
        guard let query = try Self.parseQuery(text, workspace: workspace) else {
            throw RPCError.invalidParams(field: "query", reason: "empty")
        }
        guard query.inspection.allowAsGroup else { throw RPCError.invalidParams(field: "query", reason: "not_allowed_as_group") }
        return query.normalized
    }

    func groupsCreate(_ call: RPCCall, _ caller: Caller) async throws -> EncodedAnswer {
        let params = try self.params(GroupCreateParams.self, call)
        let uuid = GroupUUID.random()
        let job = GroupPopulator.Job(workspace: caller.workspace, group: uuid)
        let answer = try await self.command(call, caller) { tx in
            let workspace = try tx.workspace()
            let query = try params.query.map { try Self.smartGroupQuery($0, workspace: workspace) }
            let events = try WorkspaceDecider.createGroup(uuid: uuid, name: params.name, query: query, workspace: workspace)
            try tx.append(events, to: EventHeader.workspaceStream(caller.workspace))
            try self.populator.record(events, workspace: caller.workspace, smartGroups: { [] }, by: tx.context, in: tx.txn)
            let created = try tx.workspace()
            guard let group = created.group(uuid) else { throw ContactError.notFound("group", id: uuid.rawValue) }
            return try self.present(group, in: created, status: query == nil ? "ready" : "evaluating", in: tx.txn)
        }
        if params.query != nil { self.populator.start(job) }
        return answer
    }

    func groupsUpdate(_ call: RPCCall, _ caller: Caller) async throws -> EncodedAnswer {
        let params = try self.params(GroupUpdateParams.self, call)
        let uuid = try Self.groupUUID(params.uuid, field: "uuid")
        let job = GroupPopulator.Job(workspace: caller.workspace, group: uuid)
        let answer = try await self.command(call, caller) { tx in
            let workspace = try tx.workspace()
            guard let group = workspace.group(uuid) else { throw ContactError.notFound("group", id: uuid.rawValue) }
            var update = GroupUpdated(uuid: uuid)
            if let name = params.name, !name.isCodePointEqual(to: group.name) {
                try WorkspaceDecider.validateGroupName(name, workspace: workspace, except: uuid)
                update.name = name
            }
            if let text = params.query {
                guard group.isSmart else {
                    throw ContactError(.invalidState, reason: "manual_group", field: "query")
                }
                let query = try Self.smartGroupQuery(text, workspace: workspace)
                if query != group.query {
                    // As in RapidPro: a query is not changed under an evaluation still applying it.
                    guard try !self.populator.isScheduled(job, in: tx.txn) else {
                        throw ContactError(.invalidState, reason: "group_evaluating", field: "query")
                    }
                    update.query = query
                }
            }
            if update.name != nil || update.query != nil {
                try tx.append([.groupUpdated(update)], to: EventHeader.workspaceStream(caller.workspace))
                try self.populator.record([.groupUpdated(update)], workspace: caller.workspace, smartGroups: { [] }, by: tx.context, in: tx.txn)
            }
            let changed = try tx.workspace()
            guard let updated = changed.group(uuid) else { throw ContactError.notFound("group", id: uuid.rawValue) }
            return try self.present(updated, in: changed, status: update.query != nil ? "evaluating" : nil, in: tx.txn)
        }
        // Start evaluating if this command scheduled it (a changed query).
        if case .object(let members) = try answer.decoded(), members["status"] == "evaluating" {
            self.populator.startUnlessRunning(job)
        }
        return answer
    }

    func groupsDelete(_ call: RPCCall, _ caller: Caller) async throws -> EncodedAnswer {
        let params = try self.params(GroupUUIDParams.self, call)
        let uuid = try Self.groupUUID(params.uuid, field: "uuid")
        return try await self.command(call, caller, isBulk: true) { tx in
            guard try tx.workspace().group(uuid) != nil else { throw ContactError.notFound("group", id: uuid.rawValue) }
            try tx.append([.groupDeleted(uuid: uuid)], to: EventHeader.workspaceStream(caller.workspace))
            try self.populator.record([.groupDeleted(uuid: uuid)], workspace: caller.workspace, smartGroups: { [] }, by: tx.context, in: tx.txn)
            return ["uuid": .string(uuid.rawValue)]
        }
    }

    func groupsList(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        _ = try self.params(EmptyParams.self, call)
        return try self.read { txn in
            let workspace = try self.stores.projector(txn).workspaces.workspace(caller.workspace, in: txn)
            return ["groups": .array(try workspace.groups.map { try self.present($0, in: workspace, in: txn) })]
        }
    }

    func groupsMembers(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(GroupMembersParams.self, call)
        let uuid = try Self.groupUUID(params.uuid, field: "uuid")
        let limit = try Self.limit(params.limit)
        let after = try params.cursor.map { try Self.contactUUID($0, field: "cursor") }
        return try self.read { txn in
            let presenter = try self.presenter(caller.workspace, in: txn)
            guard presenter.workspace.group(uuid) != nil else { throw ContactError.notFound("group", id: uuid.rawValue) }
            var items: [JSONValue] = []
            var last: ContactUUID?
            var more = false
            try self.stores.projector(txn).contacts.forEachContact(workspace: caller.workspace, after: after, in: txn) { contact in
                guard contact.groups.contains(uuid) else { return true }
                if items.count == limit {
                    more = true
                    return false
                }
                items.append(presenter.present(contact))
                last = contact.uuid
                return true
            }
            return ["items": .array(items), "next_cursor": more ? last.map { .string($0.rawValue) } ?? .null : .null]
        }
    }
}
