// ContactLedger — daemon wiring.
import ContactDomain
import LedgerStore
import Projections
import RPC

extension LedgerMethods {
    /// A group as the contract shows it: `{uuid, name, query, status, count}`.
    func present(_ group: Group, workspace: String, in txn: Transaction) throws -> JSONValue {
        var count = 0
        try self.stores.projector.contacts.forEachContact(workspace: workspace, in: txn) { contact in
            if contact.groups.contains(group.uuid) { count += 1 }
            return true
        }
        return [
            "uuid": .string(group.uuid.rawValue),
            "name": .string(group.name),
            "query": group.query.map { .string($0) } ?? .null,
            "status": "ready",
            "count": .integer(Int64(count)),
        ]
    }

    /// Refuses smart-group queries: membership by query is not evaluated by this build.
    private static func refuseQuery(_ query: String?) throws {
        guard query == nil else {
            throw RPCError(code: -32003, message: "Not allowed in the current state", data: ["reason": "smart_groups_unavailable", "field": "query"])
        }
    }

    func groupsCreate(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(GroupCreateParams.self, call)
        try Self.refuseQuery(params.query)
        let uuid = GroupUUID.random()
        return try await self.command(call, caller) { tx in
            let events = try WorkspaceDecider.createGroup(uuid: uuid, name: params.name, query: nil, workspace: try tx.workspace())
            try tx.append(events, to: EventHeader.workspaceStream(caller.workspace))
            guard let group = try tx.workspace().group(uuid) else { throw ContactError.notFound("group", id: uuid.rawValue) }
            return try self.present(group, workspace: caller.workspace, in: tx.txn)
        }
    }

    func groupsUpdate(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(GroupUpdateParams.self, call)
        let uuid = try Self.groupUUID(params.uuid, field: "uuid")
        try Self.refuseQuery(params.query)
        return try await self.command(call, caller) { tx in
            let workspace = try tx.workspace()
            guard let group = workspace.group(uuid) else { throw ContactError.notFound("group", id: uuid.rawValue) }
            if let name = params.name, name != group.name {
                try WorkspaceDecider.validateGroupName(name, workspace: workspace, except: uuid)
                try tx.append([.groupUpdated(GroupUpdated(uuid: uuid, name: name))], to: EventHeader.workspaceStream(caller.workspace))
            }
            guard let updated = try tx.workspace().group(uuid) else { throw ContactError.notFound("group", id: uuid.rawValue) }
            return try self.present(updated, workspace: caller.workspace, in: tx.txn)
        }
    }

    func groupsDelete(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(GroupUUIDParams.self, call)
        let uuid = try Self.groupUUID(params.uuid, field: "uuid")
        return try await self.command(call, caller) { tx in
            guard try tx.workspace().group(uuid) != nil else { throw ContactError.notFound("group", id: uuid.rawValue) }
            try tx.append([.groupDeleted(uuid: uuid)], to: EventHeader.workspaceStream(caller.workspace))
            return ["uuid": .string(uuid.rawValue)]
        }
    }

    func groupsList(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        _ = try self.params(EmptyParams.self, call)
        return try self.read { txn in
            let workspace = try self.stores.projector.workspaces.workspace(caller.workspace, in: txn)
            return ["groups": .array(try workspace.groups.map { try self.present($0, workspace: caller.workspace, in: txn) })]
        }
    }

    func groupsMembers(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(GroupUUIDParams.self, call)
        let uuid = try Self.groupUUID(params.uuid, field: "uuid")
        let limit = try Self.limit(params.limit)
        let after = try params.cursor.map { try Self.contactUUID($0, field: "cursor") }
        return try self.read { txn in
            let presenter = try self.presenter(caller.workspace, in: txn)
            guard presenter.workspace.group(uuid) != nil else { throw ContactError.notFound("group", id: uuid.rawValue) }
            var items: [JSONValue] = []
            var last: ContactUUID?
            var more = false
            try self.stores.projector.contacts.forEachContact(workspace: caller.workspace, after: after, in: txn) { contact in
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
