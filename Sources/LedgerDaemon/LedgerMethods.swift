// ContactLedger — daemon wiring.
import ContactDomain
import Crypto
import Foundation
import LedgerStore
import Projections
import Logging
import RPC

/// Routes JSON-RPC methods to the ledger: queries read LMDB snapshots directly, commands go through
/// the single writer (``Ledger``) and answer once durable.
final class LedgerMethods: RPCHandler {
    let ledger: Ledger
    let stores: LedgerStores
    let reference: AnonymousReference
    let logger: Logger
    let startedAt = Date()
    static let version = "0.1.0"

    /// The longest `actor` accepted.
    static let maximumActorLength = 256
    /// The longest idempotency key accepted.
    static let maximumIdempotencyKeyLength = 128

    init(ledger: Ledger, reference: AnonymousReference, logger: Logger) {
        self.ledger = ledger
        self.stores = ledger.stores
        self.reference = reference
        self.logger = logger
    }

    typealias Method = @Sendable (LedgerMethods, RPCCall, Caller) async throws -> JSONValue

    /// Every method the daemon serves.
    static let methods: [String: Method] = [
        "system.health": { try await $0.systemHealth($1, $2) },
        "system.stats": { try await $0.systemStats($1, $2) },
        "workspace.configure": { try await $0.workspaceConfigure($1, $2) },
        "workspace.get": { try await $0.workspaceGet($1, $2) },
        "workspace.set_locations": { try await $0.workspaceSetLocations($1, $2) },
        "workspace.locations": { try await $0.workspaceLocations($1, $2) },
        "fields.create": { try await $0.fieldsCreate($1, $2) },
        "fields.update": { try await $0.fieldsUpdate($1, $2) },
        "fields.delete": { try await $0.fieldsDelete($1, $2) },
        "fields.list": { try await $0.fieldsList($1, $2) },
        "fields.usage": { try await $0.fieldsUsage($1, $2) },
        "groups.create": { try await $0.groupsCreate($1, $2) },
        "groups.update": { try await $0.groupsUpdate($1, $2) },
        "groups.delete": { try await $0.groupsDelete($1, $2) },
        "groups.list": { try await $0.groupsList($1, $2) },
        "groups.members": { try await $0.groupsMembers($1, $2) },
        "contacts.create": { try await $0.contactsCreate($1, $2) },
        "contacts.get": { try await $0.contactsGet($1, $2) },
        "contacts.modify": { try await $0.contactsModify($1, $2) },
        "contacts.bulk_modify": { try await $0.contactsBulkModify($1, $2) },
        "contacts.delete": { try await $0.contactsDelete($1, $2) },
        "contacts.history": { try await $0.contactsHistory($1, $2) },
        "contacts.as_of": { try await $0.contactsAsOf($1, $2) },
        "contacts.diff": { try await $0.contactsDiff($1, $2) },
        "contacts.messages": { try await $0.contactsMessages($1, $2) },
        "contacts.search": { try await $0.contactsSearch($1, $2) },
        "contacts.count": { try await $0.contactsCount($1, $2) },
        "contacts.parse_query": { try await $0.contactsParseQuery($1, $2) },
        "messages.receive": { try await $0.messagesReceive($1, $2) },
        "messages.send": { try await $0.messagesSend($1, $2) },
        "events.read": { try await $0.eventsRead($1, $2) },
        "ledger.verify": { try await $0.ledgerVerify($1, $2) },
    ]

    /// Who is calling and in which workspace, from the common params and the socket.
    struct Caller: Sendable {
        var workspace: String
        var actor: String?
        var idempotencyKey: String?
        var peer: Peer?
    }

    func handle(_ call: RPCCall, context: RPCContext) async throws -> [UInt8] {
        guard let method = Self.methods[call.method] else { throw RPCError.methodNotFound(call.method) }
        do {
            let caller = try self.caller(call, context: context)
            let result = try await method(self, call, caller)
            return try JSONLine.encode(result)
        } catch {
            if let mapped = ErrorMapping.rpcError(error) { throw mapped }
            throw error
        }
    }

    private func caller(_ call: RPCCall, context: RPCContext) throws -> Caller {
        let common: CommonParams
        do {
            common = try JSONDecoder().decode(CommonParams.self, from: JSONEncoder().encode(call.params ?? .object([:])))
        } catch {
            // Arrays of positional params are not part of this contract.
            if case .array? = call.params { throw RPCError.invalidParams(field: "params", reason: "must_be_an_object") }
            throw RPCError.invalidParams(field: Self.commonField(call.params), reason: "wrong_type")
        }
        let workspace = common.workspace ?? Workspace.defaultName
        guard Self.isValidWorkspaceName(workspace) else { throw RPCError.invalidParams(field: "workspace", reason: "invalid_workspace_name") }
        if let actor = common.actor, actor.count > Self.maximumActorLength || actor.isEmpty {
            throw RPCError(code: -32006, message: "Limit exceeded", data: ["limit": .integer(Int64(Self.maximumActorLength)), "field": "actor"])
        }
        if let key = common.idempotencyKey {
            guard !key.isEmpty else { throw RPCError.invalidParams(field: "idempotency_key", reason: "empty") }
            guard key.count <= Self.maximumIdempotencyKeyLength else {
                throw RPCError(code: -32006, message: "Limit exceeded", data: ["limit": .integer(Int64(Self.maximumIdempotencyKeyLength)), "field": "idempotency_key"])
            }
        }
        let peer = context.peer.map { Peer(uid: $0.uid, gid: $0.gid, pid: $0.pid) }
        return Caller(workspace: workspace, actor: common.actor, idempotencyKey: common.idempotencyKey, peer: peer)
    }

    private static func commonField(_ params: JSONValue?) -> String {
        for key in ["workspace", "actor", "idempotency_key"] where params?[key]?.stringValue == nil && params?[key] != nil {
            return key
        }
        return "params"
    }

    /// 1–64 of `[A-Za-z0-9_.-]`.
    static func isValidWorkspaceName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { byte in
                (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == 95 || byte == 45
                    || byte == 46
            }
    }

    // MARK: - Running commands and queries

    /// Runs a command through the writer; the answer gets `seq` (its last event, or the head).
    func command(
        _ call: RPCCall,
        _ caller: Caller,
        _ body: @escaping @Sendable (CommandTransaction) throws -> JSONValue
    ) async throws -> JSONValue {
        let context = CommandContext(
            workspace: caller.workspace,
            actor: caller.actor,
            peer: caller.peer,
            idempotencyKey: caller.idempotencyKey,
            paramsHash: Self.paramsHash(call)
        )
        let bytes = try await self.ledger.execute(context) { transaction in
            var result = try body(transaction)
            let seq = try transaction.lastSeq ?? transaction.headSeq()
            if case .object(var members) = result {
                members["seq"] = .integer(Int64(seq))
                result = .object(members)
            }
            return try JSONLine.encode(result)
        }
        return try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    private static func paramsHash(_ call: RPCCall) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let bytes = (try? encoder.encode(call.params ?? .object([:]))) ?? Data()
        return Array(SHA256.hash(data: Array(call.method.utf8) + [0] + Array(bytes)))
    }

    /// Runs `body` in a read snapshot.
    func read<T>(_ body: (Transaction) throws -> T) throws -> T {
        try self.stores.environment.read(body)
    }

    /// The presenter for `workspace` as of `txn`.
    func presenter(_ workspace: String, in txn: Transaction) throws -> ContactPresenter {
        ContactPresenter(workspace: try self.stores.projector.workspaces.workspace(workspace, in: txn), reference: self.reference)
    }

    func params<T: MethodParams>(_ type: T.Type, _ call: RPCCall) throws -> T {
        try ParamsDecoding.decode(type, from: call.params)
    }

    /// Parses a contact UUID param.
    static func contactUUID(_ text: String, field: String = "uuid") throws -> ContactUUID {
        guard let uuid = ContactUUID(text) else { throw RPCError.invalidParams(field: field, reason: "not_a_uuid") }
        return uuid
    }

    /// Parses a group UUID param.
    static func groupUUID(_ text: String, field: String) throws -> GroupUUID {
        guard let uuid = GroupUUID(text) else { throw RPCError.invalidParams(field: field, reason: "not_a_uuid") }
        return uuid
    }

    /// The page size: default 50, 1…1000.
    static func limit(_ value: Int?) throws -> Int {
        guard let value else { return 50 }
        guard value >= 1 else { throw RPCError.invalidParams(field: "limit", reason: "must_be_positive") }
        guard value <= 1000 else {
            throw RPCError(code: -32006, message: "Limit exceeded", data: ["limit": 1000, "field": "limit"])
        }
        return value
    }

    /// A seq cursor (opaque to clients: the decimal text of a position).
    static func seqCursor(_ cursor: String?) throws -> UInt64? {
        guard let cursor else { return nil }
        guard let value = UInt64(cursor) else { throw RPCError.invalidParams(field: "cursor", reason: "invalid_cursor") }
        return value
    }
}
