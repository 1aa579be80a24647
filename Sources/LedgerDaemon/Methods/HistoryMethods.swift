// ContactLedger — daemon wiring.
import ContactDomain
import LedgerStore
import Projections
import RPC

extension LedgerMethods {
    /// A point in time of the contract, resolved to a predicate on events.
    struct Point {
        var seq: UInt64?
        var time: Timestamp?

        init(_ point: PointInTime, field: String) throws {
            switch point {
            case .seq(let seq): self.seq = seq
            case .timestamp(let text):
                guard let time = Timestamp(rfc3339: text) else { throw RPCError.invalidParams(field: field, reason: "not_a_timestamp") }
                self.time = time
            }
        }

        /// Refuses a seq past the log's head where the point names a state (`at`, `from`, `to`, `as_of`): the
        /// state after an event not yet written is not fixed, and a search paged "as of" it took the writes
        /// made between its pages. Times are taken as they come: a client's clock a little ahead of the
        /// daemon's is no error.
        func requireWritten(head: UInt64, field: String) throws {
            guard let seq, seq > head else { return }
            throw LedgerMethods.pastHead(field: field, head: head)
        }

        /// Whether the state "after everything at or before this point" includes `header`.
        func includes(_ header: EventHeader) -> Bool {
            if let seq = self.seq { return header.seq <= seq }
            if let time = self.time { return header.createdOn <= time }
            return true
        }
    }

    func contactsHistory(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(HistoryParams.self, call)
        let uuid = try Self.contactUUID(params.uuid)
        let limit = try Self.limit(params.limit)
        let after = try params.after.map { try Point($0, field: "after") }
        let before = try params.before.map { try Point($0, field: "before") }
        let cursor = try Self.seqCursor(params.cursor)
        if let types = params.types, let index = types.firstIndex(where: { !LedgerEvent.allTypes.contains($0) }) {
            throw RPCError.invalidParams(field: "types[\(index)]", reason: "unknown_type")
        }
        if let order = params.order, order != "asc", order != "desc" {
            throw RPCError.invalidParams(field: "order", reason: "must_be_asc_or_desc")
        }
        return try self.read { txn in
            // A deleted contact answers -32001 `deleted` like every call about it, unless the caller asks for
            // its erased timeline (types, times, actors, payload hashes), which an audit needs.
            if params.includeDeleted != true { try self.requirePast(of: uuid, workspace: caller.workspace, in: txn) }
            let presenter = try self.presenter(caller.workspace, in: txn)
            // The page is read from the contact's stream index: its records are read and decoded one by
            // one, past the cursor, until the page is full, and only the page's are decoded whole. Read
            // and decoded whole first, a contact of 16,000 events took a second a page, whatever the limit.
            let seqs = try self.stores.log.seqs(of: EventHeader.contactStream(uuid), in: txn)
            // A contact of another workspace (its first event says) is not found here.
            guard let first = seqs.first, let created = try self.stores.log.record(at: first, in: txn),
                try Self.decodedHeader(created).workspace == caller.workspace
            else { throw ContactError.notFound("contact", id: uuid.rawValue) }
            // The workspace's deletions of fields and groups since the contact's creation are candidates
            // too: one that took a value or a membership from the contact is in its timeline (§ "who
            // changed what"), where its value or group had vanished with no item saying why.
            let wantsDeletions = params.types.map { $0.contains("field_deleted") || $0.contains("group_deleted") } ?? true
            let deletions = wantsDeletions ? try self.workspaceDeletions(caller.workspace, after: first, in: txn) : []
            let deletionSeqs = Set(deletions.map(\.seq))
            // Newest first by default, oldest first with `order: "asc"`; the cursor is the seq of the
            // last item returned, and the next page continues past it in the same direction.
            let ascending = params.order == "asc"
            // Points given as seqs, and the cursor, cut the seqs before any record is read; points given
            // as times are checked on each record's header (times need not grow with seqs).
            let inRange = (deletions.isEmpty ? seqs : (seqs + deletionSeqs).sorted()).filter { seq in
                if let cursor, ascending ? seq <= cursor : seq >= cursor { return false }
                if let lowest = after?.seq, seq <= lowest { return false }
                if let highest = before?.seq, seq > highest { return false }
                return true
            }
            let ordered = ascending ? inRange : inRange.reversed()
            var page: [EventPresenter.Decoded] = []
            var hasMore = false
            for seq in ordered {
                guard let record = try self.stores.log.record(at: seq, in: txn) else { continue }
                let header = try Self.decodedHeader(record)
                if header.workspace != caller.workspace { continue }
                if let after, after.includes(header) { continue }
                if let before, !before.includes(header) { continue }
                if let types = params.types, !types.contains(header.type) { continue }
                if deletionSeqs.contains(seq), try !self.deletion(at: seq, of: deletions, touched: uuid, workspace: caller.workspace, in: txn) { continue }
                guard page.count < limit else {
                    hasMore = true
                    break
                }
                page.append(try Self.decodedEvent(record, header: header))
            }
            let next: JSONValue = hasMore ? page.last.map { .string(String($0.header.seq)) } ?? .null : .null
            let items = try page.map { EventPresenter.timelineItem($0, presenter: presenter, contactID: try self.maskedContactID($0.header, presenter: presenter, in: txn)) }
            return ["items": .array(items), "next_cursor": next]
        }
    }

    /// `workspace`'s deletions of fields and groups after `seq`, in log order: from the audit index by
    /// type (a few reads however long the workspace's stream), or else its stream folded.
    func workspaceDeletions(_ workspace: String, after seq: UInt64, in txn: Transaction) throws -> [(seq: UInt64, time: Timestamp, event: LedgerEvent)] {
        let head = try self.stores.log.head(in: txn).seq
        guard head > seq else { return [] }
        var deletions: [(seq: UInt64, time: Timestamp, event: LedgerEvent)] = []
        let end = try self.forEachIndexedEvent(
            workspace: workspace, types: ["field_deleted", "group_deleted"], in: (seq + 1)...head, limit: 1_000_000, in: txn
        ) { record in
            let header = try Self.decodedHeader(record)
            if let payload = record.payload {
                deletions.append((record.seq, header.createdOn, try Self.decodedDomainEvent(record, payload: payload, header: header)))
            }
            return true
        }
        if case .rangeDone? = end { return deletions }
        return try self.workspace(workspace, at: Point(.seq(head), field: "before"), in: txn).events.filter { $0.seq > seq }
    }

    /// Whether the deletion at `seq` (one of `deletions`) took something from the contact `uuid`: a value
    /// of the deleted field, or its membership of the deleted group, held just before it.
    func deletion(
        at seq: UInt64, of deletions: [(seq: UInt64, time: Timestamp, event: LedgerEvent)], touched uuid: ContactUUID, workspace: String,
        in txn: Transaction
    ) throws -> Bool {
        guard let deletion = deletions.first(where: { $0.seq == seq }) else { return false }
        let before = WorkspaceAtPoint(workspace: Workspace(name: workspace), events: deletions.filter { $0.seq < seq })
        guard let contact = try self.contact(uuid, at: Point(.seq(seq - 1), field: "before"), in: before, txn: txn) else { return false }
        switch deletion.event {
        case .fieldDeleted(let key): return contact.fields[key] != nil
        case .groupDeleted(let group): return contact.groups.contains(group)
        default: return false
        }
    }

    /// A workspace as it was at a point: its settings, fields and groups then, and those of its own events
    /// up to the point that change its contacts without events of theirs (field and group deletions).
    struct WorkspaceAtPoint {
        var workspace: Workspace
        var events: [(seq: UInt64, time: Timestamp, event: LedgerEvent)]
    }

    /// `workspace` as it was at `point`, folded from its own stream, and masked as it is now: anonymity
    /// decides what answers may show today, whatever they show of the past.
    func workspace(_ name: String, at point: Point, in txn: Transaction) throws -> WorkspaceAtPoint {
        var past = WorkspaceAtPoint(workspace: Workspace(name: name), events: [])
        for seq in try self.stores.log.seqs(of: EventHeader.workspaceStream(name), in: txn) {
            if let limit = point.seq, seq > limit { break }
            guard let record = try self.stores.log.record(at: seq, in: txn) else { continue }
            let header = try Self.decodedHeader(record)
            guard point.includes(header) else { break }
            guard let payload = record.payload else { continue }
            let event = try Self.decodedDomainEvent(record, payload: payload, header: header)
            past.workspace.apply(event, seq: seq)
            if Contact.isChanged(by: event) { past.events.append((seq, header.createdOn, event)) }
        }
        past.workspace.anonymous = try self.stores.projector(txn).workspaces.workspace(name, in: txn).anonymous
        return past
    }

    /// The contact as it was at `point`, or nil if it did not exist yet: the latest snapshot at or
    /// before the point, then the contact's own events after it (never other contacts' events), with
    /// `workspace`'s deletions of fields and groups in between applied in log order (a snapshot holds
    /// those before it, as the read model it was taken from did).
    func contact(_ uuid: ContactUUID, at point: Point, in workspace: WorkspaceAtPoint, txn: Transaction) throws -> Contact? {
        var contact: Contact?
        var fromVersion: UInt64 = 1
        var snapshotSeq: UInt64 = 0
        let snapshot = try self.stores.projector(txn).contacts.snapshot(
            of: uuid, workspace: workspace.workspace.name, atOrBefore: point.seq ?? UInt64.max, time: point.time, in: txn
        )
        if let snapshot {
            contact = snapshot.contact
            fromVersion = snapshot.contact.version + 1
            snapshotSeq = snapshot.seq
        }
        var pending = workspace.events.drop { $0.seq <= snapshotSeq }
        /// Applies the workspace's events before `seq`.
        func catchUp(before seq: UInt64) {
            while let next = pending.first, next.seq < seq {
                _ = contact?.applyWorkspaceEvent(next.event, at: next.time)
                pending.removeFirst()
            }
        }
        // Read the stream one snapshot interval at a time (the next snapshot is past the point, so one
        // interval normally suffices) and stop at the first event past the point: seqs and timestamps
        // only grow along a stream.
        var next = fromVersion
        folding: while true {
            let versions = next...(next + ContactReadModel.snapshotInterval - 1)
            let seqs = try self.stores.log.seqs(of: EventHeader.contactStream(uuid), versions: versions, in: txn)
            for seq in seqs {
                if let limit = point.seq, seq > limit { break folding }
                guard let record = try self.stores.log.record(at: seq, in: txn) else { continue }
                let header = try Self.decodedHeader(record)
                guard point.includes(header) else { break folding }
                guard header.workspace == workspace.workspace.name else { continue }
                catchUp(before: seq)
                guard let payload = record.payload else {
                    contact?.version = header.version
                    continue
                }
                let domainEvent = try Self.decodedDomainEvent(record, payload: payload, header: header)
                if case .contactCreated(let created) = domainEvent {
                    contact = Contact(created: created, workspace: workspace.workspace.name, at: header.createdOn, version: header.version)
                } else {
                    contact?.apply(domainEvent, at: header.createdOn, version: header.version)
                }
            }
            guard seqs.count == Int(ContactReadModel.snapshotInterval) else { break }
            next += ContactReadModel.snapshotInterval
        }
        catchUp(before: UInt64.max)
        return contact
    }

    /// The contact object as it was at `point`, shown with its workspace's fields and groups as they
    /// were then; nil if it did not exist yet.
    func presentedContact(_ uuid: ContactUUID, at point: Point, workspace name: String, in txn: Transaction) throws -> JSONValue? {
        try self.presentedContactAndHeld(uuid, at: point, workspace: name, in: txn)?.shown
    }

    /// The contact object as it was at `point` as answers show it (`shown`: masked in an anonymous
    /// workspace) and as the ledger holds it (`held`, never answered: what a comparison looks at, since
    /// two names behind one ref, or two numbers behind one mask, still differ); nil if it did not exist yet.
    func presentedContactAndHeld(_ uuid: ContactUUID, at point: Point, workspace name: String, in txn: Transaction) throws -> (shown: JSONValue, held: JSONValue)? {
        let workspace = try self.workspace(name, at: point, in: txn)
        guard let contact = try self.contact(uuid, at: point, in: workspace, txn: txn), !contact.isDeleted else { return nil }
        let shown = ContactPresenter(workspace: workspace.workspace, reference: self.reference).present(contact)
        // What it holds, shown the same way at every point: unmasked, and its datetimes in UTC, so that a
        // change of the workspace's timezone between two points is no change of the contact's values.
        var plain = workspace.workspace
        plain.anonymous = false
        plain.timezone = "UTC"
        return (shown, ContactPresenter(workspace: plain, reference: self.reference).present(contact))
    }

    /// Throws -32001 for a contact the workspace never had (as `contacts.get` does), and -32001 `deleted`
    /// for one deleted since: its past is erased with it.
    func requirePast(of uuid: ContactUUID, workspace: String, in txn: Transaction) throws {
        // The read model keeps a deleted contact's tombstone, so every contact the workspace had is there.
        guard let current = try self.stores.projector(txn).contacts.contact(uuid, workspace: workspace, in: txn) else {
            throw ContactError.notFound("contact", id: uuid.rawValue)
        }
        if current.isDeleted { throw ContactError.notFound("contact", id: uuid.rawValue, reason: "deleted") }
    }

    func contactsAsOf(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(AsOfParams.self, call)
        let uuid = try Self.contactUUID(params.uuid)
        let point = try Point(params.at, field: "at")
        return try self.read { txn in
            try point.requireWritten(head: self.stores.log.head(in: txn).seq, field: "at")
            try self.requirePast(of: uuid, workspace: caller.workspace, in: txn)
            guard let contact = try self.presentedContact(uuid, at: point, workspace: caller.workspace, in: txn) else {
                throw ContactError.notFound("contact", id: uuid.rawValue, reason: "not_yet_created")
            }
            return contact
        }
    }

    func contactsDiff(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(DiffParams.self, call)
        let uuid = try Self.contactUUID(params.uuid)
        let from = try Point(params.from, field: "from")
        let to = try Point(params.to, field: "to")
        return try self.read { txn in
            let head = try self.stores.log.head(in: txn).seq
            try from.requireWritten(head: head, field: "from")
            try to.requireWritten(head: head, field: "to")
            try self.requirePast(of: uuid, workspace: caller.workspace, in: txn)
            let before = try self.presentedContactAndHeld(uuid, at: from, workspace: caller.workspace, in: txn)
            guard let after = try self.presentedContactAndHeld(uuid, at: to, workspace: caller.workspace, in: txn) else {
                throw ContactError.notFound("contact", id: uuid.rawValue, reason: "not_yet_created")
            }
            // What changed is read from the values held; what is shown of them is what answers show. In an
            // anonymous workspace a renamed contact shows its ref before and after, and is still renamed.
            var changes: [String: JSONValue] = [:]
            for property in ["name", "language", "status", "urns", "groups", "last_seen_on"] where before?.held[property] ?? .null != after.held[property] ?? .null {
                changes[property] = ["before": before?.shown[property] ?? .null, "after": after.shown[property] ?? .null]
            }
            let (heldBefore, heldAfter) = (before?.held["fields"] ?? .object([:]), after.held["fields"] ?? .object([:]))
            var keys: Set<String> = []
            if case .object(let members) = heldBefore { keys.formUnion(members.keys) }
            if case .object(let members) = heldAfter { keys.formUnion(members.keys) }
            for key in keys where heldBefore[key] ?? .null != heldAfter[key] ?? .null {
                changes["fields.\(key)"] = ["before": before?.shown["fields"]?[key] ?? .null, "after": after.shown["fields"]?[key] ?? .null]
            }
            return ["changes": .object(changes)]
        }
    }
}
