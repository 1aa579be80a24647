// ContactLedger — read models.
import ContactDomain
import Foundation
import LedgerStore

/// Keeps every read model in step with the log, inside the transaction that appends each event,
/// so a command's answer and every later query see its effects (read-your-writes).
///
/// The projection's schema version and checkpoint (last applied `seq`) are stored with it; when the
/// code's version differs from the stored one, ``rebuildIfNeeded(log:environment:progress:)`` rebuilds
/// the read models from the log.
public struct Projector: Sendable {
    /// The read-model schema version of this code. Bump it when a stored read-model shape changes.
    public static let version = 6
    /// The projection's name in `projections.status`.
    public static let name = "contacts"

    /// The table names of the read models, before any generation suffix.
    static let baseTableNames = ContactReadModel.tableNames + WorkspaceReadModel.tableNames + AuditIndex.tableNames + ["rm.meta"]

    /// The read models exist in generations: one answers while another is rebuilt from the log;
    /// ``verificationGeneration`` is scratch space for `projections.verify`.
    public static let generations = [0, 1, 2]
    /// The generation `projections.verify` rebuilds into and drops afterwards.
    public static let verificationGeneration = 2

    /// The base table names, for comparing two generations table by table.
    public var tablesByBaseName: [(String, Table)] {
        zip(Self.baseTableNames, self.contacts.allTables + self.workspaces.allTables + self.audit.allTables + [self.meta]).map { ($0, $1) }
    }

    /// The table names of one generation (generation 0 keeps the plain names).
    public static func tableNames(generation: Int) -> [String] {
        Self.baseTableNames.map { Self.tableName($0, generation: generation) }
    }

    private static func tableName(_ base: String, generation: Int) -> String {
        generation == 0 ? base : "\(base)#\(generation)"
    }

    /// Which generation of tables this projector writes.
    public let generation: Int
    public let contacts: ContactReadModel
    public let workspaces: WorkspaceReadModel
    public let audit: AuditIndex
    private let meta: Table

    public init(tables: [String: Table], generation: Int = 0) throws(ReadModelError) {
        var own: [String: Table] = [:]
        for base in Self.baseTableNames {
            guard let table = tables[Self.tableName(base, generation: generation)] else { throw ReadModelError.missingTables }
            own[base] = table
        }
        self.generation = generation
        self.contacts = try ContactReadModel(tables: own)
        self.workspaces = try WorkspaceReadModel(tables: own)
        self.audit = try AuditIndex(tables: own)
        guard let meta = own["rm.meta"] else { throw ReadModelError.missingTables }
        self.meta = meta
    }

    /// Empties every read-model table of this generation and sets its checkpoint to 0 at this code's
    /// version, ready for a rebuild.
    public func reset(in txn: Transaction) throws {
        for table in self.contacts.allTables + self.workspaces.allTables + self.audit.allTables { try txn.clear(table) }
        try txn.put(self.meta, key: Array("state".utf8), value: BigEndian.bytes(UInt64(Self.version)) + BigEndian.bytes(UInt64(0)))
    }

    /// Empties every table of this generation, checkpoint included.
    public func drop(in txn: Transaction) throws {
        for table in self.contacts.allTables + self.workspaces.allTables + self.audit.allTables + [self.meta] { try txn.clear(table) }
    }

    /// Applies up to `limit` log events after this projection's checkpoint, in `txn`; returns the new
    /// checkpoint and whether it reached the log's head.
    public func catchUp(log: EventLog, limit: Int, in txn: Transaction) throws -> (position: UInt64, reachedHead: Bool) {
        let start = try self.state(in: txn)?.position ?? 0
        let head = try log.head(in: txn).seq
        var position = start
        var applied = 0
        try log.forEach(after: start, in: txn) { record in
            try self.replay(record, in: txn)
            position = record.seq
            applied += 1
            return applied < limit
        }
        try self.setCheckpoint(position, in: txn)
        return (position, position >= head)
    }

    /// Applies one stored record (its payload decoded and upcast, or the header alone once erased).
    func replay(_ record: StoredEvent, in txn: Transaction) throws {
        let header = try EventHeader.decode(record.header)
        guard let payload = record.payload else {
            try self.applyErased(header: header, in: txn)
            return
        }
        let event = try LedgerEvent.decode(type: header.type, schemaVersion: header.schemaVersion, data: payload)
        try self.apply(event, header: header, in: txn)
    }

    /// Applies one event and moves the checkpoint to its `seq`.
    public func apply(_ event: LedgerEvent, header: EventHeader, in txn: Transaction) throws {
        try self.audit.apply(event, header: header, in: txn)
        switch event {
        case .workspaceConfigured, .fieldCreated, .fieldUpdated, .groupCreated, .groupUpdated, .locationsSet:
            try self.workspaces.apply(event, header: header, in: txn)
        case .fieldDeleted(let key):
            try self.workspaces.apply(event, header: header, in: txn)
            // Deleting a field removes its values from the read model; the log keeps them.
            try self.contacts.applyToAll(workspace: header.workspace, at: header.createdOn, in: txn) { contact in
                contact.fields.removeValue(forKey: key) != nil
            }
        case .groupDeleted(let uuid):
            try self.workspaces.apply(event, header: header, in: txn)
            try self.contacts.applyToAll(workspace: header.workspace, at: header.createdOn, in: txn) { contact in
                guard contact.groups.contains(uuid) else { return false }
                contact.groups.removeAll { $0 == uuid }
                contact.modifiedOn = header.createdOn
                return true
            }
        default:
            guard header.stream.hasPrefix("contact/"), let uuid = ContactUUID(String(header.stream.dropFirst(8))) else {
                return
            }
            try self.contacts.apply(event, header: header, contactUUID: uuid, in: txn)
        }
        try self.setCheckpoint(header.seq, in: txn)
    }

    /// The stored schema version and checkpoint, or nil before the first start.
    public func state(in txn: Transaction) throws -> (version: Int, position: UInt64)? {
        guard let bytes = try txn.get(self.meta, key: Array("state".utf8)), bytes.count == 16,
            let version = BigEndian.uint64(bytes), let position = BigEndian.uint64(bytes, at: 8)
        else { return nil }
        return (Int(version), position)
    }

    private func setCheckpoint(_ seq: UInt64, in txn: Transaction) throws {
        try txn.put(self.meta, key: Array("state".utf8), value: BigEndian.bytes(UInt64(Self.version)) + BigEndian.bytes(seq))
    }

    /// Rebuilds the read models from the log when their stored version is not this code's, or when
    /// they lag behind the log (e.g. they were dropped). Returns the number of events replayed.
    ///
    /// Runs in batches of write transactions, each resuming from the checkpoint, so a crash mid-way
    /// resumes where it stopped.
    @discardableResult
    public func rebuildIfNeeded(
        log: EventLog,
        environment: Environment,
        progress: (UInt64, UInt64) -> Void = { _, _ in }
    ) throws -> UInt64 {
        let (state, head) = try environment.read { txn in (try self.state(in: txn), try log.head(in: txn).seq) }
        var position: UInt64
        if let state, state.version == Self.version {
            position = state.position
        } else {
            try environment.write { txn in try self.reset(in: txn) }
            position = 0
        }
        var replayed: UInt64 = 0
        while position < head {
            position = try environment.write { txn in
                var last = position
                try log.forEach(after: position, in: txn) { record in
                    try self.replay(record, in: txn)
                    last = record.seq
                    replayed += 1
                    return last - position < 10_000
                }
                try self.setCheckpoint(last, in: txn)
                return last
            }
            progress(position, head)
        }
        return replayed
    }

    /// Replays an event whose payload was erased: only its effect on the contact's version counts, since
    /// the later `contact_deleted` event clears the data anyway.
    private func applyErased(header: EventHeader, in txn: Transaction) throws {
        try self.audit.apply(nil, header: header, in: txn)
        guard header.stream.hasPrefix("contact/"), let uuid = ContactUUID(String(header.stream.dropFirst(8))) else { return }
        if header.type == "contact_created" {
            // The tombstone keeps its UUID; the id is not recoverable, nor needed.
            let created = ContactCreated(uuid: uuid, id: 0, name: nil, language: nil, status: .archived, urns: [])
            try self.contacts.apply(.contactCreated(created), header: header, contactUUID: uuid, in: txn)
        } else {
            try self.contacts.advanceVersion(of: uuid, header: header, in: txn)
        }
        try self.setCheckpoint(header.seq, in: txn)
    }
}
