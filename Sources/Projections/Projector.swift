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
    public static let version = 2
    /// The projection's name in `projections.status`.
    public static let name = "contacts"

    /// All table names the read models use.
    public static let tableNames = ContactReadModel.tableNames + WorkspaceReadModel.tableNames + AuditIndex.tableNames + ["rm.meta"]

    public let contacts: ContactReadModel
    public let workspaces: WorkspaceReadModel
    public let audit: AuditIndex
    private let meta: Table

    public init(tables: [String: Table]) throws(ReadModelError) {
        self.contacts = try ContactReadModel(tables: tables)
        self.workspaces = try WorkspaceReadModel(tables: tables)
        self.audit = try AuditIndex(tables: tables)
        guard let meta = tables["rm.meta"] else { throw ReadModelError.missingTables }
        self.meta = meta
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
            try environment.write { txn in
                for table in self.contacts.allTables + self.workspaces.allTables + self.audit.allTables { try txn.clear(table) }
                try txn.put(self.meta, key: Array("state".utf8), value: BigEndian.bytes(UInt64(Self.version)) + BigEndian.bytes(UInt64(0)))
            }
            position = 0
        }
        var replayed: UInt64 = 0
        while position < head {
            position = try environment.write { txn in
                var last = position
                try log.forEach(after: position, in: txn) { record in
                    let header = try EventHeader.decode(record.header)
                    guard let payload = record.payload else {
                        // Erased personal data: replay what the header alone implies.
                        try self.applyErased(header: header, in: txn)
                        last = record.seq
                        replayed += 1
                        return last - position < 10_000
                    }
                    let event = try LedgerEvent.decode(type: header.type, schemaVersion: header.schemaVersion, data: payload)
                    try self.apply(event, header: header, in: txn)
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
