// ContactLedger — read models.
import ContactDomain
import LedgerStore

/// Events applied to one generation of read models in one write transaction, one after another:
/// a single command's event or a whole replay chunk. Contacts are held in a ``ContactWriteBack`` until
/// ``finish(checkpoint:)``, which writes them and moves the checkpoint once.
///
/// A command that appends many streams' events (an import batch) keeps one batch open across them
/// (``Projector/openBatch(in:)``), so each table's writes go once, in key order, at the end; it reads
/// contacts and URN owners through the batch (``contact(_:workspace:)``, ``owner(ofURN:workspace:)``),
/// which sees what the batch holds.
///
/// Valid only inside the write transaction it was made for; call ``finish(checkpoint:)`` before the
/// transaction commits.
public final class ProjectionBatch {
    private let projector: Projector
    private var txn: Transaction
    private var contacts: ContactWriteBack
    /// The `seq` of the last event applied, if any.
    public private(set) var lastSeq: UInt64?
    /// The events applied through `apply(_:)` (a command's events), when the batch keeps them
    /// to roll back to a ``Mark`` (a write batch's deferred projections); nil otherwise.
    private var journal: [(event: LedgerEvent, header: EventHeader)]?
    /// Contact UUIDs by stream name: parsing a UUID costs more than looking it up.
    private var contactUUIDs: [String: ContactUUID] = [:]
    /// The contact stream of the last contact event applied.
    private var lastContactStream: (stream: String, uuid: ContactUUID)?
    /// The audit index postings of the batch's events, written in key order by ``finish(checkpoint:)``.
    private var auditPostings = AuditIndex.postingChanges()

    init(projector: Projector, txn: Transaction, journaled: Bool = false) {
        self.projector = projector
        self.txn = txn
        self.contacts = ContactWriteBack(model: projector.contacts, txn: txn)
        self.journal = journaled ? [] : nil
    }

    /// The contacts held in memory until ``finish(checkpoint:)``.
    var heldContacts: Int { self.contacts.heldCount }

    /// Makes the batch read and write through `txn` from now on: a nested transaction of the one it was
    /// opened in while a command runs, the opener again once it has merged, or the rebuildable part's
    /// transaction that finishes the write. What the batch holds is kept.
    public func use(_ txn: Transaction) {
        self.txn = txn
        self.contacts.use(txn)
    }

    /// A position in a journaled batch's events (``mark()``).
    public struct Mark: Sendable {
        fileprivate let applied: Int
    }

    /// Where the batch is now, to roll back to if what follows fails. O(1): nothing is copied.
    public func mark() -> Mark {
        precondition(self.journal != nil, "a mark in a batch that keeps no journal")
        return Mark(applied: self.journal?.count ?? 0)
    }

    /// Forgets the events applied since `mark`: the batch starts over from the read models as the
    /// transaction holds them and applies the events before the mark again. Rare (a command that failed
    /// after applying events), so the common path keeps no copies. What was written to the transaction
    /// since the mark must be undone with it: the nested transaction it went to is aborted.
    public func rollBack(to mark: Mark) throws {
        guard let journal = self.journal, journal.count > mark.applied else { return }
        self.contacts = ContactWriteBack(model: self.projector.contacts, txn: self.txn)
        self.auditPostings = AuditIndex.postingChanges()
        self.lastSeq = nil
        self.lastContactStream = nil
        self.journal = []
        try self.apply(Array(journal.prefix(mark.applied)))
    }

    /// Applies decoded records in order (a record's event is nil when its payload was erased).
    ///
    /// Each record is moved out of the run into a local, applied, and moved back, never copied: a
    /// record read where the run holds it was still copied for the call (its lifetime cannot be proven
    /// there), retaining each of its strings, cache lines a decoder thread wrote last, only to release
    /// them again. That was a fifth of the applier's time. Moving is two copies of the record's bytes
    /// where swapping it with a placeholder and back was six. The run keeps the records, so they are
    /// freed where it is (``BackgroundRelease``). An `items` array shared with another owner is copied
    /// once first, which costs what copying each record did.
    func apply(_ items: inout [ReplayChunk.Item]) throws {
        try items.withUnsafeMutableBufferPointer { records in
            guard let first = records.baseAddress else { return }
            for record in first..<first + records.count {
                // Every path leaves the slot holding its record again, a thrown error's included.
                let item = record.move()
                defer { record.initialize(to: item) }
                // The optional itself is passed: binding its event here copied it for the call.
                try self.apply(item.event, header: item.header, contact: item.contact)
            }
        }
    }

    /// Applies events in log order.
    public func apply(_ events: [(event: LedgerEvent, header: EventHeader)]) throws {
        self.journal?.append(contentsOf: events)
        for (event, header) in events { try self.apply(event, header: header) }
    }

    /// The contact as the log up to this batch's last event leaves it (nil when it never existed).
    public func contact(_ uuid: ContactUUID, workspace: String) throws -> Contact? {
        try self.contacts.contact(uuid, workspace: workspace)
    }

    /// The contact owning a URN identity as the log up to this batch's last event leaves it.
    public func owner(ofURN identity: String, workspace: String) throws -> ContactUUID? {
        try self.contacts.owner(ofURN: identity, workspace: workspace)
    }

    /// Applies one event.
    func apply(_ event: LedgerEvent, header: EventHeader) throws {
        try self.apply(event, header: header, contact: self.contactUUID(of: header))
    }

    /// Applies one event of the contact `contact` names (nil when its stream is not a contact's); a nil
    /// event is one whose payload was erased.
    private func apply(_ event: LedgerEvent?, header: EventHeader, contact: ContactUUID?) throws {
        self.lastSeq = header.seq
        self.projector.audit.gather(event, header: header, into: &self.auditPostings)
        guard let event else {
            try self.applyErased(header: header, contact: contact)
            return
        }
        switch event {
        case .workspaceConfigured, .fieldCreated, .fieldUpdated, .groupCreated, .groupUpdated, .locationsSet:
            try self.projector.workspaces.apply(event, header: header, in: self.txn)
        case .fieldDeleted, .groupDeleted:
            try self.projector.workspaces.apply(event, header: header, in: self.txn)
            // Deleting a field or a group removes its values or memberships from the read model; the log
            // keeps them. The index lists the contacts that have them once what the batch holds is written.
            try self.contacts.flush()
            let indexes = try self.projector.readableIndexes(in: self.txn)
            if let holders = try self.projector.contacts.holders(of: event, workspace: header.workspace, indexes: indexes, in: self.txn) {
                try self.contacts.applyWorkspaceEvent(event, to: holders, workspace: header.workspace, at: header.createdOn)
            } else {
                try self.projector.contacts.applyToAll(workspace: header.workspace, at: header.createdOn, in: self.txn) { contact in
                    contact.applyWorkspaceEvent(event, at: header.createdOn)
                }
            }
        default:
            guard let uuid = contact else { return }
            try self.contacts.apply(event, header: header, contactUUID: uuid)
        }
    }

    /// Replays an event whose payload was erased: only its effect on the contact's version counts, since
    /// the later `contact_deleted` event clears the data anyway.
    private func applyErased(header: EventHeader, contact: ContactUUID?) throws {
        guard let uuid = contact else { return }
        if header.type == "contact_created" {
            // The tombstone keeps its UUID; the id is not recoverable, nor needed.
            let created = ContactCreated(uuid: uuid, id: 0, name: nil, language: nil, status: .archived, urns: [])
            try self.contacts.apply(.contactCreated(created), header: header, contactUUID: uuid)
        } else {
            try self.contacts.advanceVersion(of: uuid, header: header)
        }
    }

    /// Writes the held contacts and moves the checkpoint to the last event applied; nothing when none was.
    public func finishAtLastApplied() throws {
        if let last = self.lastSeq { try self.finish(checkpoint: last) }
    }

    /// Writes the held contacts and moves the checkpoint to `seq`.
    public func finish(checkpoint seq: UInt64) throws {
        try self.contacts.flush()
        try self.projector.audit.apply(self.auditPostings, in: self.txn)
        self.auditPostings = AuditIndex.postingChanges()
        try self.projector.setCheckpoint(seq, in: self.txn)
    }

    /// The contact a header's stream names, or nil for other streams.
    private func contactUUID(of header: EventHeader) -> ContactUUID? {
        // A contact's events come together (a create and its fields): the last stream is checked first,
        // a comparison of one string with itself rather than a hash of it.
        if let last = self.lastContactStream, last.stream == header.stream { return last.uuid }
        let uuid: ContactUUID
        if let known = self.contactUUIDs[header.stream] {
            uuid = known
        } else {
            guard let parsed = header.contactUUID else { return nil }
            self.contactUUIDs[header.stream] = parsed
            uuid = parsed
        }
        self.lastContactStream = (header.stream, uuid)
        return uuid
    }
}
