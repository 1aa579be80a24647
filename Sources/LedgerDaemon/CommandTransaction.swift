// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import LedgerStore
import ParallelWork
import Projections

/// The write side as one command sees it: append events (applied to the read models at once) and
/// read the current state, all inside the batch's write transaction.
///
/// Valid only inside the command's closure; not `Sendable`.
final class CommandTransaction {
    let txn: Transaction
    let context: CommandContext
    let now: Timestamp
    private let stores: LedgerStores
    /// The key of contact refs (smart-group queries on `ref`, anonymous answers).
    let reference: AnonymousReference
    /// The `seq` of the last event this command appended.
    private(set) var lastSeq: UInt64?
    /// The contacts this command's answer presents, through ``presenter(_:)``.
    let namedContacts = NamedContacts()

    /// The write batch's deferred projections (``CommandContext/defersProjection``), when this command's
    /// events go there: applied in memory now, written to the read models after the log's commit.
    private let deferredProjections: ProjectionBatch?

    init(
        txn: Transaction, context: CommandContext, now: Timestamp, stores: LedgerStores, reference: AnonymousReference,
        deferredProjections: ProjectionBatch? = nil
    ) {
        self.reference = reference
        self.txn = txn
        self.context = context
        self.now = now
        self.stores = stores
        self.deferredProjections = deferredProjections
    }

    /// Where contacts and URN owners are read and events applied, when not straight in the read models.
    private var heldProjections: ProjectionBatch? { self.scope?.projections ?? self.deferredProjections }

    var workspaceName: String { self.context.workspace }

    /// The workspace as last read; dropped whenever this command appends a workspace event.
    private var cachedWorkspace: Workspace?
    /// The scope opened by ``batchingProjections(_:)``, while its body runs.
    private var scope: BatchingScope?

    /// A batching scope: its read-model batch, and its events given log positions but not yet written.
    private struct BatchingScope {
        let projections: ProjectionBatch
        var reserved = ReservedAppends()
        /// Each event with its header, its payload if encoded already, and the time zone to encode it in.
        var events: [(event: LedgerEvent, header: EventHeader, payload: [UInt8]?, timeZone: TimeZone)] = []
    }

    /// Runs `body` with every contact event it appends applied to the read models in one batch, written
    /// when `body` returns: each table's writes then go once, in key order, instead of once per append
    /// (an import batch appends hundreds of contacts). ``contact(_:)`` and the URN owners read through
    /// the batch, so they see what it holds (workspace events are applied at once, as before). Only
    /// for bodies that read contacts through this transaction alone.
    ///
    /// The body's events are given their positions as they are appended, and written to the log when
    /// it returns: their headers and payloads are encoded and hashed in slices over the cores, then
    /// chained in order (``EventLog/reserve(count:to:expectedVersion:in:txn:)``).
    func batchingProjections<T>(_ body: () throws -> T) throws -> T {
        // Deferred commands read only through the batch they defer to; none opens a scope of its own.
        precondition(self.deferredProjections == nil, "a batching scope in a command that defers its projection")
        let batch = try self.stores.projector(self.txn).openBatch(in: self.txn)
        let before = self.lastSeq
        self.scope = BatchingScope(projections: batch)
        defer { self.scope = nil }
        let result = try body()
        if let scope = self.scope { try self.write(scope) }
        // The checkpoint moves to the last event the body appended, if it appended any.
        if let last = self.lastSeq, last != before { try batch.finish(checkpoint: last) }
        return result
    }

    /// Encodes a scope's pending events in slices over the cores and writes them to the log in order.
    private func write(_ scope: BatchingScope) throws {
        var reserved = scope.reserved
        guard !reserved.isEmpty else { return }
        let events = scope.events
        let encoded = ParallelSlices.map(count: events.count, minimumPerSlice: 256) { slice in
            slice.map { index in
                let item = events[index]
                return Result { () throws -> EncodedRecord in
                    EncodedRecord(header: item.header.encoded(), payload: try item.payload ?? item.event.encodedData(timeZone: item.timeZone))
                }
            }
        }.joined()
        let records = try encoded.map { try $0.get() }
        try self.stores.log.write(&reserved, records: records, in: self.txn)
        let count = events.count
        BackgroundRelease.release((consume records, consume events), count: count)
    }

    /// The command's workspace as of this transaction.
    func workspace() throws -> Workspace {
        if let cached = self.cachedWorkspace { return cached }
        let workspace = try self.stores.projector(self.txn).workspaces.workspace(self.context.workspace, in: self.txn)
        self.cachedWorkspace = workspace
        return workspace
    }

    /// The presenter of this command's answer: it records the contacts it shows (``namedContacts``),
    /// which is how deleting one finds the stored answers to replace. A command shows a contact or its
    /// messages through this presenter only.
    func presenter(_ workspace: Workspace) -> ContactPresenter {
        ContactPresenter(workspace: workspace, reference: self.reference, naming: self.namedContacts)
    }

    /// The contact with `uuid` in the command's workspace, or -32001.
    func contact(_ uuid: ContactUUID) throws -> Contact {
        let stored =
            if let open = self.heldProjections {
                try open.contact(uuid, workspace: self.context.workspace)
            } else {
                try self.stores.projector(self.txn).contacts.contact(uuid, workspace: self.context.workspace, in: self.txn)
            }
        guard let contact = stored else {
            throw ContactError.notFound("contact", id: uuid.rawValue)
        }
        if contact.isDeleted { throw ContactError.notFound("contact", id: uuid.rawValue, reason: "deleted") }
        return contact
    }

    /// The contact owning a URN identity, if any.
    func owner(ofURN identity: String) throws -> ContactUUID? {
        if let open = self.heldProjections { return try open.owner(ofURN: identity, workspace: self.context.workspace) }
        return try self.stores.projector(self.txn).contacts.owner(ofURN: identity, workspace: self.context.workspace, in: self.txn)
    }

    /// A decision context for the command's workspace, with its smart groups.
    func decisionContext(normalizedURNs: URNNormalizationTable = URNNormalizationTable()) throws -> DecisionContext {
        let workspace = try self.workspace()
        let smartGroups = SmartGroups(workspace: workspace, reference: self.reference)
        return DecisionContext(
            workspace: workspace, now: self.now, lookup: URNLookup(transaction: self),
            smartGroupsMatching: { contact in smartGroups.matching(contact) }, normalizedURNs: normalizedURNs
        )
    }

    /// The next numeric contact id (global, increasing).
    func nextContactID() throws -> Int64 {
        try self.nextContactIDs(1).lowerBound
    }

    /// The next `count` numeric contact ids, taken at once (an import batch's creations).
    func nextContactIDs(_ count: Int) throws -> Range<Int64> {
        let key = Array("next_contact_id".utf8)
        let next = try self.txn.get(self.stores.meta, key: key).flatMap { BigEndian.uint64($0) } ?? 1
        try self.txn.put(self.stores.meta, key: key, value: BigEndian.bytes(next + UInt64(count)))
        return Int64(next)..<(Int64(next) + Int64(count))
    }

    /// Appends `events` to `stream` in order, then applies them to the read models together: a contact
    /// several of them change (a create with its fields, an imported row) is read, indexed and stored
    /// once, not once per event.
    ///
    /// - Parameters:
    ///   - expectedVersion: checked against the stream's version before the first event.
    ///   - encodedPayloads: the events' payloads, when encoded already (off the writer's thread).
    @discardableResult
    func append(_ events: [LedgerEvent], to stream: String, expectedVersion: UInt64? = nil, encodedPayloads: [[UInt8]]? = nil) throws -> [EventHeader] {
        let givenPayloads = encodedPayloads.flatMap { $0.count == events.count ? $0 : nil }
        var applied: [(event: LedgerEvent, header: EventHeader)] = []
        applied.reserveCapacity(events.count)
        func header(_ event: LedgerEvent, at position: EventPosition) -> EventHeader {
            EventHeader(
                seq: position.seq,
                id: UUID.random().lowercasedString,
                stream: stream,
                version: position.version,
                type: event.type,
                schemaVersion: event.schemaVersion,
                workspace: self.context.workspace,
                createdOn: self.now,
                actor: self.context.actor,
                peer: self.context.peer,
                idempotencyKey: self.context.idempotencyKey
            )
        }
        do {
            if var scope = self.scope {
                // Inside a batching scope: positioned now, encoded and written when the scope ends. The
                // scope is taken out while it grows, so its arrays are not copied on write.
                self.scope = nil
                defer { self.scope = scope }
                let timeZone = try self.workspace().timeZone
                let positions = try self.stores.log.reserve(count: events.count, to: stream, expectedVersion: expectedVersion, in: &scope.reserved, txn: self.txn)
                for (index, (event, position)) in zip(events, positions).enumerated() {
                    applied.append((event, header(event, at: position)))
                    scope.events.append((event, applied[index].header, givenPayloads?[index], timeZone))
                }
            } else {
                let timeZone = try self.workspace().timeZone
                let payloads = try givenPayloads ?? events.map { try $0.encodedData(timeZone: timeZone) }
                try self.stores.log.append(count: events.count, to: stream, expectedVersion: expectedVersion, in: self.txn) { index, position in
                    applied.append((events[index], header(events[index], at: position)))
                    return EncodedRecord(header: applied[index].header.encoded(), payload: payloads[index])
                }
            }
        } catch LogError.versionMismatch(_, let actual) {
            throw ContactError(.conflict, reason: "version_mismatch", field: "expected_version", details: ["actual_version": .integer(Int64(actual))])
        }
        if let last = applied.last { self.lastSeq = last.header.seq }
        if let open = self.heldProjections {
            try open.apply(applied)
        } else {
            try self.stores.projector(self.txn).apply(applied, in: self.txn)
        }
        if !stream.hasPrefix("contact/") { self.cachedWorkspace = nil }
        return applied.map(\.header)
    }

    /// Appends a contact's events and returns the contact as they leave it, folded in memory (the same
    /// `evolve` the read model runs) rather than read back.
    func appendContact(
        _ events: [LedgerEvent],
        of uuid: ContactUUID,
        from prior: Contact?,
        expectedVersion: UInt64?
    ) throws -> Contact {
        let headers = try self.append(events, to: EventHeader.contactStream(uuid), expectedVersion: expectedVersion)
        var contact = prior
        for (event, header) in zip(events, headers) {
            if case .contactCreated(let created) = event {
                contact = Contact(created: created, workspace: header.workspace, at: header.createdOn, version: header.version)
            } else {
                contact?.apply(event, at: header.createdOn, version: header.version)
            }
        }
        guard let contact else { return try self.contact(uuid) }
        return contact
    }

    /// The log's head position (for commands that append nothing).
    func headSeq() throws -> UInt64 { try self.stores.log.head(in: self.txn).seq }
}

/// Answers the deciders' URN ownership questions from the read model, inside the command's transaction.
struct URNLookup: ContactLookup {
    let transaction: CommandTransaction
    func owner(ofURN identity: String) throws -> ContactUUID? { try self.transaction.owner(ofURN: identity) }
}
