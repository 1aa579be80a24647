// ContactLedger — daemon wiring.
import ContactDomain
import LedgerStore
import Projections
import RPC

extension LedgerMethods {
    func eventsRead(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(EventsReadParams.self, call)
        let limit = try Self.limit(params.limit)
        // A cursor wins over after_seq: a client pages on with the same params and the cursor added (the
        // contract's uniform paging), and the first page's after_seq is still among them.
        let cursor = try Self.seqCursor(params.cursor)
        let after = cursor ?? params.afterSeq ?? 0
        if let types = params.types, let index = types.firstIndex(where: { !LedgerEvent.allTypes.contains($0) }) {
            throw RPCError.invalidParams(field: "types[\(index)]", reason: "unknown_type")
        }
        let types = params.types.map(Set.init)
        return try self.read { txn in
            let presenter = try self.presenter(caller.workspace, in: txn)
            var items: [JSONValue] = []
            var lastSeq: UInt64?
            var more = false
            func serve(_ record: StoredEvent) throws {
                let event = try Self.decodedEvent(record, header: try Self.decodedHeader(record))
                items.append(
                    EventPresenter.envelope(event, presenter: presenter, contactID: try self.maskedContactID(event.header, presenter: presenter, in: txn))
                )
                lastSeq = record.seq
            }
            let head = try self.stores.log.head(in: txn).seq
            // Refused as events.subscribe refuses it: a reader past the head saw events this log does not
            // hold (a replica not caught up yet, a primary promoted without the old one's last events), and
            // an empty page would have it skip the seqs in between without a word.
            if after > head { throw Self.pastHead(field: cursor == nil ? "after_seq" : "cursor", head: head) }
            guard after < head else { return ["items": [], "next_cursor": .null] }
            do {
                // The workspace's events (of the types asked for) are found in the audit index, which lists
                // every event by type: a workspace of a few events among millions of others' was a scan of
                // the whole log (3.8 s a page at 318,000 events, release).
                let end = try self.forEachIndexedEvent(workspace: caller.workspace, types: types, in: (after + 1)...head, limit: limit, in: txn) {
                    try serve($0)
                    return true
                }
                switch end {
                case .moreAfterLastVisited?:
                    more = true
                case .searchStopped(let position)?:
                    more = true
                    lastSeq = position
                case .rangeDone?:
                    break
                case nil:
                    // The links and positions are checked as the records are read: a page never serves records
                    // swapped, removed or moved (their hashes are ledger.verify's to check).
                    try self.stores.log.forEach(after: after, checkingLinks: true, in: txn) { record in
                        let header = try Self.decodedHeader(record)
                        guard header.workspace == caller.workspace, types?.contains(header.type) ?? true else { return true }
                        if items.count == limit {
                            more = true
                            return false
                        }
                        try serve(record)
                        return true
                    }
                }
            } catch LogError.damaged where lastSeq != nil {
                // The events before the damage are served: the page ends there, and the next one, which
                // starts at the damage, answers the error.
                more = true
            }
            return ["items": .array(items), "next_cursor": more ? lastSeq.map { .string(String($0)) } ?? .null : .null]
        }
    }

    /// A stored record's header; a header that cannot be decoded, or that names another position, is
    /// damage of the log at the record's seq. Every method that reads the log reads headers through it (and
    /// events through ``decodedEvent(_:header:)`` or ``decodedDomainEvent(_:payload:header:)``), so a damaged
    /// record answers -32005 `log_damaged` with its seq, not an internal error.
    static func decodedHeader(_ record: StoredEvent) throws(LogError) -> EventHeader {
        guard let header = try? EventHeader.decode(record.header) else { throw LogError.damaged(seq: record.seq, .undecodable) }
        guard header.seq == record.seq else { throw LogError.damaged(seq: record.seq, .seqMismatch) }
        return header
    }

    /// A stored record's event, its header already decoded; one that cannot be decoded is damage of the
    /// log at its seq.
    static func decodedEvent(_ record: StoredEvent, header: EventHeader) throws(LogError) -> EventPresenter.Decoded {
        guard let event = try? EventPresenter.decode(record, header: header) else { throw LogError.damaged(seq: record.seq, .undecodable) }
        return event
    }

    /// A stored record's payload as a domain event, for the methods that fold the past; one that cannot be
    /// decoded is damage of the log at its seq.
    static func decodedDomainEvent(_ record: StoredEvent, payload: [UInt8], header: EventHeader) throws(LogError) -> LedgerEvent {
        guard let event = try? LedgerEvent.decode(type: header.type, schemaVersion: header.schemaVersion, data: payload) else {
            throw LogError.damaged(seq: record.seq, .undecodable)
        }
        return event
    }

    func ledgerVerify(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(VerifyParams.self, call)
        // Event seqs start at 1 (the schema's eventSeq): a range ending at 0 holds nothing, and would not be
        // a range at all.
        for (field, seq) in [("from_seq", params.fromSeq), ("to_seq", params.toSeq)] where seq == 0 {
            throw RPCError.invalidParams(field: field, reason: "out_of_range")
        }
        if let from = params.fromSeq, let to = params.toSeq, from > to {
            throw RPCError.invalidParams(field: "from_seq", reason: "after_to_seq")
        }
        // A seq past the head is refused: clamped to the head, an anchor check (`to_seq` recorded before
        // the log's tail was cut off) answered `verified: true`. A range starting just after the head is
        // empty, not past it: an incremental check from its last seq + 1, on a log that did not grow (or
        // an empty log's `from_seq: 1`), verifies nothing and says so (`checked: 0`).
        let head = try self.stores.environment.read { try self.stores.log.head(in: $0).seq }
        if let to = params.toSeq, to > head { throw Self.pastHead(field: "to_seq", head: head) }
        if let from = params.fromSeq, from > head + 1 { throw Self.pastHead(field: "from_seq", head: head) }
        let range = (params.fromSeq ?? 1)...(params.toSeq ?? UInt64.max)
        let log = self.stores.log
        let environment = self.stores.environment
        // On the long-call thread the call was given: a detached task ran it on the cooperative pool, whose
        // two threads two verifications held, so that no connection opened meanwhile was served (17 s).
        let result = try log.verify(range: range, environment: environment, headerSeq: { EventHeader.storedSeq(of: $0) })
        var object: [String: JSONValue] = [
            "verified": .bool(result.firstBrokenSeq == nil),
            "head_seq": .integer(Int64(result.headSeq)),
            // An empty log has no head record, so no hash (the schema's null).
            "head_hash": result.headSeq == 0 ? .null : .string(EventPresenter.hex(result.headHash)),
            "checked": .integer(Int64(result.checked)),
        ]
        if let broken = result.firstBrokenSeq { object["broken_seq"] = .integer(Int64(broken)) }
        if let reason = result.reason { object["reason"] = .string(reason.rawValue) }
        // The chain's hash where the range ends, to compare with one recorded elsewhere (an anchor).
        if let last = result.last, last.seq > 0 {
            object["last_seq"] = .integer(Int64(last.seq))
            object["last_hash"] = .string(EventPresenter.hex(last.hash))
        }
        return .object(object)
    }
}
