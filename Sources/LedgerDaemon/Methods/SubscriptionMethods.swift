// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import LedgerStore
import Logging
import Projections
import RPC

extension LedgerMethods {
    /// Events sent per read snapshot while catching up, so no read transaction stays open long.
    static let subscriptionChunk = 500
    /// A live subscription further behind the head than this is cut off with an `events.error`
    /// notification (reason `too_slow`, its last seq); the client resubscribes from there. A
    /// subscription costs no memory as it falls behind (it reads from the log), but an unbounded lag
    /// means its consumer will not catch up.
    static let maximumSubscriberLag: UInt64 = 1_000_000

    func eventsSubscribe(_ call: RPCCall, _ caller: Caller, context: RPCContext) async throws -> JSONValue {
        let params = try self.params(SubscribeParams.self, call)
        if let types = params.types, let index = types.firstIndex(where: { !LedgerEvent.allTypes.contains($0) }) {
            throw RPCError.invalidParams(field: "types[\(index)]", reason: "unknown_type")
        }
        let types = params.types.map(Set.init)
        let id = self.subscriptions.add(connectionID: context.connectionID)
        let start = params.afterSeq ?? self.ledger.headWatcher.head
        // The feed starts once the answer carrying the subscription id is on the wire.
        context.afterAnswer.schedule { [self] in
            await self.feed(id, after: start, types: types, workspace: caller.workspace, notifier: context.notifier)
            self.subscriptions.remove(id)
        }
        return ["subscription": .string(id), "after_seq": .integer(Int64(start))]
    }

    func eventsUnsubscribe(_ call: RPCCall, _ caller: Caller, context: RPCContext) async throws -> JSONValue {
        let params = try self.params(UnsubscribeParams.self, call)
        guard self.subscriptions.cancel(params.subscription, connectionID: context.connectionID) else {
            throw ContactError.notFound("subscription", id: params.subscription)
        }
        self.ledger.headWatcher.wakeAll()
        return ["subscription": .string(params.subscription), "unsubscribed": true]
    }

    /// Sends the events after `position`, catching up from the log in chunks and then following it live:
    /// in log order, with no gap and no duplicate, since each step reads from the last position sent.
    private func feed(_ id: String, after start: UInt64, types: Set<String>?, workspace: String, notifier: RPCNotifier) async {
        var position = start
        // Only a subscriber that once reached the head and then fell behind is "too slow"; one catching
        // up from far back is not.
        var caughtUp = false
        let subscription = JSONLine.encodeString(id)
        while !Task.isCancelled, !self.subscriptions.isCancelled(id) {
            let chunk: [(UInt64, [UInt8])]
            do {
                chunk = try self.read { txn in
                    let presenter = try self.presenter(workspace, in: txn)
                    var chunk: [(UInt64, [UInt8])] = []
                    try self.stores.log.forEach(after: position, in: txn) { record in
                        let event = try EventPresenter.decode(record)
                        var line: [UInt8]? = nil
                        if event.header.workspace == workspace, types?.contains(event.header.type) ?? true {
                            line = Array(#"{"subscription":"#.utf8) + subscription + Array(#","event":"#.utf8)
                                + (JSONLine.encode(EventPresenter.envelope(event, presenter: presenter))) + [UInt8(ascii: "}")]
                        }
                        chunk.append((record.seq, line ?? []))
                        return chunk.count < Self.subscriptionChunk
                    }
                    return chunk
                }
            } catch {
                self.logger.error("subscription read failed", metadata: ["subscription.id": "\(id)"])
                return
            }
            for (seq, params) in chunk {
                if !params.isEmpty {
                    do {
                        try await notifier.notify(method: "events.event", params: params)
                    } catch {
                        return  // the connection is gone
                    }
                }
                position = seq
            }
            self.subscriptions.advance(id, to: position)
            let head = self.ledger.headWatcher.head
            if caughtUp, head > position, head - position > Self.maximumSubscriberLag {
                let error: JSONValue = [
                    "subscription": .string(id), "reason": "too_slow", "last_seq": .integer(Int64(position)),
                    "lag": .integer(Int64(head - position)),
                ]
                try? await notifier.notify(method: "events.error", params: JSONLine.encode(error))
                self.logger.notice("subscription cut off: too slow", metadata: ["subscription.id": "\(id)"])
                return
            }
            if chunk.isEmpty {
                caughtUp = true
                await self.ledger.headWatcher.wait(pastSeq: position)
            }
        }
    }

    func connectionClosed(_ connectionID: UInt64) async {
        self.subscriptions.cancelAll(connectionID: connectionID)
        self.ledger.headWatcher.wakeAll()
    }
}
