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
    /// The most bytes of events a feed encodes ahead of its connection: a subscriber that stops reading
    /// holds this much in the daemon, besides what its connection buffers.
    static let subscriptionChunkBytes = 128 << 10
    /// The most live subscriptions one connection may have. Each catching-up feed encodes events ahead
    /// of its socket: 300 unread ones held 75 MB and, encoding on the event loops, stalled other clients.
    static let subscriptionsPerConnection = 64
    /// The most events a live feed reads and encodes on its connection's event loop at a time. A feed
    /// further behind (a bulk commit) reads its chunk on ``LongCallThreads``: 200 live feeds of one
    /// commit of 200 events, encoded on the loops, kept every other client waiting 13 s (debug).
    static let liveEventsOnLoop = 16
    /// How often a subscription's watchdog compares its position with the head.
    static let subscriberLagCheck: Duration = .milliseconds(200)
    /// How long a subscriber cut off for being too slow has to read its `events.error`.
    static let subscriberErrorGrace: Duration = .seconds(30)

    /// -32602 `past_head`: a position after the log's head, which this log has not written (yet).
    static func pastHead(field: String, head: UInt64) -> RPCError {
        RPCError(code: -32602, message: "Invalid params", data: ["field": .string(field), "reason": "past_head", "head_seq": .integer(Int64(head))])
    }

    func eventsSubscribe(_ call: RPCCall, _ caller: Caller, context: RPCContext) async throws -> JSONValue {
        let params = try self.params(SubscribeParams.self, call)
        if let types = params.types, let index = types.firstIndex(where: { !LedgerEvent.allTypes.contains($0) }) {
            throw RPCError.invalidParams(field: "types[\(index)]", reason: "unknown_type")
        }
        // A seq is a JSON integer (at most 2^63 - 1); the answer echoes the position as one.
        if let after = params.afterSeq, after > UInt64(Int64.max) { throw RPCError.invalidParams(field: "after_seq", reason: "out_of_range") }
        if let hash = params.afterHash {
            guard hash.utf8.count == 64, hash.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
                throw RPCError.invalidParams(field: "after_hash", reason: "invalid")
            }
            guard (params.afterSeq ?? 0) > 0 else { throw RPCError.invalidParams(field: "after_hash", reason: "needs_after_seq") }
        }
        let types = params.types.map(Set.init)
        // Without a position: after every command already answered. Read, not the head watcher's, which
        // moves once the read models have committed too, after the answers went out.
        let head = try self.read { txn in try self.stores.log.head(in: txn).seq }
        let start = params.afterSeq ?? head
        if start > head {
            // Its subscriber saw events this log does not hold (a primary lost with events it never
            // published, a replica not caught up yet): taken, the seqs it skips would be sent to nobody.
            throw Self.pastHead(field: "after_seq", head: head)
        }
        if let hash = params.afterHash {
            // The subscriber's last event is not this log's at that seq: after a failover that lost the old
            // primary's unpublished events, once the new primary's head passed that seq, the same seqs are
            // other events, and `past_head` no longer tells.
            let held = try self.read { txn in try self.stores.log.record(at: start, in: txn) }.map { EventPresenter.hex($0.hash) }
            guard held == hash else {
                // This log's hash is not given: its event there may be another workspace's.
                throw ContactError(.conflict, reason: "history_differs", field: "after_hash", details: ["seq": .integer(Int64(start))])
            }
        }
        // Registered last: a refused subscription must not stay counted against its connection.
        guard let id = self.subscriptions.add(connectionID: context.connectionID, workspace: caller.workspace, limit: Self.subscriptionsPerConnection) else {
            throw RPCError(
                code: -32006, message: "Limit exceeded",
                data: ["reason": "too_many_subscriptions", "limit": .integer(Int64(Self.subscriptionsPerConnection))]
            )
        }
        // The feed starts once the answer carrying the subscription id is on the wire.
        context.afterAnswer.schedule { [self] in
            self.subscriptions.markFeedStarted(id)
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.watchLag(of: id, notifier: context.notifier) }
                // The feed runs in this task, on the connection's event loop like its writes; when it ends
                // (cut off, unsubscribed, or its connection gone), the watchdog stops.
                await self.feed(id, after: start, types: types, workspace: caller.workspace, context: context)
                group.cancelAll()
            }
            self.subscriptions.remove(id)
        }
        return ["subscription": .string(id), "after_seq": .integer(Int64(start))]
    }

    func eventsUnsubscribe(_ call: RPCCall, _ caller: Caller, context: RPCContext) async throws -> JSONValue {
        let params = try self.params(UnsubscribeParams.self, call)
        // As the schema has it (`minLength: 1`): an id left empty is a malformed call, not an unknown subscription.
        guard !params.subscription.isEmpty else { throw RPCError.invalidParams(field: "subscription", reason: "empty") }
        guard self.subscriptions.cancel(params.subscription, connectionID: context.connectionID, workspace: caller.workspace) else {
            throw ContactError.notFound("subscription", id: params.subscription)
        }
        self.ledger.headWatcher.wakeAll()
        // The answer is the last line of the subscription: a feed catching up may hold a chunk read before.
        await self.subscriptions.feedEnded(params.subscription)
        return ["subscription": .string(params.subscription), "unsubscribed": true]
    }

    /// Sends the events after `position`, catching up from the log in chunks and then following it live:
    /// in log order, with no gap and no duplicate, since each step reads from the last position sent.
    ///
    /// While it catches up, and once live whenever it is more than ``liveEventsOnLoop`` events behind the
    /// head (a bulk commit), each chunk is read and encoded on ``LongCallThreads``, in its connection's
    /// turn: many feeds reading at once would otherwise hold the event loops every connection is served
    /// on. Otherwise the few events of each commit are read on the connection's loop, which costs no
    /// thread hop.
    private func feed(_ id: String, after start: UInt64, types: Set<String>?, workspace: String, context: RPCContext) async {
        let notifier = context.notifier
        var position = start
        var catchingUp = start < self.ledger.headWatcher.head
        while !Task.isCancelled, !self.subscriptions.isCancelled(id) {
            let chunk: FeedChunk
            do {
                let farBehind = self.ledger.headWatcher.head > position + UInt64(Self.liveEventsOnLoop)
                if catchingUp || farBehind {
                    let after = position
                    let indexed = catchingUp
                    chunk = try await LongCallThreads.run(for: context.longCallOwner) {
                        try self.feedChunk(id, after: after, types: types, workspace: workspace, indexed: indexed)
                    }
                } else {
                    // Bounded as well: a commit may land between the look at the head and the read. A
                    // chunk that fills up sends the feed to catch up on the long-call threads.
                    chunk = try self.feedChunk(id, after: position, types: types, workspace: workspace, indexed: false, most: Self.liveEventsOnLoop)
                }
            } catch {
                // Its connection closed while the chunk waited for a thread: nothing to tell anybody.
                if Task.isCancelled || LongCallThreads.isDroppedCall(error) { return }
                await self.endUnreadable(id, after: position, error: error, notifier: notifier)
                return
            }
            catchingUp = chunk.isFull
            for (seq, params) in chunk.events {
                // Unsubscribed while the chunk was read: nothing of it goes out.
                if self.subscriptions.isCancelled(id) { return }
                if !params.isEmpty {
                    do {
                        try await notifier.notify(method: "events.event", params: params)
                    } catch {
                        return  // the connection is gone
                    }
                    // Per event sent: a subscriber cut off mid-chunk is told the last one it was sent.
                    self.subscriptions.advance(id, to: seq)
                }
                position = seq
            }
            self.subscriptions.advance(id, to: position)
            let lag = self.subscriptions.lag(of: id, head: self.ledger.headWatcher.head)
            if lag > self.subscriberMaximumLag {
                // Still reading, but more slowly than the log grows.
                self.cutOff(id, lag: lag, notifier: notifier)
                return
            }
            if chunk.events.isEmpty {
                self.subscriptions.markCaughtUp(id)
                await self.ledger.headWatcher.wait(pastSeq: position)
            } else {
                // A catch-up whose chunks send nothing (another workspace's or type's events) never waits
                // on its connection: let the other connections of this event loop have their turn.
                await Task.yield()
            }
        }
    }

    /// The events a feed reads in one snapshot: each with its seq, and its notification's params (empty
    /// for an event not sent: another workspace's, or a type not asked for).
    private struct FeedChunk {
        var events: [(UInt64, [UInt8])] = []
        /// Whether it ended at its most (events or bytes), not at the head: more follow at once.
        var isFull = false
    }

    /// Reads and encodes the next events of a feed after `position`, in one read snapshot.
    ///
    /// Catching up (`indexed`), the feed's events are found in the audit index, as `events.read` finds
    /// them: a subscriber of a workspace of a few events among millions of others' read every record of
    /// the log, 500 a chunk. Live, a chunk is the events of the last commits, read from the log.
    ///
    /// - Parameter most: the most records the chunk takes (sent or not); it also ends at 128 KiB.
    private func feedChunk(
        _ id: String, after position: UInt64, types: Set<String>?, workspace: String, indexed: Bool, most: Int = LedgerMethods.subscriptionChunk
    ) throws -> FeedChunk {
        let subscription = JSONLine.encodeString(id)
        return try self.read { txn in
            let presenter = try self.presenter(workspace, in: txn)
            var chunk = FeedChunk()
            var bytes = 0
            /// Adds `record` to the chunk: its notification when it is one the feed sends, else only its
            /// seq. Returns whether the chunk has room for more.
            func take(_ record: StoredEvent) throws -> Bool {
                // The header decides; only the events sent are decoded whole.
                let header = try Self.decodedHeader(record)
                var line: [UInt8] = []
                if header.workspace == workspace, types?.contains(header.type) ?? true {
                    let event = try Self.decodedEvent(record, header: header)
                    line = Array(#"{"subscription":"#.utf8) + subscription + Array(#","event":"#.utf8)
                        + JSONLine.encode(
                            EventPresenter.envelope(
                                event, presenter: presenter,
                                contactID: try self.maskedContactID(event.header, presenter: presenter, in: txn)
                            )
                        ) + [UInt8(ascii: "}")]
                }
                chunk.events.append((record.seq, line))
                bytes += line.count
                chunk.isFull = chunk.events.count >= most || bytes >= Self.subscriptionChunkBytes
                return !chunk.isFull
            }
            // The links and positions are checked as in events.read: a subscriber is never sent records
            // swapped, removed or moved.
            do {
                let head = try self.stores.log.head(in: txn).seq
                guard position < head else { return chunk }
                let end = indexed
                    ? try self.forEachIndexedEvent(workspace: workspace, types: types, in: (position + 1)...head, limit: Self.subscriptionChunk, in: txn, take)
                    : nil
                switch end {
                case _ where chunk.isFull, .moreAfterLastVisited?:
                    chunk.isFull = true
                case .searchStopped(let listedThrough)?:
                    // Every event up to there was sent: the next chunk starts after it.
                    chunk.events.append((listedThrough, []))
                    chunk.isFull = true
                case .rangeDone?:
                    // None of the rest is the feed's: it is at the head.
                    if chunk.events.last?.0 != head { chunk.events.append((head, [])) }
                case nil:
                    try self.stores.log.forEach(after: position, checkingLinks: true, in: txn, take)
                }
            } catch LogError.damaged where !chunk.events.isEmpty {
                // The events before the damage are sent; the next read starts at it and fails.
                chunk.isFull = true
            }
            return chunk
        }
    }

    /// Cuts off a subscription that stopped reading while the log ran away from it: the feed is stuck
    /// waiting for the connection to take a line, so only closing the connection ends it. What the
    /// subscriber holds is bounded either way: the feed reads from the log, and the connection buffers
    /// at most its high-water mark. The client resubscribes after the last seq it received.
    private func watchLag(of id: String, notifier: RPCNotifier) async {
        while (try? await Task.sleep(for: Self.subscriberLagCheck)) != nil {
            let lag = self.subscriptions.lag(of: id, head: self.ledger.headWatcher.head)
            if lag > self.subscriberMaximumLag {
                self.cutOff(id, lag: lag, notifier: notifier)
                return
            }
        }
    }

    /// Ends a subscription that cannot keep up: tells it why (`events.error`, `too_slow`, with the last
    /// seq it was sent, to resume after) and closes its connection once it has read that far, or after
    /// ``subscriberErrorGrace``. One that stopped reading gets the error behind the events its socket
    /// already holds, past back-pressure: a line more, not a buffer that grows.
    private func cutOff(_ id: String, lag: UInt64, notifier: RPCNotifier) {
        // The feed and the watchdog may both find it too slow: the first one cuts it off.
        guard self.subscriptions.cancelIfLive(id) else { return }
        self.logger.notice("subscription cut off: too slow", metadata: ["subscription.id": "\(id)", "subscription.lag": "\(lag)"])
        let error: JSONValue = [
            "subscription": .string(id), "reason": "too_slow", "last_seq": .integer(Int64(self.subscriptions.position(of: id))),
            "lag": .integer(Int64(lag)),
        ]
        notifier.notifyAndDisconnect(method: "events.error", params: JSONLine.encode(error), grace: Self.subscriberErrorGrace)
    }

    /// Ends a subscription whose next events cannot be read (a damaged log, a damaged page): tells it
    /// why (`events.error` with the reason, the damaged seq when known, and the last seq it was sent),
    /// rather than leaving it waiting for events that never come. Its connection stays open.
    private func endUnreadable(_ id: String, after position: UInt64, error: any Error, notifier: RPCNotifier) async {
        guard self.subscriptions.cancelIfLive(id) else { return }
        var params: [String: JSONValue] = [
            "subscription": .string(id), "last_seq": .integer(Int64(clamping: position)),
        ]
        var metadata: Logger.Metadata = ["subscription.id": "\(id)"]
        if case LogError.damaged(let seq, let damage) = error {
            params["reason"] = "log_damaged"
            params["seq"] = .integer(Int64(clamping: seq))
            params["damage"] = .string(damage.rawValue)
            metadata["ledger.seq"] = "\(seq)"
            metadata["log.damage"] = "\(damage.rawValue)"
        } else {
            // A damaged page, or any other failure of the storage; anything else is the daemon's fault.
            let mapped = ErrorMapping.rpcError(error)
            let reason = mapped?.code == -32005 ? (mapped?.data?["reason"]?.stringValue == "storage_damaged" ? "storage_damaged" : "storage_error") : "internal_error"
            params["reason"] = .string(reason)
            metadata["error.type"] = "\(String(reflecting: type(of: error)))"
        }
        self.logger.error("subscription ended: the log cannot be read", metadata: metadata)
        try? await notifier.notify(method: "events.error", params: JSONLine.encode(.object(params)))
    }

    func connectionClosed(_ connectionID: UInt64) async {
        self.subscriptions.cancelAll(connectionID: connectionID)
        self.ledger.headWatcher.wakeAll()
    }
}
