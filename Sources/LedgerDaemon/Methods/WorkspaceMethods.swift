// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import LedgerStore
import Projections
import RPC
import Synchronization

extension LedgerMethods {
    static func settings(_ workspace: Workspace) -> [String: JSONValue] {
        [
            "name": .string(workspace.name),
            "default_country": workspace.defaultCountry.map { .string($0) } ?? .null,
            "timezone": .string(workspace.timezone),
            "date_format": .string(workspace.dateFormat.rawValue),
            "anonymous": .bool(workspace.anonymous),
        ]
    }

    func workspaceConfigure(_ call: RPCCall, _ caller: Caller) async throws -> EncodedAnswer {
        let params = try self.params(WorkspaceConfigureParams.self, call)
        let settings = WorkspaceDecider.Settings(
            defaultCountry: params.defaultCountry,
            timezone: params.timezone,
            dateFormat: params.dateFormat,
            anonymous: params.anonymous
        )
        let reevaluated = Mutex<[GroupPopulator.Job]>([])
        let answer = try await self.command(call, caller) { tx in
            var workspace = try tx.workspace()
            // Only IANA names are set (a name Foundation also takes, `GMT+5`, means the opposite of `Etc/GMT+5`);
            // a workspace stored with another before keeps it, and may be sent it again.
            if let timezone = params.timezone, timezone != workspace.timezone, !IANAZoneNames.contains(timezone) {
                throw ContactError.invalid("timezone", "unknown_timezone")
            }
            let events = try WorkspaceDecider.configure(settings, workspace: workspace)
            try tx.append(events, to: EventHeader.workspaceStream(caller.workspace))
            workspace = try tx.workspace()
            // A smart group's query means something else under other settings (URN conditions stop
            // parsing in an anonymous workspace; days are the time zone's): every one is evaluated again.
            let smartGroups = workspace.groups.filter(\.isSmart).map(\.uuid)
            let jobs = try self.populator.record(events, workspace: caller.workspace, smartGroups: { smartGroups }, by: tx.context, in: tx.txn)
            reevaluated.withLock { $0 = jobs }
            return .object(Self.settings(workspace))
        }
        for job in reevaluated.withLock({ $0 }) { self.populator.startUnlessRunning(job) }
        return answer
    }

    func workspaceGet(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        _ = try self.params(EmptyParams.self, call)
        return try self.read { txn in
            let workspace = try self.stores.projector(txn).workspaces.workspace(caller.workspace, in: txn)
            var contacts = 0
            var byStatus: [String: Int] = [:]
            try self.stores.projector(txn).contacts.forEachContact(workspace: caller.workspace, in: txn) { contact in
                guard !contact.isDeleted else { return true }
                contacts += 1
                byStatus[contact.status.rawValue, default: 0] += 1
                return true
            }
            var object = Self.settings(workspace)
            object["counts"] = [
                "contacts": .integer(Int64(contacts)),
                "active": .integer(Int64(byStatus["active"] ?? 0)),
                "blocked": .integer(Int64(byStatus["blocked"] ?? 0)),
                "stopped": .integer(Int64(byStatus["stopped"] ?? 0)),
                "archived": .integer(Int64(byStatus["archived"] ?? 0)),
                "fields": .integer(Int64(workspace.fields.count)),
                "groups": .integer(Int64(workspace.groups.count)),
            ]
            return .object(object)
        }
    }

    func workspaceSetLocations(_ call: RPCCall, _ caller: Caller) async throws -> EncodedAnswer {
        let params = try self.params(SetLocationsParams.self, call)
        try Self.refuseUnknownLocationMembers(params.hierarchy, at: "hierarchy")
        let root: LocationNode
        do {
            root = try JSONValueDecoder().decode(LocationNode.self, from: params.hierarchy)
        } catch let error as DecodingError {
            let path: [any CodingKey]
            switch error {
            case .keyNotFound(_, let context), .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
                path = context.codingPath
            @unknown default:
                path = []
            }
            let suffix = ParamsDecoding.path(path)
            throw RPCError.invalidParams(field: suffix == "params" ? "hierarchy" : "hierarchy.\(suffix)", reason: "invalid")
        }
        return try await self.command(call, caller) { tx in
            try tx.append(try WorkspaceDecider.setLocations(root), to: EventHeader.workspaceStream(caller.workspace))
            // The tree as stored, as `workspace.locations` shows it: the request echoed kept the nulls
            // it was sent (`"aliases": null`), a shape the result's schema refuses (contract audit).
            return try Self.presentLocations(try tx.workspace())
        }
    }

    /// A location is `{name, aliases?, children?}`: like every param, a member the contract does not name
    /// is refused (it was accepted, dropped from what was stored, and echoed in the answer).
    static func refuseUnknownLocationMembers(_ node: JSONValue, at path: String) throws {
        guard case .object(let members) = node else { return }  // The decoder names a wrong type.
        for key in members.keys.sorted() where !["name", "aliases", "children"].contains(key) {
            throw RPCError.invalidParams(field: path + "." + key, reason: "unknown_member")
        }
        for (index, child) in (members["children"]?.arrayValue ?? []).enumerated() {
            try Self.refuseUnknownLocationMembers(child, at: "\(path).children[\(index)]")
        }
    }

    func workspaceLocations(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        _ = try self.params(EmptyParams.self, call)
        return try self.read { txn in
            try Self.presentLocations(try self.stores.projector(txn).workspaces.workspace(caller.workspace, in: txn))
        }
    }

    /// `{hierarchy}`: the workspace's location tree, or null.
    static func presentLocations(_ workspace: Workspace) throws -> JSONValue {
        guard let locations = workspace.locations else { return ["hierarchy": .null] }
        return ["hierarchy": try JSONValue(parsing: try JSONEncoder().encode(locations))]
    }

    // MARK: - Fields

    static func present(_ field: FieldDefinition) -> JSONValue {
        [
            "key": .string(field.key.rawValue),
            "name": .string(field.name),
            "type": .string(field.type.rawValue),
            "featured": .bool(field.featured),
            "priority": .integer(Int64(field.priority)),
        ]
    }

    /// As the schema has it (a key matches `^[a-z][a-z0-9_]*$`): a key left empty is a malformed call, not
    /// an unknown field.
    private static func checkKeyGiven(_ key: String) throws {
        guard !key.isEmpty else { throw RPCError.invalidParams(field: "key", reason: "empty") }
    }

    func fieldsCreate(_ call: RPCCall, _ caller: Caller) async throws -> EncodedAnswer {
        let params = try self.params(FieldCreateParams.self, call)
        return try await self.command(call, caller) { tx in
            let events = try WorkspaceDecider.createField(key: params.key, name: params.name, type: params.type, workspace: try tx.workspace())
            try tx.append(events, to: EventHeader.workspaceStream(caller.workspace))
            guard let field = try tx.workspace().field(params.key) else { throw ContactError.notFound("field", id: params.key) }
            return Self.present(field)
        }
    }

    func fieldsUpdate(_ call: RPCCall, _ caller: Caller) async throws -> EncodedAnswer {
        let params = try self.params(FieldUpdateParams.self, call)
        try Self.checkKeyGiven(params.key)
        return try await self.command(call, caller) { tx in
            let workspace = try tx.workspace()
            // A type that is none (the decider refuses it as invalid params) is no change of type.
            if let type = params.type, FieldType(rawValue: type) != nil, !Self.groups(using: params.key, in: workspace).isEmpty,
                let current = workspace.field(params.key), type != current.type.rawValue
            {
                throw ContactError(.invalidState, reason: "field_in_use", field: "type")
            }
            let events = try WorkspaceDecider.updateField(
                key: params.key, name: params.name, type: params.type, featured: params.featured, priority: params.priority,
                workspace: workspace
            )
            try tx.append(events, to: EventHeader.workspaceStream(caller.workspace))
            guard let field = try tx.workspace().field(params.key) else { throw ContactError.notFound("field", id: params.key) }
            return Self.present(field)
        }
    }

    func fieldsDelete(_ call: RPCCall, _ caller: Caller) async throws -> EncodedAnswer {
        let params = try self.params(FieldKeyParams.self, call)
        try Self.checkKeyGiven(params.key)
        return try await self.command(call, caller, isBulk: true) { tx in
            let workspace = try tx.workspace()
            let events = try WorkspaceDecider.deleteField(key: params.key, usedBy: Self.groups(using: params.key, in: workspace), workspace: workspace)
            try tx.append(events, to: EventHeader.workspaceStream(caller.workspace))
            return ["key": .string(params.key)]
        }
    }

    func fieldsList(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        _ = try self.params(EmptyParams.self, call)
        return try self.read { txn in
            let workspace = try self.stores.projector(txn).workspaces.workspace(caller.workspace, in: txn)
            return ["fields": .array(FieldDefinition.displayOrder(workspace.fields).map(Self.present))]
        }
    }

    func fieldsUsage(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(FieldUsageParams.self, call)
        try Self.checkKeyGiven(params.key)
        return try self.read { txn in
            let workspace = try self.stores.projector(txn).workspaces.workspace(caller.workspace, in: txn)
            guard workspace.field(params.key) != nil else { throw ContactError.notFound("field", id: params.key) }
            let groups = Self.groups(using: params.key, in: workspace)
            return [
                "key": .string(params.key),
                "groups": .array(groups.map { ["uuid": .string($0.uuid.rawValue), "name": .string($0.name)] }),
            ]
        }
    }

    /// The smart groups whose query reads field `key`: the fields of a query that parses against the
    /// workspace, or else against it with another date format, or not anonymous. A query is stored as
    /// written, its dates in the format of then, and a workspace made anonymous parses no query on URN
    /// values: such a query no longer parsed, its group was taken for using no field, and the field it
    /// reads could be deleted under it (§4.2: the fields a smart group references are its dependencies).
    static func groups(using key: String, in workspace: Workspace) -> [Group] {
        let formats = [workspace.dateFormat] + DateFormat.allCases.filter { $0 != workspace.dateFormat }
        let readings = (workspace.anonymous ? [true, false] : [false]).flatMap { anonymous in
            formats.map { format in
                var reading = workspace
                reading.dateFormat = format
                reading.anonymous = anonymous
                return WorkspaceQueryResolver(workspace: reading)
            }
        }
        return workspace.groups.filter { group in
            guard let query = group.query else { return false }
            for resolver in readings {
                if let parsed = try? ContactQuery.parse(query, resolver: resolver) {
                    return parsed.inspection.fields.contains(key)
                }
            }
            return false
        }
    }
}
