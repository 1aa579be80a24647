// ContactLedger — daemon wiring.
import ContactDomain
import LedgerStore
import Projections
import RPC

extension LedgerMethods {
    /// The first seq whose event was created at or after `time` (the log's timestamps never decrease),
    /// found by binary search over the log; `head + 1` when none is.
    func firstSeq(atOrAfter time: Timestamp, head: UInt64, in txn: Transaction) throws -> UInt64 {
        var low: UInt64 = 1
        var high = head + 1
        while low < high {
            let middle = low + (high - low) / 2
            guard let record = try self.stores.log.record(at: middle, in: txn) else { return head + 1 }
            if try Self.decodedHeader(record).createdOn < time { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The log positions a point in time covers: everything at or before it.
    func lastSeq(through point: Point, head: UInt64, in txn: Transaction) throws -> UInt64 {
        if let seq = point.seq { return min(seq, head) }
        guard let time = point.time else { return head }
        let after = try self.firstSeq(atOrAfter: Timestamp(microseconds: time.microseconds + 1), head: head, in: txn)
        return after - 1
    }

    func auditChanges(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(AuditParams.self, call)
        let limit = try Self.limit(params.limit)
        let from = try params.from.map { try Point($0, field: "from") }
        let to = try params.to.map { try Point($0, field: "to") }
        let cursor = try Self.seqCursor(params.cursor)
        if let types = params.types, let index = types.firstIndex(where: { !LedgerEvent.allTypes.contains($0) }) {
            throw RPCError.invalidParams(field: "types[\(index)]", reason: "unknown_type")
        }
        let types = params.types.map(Set.init)
        // A malformed key matches nothing, and an empty answer would say nobody changed the field (a field's
        // name given for its key, "City" for `city`): refused. The fields.* methods answer such a key -32001
        // not found, as the contract says of any key fields.create has not defined, which says as much.
        if let field = params.field {
            do { try FieldKey.validate(field) } catch { throw RPCError.invalidParams(field: "field", reason: error.code.rawValue) }
        }
        return try self.read { txn in
            let presenter = try self.presenter(caller.workspace, in: txn)
            let head = try self.stores.log.head(in: txn).seq
            // Refused past the head, as `contacts.diff` refuses its points and `events.read` its cursor:
            // taken up to the head, a `to` past it let the pages take the writes made between them, and a
            // `from` or a cursor past it (a reader of another node's log) an empty answer without a word.
            try from?.requireWritten(head: head, field: "from")
            try to?.requireWritten(head: head, field: "to")
            if let cursor, cursor > head { throw Self.pastHead(field: "cursor", head: head) }
            // The range of positions the time filters allow: the changes that lead from the state at
            // `from` to the state at `to`, as `contacts.diff` compares them. A point is the state after
            // every event at or before it, so the events it covers are not changes since it.
            var first: UInt64 = 1
            if let from { first = try self.lastSeq(through: from, head: head, in: txn) + 1 }
            if let cursor {
                // Nothing lies past a cursor at the head (and 1 past UInt64.max trapped).
                guard cursor < head else { return ["items": [], "next_cursor": .null] }
                first = max(first, cursor + 1)
            }
            let last = try to.map { try self.lastSeq(through: $0, head: head, in: txn) } ?? head
            guard first <= last else { return ["items": [], "next_cursor": .null] }
            let range = first...last

            // The positions every filter's index lists, found in the index alone; the log is read only for
            // those (``forEachIndexedEvent(workspace:types:filters:in:limit:in:_:)``). An older generation
            // answering during a rebuild keeps its index in another format: the log is scanned instead,
            // which every filter checks per event anyway.
            var filters: [AuditIndex.Filter] = []
            if let actor = params.actor { filters.append(AuditIndex.Filter(.actor, [actor])) }
            if let field = params.field { filters.append(AuditIndex.Filter(.field, [field])) }
            if let uid = params.peerUID { filters.append(AuditIndex.Filter(.peerUID, [String(uid)])) }

            var items: [JSONValue] = []
            var lastSeen: UInt64?
            var more = false
            // Each record is read as `events.read` reads it: its link to the record before it and the position
            // its header names checked, and a record that cannot be decoded is damage at its seq (-32005
            // `log_damaged`), not an internal error; a record swapped into another's place was served.
            func consider(_ record: StoredEvent) throws -> Bool {
                let header = try Self.decodedHeader(record)
                lastSeen = record.seq
                guard header.workspace == caller.workspace else { return true }
                if let actor = params.actor, header.actor != actor { return true }
                if let uid = params.peerUID, header.peer?.uid != uid { return true }
                if let types, !types.contains(header.type) { return true }
                let event = try Self.decodedEvent(record, header: header)
                if let field = params.field, event.data?["field"]?["key"]?.stringValue != field { return true }
                if items.count == limit {
                    more = true
                    lastSeen = items.last.flatMap { $0["seq"]?.integerValue }.map { UInt64($0) }
                    return false
                }
                var item = EventPresenter.timelineItem(
                    event, presenter: presenter, contactID: try self.maskedContactID(header, presenter: presenter, in: txn)
                )
                if case .object(var members) = item {
                    members["stream"] = .string(header.stream)
                    members["contact"] = header.contactUUID.map { .string($0.rawValue) } ?? .null
                    members["workspace"] = .string(header.workspace)
                    members["id"] = .string(header.id)
                    item = .object(members)
                }
                items.append(item)
                return true
            }
            do {
                let end = try self.forEachIndexedEvent(
                    workspace: caller.workspace, types: types, filters: filters, in: range, limit: limit, in: txn, consider
                )
                switch end {
                case .moreAfterLastVisited?:
                    more = true
                case .searchStopped(let position)?:
                    // The search stopped before the range's end: the next page goes on from there.
                    more = true
                    lastSeen = position
                case .rangeDone?:
                    break
                case nil:
                    try self.stores.log.forEach(after: range.lowerBound - 1, checkingLinks: true, in: txn) { record in
                        guard record.seq <= range.upperBound else { return false }
                        return try consider(record)
                    }
                }
            } catch LogError.damaged where !items.isEmpty {
                // The changes before the damage are answered; the next page, which starts at it, answers
                // the error.
                more = true
            }
            return ["items": .array(items), "next_cursor": more ? lastSeen.map { .string(String($0)) } ?? .null : .null]
        }
    }
}
