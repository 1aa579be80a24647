// ContactLedger — daemon wiring.
import ContactDomain
import LedgerStore
import Projections
import RPC

extension LedgerMethods {
    func eventsRead(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(EventsReadParams.self, call)
        let limit = try Self.limit(params.limit)
        let after = try Self.seqCursor(params.cursor) ?? params.afterSeq ?? 0
        if let types = params.types, let index = types.firstIndex(where: { !LedgerEvent.allTypes.contains($0) }) {
            throw RPCError.invalidParams(field: "types[\(index)]", reason: "unknown_type")
        }
        let types = params.types.map(Set.init)
        return try self.read { txn in
            let presenter = try self.presenter(caller.workspace, in: txn)
            var items: [JSONValue] = []
            var lastSeq: UInt64?
            var more = false
            try self.stores.log.forEach(after: after, in: txn) { record in
                let header = try EventHeader.decode(record.header)
                guard header.workspace == caller.workspace, types?.contains(header.type) ?? true else { return true }
                let event = try EventPresenter.decode(record, header: header)
                if items.count == limit {
                    more = true
                    return false
                }
                items.append(
                    EventPresenter.envelope(
                        event, presenter: presenter, contactID: try self.maskedContactID(event.header, presenter: presenter, in: txn)
                    )
                )
                lastSeq = record.seq
                return true
            }
            return ["items": .array(items), "next_cursor": more ? lastSeq.map { .string(String($0)) } ?? .null : .null]
        }
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
        let range = (params.fromSeq ?? 1)...(params.toSeq ?? UInt64.max)
        let log = self.stores.log
        let environment = self.stores.environment
        // Verification reads the whole range; run it off the cooperative pool.
        let result = try await Task.detached { try log.verify(range: range, environment: environment) }.value
        var object: [String: JSONValue] = [
            "verified": .bool(result.firstBrokenSeq == nil),
            "head_seq": .integer(Int64(result.headSeq)),
            "head_hash": .string(EventPresenter.hex(result.headHash)),
            "checked": .integer(Int64(result.checked)),
        ]
        if let broken = result.firstBrokenSeq { object["broken_seq"] = .integer(Int64(broken)) }
        return .object(object)
    }
}
