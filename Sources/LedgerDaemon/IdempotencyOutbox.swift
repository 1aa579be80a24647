// ContactLedger — daemon wiring.
import LedgerStore

/// The stored idempotent answers a publishing primary has yet to send to its replicas
/// (``ReplicationPublisher``), so that a replica promoted in a failover answers a retry as the old
/// primary would have: the first answer again, `idempotency_key_reused`, or `deleted`. Without them a
/// client retrying on the promoted node a create the old primary had answered made the contact twice.
///
/// Durable like the answers (`ledger.idempotency_outbox`), written in the transaction that stores or
/// replaces an answer (``IdempotencyRecord/store(at:replacingPersonalData:stores:in:)``), as
/// ``LedgerStores/idempotentAnswers`` says (``Sharing``). An entry's key is the log's head `seq`
/// when the answer was stored (8 bytes, big-endian) followed by the answer's own key; its value is one
/// byte, `1` when the answer replaced one holding personal data (a deleted contact's), whose copy must
/// be erased from the stream before the new one is sent. The publisher sends a first answer before it sends
/// the event at its `seq` (the last of the command it answers, if that made any), a replacement once the
/// stream holds the event at its `seq`, then removes the entry.
///
/// The mark ``completeKey`` says every stored answer has an entry or was sent. An answer stored while the
/// daemon neither publishes nor follows removes it, so the next publishing start queues every stored
/// answer again (``queueEveryAnswer(_:in:)``); such a start drops the queue and the mark at once
/// (``prepare(_:)``). A replica keeps the mark: the answers it stores are the stream's already, so a
/// promotion has none to send again (it queued them all, and the promoted node's own answers, and so its
/// events, waited behind them for a minute).
enum IdempotencyOutbox {
    static let tableName = "ledger.idempotency_outbox"
    /// In `ledger.meta`: present while every stored answer is queued or sent.
    static let completeKey = Array("replication.idempotency_complete".utf8)

    /// What becomes of the answers a daemon stores, by its part in replication.
    enum Sharing: Sendable {
        /// Not replicated: nothing is queued, and the queue is no longer complete.
        case kept
        /// Publishing (`--replicate`): every answer stored is queued.
        case published
        /// Following (`--follow`): the answers stored are the stream's. Only an erasure made here is
        /// queued: the stream's copy still holds what it erased until the primary sends the erased one,
        /// which a primary that went down never does; promoted, this node sends it.
        case followed

        init(role: ReplicationSettings.Role?) {
            switch role {
            case .publisher?: self = .published
            case .replica?: self = .followed
            case nil: self = .kept
            }
        }
    }

    /// An answer waiting to be sent.
    struct Entry: Sendable {
        /// The entry's own key (``IdempotencyOutbox`` documents it).
        var key: [UInt8]
        /// The answer's key in `ledger.idempotency`.
        var answerKey: [UInt8]
        /// Whether the stream's copy of the answer this one replaced must be erased first.
        var replacesPersonalData: Bool
        /// The answer as stored now; nil when it is no longer stored.
        var record: [UInt8]?
        /// The log's record at the `seq` it was queued at (nil on an empty log): the answer is sent with
        /// it (``ReplicatedAnswer``).
        var queuedAt: (seq: UInt64, hash: [UInt8])?
    }

    /// Queues the answer stored at `answerKey` in `txn`, as ``Sharing`` says; when nothing will send it,
    /// the queue is no longer complete.
    static func queue(_ answerKey: [UInt8], replacingPersonalData: Bool, stores: LedgerStores, in txn: Transaction) throws {
        switch stores.idempotentAnswers {
        case .kept:
            _ = try txn.delete(stores.meta, key: Self.completeKey)
            return
        case .followed where !replacingPersonalData:
            return
        case .published, .followed:
            break
        }
        let key = BigEndian.bytes(try stores.log.head(in: txn).seq) + answerKey
        // A replacement queued earlier at the same position keeps its erasure.
        let earlier = try txn.get(stores.idempotencyOutbox, key: key)?.first == 1
        try txn.put(stores.idempotencyOutbox, key: key, value: [replacingPersonalData || earlier ? 1 : 0])
    }

    /// Up to `limit` entries, oldest first, with their answers as stored now: the first answers queued at
    /// or before `seq`, and the replacements queued at or before `published`.
    ///
    /// A replacement goes once the stream holds the events up to it (the deletion that erased the answer
    /// it replaces), a first answer before its command's events: a replacement sent first erased the
    /// stream's copy of the first answer, and when its deletion never reached the stream (the primary
    /// went down), a replica that had not received that copy yet held neither, and a retry made the
    /// contact twice.
    static func entries(upTo seq: UInt64, replacementsUpTo published: UInt64, limit: Int, stores: LedgerStores, in txn: Transaction) throws -> [Entry] {
        var entries: [Entry] = []
        try txn.withCursor(stores.idempotencyOutbox) { cursor in
            try cursor.forEach(from: []) { stored in
                guard entries.count < limit, let queuedAt = BigEndian.uint64(stored.key.prefix(8)), queuedAt <= seq else { return false }
                let replaces = stored.value.first == 1
                guard !replaces || queuedAt <= published else { return true }
                let answerKey = Array(stored.key.dropFirst(8))
                entries.append(
                    Entry(
                        key: Array(stored.key), answerKey: answerKey, replacesPersonalData: replaces,
                        record: try txn.get(stores.idempotency, key: answerKey),
                        queuedAt: try stores.log.record(at: queuedAt, in: txn).map { ($0.seq, $0.hash) }
                    )
                )
                return true
            }
        }
        return entries
    }

    /// The `seq` of the first answer (not a replacement) queued after `seq`, if any: the publisher sends
    /// no event from there on before that answer.
    static func firstAnswerQueued(after seq: UInt64, stores: LedgerStores, in txn: Transaction) throws -> UInt64? {
        var first: UInt64?
        try txn.withCursor(stores.idempotencyOutbox) { cursor in
            try cursor.forEach(from: BigEndian.bytes(seq + 1)) { stored in
                guard stored.value.first == 1 else {
                    first = BigEndian.uint64(stored.key.prefix(8))
                    return false
                }
                return true
            }
        }
        return first
    }

    /// Removes `entries`, once sent; an entry queued again since as a replacement (it was not one) stays.
    static func remove(_ entries: [Entry], stores: LedgerStores, in txn: Transaction) throws {
        for entry in entries where try txn.get(stores.idempotencyOutbox, key: entry.key) == [entry.replacesPersonalData ? 1 : 0] {
            _ = try txn.delete(stores.idempotencyOutbox, key: entry.key)
        }
    }

    /// How many answers wait to be sent.
    static func pending(_ stores: LedgerStores, in txn: Transaction) throws -> Int {
        try txn.count(stores.idempotencyOutbox)
    }

    /// Whether ``completeKey`` is set: every stored answer is queued or sent.
    static func isComplete(_ stores: LedgerStores) throws -> Bool {
        try stores.environment.read { try $0.get(stores.meta, key: Self.completeKey) != nil }
    }

    /// Queues every stored answer when ``completeKey`` is missing (the first publishing start, or the
    /// first after starts that did not publish), and sets it.
    static func queueEveryAnswer(_ stores: LedgerStores, in txn: Transaction) throws {
        guard try txn.get(stores.meta, key: Self.completeKey) == nil else { return }
        let head = BigEndian.bytes(try stores.log.head(in: txn).seq)
        var keys: [[UInt8]] = []
        try txn.withCursor(stores.idempotency) { cursor in
            try cursor.forEach(from: []) { entry in
                keys.append(Array(entry.key))
                return true
            }
        }
        // Each as a replacement: while this node did not publish, an answer it had sent before may have
        // been erased here, and the stream's copy with it must go. (The publisher sends nothing for an
        // answer whose copy on the stream is the same.)
        for key in keys { try txn.put(stores.idempotencyOutbox, key: head + key, value: [1]) }
        try txn.put(stores.meta, key: Self.completeKey, value: [1])
    }

    /// At a start, as ``LedgerStores/idempotentAnswers`` says: publishing, the queue goes on; following,
    /// every answer stored is the stream's (or an erasure queued), so the mark is set; neither, answers
    /// stored from now on are not queued, so the queue, of no use to anyone, and its mark are dropped.
    /// Written only when something changes.
    static func prepare(_ stores: LedgerStores) throws {
        switch stores.idempotentAnswers {
        case .published:
            return
        case .followed:
            guard try stores.environment.read({ try $0.get(stores.meta, key: Self.completeKey) }) == nil else { return }
            try stores.environment.write { try $0.put(stores.meta, key: Self.completeKey, value: [1]) }
        case .kept:
            let held = try stores.environment.read { txn in
                try txn.get(stores.meta, key: Self.completeKey) != nil || txn.count(stores.idempotencyOutbox) > 0
            }
            guard held else { return }
            try stores.environment.write { txn in
                try txn.clear(stores.idempotencyOutbox)
                _ = try txn.delete(stores.meta, key: Self.completeKey)
            }
        }
    }
}
