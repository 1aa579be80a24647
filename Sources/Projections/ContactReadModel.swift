// ContactLedger — read models.
import ContactDomain
import Foundation
import LedgerStore

/// Contacts by UUID, by URN identity and by id, plus each contact's messages, kept from the events.
///
/// Keys are scoped by workspace (`workspace NUL uuid`), so nothing crosses workspaces.
public struct ContactReadModel: Sendable {
    static let tableNames = ["rm.contacts", "rm.contact_urns", "rm.contact_ids", "rm.messages", "rm.snapshots"] + ContactIndex.tableNames

    /// A snapshot of a contact is kept every this many versions, so `as_of` folds at most this many events.
    public static let snapshotInterval: UInt64 = 64

    // Written by ``ContactWriteBack``, which applies the contact events.
    let contacts: Table
    let urns: Table
    let ids: Table
    let messages: Table
    let snapshots: Table
    /// Field values, names, statuses and groups, for the query planner.
    public let index: ContactIndex

    init(tables: [String: Table]) throws(ReadModelError) {
        guard let contacts = tables["rm.contacts"], let urns = tables["rm.contact_urns"], let ids = tables["rm.contact_ids"],
            let messages = tables["rm.messages"], let snapshots = tables["rm.snapshots"]
        else { throw ReadModelError.missingTables }
        self.snapshots = snapshots
        self.index = try ContactIndex(tables: tables)
        self.contacts = contacts
        self.urns = urns
        self.ids = ids
        self.messages = messages
    }

    var allTables: [Table] { [self.contacts, self.urns, self.ids, self.messages, self.snapshots] + self.index.allTables }

    /// The latest snapshot of a contact taken at or before a point: `seq` ≤ `maximumSeq` and, when
    /// given, created at or before `time`. Returns the snapshot's position and the contact then.
    public func snapshot(
        of uuid: ContactUUID,
        workspace: String,
        atOrBefore maximumSeq: UInt64,
        time: Timestamp?,
        in txn: Transaction
    ) throws -> (seq: UInt64, contact: Contact)? {
        let prefix = KeyEncoding.prefix(workspace, uuid.rawValue)
        var found: (UInt64, Contact)?
        try txn.withCursor(self.snapshots) { cursor in
            let end = maximumSeq == UInt64.max ? prefix + [0xFF] : prefix + BigEndian.bytes(maximumSeq + 1)
            try cursor.forEachReversed(before: end) { entry in
                guard entry.key.hasPrefix(prefix), let seq = BigEndian.uint64(entry.key, at: prefix.count),
                    let micros = BigEndian.uint64(entry.value)
                else { return false }
                if let time, Int64(bitPattern: micros) > time.microseconds { return true }
                found = (seq, try Self.decodeContact(UnsafeRawBufferPointer(rebasing: entry.value.dropFirst(8)), table: "rm.snapshots"))
                return false
            }
        }
        return found
    }

    // MARK: - Queries

    /// The contact (possibly a deleted tombstone) with `uuid` in `workspace`.
    public func contact(_ uuid: ContactUUID, workspace: String, in txn: Transaction) throws -> Contact? {
        let decoded = try txn.withValue(self.contacts, key: KeyEncoding.key(workspace, uuid.rawValue)) { bytes throws(LMDBError) in
            bytes.map { bytes in Result { () throws(ReadModelError) in try Self.decodeContact(bytes, table: "rm.contacts") } }
        }
        return try decoded?.get()
    }

    /// Decodes a stored contact record; one that does not decode is damage, reported as such.
    private static func decodeContact(_ bytes: UnsafeRawBufferPointer, table: String) throws(ReadModelError) -> Contact {
        do {
            return try ContactRecord.decode(bytes)
        } catch {
            throw .damagedRecord(table: table)
        }
    }

    /// The contact of `workspace` owning the URN identity, if any.
    public func owner(ofURN identity: String, workspace: String, in txn: Transaction) throws -> ContactUUID? {
        guard let bytes = try txn.get(self.urns, key: KeyEncoding.key(workspace, identity)) else { return nil }
        return ContactUUID(String(decoding: bytes, as: UTF8.self))
    }

    /// The UUID of the contact with numeric `id`, with its workspace.
    public func contact(id: Int64, in txn: Transaction) throws -> (workspace: String, uuid: ContactUUID)? {
        guard let bytes = try txn.get(self.ids, key: BigEndian.bytes(UInt64(bitPattern: id))) else { return nil }
        let parts = bytes.split(separator: 0, maxSplits: 1)
        guard parts.count == 2, let uuid = ContactUUID(String(decoding: parts[1], as: UTF8.self)) else { return nil }
        return (String(decoding: parts[0], as: UTF8.self), uuid)
    }

    /// Visits the contacts of `workspace` (deleted ones included) by id, ascending or descending, from
    /// the first id after `after` in that direction, while `body` returns true.
    public func forEachID(
        workspace: String,
        descending: Bool,
        after: Int64?,
        in txn: Transaction,
        _ body: (Int64, ContactUUID) throws -> Bool
    ) throws {
        let owner = Array(workspace.utf8) + [0]
        func visit(_ entry: Cursor.Entry) throws -> Bool {
            guard let id = BigEndian.uint64(Array(entry.key)), entry.value.hasPrefix(owner) else { return true }
            guard let uuid = ContactUUID(String(decoding: entry.value[owner.count...], as: UTF8.self)) else { return true }
            return try body(Int64(bitPattern: id), uuid)
        }
        try txn.withCursor(self.ids) { cursor in
            if descending {
                try cursor.forEachReversed(before: after.map { BigEndian.bytes(UInt64(bitPattern: $0)) }, visit)
            } else {
                try cursor.forEach(from: after.map { BigEndian.bytes(UInt64(bitPattern: $0 + 1)) } ?? [], visit)
            }
        }
    }

    /// Visits the contacts of `workspace` in UUID order after `after`, while `body` returns true.
    public func forEachContact(
        workspace: String,
        after: ContactUUID? = nil,
        in txn: Transaction,
        _ body: (Contact) throws -> Bool
    ) throws {
        let prefix = KeyEncoding.prefix(workspace)
        let start = after.map { KeyEncoding.key(workspace, $0.rawValue) + [0] } ?? prefix
        try txn.withCursor(self.contacts) { cursor in
            try cursor.forEach(from: start) { entry in
                guard entry.key.hasPrefix(prefix) else { return false }
                return try body(try Self.decodeContact(entry.value, table: "rm.contacts"))
            }
        }
    }

    /// The number of contacts (tombstones included) in all workspaces.
    public func count(in txn: Transaction) throws -> Int { try txn.count(self.contacts) }

    /// The names of the workspaces that have contacts (deleted ones included), in order: one seek per
    /// workspace, past all its keys, not a walk over every contact.
    public func workspaceNames(in txn: Transaction) throws -> [String] {
        var names: [String] = []
        try txn.withCursor(self.contacts) { cursor in
            var entry = try cursor.first()
            while let key = entry?.key {
                let name = Array(key.prefix { $0 != 0 })
                names.append(String(decoding: name, as: UTF8.self))
                // Keys are `workspace NUL uuid`: the next workspace's come after `workspace 0x01`.
                entry = try cursor.seek(atLeast: name + [1])
            }
        }
        return names
    }

    /// A contact's messages, newest first, before the log position `before`.
    public func messages(
        of uuid: ContactUUID,
        workspace: String,
        before: UInt64?,
        limit: Int,
        in txn: Transaction
    ) throws -> [(seq: UInt64, message: StoredMessage)] {
        let prefix = KeyEncoding.prefix(workspace, uuid.rawValue)
        var result: [(UInt64, StoredMessage)] = []
        try txn.withCursor(self.messages) { cursor in
            let end = prefix + BigEndian.bytes(before ?? UInt64.max)
            try cursor.forEachReversed(before: end) { entry in
                guard entry.key.hasPrefix(prefix), let seq = BigEndian.uint64(entry.key, at: prefix.count) else { return false }
                guard let message = try? JSONCoding.decode(StoredMessage.self, from: entry.value) else {
                    throw ReadModelError.damagedRecord(table: "rm.messages")
                }
                result.append((seq, message))
                return result.count < limit
            }
        }
        return result
    }

    // MARK: - Applying events

    /// Stores a snapshot of `contact` (of `uuid` in `workspace`) as of the event at `seq`, made at `time`.
    func putSnapshot(_ contact: Contact, of uuid: ContactUUID, workspace: String, seq: UInt64, at time: Timestamp, in txn: Transaction) throws {
        try txn.put(
            self.snapshots,
            key: KeyEncoding.prefix(workspace, uuid.rawValue) + BigEndian.bytes(seq),
            value: BigEndian.bytes(UInt64(bitPattern: time.microseconds)) + ContactRecord.encode(contact)
        )
    }

    /// The contacts a field's or a group's deletion changes, in key order, from the index; nil when this
    /// generation's index may not list them all (one written by an older version: ``ReadableIndexes``),
    /// so every contact must be read (``applyToAll(workspace:at:in:_:)``). Reading a group's members
    /// rather than the workspace's contacts keeps a deletion from holding the writer in proportion to
    /// the workspace (seconds at 60,000 contacts, also for an empty group).
    func holders(of event: LedgerEvent, workspace: String, indexes: ReadableIndexes, in txn: Transaction) throws -> [ContactUUID]? {
        let holders: [ContactUUID]
        switch event {
        case .groupDeleted(let group) where indexes.groupMembers:
            holders = try self.index.contacts(matching: .group(group), workspace: workspace, in: txn)
        case .fieldDeleted(let key) where indexes.fieldValues:
            holders = try self.index.contacts(withValueOf: key, workspace: workspace, in: txn)
        default:
            return nil
        }
        // In record order: the contacts are read where they sit, not at random. (A term lists each contact
        // once, and a field's value has one text entry: no duplicates to drop.)
        return holders.sorted { $0.rawValue < $1.rawValue }
    }

    /// Removes a deleted field's values, or a deleted group's memberships, from every contact.
    func applyToAll(workspace: String, at time: Timestamp, in txn: Transaction, _ change: (inout Contact) -> Bool) throws {
        var updated: [(Contact, Contact)] = []
        try self.forEachContact(workspace: workspace, in: txn) { contact in
            var changed = contact
            if change(&changed) { updated.append((contact, changed)) }
            return true
        }
        for (old, contact) in updated {
            try txn.put(self.contacts, key: KeyEncoding.key(workspace, contact.uuid.rawValue), value: ContactRecord.encode(contact))
            try self.index.update(from: old, to: contact, workspace: workspace, in: txn)
        }
    }

    func dropSnapshots(of uuid: ContactUUID, workspace: String, in txn: Transaction) throws {
        try self.dropPrefix(KeyEncoding.prefix(workspace, uuid.rawValue), of: self.snapshots, in: txn)
    }

    func dropMessages(of uuid: ContactUUID, workspace: String, in txn: Transaction) throws {
        try self.dropPrefix(KeyEncoding.prefix(workspace, uuid.rawValue), of: self.messages, in: txn)
    }

    private func dropPrefix(_ prefix: [UInt8], of table: Table, in txn: Transaction) throws {
        var keys: [[UInt8]] = []
        try txn.withCursor(table) { cursor in
            try cursor.forEach(from: prefix) { entry in
                guard entry.key.hasPrefix(prefix) else { return false }
                keys.append(Array(entry.key))
                return true
            }
        }
        for key in keys { try txn.delete(table, key: key) }
    }
}

/// A message as the contact's message history keeps it.
public struct StoredMessage: Sendable, Hashable, Codable {
    public enum Direction: String, Sendable, Hashable, Codable {
        case incoming = "in"
        case outgoing = "out"
    }

    public var direction: Direction
    public var createdOn: Timestamp
    public var message: Message

    enum CodingKeys: String, CodingKey {
        case direction, message
        case createdOn = "created_on"
    }
}

/// Failures of the read models.
public enum ReadModelError: Error, Hashable, Sendable, CustomStringConvertible {
    case missingTables
    case missingContact(String)
    /// A replay found the checkpoint elsewhere than where its events continue (something else wrote).
    case checkpointMoved
    /// A stored record of `table` (its base name) does not decode: the read models are damaged on disk,
    /// and a rebuild from the log repairs them. Never answered as "not found", never skipped.
    case damagedRecord(table: String)

    public var description: String {
        switch self {
        case .missingTables: "the read models' tables are missing"
        case .missingContact(let uuid): "the read models have no contact \(uuid)"
        case .checkpointMoved: "the read models' checkpoint moved during a replay"
        case .damagedRecord(let table): "a stored record of the read model \(table) cannot be decoded"
        }
    }
}
