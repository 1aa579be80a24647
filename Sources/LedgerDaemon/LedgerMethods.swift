// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import LedgerStore
import Projections
import Logging
import RPC

/// Routes JSON-RPC methods to the ledger: queries read LMDB snapshots directly, commands go through
/// the single writer (``Ledger``) and answer once durable.
final class LedgerMethods: RPCHandler {
    let ledger: Ledger
    let rebuilder: ProjectionRebuilder
    let populator: GroupPopulator
    let access: AccessPolicy
    let stores: LedgerStores
    let logger: Logger
    /// The anonymous refs as the ledger's key makes them now.
    var reference: AnonymousReference { self.ledger.reference }
    /// When the daemon started, on a clock that a step of the wall clock does not move: an uptime taken
    /// from `Date()` went negative when the clock was set back.
    let startedAt = ContinuousClock.now
    let subscriptions = Subscriptions()
    /// Turns of `projections.verify`, which share the scratch tables.
    let verifications = Turns()
    /// Turns of `ledger.backup`, which may name one directory.
    let backups = Turns()
    /// Workspaces' default countries as last seen, to normalize URNs before the writer.
    let countryHints = DefaultCountryHints()
    /// Replication figures; a read replica (`--follow`) refuses commands.
    let replication: ReplicationStatus
    /// The most records one import may hold (`import_max_records`).
    let importMaximumRecords: Int
    /// Events a caught-up subscriber may fall behind before it is cut off (`subscriber_max_lag`).
    let subscriberMaximumLag: UInt64
    static let version = "0.1.0"

    /// The longest `actor` accepted.
    static let maximumActorLength = 256
    /// The longest idempotency key accepted.
    static let maximumIdempotencyKeyLength = 128

    init(
        ledger: Ledger, rebuilder: ProjectionRebuilder, populator: GroupPopulator,
        access: AccessPolicy, logger: Logger, replication: ReplicationStatus = ReplicationStatus(),
        importMaximumRecords: Int = ImportPlan.maximumRecords,
        subscriberMaximumLag: UInt64 = UInt64(DaemonConfiguration.defaultSubscriberMaximumLag)
    ) {
        self.importMaximumRecords = importMaximumRecords
        self.subscriberMaximumLag = subscriberMaximumLag
        self.populator = populator
        self.replication = replication
        self.access = access
        self.ledger = ledger
        self.rebuilder = rebuilder
        self.stores = ledger.stores
        self.logger = logger
    }

    /// The daemon is stopping: imports and smart groups' evaluations end between their commands.
    func serverStopping() {
        self.ledger.refuseBulkCommands()
    }

    typealias Method = @Sendable (LedgerMethods, RPCCall, Caller, RPCContext) async throws -> any MethodAnswer

    /// Every method the daemon serves.
    static let methods: [String: Method] = [
        "system.health": { methods, call, caller, _ in try await methods.systemHealth(call, caller) },
        "system.stats": { methods, call, caller, _ in try await methods.systemStats(call, caller) },
        "system.methods": { methods, call, _, _ in
            // The names served, sorted (Schemas/openrpc.json is checked against this list).
            _ = try methods.params(EmptyParams.self, call)
            return JSONValue.object(["methods": .array(LedgerMethods.methods.keys.sorted().map { .string($0) })])
        },
        "workspace.configure": { methods, call, caller, _ in try await methods.workspaceConfigure(call, caller) },
        "workspace.get": { methods, call, caller, _ in try await methods.workspaceGet(call, caller) },
        "workspace.set_locations": { methods, call, caller, _ in try await methods.workspaceSetLocations(call, caller) },
        "workspace.locations": { methods, call, caller, _ in try await methods.workspaceLocations(call, caller) },
        "fields.create": { methods, call, caller, _ in try await methods.fieldsCreate(call, caller) },
        "fields.update": { methods, call, caller, _ in try await methods.fieldsUpdate(call, caller) },
        "fields.delete": { methods, call, caller, _ in try await methods.fieldsDelete(call, caller) },
        "fields.list": { methods, call, caller, _ in try await methods.fieldsList(call, caller) },
        "fields.usage": { methods, call, caller, _ in try await methods.fieldsUsage(call, caller) },
        "groups.create": { methods, call, caller, _ in try await methods.groupsCreate(call, caller) },
        "groups.update": { methods, call, caller, _ in try await methods.groupsUpdate(call, caller) },
        "groups.delete": { methods, call, caller, _ in try await methods.groupsDelete(call, caller) },
        "groups.list": { methods, call, caller, _ in try await methods.groupsList(call, caller) },
        "groups.members": { methods, call, caller, _ in try await methods.groupsMembers(call, caller) },
        "contacts.create": { methods, call, caller, _ in try await methods.contactsCreate(call, caller) },
        "contacts.get": { methods, call, caller, _ in try await methods.contactsGet(call, caller) },
        "contacts.modify": { methods, call, caller, _ in try await methods.contactsModify(call, caller) },
        "contacts.bulk_modify": { methods, call, caller, _ in try await methods.contactsBulkModify(call, caller) },
        "contacts.delete": { methods, call, caller, _ in try await methods.contactsDelete(call, caller) },
        "contacts.history": { methods, call, caller, _ in try await methods.contactsHistory(call, caller) },
        "contacts.as_of": { methods, call, caller, _ in try await methods.contactsAsOf(call, caller) },
        "contacts.diff": { methods, call, caller, _ in try await methods.contactsDiff(call, caller) },
        "contacts.messages": { methods, call, caller, _ in try await methods.contactsMessages(call, caller) },
        "contacts.search": { methods, call, caller, _ in try await methods.contactsSearch(call, caller) },
        "contacts.count": { methods, call, caller, _ in try await methods.contactsCount(call, caller) },
        "contacts.parse_query": { methods, call, caller, _ in try await methods.contactsParseQuery(call, caller) },
        "messages.receive": { methods, call, caller, _ in try await methods.messagesReceive(call, caller) },
        "messages.send": { methods, call, caller, _ in try await methods.messagesSend(call, caller) },
        "events.read": { methods, call, caller, _ in try await methods.eventsRead(call, caller) },
        "ledger.verify": { methods, call, caller, _ in try await methods.ledgerVerify(call, caller) },
        "audit.changes": { methods, call, caller, _ in try await methods.auditChanges(call, caller) },
        "ledger.backup": { methods, call, caller, _ in try await methods.ledgerBackup(call, caller) },
        "projections.status": { methods, call, caller, _ in try await methods.projectionsStatus(call, caller) },
        "projections.rebuild": { methods, call, caller, _ in try await methods.projectionsRebuild(call, caller) },
        "projections.verify": { methods, call, caller, _ in try await methods.projectionsVerify(call, caller) },
        "events.subscribe": { methods, call, caller, context in try await methods.eventsSubscribe(call, caller, context: context) },
        "events.unsubscribe": { methods, call, caller, context in try await methods.eventsUnsubscribe(call, caller, context: context) },
        "imports.start": { methods, call, caller, _ in try await methods.importsStart(call, caller) },
        "imports.status": { methods, call, caller, _ in try await methods.importsStatus(call, caller) },
        "exports.start": { methods, call, caller, _ in try await methods.exportsStart(call, caller) },
        "exports.status": { methods, call, caller, _ in try await methods.exportsStatus(call, caller) },
    ]

    /// Methods that only read: `read` grants allow them. Every other method but the ``readingCommands``
    /// writes (or controls the daemon) and needs a `write` grant.
    static let queryMethods: Set<String> = [
        "system.health", "system.stats", "system.methods", "workspace.get", "workspace.locations", "fields.list", "fields.usage",
        "groups.list", "groups.members", "contacts.get", "contacts.search", "contacts.count", "contacts.parse_query",
        "contacts.history", "contacts.as_of", "contacts.diff", "contacts.messages", "audit.changes", "ledger.verify",
        "events.read", "events.subscribe", "events.unsubscribe", "projections.status", "imports.status", "exports.status",
    ]

    /// Methods that reach the whole ledger rather than one workspace's data (every workspace's events in
    /// a backup, the read models all workspaces share, daemon-wide counts): only grants without a
    /// workspace limit allow them.
    static let daemonWideMethods: Set<String> = [
        "system.stats", "ledger.verify", "ledger.backup", "projections.rebuild", "projections.verify",
    ]

    /// Methods that reach nothing of any workspace (liveness, the method list, the read models' state):
    /// any grant of the peer's allows them.
    static let unscopedMethods: Set<String> = ["system.health", "system.methods", "projections.status"]

    /// Commands that only read one workspace's data: an export writes a sheet of it and appends no event
    /// (replicas serve it too), so a read grant allows it (with `files=yes` for a `path`).
    static let readingCommands: Set<String> = ["exports.start"]

    /// Methods whose `path` names a file on the daemon's host, read or written with the daemon's rights.
    static let fileMethods: Set<String> = ["imports.start", "exports.start", "ledger.backup"]

    /// Methods whose work may take long (a scan of a workspace's contacts or of the log, a history folded
    /// from the log, a file read and checked): they run on ``LongCallThreads``, not on the event loop
    /// that serves their connection and others.
    static let longMethods: Set<String> = [
        "system.stats", "workspace.get", "fields.usage", "groups.members", "contacts.search", "contacts.count",
        "contacts.history", "contacts.as_of", "contacts.diff", "contacts.messages", "audit.changes", "events.read",
        "ledger.verify", "ledger.backup", "projections.verify", "imports.start", "exports.start",
    ]

    /// Methods a read replica serves besides the queries: they change no event of the log.
    static let replicaMethods: Set<String> = ["projections.rebuild", "projections.verify", "ledger.backup", "exports.start"]

    /// Who is calling and in which workspace, from the common params and the socket.
    struct Caller: Sendable {
        var workspace: String
        var actor: String?
        var idempotencyKey: String?
        var peer: Peer?
        var connection: UInt64? = nil
    }

    func handle(_ call: RPCCall, context: RPCContext) async throws -> [UInt8] {
        guard let method = Self.methods[call.method] else { throw RPCError.methodNotFound(call.method) }
        do {
            if self.replication.isReadOnly, !Self.queryMethods.contains(call.method), !Self.replicaMethods.contains(call.method) {
                throw StorageUnavailable(reason: "read_only_replica")
            }
            let caller = try self.caller(call, context: context)
            try self.checkAccess(call, caller: caller, context: context)
            guard Self.longMethods.contains(call.method) else { return try await method(self, call, caller, context).encodedAnswer() }
            return try await LongCallThreads.run(for: context.longCallOwner) {
                try await method(self, call, caller, context).encodedAnswer()
            }
        } catch {
            if case LogError.damaged(let seq, let damage) = error {
                // The answer says only "log_damaged": the operator learns where from the log.
                self.logger.error(
                    "log damaged", metadata: ["rpc.method": "\(call.method)", "ledger.seq": "\(seq)", "log.damage": "\(damage.rawValue)"]
                )
            }
            if let error = error as? LMDBError, error.isDamagedPage {
                // LMDB names no file: which store it was, and the way out, are the README's (Damaged or
                // lost files); the operator learns of it here.
                self.logger.error(
                    "storage damaged",
                    metadata: ["rpc.method": "\(call.method)", "lmdb.code": "\(error.code.rawValue)", "way_out": "\(Self.damagedPageWayOut)"]
                )
            }
            if let mapped = ErrorMapping.rpcError(error) { throw mapped }
            throw error
        }
    }

    /// What an operator does about a damaged page LMDB reported without naming its file: find the store, then
    /// the way out the README gives for it (Damaged or lost files).
    static let damagedPageWayOut = "find the damaged store: contactledger verify reads the log (data.mdb: restore it from a backup), "
        + "contactledger projections verify contacts the read models (readmodels/: stop the daemon and move it away, they are rebuilt from the log)"

    /// Refuses a call the access policy does not allow: -32007 with the workspace it reached (`*` for
    /// the whole ledger) and the method, and `field: "path"` when only its file was not allowed.
    private func checkAccess(_ call: RPCCall, caller: Caller, context: RPCContext) throws {
        guard !self.access.grants.isEmpty else { return }
        let scope: AccessPolicy.Scope =
            Self.unscopedMethods.contains(call.method) ? .none
            : Self.daemonWideMethods.contains(call.method) ? .daemon : .workspace(caller.workspace)
        let uid = context.peer?.uid
        let peer = AccessPolicy.Peer(uid: uid, gid: context.peer?.gid, groups: context.peer?.groups ?? [])
        let writes = !Self.queryMethods.contains(call.method) && !Self.readingCommands.contains(call.method)
        let namesFiles = Self.fileMethods.contains(call.method) && call.params?["path"] != nil
        guard !self.access.allows(peer, scope: scope, writes: writes, namesFiles: namesFiles) else { return }
        self.logger.notice("call refused by the access policy", metadata: ["rpc.method": "\(call.method)", "peer.uid": "\(uid ?? 0)"])
        var data: [String: JSONValue] = [
            "workspace": .string(scope == .daemon ? "*" : caller.workspace), "method": .string(call.method),
        ]
        if namesFiles, self.access.allows(peer, scope: scope, writes: writes, namesFiles: false) { data["field"] = "path" }
        throw RPCError(code: -32007, message: "Forbidden", data: .object(data))
    }

    private func caller(_ call: RPCCall, context: RPCContext) throws -> Caller {
        let common: CommonParams
        do {
            common = try JSONValueDecoder().decode(CommonParams.self, from: call.params ?? .object([:]))
        } catch {
            // Arrays of positional params are not part of this contract.
            if case .array? = call.params { throw RPCError.invalidParams(field: "params", reason: "must_be_an_object") }
            throw RPCError.invalidParams(field: Self.commonField(call.params), reason: "wrong_type")
        }
        let workspace = common.workspace ?? Workspace.defaultName
        guard Self.isValidWorkspaceName(workspace) else { throw RPCError.invalidParams(field: "workspace", reason: "invalid_workspace_name") }
        if let actor = common.actor {
            guard !actor.isEmpty else { throw RPCError.invalidParams(field: "actor", reason: "empty") }
            guard actor.codePointCount <= Self.maximumActorLength else {
                throw RPCError(code: -32006, message: "Limit exceeded", data: ["limit": .integer(Int64(Self.maximumActorLength)), "field": "actor"])
            }
        }
        if let key = common.idempotencyKey {
            guard !key.isEmpty else { throw RPCError.invalidParams(field: "idempotency_key", reason: "empty") }
            guard key.codePointCount <= Self.maximumIdempotencyKeyLength else {
                throw RPCError(code: -32006, message: "Limit exceeded", data: ["limit": .integer(Int64(Self.maximumIdempotencyKeyLength)), "field": "idempotency_key"])
            }
        }
        let peer = context.peer.map { Peer(uid: $0.uid, gid: $0.gid, pid: $0.pid) }
        return Caller(workspace: workspace, actor: common.actor, idempotencyKey: common.idempotencyKey, peer: peer, connection: context.connectionID)
    }

    private static func commonField(_ params: JSONValue?) -> String {
        for key in ["workspace", "actor", "idempotency_key"] where params?[key]?.stringValue == nil && params?[key] != nil {
            return key
        }
        return "params"
    }

    /// 1–64 of `[A-Za-z0-9_.-]`, starting with a letter or digit (as `Schemas/common.schema.json` says).
    static func isValidWorkspaceName(_ name: String) -> Bool {
        func isAlphanumeric(_ byte: UInt8) -> Bool { (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) }
        guard let first = name.utf8.first, isAlphanumeric(first), name.utf8.count <= 64 else { return false }
        return name.utf8.allSatisfy { isAlphanumeric($0) || $0 == 95 || $0 == 45 || $0 == 46 }
    }

    // MARK: - Running commands and queries

    /// Runs a command through the writer; the answer gets `seq` (its last event, or the head).
    ///
    /// The answer comes back from the writer already encoded (it is what an idempotent retry returns),
    /// and goes to the wire as it is.
    func command(
        _ call: RPCCall,
        _ caller: Caller,
        defersProjection: Bool = false,
        isBulk: Bool = false,
        _ body: @escaping @Sendable (CommandTransaction) throws -> JSONValue
    ) async throws -> EncodedAnswer {
        var context = Self.commandContext(call, caller, defersProjection: defersProjection)
        context.isBulk = isBulk
        let bytes = try await self.ledger.execute(context) { transaction in
            var result = try body(transaction)
            let seq = try transaction.lastSeq ?? transaction.headSeq()
            if case .object(var members) = result {
                members["seq"] = .integer(Int64(seq))
                result = .object(members)
            }
            return JSONLine.encode(result)
        }
        return EncodedAnswer(bytes: bytes)
    }

    /// The answer of a command that appends nothing (a backup, a rebuild's start), with `seq`, the head:
    /// stored under its idempotency key through the writer when it has one, else answered at once (a
    /// commit for nothing to keep would fail it on a full disk, where a rebuild's start must still show
    /// its failure in `projections.status`).
    func answerAppendingNothing(_ answer: JSONValue, _ call: RPCCall, _ caller: Caller) async throws -> any MethodAnswer {
        guard caller.idempotencyKey == nil else { return try await self.command(call, caller) { _ in answer } }
        guard case .object(var members) = answer else { return answer }
        members["seq"] = .integer(Int64(try self.read { try self.stores.log.head(in: $0).seq }))
        return JSONValue.object(members)
    }

    /// The answer a command with this idempotency key already got, for a command whose work starts
    /// before it reaches the writer and must not start again on a retry (an import); nil without a key
    /// or on the key's first use. Throws as a retry through the writer would (see
    /// ``Ledger/storedAnswer(for:in:)``).
    func earlierAnswer(_ call: RPCCall, _ caller: Caller) throws -> EncodedAnswer? {
        guard caller.idempotencyKey != nil else { return nil }
        let context = Self.commandContext(call, caller, defersProjection: false)
        return try self.read { txn in try self.ledger.storedAnswer(for: context, in: txn) }.map(EncodedAnswer.init(bytes:))
    }

    static func commandContext(_ call: RPCCall, _ caller: Caller, defersProjection: Bool) -> CommandContext {
        let hashes = caller.idempotencyKey == nil ? nil : CommandParamsHash(call)
        return CommandContext(
            workspace: caller.workspace,
            actor: caller.actor,
            peer: caller.peer,
            idempotencyKey: caller.idempotencyKey,
            paramsHash: hashes?.compared ?? [],
            paramsHashAsSent: hashes?.asSent,
            defersProjection: defersProjection,
            connection: caller.connection
        )
    }

    /// The decision context of a command, consulting its URNs normalized ahead (``DefaultCountryHints``),
    /// and recording its workspace's country for the next command's.
    func decisionContext(_ tx: CommandTransaction, urnsNormalizedAhead normalized: URNNormalizationTable) throws -> DecisionContext {
        let context = try tx.decisionContext(normalizedURNs: normalized)
        self.countryHints.record(context.workspace.defaultCountry, for: tx.workspaceName)
        return context
    }

    /// Runs `body` in a read snapshot.
    func read<T>(_ body: (Transaction) throws -> T) throws -> T {
        try self.stores.environment.read(body)
    }

    /// The presenter for `workspace` as of `txn`.
    func presenter(_ workspace: String, in txn: Transaction) throws -> ContactPresenter {
        ContactPresenter(workspace: try self.stores.projector(txn).workspaces.workspace(workspace, in: txn), reference: self.reference)
    }

    /// The id of the contact whose name `header`'s event records, when `presenter` masks it and the event's
    /// data does not carry the id (see ``ContactPresenter/maskEventData(_:type:contactID:)``); nil otherwise.
    func maskedContactID(_ header: EventHeader, presenter: ContactPresenter, in txn: Transaction) throws -> Int64? {
        guard presenter.workspace.anonymous, header.type == "contact_name_changed", let uuid = header.contactUUID else { return nil }
        return try self.stores.projector(txn).contacts.contact(uuid, workspace: header.workspace, in: txn)?.id
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
