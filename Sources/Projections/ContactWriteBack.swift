// ContactLedger — read models.
import ContactDomain
import LedgerStore
import ParallelWork

/// Applies contact events to the contact read model, keeping every contact they touch in memory until
/// ``flush()``: a contact changed by many events of a chunk is read, indexed and stored once, not once
/// per event.
///
/// The tables end up as if each event had been applied on its own, in order: a contact's record and
/// index entries hold only that contact's state, so writing its last state once (with the index
/// difference from the state it was loaded in) is the same as writing every step; URN ownership, which
/// one contact can take from another, is kept as an ordered overlay of puts and deletes. Messages,
/// snapshots and ids are written at once, in event order, as before.
///
/// Valid only inside the write transaction it was made for; flush before the transaction commits and
/// before anything reads the contact tables of this generation (``ContactReadModel/applyToAll`` and the
/// index lookups of ``ProjectionBatch`` do).
final class ContactWriteBack {
    private struct Entry: Sendable {
        /// The contact's record key.
        var key: [UInt8]
        /// The contact as stored before this write-back loaded it (nil when it is new here).
        var stored: Contact?
        var contact: Contact
        /// The URN identities of `contact.urns`, kept so unchanged URNs are not parsed again.
        var identities: [String]
        /// The workspace its events name (the record's key scope).
        var workspace: String
        /// ``ContactWriteBack/ownershipChanges`` right after this contact last asserted its URNs; nil
        /// when it has not since its URNs changed (or at all).
        var assertedAt: Int?
    }

    private let model: ContactReadModel
    private var txn: Transaction
    /// The held contacts, in the order they were first held. An array rather than a dictionary of
    /// entries: an event changes its contact's entry in place, where a dictionary's accessors copied
    /// the whole entry (two contacts) per event.
    private var entries: [Entry] = []
    /// Where each held contact is in `entries`, by its UUID and workspace.
    private var slots: [HeldContact: Int] = [:]
    /// A held contact's dictionary key: its UUID and workspace. A replay looks one up for nearly every
    /// event; building its record key's bytes for that allocated an array, and comparing two of them
    /// read a second, cold buffer.
    private struct HeldContact: Hashable {
        var uuid: ContactUUID
        var workspace: String

        /// The UUID's bits alone: hashing the workspace's text too, for nearly every replayed event, cost
        /// as much as the rest of the lookup. (Equal keys still compare both; two workspaces holding one
        /// UUID only share a bucket.)
        func hash(into hasher: inout Hasher) { hasher.combine(self.uuid) }
    }
    /// Pending `rm.contact_urns` changes by key: the owner's UUID, or nil to delete.
    private var urnOwners: [ByteKey: [UInt8]?] = [:]
    /// How many times a value in `urnOwners` has changed. A contact that asserted its URNs when the
    /// count was what it is now still owns them all, so asserting them again would change nothing: a
    /// replay that modifies each contact round after round asserts each one's URNs once a transaction,
    /// not once an event.
    private var ownershipChanges = 0
    /// The contact the last event applied to, and where it is held (until ``flush()``).
    private var lastApplied: (uuid: ContactUUID, workspace: String, slot: Int)?
    /// Pending changes of each workspace's live-contact count (contacts created minus contacts deleted).
    private var liveCountChanges: [String: Int] = [:]

    /// The contacts held until ``flush()``.
    var heldCount: Int { self.entries.count }

    init(model: ContactReadModel, txn: Transaction) {
        self.model = model
        self.txn = txn
    }

    /// Reads and writes through `txn` from now on (``ProjectionBatch/use(_:)``).
    func use(_ txn: Transaction) {
        self.txn = txn
    }

    /// Applies one event of the contact `uuid`.
    ///
    /// - Throws: ``ReadModelError/missingContact(_:)`` for an event of a contact never created.
    func apply(_ event: LedgerEvent, header: EventHeader, contactUUID uuid: ContactUUID) throws {
        let slot: Int
        if case .contactCreated(let created) = event {
            let key = KeyEncoding.key(header.workspace, uuid.rawValue)
            let contact = Contact(created: created, workspace: header.workspace, at: header.createdOn, version: header.version)
            // A contact_created whose payload was erased replays with id 0: its id comes back with contact_deleted.
            if created.id > 0 { try self.txn.put(self.model.ids, key: BigEndian.bytes(UInt64(bitPattern: created.id)), value: key) }
            let entry = Entry(key: key, stored: nil, contact: contact, identities: contact.urnIdentities, workspace: header.workspace)
            if let held = self.slots[HeldContact(uuid: uuid, workspace: header.workspace)] {
                // A second creation replaces the record without reading it, as a lone event would.
                try self.write([self.entries[held]])
                self.entries[held] = entry
                slot = held
            } else {
                slot = self.hold(entry)
            }
        } else {
            guard let held = try self.heldSlot(of: uuid, workspace: header.workspace) else {
                throw ReadModelError.missingContact(uuid.rawValue)
            }
            slot = held
            // Changed where it is held: its parts are read and written in place, never the whole entry copied.
            let urns = self.entries[slot].contact.urns
            self.entries[slot].contact.apply(event, at: header.createdOn, version: header.version)
            if self.entries[slot].contact.urns != urns {
                let identities = self.entries[slot].contact.urnIdentities
                for identity in Set(self.entries[slot].identities).subtracting(identities) {
                    self.urnOwners[ByteKey(KeyEncoding.key(header.workspace, identity))] = .some(nil)
                    self.ownershipChanges += 1
                }
                self.entries[slot].identities = identities
                self.entries[slot].assertedAt = nil
            }
        }
        self.lastApplied = (uuid, header.workspace, slot)
        // Every event re-asserts the contact's URNs, as a lone event does, unless no owner has changed
        // since this contact last asserted them (see `ownershipChanges`).
        if self.entries[slot].assertedAt != self.ownershipChanges {
            let owner = Array(uuid.rawValue.utf8)
            for identity in self.entries[slot].identities {
                let previous = self.urnOwners.updateValue(owner, forKey: ByteKey(KeyEncoding.key(header.workspace, identity)))
                if previous != .some(.some(owner)) { self.ownershipChanges += 1 }
            }
            self.entries[slot].assertedAt = self.ownershipChanges
        }
        switch event {
        case .messageReceived(let message), .messageCreated(let message):
            let stored = StoredMessage(direction: event.type == "msg_received" ? .incoming : .outgoing, createdOn: header.createdOn, message: message)
            try self.txn.put(
                self.model.messages,
                key: KeyEncoding.prefix(header.workspace, uuid.rawValue) + BigEndian.bytes(header.seq),
                value: try JSONCoding.encode(stored)
            )
        case .contactDeleted:
            let id = self.entries[slot].contact.id
            if id > 0 { try self.txn.put(self.model.ids, key: BigEndian.bytes(UInt64(bitPattern: id)), value: self.entries[slot].key) }
            // Messages and snapshots hold personal data: they go with the contact.
            try self.model.dropMessages(of: uuid, workspace: header.workspace, in: self.txn)
            try self.model.dropSnapshots(of: uuid, workspace: header.workspace, in: self.txn)
        default:
            break
        }
        if self.entries[slot].contact.version % ContactReadModel.snapshotInterval == 0, !self.entries[slot].contact.isDeleted {
            try self.model.putSnapshot(self.entries[slot].contact, of: uuid, workspace: header.workspace, seq: header.seq, at: header.createdOn, in: self.txn)
        }
    }

    /// Applies a workspace event that changes some of its contacts (a field's or a group's deletion) to
    /// the contacts `uuids` names, held like any other until ``flush()``; a UUID with no contact is skipped.
    func applyWorkspaceEvent(_ event: LedgerEvent, to uuids: [ContactUUID], workspace: String, at time: Timestamp) throws {
        for uuid in uuids {
            guard let slot = try self.heldSlot(of: uuid, workspace: workspace) else { continue }
            _ = self.entries[slot].contact.applyWorkspaceEvent(event, at: time)
        }
    }

    /// The contact as the events applied so far leave it: the held one, else the stored one.
    func contact(_ uuid: ContactUUID, workspace: String) throws -> Contact? {
        if let held = self.slots[HeldContact(uuid: uuid, workspace: workspace)] { return self.entries[held].contact }
        return try self.model.contact(uuid, workspace: workspace, in: self.txn)
    }

    /// The owner of a URN identity as the events applied so far leave it.
    func owner(ofURN identity: String, workspace: String) throws -> ContactUUID? {
        if let pending = self.urnOwners[ByteKey(KeyEncoding.key(workspace, identity))] {
            return pending.flatMap { ContactUUID(String(decoding: $0, as: UTF8.self)) }
        }
        return try self.model.owner(ofURN: identity, workspace: workspace, in: self.txn)
    }

    /// Records that the contact reached `header.version` through an event whose payload was erased.
    func advanceVersion(of uuid: ContactUUID, header: EventHeader) throws {
        guard let slot = try self.heldSlot(of: uuid, workspace: header.workspace) else { return }
        self.entries[slot].contact.version = header.version
        self.entries[slot].contact.modifiedOn = header.createdOn
    }

    /// Writes every held contact (its record and index changes), the URN changes and the workspaces'
    /// live-contact counts, then forgets them. Each table's writes go in key order (``SortedWrites``).
    func flush() throws {
        let written = self.entries
        let slots = self.slots
        self.entries = []
        self.slots = [:]
        self.lastApplied = nil
        try self.write(written)
        let held = written.count
        BackgroundRelease.release(consume written, count: held)
        BackgroundRelease.release(consume slots, count: held)
        for (workspace, change) in self.liveCountChanges where change != 0 {
            try self.model.index.adjustLiveCount(of: workspace, by: change, in: self.txn)
        }
        self.liveCountChanges.removeAll(keepingCapacity: true)
        var urns = SortedWrites()
        for (key, owner) in self.urnOwners {
            if let owner { urns.put(key: key.bytes, value: owner) } else { urns.delete(key: key.bytes) }
        }
        let owners = self.urnOwners
        self.urnOwners = [:]
        let ownerCount = owners.count
        BackgroundRelease.release(consume owners, count: ownerCount)
        try urns.apply(to: self.model.urns, in: self.txn)
    }

    /// Writes held contacts' records and index changes, each table in key order, and counts their
    /// changes of liveness. Encoding records and indexing contacts depend on nothing but the contacts,
    /// so a large batch (an import command, a replay chunk) does them in slices over the cores.
    private func write(_ held: [Entry]) throws {
        let index = self.model.index
        let slices = ParallelSlices.map(count: held.count, minimumPerSlice: 128) { slice in
            var gathered = Gathered()
            for position in slice { gathered.add(held[position], index: index) }
            return gathered
        }
        // The first slice's changes are the base the others join: gathering them into an empty value
        // hashed each posting block again (a single contact's twenty-odd, when one slice is all).
        guard var all = slices.first else { return }
        for slice in slices.dropFirst() { all.append(contentsOf: slice) }
        self.liveCountChanges.merge(all.liveCountChanges, uniquingKeysWith: +)
        try all.records.apply(to: self.model.contacts, in: self.txn)
        try self.model.index.apply(&all.index, postings: all.postings, in: self.txn)
    }

    /// The record and index changes of some held contacts, and their changes of liveness by workspace.
    private struct Gathered: Sendable {
        var records = SortedWrites()
        var index = SortedWrites()
        var postings = PostingChanges<ContactIndex.TrigramBlock>()
        var liveCountChanges: [String: Int] = [:]

        mutating func add(_ entry: Entry, index model: ContactIndex) {
            let wasLive = entry.stored.map { !$0.isDeleted } ?? false
            if wasLive != !entry.contact.isDeleted { self.liveCountChanges[entry.workspace, default: 0] += wasLive ? -1 : 1 }
            self.records.put(key: entry.key, value: ContactRecord.encode(entry.contact))
            model.update(from: entry.stored, to: entry.contact, workspace: entry.workspace, into: &self.index, postings: &self.postings)
        }

        /// Joins `other`'s changes after these.
        mutating func append(contentsOf other: Gathered) {
            self.records.append(contentsOf: other.records)
            self.index.append(contentsOf: other.index)
            self.postings.append(contentsOf: other.postings)
            self.liveCountChanges.merge(other.liveCountChanges, uniquingKeysWith: +)
        }
    }

    /// Where the held entry of the contact `uuid` of `workspace` is, after loading the stored contact
    /// into the held entries if it was not held yet; nil when there is no such contact.
    private func heldSlot(of uuid: ContactUUID, workspace: String) throws -> Int? {
        // A contact's events come together: the contact of the last event is found without a key.
        if let last = self.lastApplied, last.uuid == uuid, last.workspace == workspace { return last.slot }
        if let held = self.slots[HeldContact(uuid: uuid, workspace: workspace)] { return held }
        let key = KeyEncoding.key(workspace, uuid.rawValue)
        guard let stored = try self.model.contact(uuid, workspace: workspace, in: self.txn) else { return nil }
        return self.hold(Entry(key: key, stored: stored, contact: stored, identities: stored.urnIdentities, workspace: workspace))
    }

    /// Holds a contact not held yet; returns where it is.
    private func hold(_ entry: Entry) -> Int {
        self.slots[HeldContact(uuid: entry.contact.uuid, workspace: entry.workspace)] = self.entries.count
        self.entries.append(entry)
        return self.entries.count - 1
    }
}
