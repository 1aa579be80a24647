// ContactLedger — storage layer.
import ParallelWork

/// An append-only, hash-chained log of opaque records, ordered by a global `seq`, with a per-stream
/// index and optimistic concurrency.
///
/// The log knows nothing of what the records mean: the layer above encodes each record's header and
/// payload, given the position the log assigns. Every method takes the transaction to work in, so that
/// appends, read models and idempotency records commit together.
public struct EventLog: Sendable {
    /// Table names this log uses in its environment. The head is kept in the root table, whose page
    /// every append rewrites anyway; `log.meta` held it before and is read only to move it from there.
    public static let tableNames = ["log.events", Self.streamIndexName, "log.meta", Table.rootName]
    /// The stream index's table. Opened as a rebuildable table (with ``StreamIndexing``), it is derived
    /// from the records and kept out of the synced commit (see ``init(tables:indexing:)``).
    public static let streamIndexName = "log.streams"
    /// Tables earlier versions of the log kept and this one no longer reads: `log.heads` held each
    /// stream's version, which is the last key of its stream index. Dropped at open.
    public static let retiredTableNames = ["log.heads"]

    private let events: Table
    private let streams: Table
    private let meta: Table
    private let root: Table
    /// How the stream index is derived from the records, when it is rebuildable.
    private let indexing: StreamIndexing?
    /// The stream index's own key holding the last position it covers and the log's hash there (when
    /// rebuildable): the rebuildable part's anchor in the log (``checkRebuildablePartAnchor(in:)``).
    /// Versions before the anchor stored the position alone (8 bytes). No stream key begins with 0xFF, a
    /// byte UTF-8 never uses.
    private static let indexPositionKey: [UInt8] = [0xFF]
    /// Records a rebuildable stream index reads and indexes in one go when it catches up.
    public static let indexCatchUpRecords = 100_000
    /// The head's key in the root table (root keys begin with a 0 byte).
    private static let headKey = [0] + Array("log.head".utf8)
    /// The head's key in `log.meta`, where earlier versions kept it.
    private static let formerHeadKey = Array("head".utf8)
    /// The layout of the log's tables this version reads and writes: 2 since the head moved to the root
    /// table and the stream index to the read models' part (versions before kept no record: 1).
    public static let layout: UInt64 = 2
    /// The layout's key in `log.meta`.
    private static let layoutKey = Array("layout".utf8)
    private static let genesisHash = [UInt8](repeating: 0, count: StoredEvent.hashLength)

    /// Uses the log tables among `tables` (opened with ``Environment/openTables(_:durability:)``).
    ///
    /// - Parameter indexing: required when the stream index was opened as a rebuildable table. It then
    ///   lives in the environment's unsynced part: an append writes and syncs only the records, the
    ///   head and LMDB's own pages (a stream index entry cost each append three more pages to sync,
    ///   whose root-to-leaf path is random). The index records the last position it covers and is
    ///   brought up to the head from the records themselves before any append, so it is never behind
    ///   a write: after a process crash, a failed commit of that part, or its loss with the machine
    ///   (``catchUpStreamIndex(environment:chunk:progress:)`` does it at open, in chunks).
    public init(tables: [String: Table], indexing: StreamIndexing? = nil) throws(LogError) {
        guard let events = tables["log.events"], let streams = tables[Self.streamIndexName], let meta = tables["log.meta"],
            let root = tables[Table.rootName]
        else { throw LogError.missingTables }
        guard !streams.isInRebuildablePart || indexing != nil else { throw LogError.missingTables }
        self.events = events
        self.streams = streams
        self.meta = meta
        self.root = root
        self.indexing = streams.isInRebuildablePart ? indexing : nil
    }

    /// Opens the log in `environment`: with `indexing` and a rebuildable part, its stream index lives
    /// there (one kept in the durable part by earlier versions is dropped); a head kept in `log.meta`
    /// moves to the root table; the stream index catches up with the log. Writes: call at open, before
    /// any other writer.
    public static func open(in environment: Environment, indexing: StreamIndexing?) throws -> EventLog {
        let rebuildableIndex = indexing != nil && environment.rebuildableDirectory != nil
        try environment.dropTables(Self.retiredTableNames + (rebuildableIndex ? [Self.streamIndexName] : []))
        var tables = try environment.openTables(Self.tableNames.filter { !rebuildableIndex || $0 != Self.streamIndexName })
        if rebuildableIndex {
            tables.merge(try environment.openTables([Self.streamIndexName], durability: .rebuildable)) { first, _ in first }
        }
        let log = try EventLog(tables: tables, indexing: indexing)
        try log.moveFormerHead(in: environment)
        // A head that disagrees with the records (records stored past it, or missing below it) is refused
        // first: the index's catch-up reads up to the head, and made no progress over a gap below it.
        try log.checkHead(in: environment)
        // Before the index catches up, which would otherwise take an index ahead of the log for one to
        // rebuild, and the rest of the rebuildable part with it for the truth.
        try log.checkRebuildablePartAnchor(in: environment)
        if log.indexing != nil, environment.rebuildableDirectory != nil {
            let head = try environment.read { try log.head(in: $0) }
            if head.seq > 0 { try environment.recordDurableAnchor(DurableAnchor(seq: head.seq, hash: head.hash)) }
        }
        try log.catchUpStreamIndex(environment: environment)
        return log
    }

    /// Refuses a rebuildable part derived from another log than this one
    /// (``LogError/rebuildablePartFromAnotherLog(position:head:cause:)``): the stream index's anchor, the
    /// last position it covers and the log's hash there, must be a record of this log with that hash. A
    /// log lost, emptied, truncated, restored from an older copy or replaced by another ledger's fails it,
    /// where a seq alone would let the part's contents be served as the truth and seqs be handed out
    /// again. An anchor of an earlier version (a position without a hash) takes the log's hash at that
    /// position, once.
    public func checkRebuildablePartAnchor(in environment: Environment) throws {
        guard self.indexing != nil else { return }
        // The part's own anchor; for a part that has none (discarded unread after the machine went down
        // with it, or emptied), the one kept beside it when it was last opened.
        let kept = environment.durableAnchorOfRebuildablePart.map { (seq: $0.seq, hash: Optional($0.hash)) }
        let own = try environment.read { try self.indexAnchor(in: $0) }
        guard let anchor = own ?? kept, anchor.seq > 0 else { return }
        let (head, stored): (UInt64, [UInt8]?)
        do {
            (head, stored) = try environment.read { txn in (try self.head(in: txn).seq, try self.storedHash(at: anchor.seq, in: txn)) }
        } catch let error as LMDBError where Environment.isDamage(error) {
            // Only the durable part was read: say it is the log's file.
            throw LogError.damagedFile(error)
        }
        let mismatch: LogError.AnchorMismatch?
        if anchor.seq > head {
            mismatch = .logEndsBefore
        } else if let stored {
            guard let hash = anchor.hash else {
                try environment.write { txn in try self.recordStreamIndexPosition((anchor.seq, stored), in: txn) }
                return
            }
            mismatch = hash == stored ? nil : .recordDiffers
        } else {
            mismatch = .recordMissing
        }
        guard let mismatch else { return }
        // Refused on the kept anchor, the (emptied) part is not recorded as closed cleanly: the marker goes
        // on saying what it said, a power loss included, until a start with the right log.
        if own == nil { environment.discardRebuildablePart() }
        throw LogError.rebuildablePartFromAnotherLog(position: anchor.seq, head: head, cause: mismatch)
    }

    /// Brings a rebuildable stream index up to the log's head, in writes of `chunk` records; returns
    /// how many records it indexed. Call at open, before the writer starts.
    @discardableResult
    public func catchUpStreamIndex(environment: Environment, chunk: Int = EventLog.indexCatchUpRecords, progress: (UInt64, UInt64) -> Void = { _, _ in }) throws -> UInt64 {
        guard self.indexing != nil else { return 0 }
        var indexed: UInt64 = 0
        while true {
            let (position, head, added) = try environment.write { txn in try self.indexRecords(upTo: chunk, head: try self.head(in: txn).seq, in: txn) }
            indexed += UInt64(added)
            progress(position, head)
            if position >= head { return indexed }
            // No record after the position, below the head: the log lacks one (the read's link checks
            // name it first); never loop over it.
            if added == 0 { throw LogError.damaged(seq: position + 1, .missing) }
        }
    }

    /// Indexes at most `limit` records towards the log's head in `txn` (a copy of the rebuildable part
    /// being brought up to date, say); returns whether the index reached the head.
    public func catchUpStreamIndex(limit: Int, in txn: Transaction) throws -> Bool {
        guard self.indexing != nil else { return true }
        let (position, head, _) = try self.indexRecords(upTo: limit, head: try self.head(in: txn).seq, in: txn)
        return position >= head
    }

    /// The last position the rebuildable stream index covers.
    private func indexPosition(in txn: Transaction) throws -> UInt64 {
        try self.indexAnchor(in: txn)?.seq ?? 0
    }

    /// The last position the rebuildable stream index covers and the log's hash there (nil for an
    /// anchor an earlier version wrote), or nil when it has none.
    private func indexAnchor(in txn: Transaction) throws -> (seq: UInt64, hash: [UInt8]?)? {
        guard let bytes = try txn.get(self.streams, key: Self.indexPositionKey), let seq = BigEndian.uint64(bytes) else { return nil }
        return (seq, bytes.count == 8 + StoredEvent.hashLength ? Array(bytes[8...]) : nil)
    }

    /// The hash stored in the record at `seq`, without decoding the rest of it; nil when there is no
    /// such record or it is too short to hold one.
    private func storedHash(at seq: UInt64, in txn: Transaction) throws -> [UInt8]? {
        try txn.withValue(self.events, key: BigEndian.bytes(seq)) { bytes -> [UInt8]? in
            // Layout: format, prev_hash, hash, … (``StoredEvent/encoded()``).
            let start = 1 + StoredEvent.hashLength
            guard let bytes, bytes.count >= start + StoredEvent.hashLength else { return nil }
            return Array(bytes[start..<(start + StoredEvent.hashLength)])
        }
    }

    /// Indexes at most `limit` records after the rebuildable stream index's position, towards the log's
    /// `head`; returns the position reached, the head and how many records it indexed. An index ahead
    /// of the log (a durable part restored from an older copy) is emptied and rebuilt.
    private func indexRecords(upTo limit: Int, head: UInt64, in txn: Transaction) throws -> (position: UInt64, head: UInt64, indexed: Int) {
        guard let indexing = self.indexing else { return (0, 0, 0) }
        var position = try self.indexPosition(in: txn)
        if position > head {
            try txn.clear(self.streams)
            position = 0
        }
        guard position < head else { return (position, head, 0) }
        var found = HeadersInPlace()
        // Links checked (no hashing): a gap or a swapped record is damage at its seq, not a stall.
        try self.forEachView(after: position, checkingLinks: true, in: txn) { view in
            found.seqs.append(view.seq)
            found.headers.append(view.header)
            return found.seqs.count < limit && view.seq < head
        }
        let headers = found
        // Headers are read on every core; the entries go in key order through one cursor.
        let keys = ParallelSlices.map(count: headers.seqs.count, minimumPerSlice: 1_024) { slice -> (keys: [[UInt8]], unreadable: UInt64?) in
            var keys: [[UInt8]] = []
            keys.reserveCapacity(slice.count)
            for index in slice {
                guard let (stream, version) = indexing.entry(headers.headers[index], headers.seqs[index]) else { return (keys, headers.seqs[index]) }
                keys.append(Self.streamKey(stream, version: version))
            }
            return (keys, nil)
        }
        var entries = SortedWrites()
        var index = 0
        for slice in keys {
            if let unreadable = slice.unreadable { throw LogError.corruptRecord(seq: unreadable) }
            for key in slice.keys {
                entries.put(key: key, value: BigEndian.bytes(headers.seqs[index]))
                index += 1
            }
        }
        try entries.apply(to: self.streams, in: txn)
        if let last = headers.seqs.last {
            position = last
            guard let hash = try self.storedHash(at: last, in: txn) else { throw LogError.corruptRecord(seq: last) }
            try self.recordStreamIndexPosition((last, hash), in: txn)
        }
        return (position, head, headers.seqs.count)
    }

    /// Before an append: a rebuildable stream index behind the log's `head` (its part lost a commit)
    /// catches up.
    private func prepareStreamIndex(head: UInt64, in txn: Transaction) throws {
        guard self.indexing != nil else { return }
        while try self.indexRecords(upTo: Self.indexCatchUpRecords, head: head, in: txn).position < head {}
    }

    /// After an append: a rebuildable stream index covers the new head, whose hash the append knows
    /// (so anchoring the part costs no read, only 32 more bytes in a value every append writes anyway).
    private func recordStreamIndexPosition(_ head: (seq: UInt64, hash: [UInt8]), in txn: Transaction) throws {
        guard self.indexing != nil else { return }
        try txn.put(self.streams, key: Self.indexPositionKey, value: BigEndian.bytes(head.seq) + head.hash)
    }

    /// The last appended position and its hash (`seq` 0 and zero hash for an empty log).
    public func head(in txn: Transaction) throws -> (seq: UInt64, hash: [UInt8]) {
        guard let bytes = try txn.get(self.root, key: Self.headKey) else { return (0, Self.genesisHash) }
        guard bytes.count == 8 + StoredEvent.hashLength, let seq = BigEndian.uint64(bytes) else {
            throw LogError.corruptHead
        }
        return (seq, Array(bytes[8...]))
    }

    /// Refuses a log laid out by a later version (``LogError/newerLayout(found:supported:)``) before
    /// anything is changed in it, and records this version's layout otherwise, so that a later version's
    /// log is never read, and half rewritten, in a layout this one does not know. Call first when
    /// opening a data directory, before any other write.
    public static func claimLayout(in environment: Environment) throws {
        guard let meta = try environment.openTables(["log.meta"])["log.meta"] else { throw LogError.missingTables }
        let stored = try environment.read { try $0.get(meta, key: Self.layoutKey) }.flatMap { BigEndian.uint64($0) }
        if let stored, stored > Self.layout { throw LogError.newerLayout(found: stored, supported: Self.layout) }
        guard stored != Self.layout else { return }
        try environment.write { try $0.put(meta, key: Self.layoutKey, value: BigEndian.bytes(Self.layout)) }
    }

    /// Moves the head from `log.meta`, where logs written by earlier versions keep it, to the root
    /// table, in one write when there is one to move. Call once, before appending.
    public func moveFormerHead(in environment: Environment) throws {
        guard try environment.read({ try $0.contains(self.meta, key: Self.formerHeadKey) }) else { return }
        try environment.write { txn in
            guard let former = try txn.get(self.meta, key: Self.formerHeadKey) else { return }
            if try txn.get(self.root, key: Self.headKey) == nil {
                try txn.put(self.root, key: Self.headKey, value: former)
            }
            try txn.delete(self.meta, key: Self.formerHeadKey)
        }
    }

    /// The version of `stream`: the number of records appended to it (0 when it has none).
    ///
    /// Read from the stream index, whose keys are `stream 0x00 version`: the stream's last key holds it.
    /// (A table of stream heads would cost every append one more page to write and sync.)
    public func version(of stream: String, in txn: Transaction) throws -> UInt64 {
        let prefix = Array(stream.utf8) + [0]
        var version: UInt64 = 0
        try txn.withCursor(self.streams) { cursor in
            // Every key of the stream sorts before `stream 0x01`.
            try cursor.forEachReversed(before: Array(stream.utf8) + [1]) { entry in
                if entry.key.count == prefix.count + 8, entry.key.hasPrefix(prefix) {
                    version = BigEndian.uint64(entry.key, at: prefix.count) ?? 0
                }
                return false
            }
        }
        return version
    }

    /// Appends one record to `stream`.
    ///
    /// - Parameters:
    ///   - expectedVersion: when given, the stream's current version must equal it.
    ///   - encode: builds the header and payload for the assigned position.
    /// - Throws: ``LogError/versionMismatch(expected:actual:)``, or storage errors.
    @discardableResult
    public func append(
        to stream: String,
        expectedVersion: UInt64? = nil,
        in txn: Transaction,
        encode: (EventPosition) throws -> EncodedRecord
    ) throws -> EventPosition {
        // One record in, one position out.
        try self.append(count: 1, to: stream, expectedVersion: expectedVersion, in: txn) { _, position in try encode(position) }[0]
    }

    /// Appends `count` records to `stream`, one after the other: the stream's version and the log's
    /// head are read once and the head written once, however many records there are.
    ///
    /// - Parameters:
    ///   - expectedVersion: when given, the stream's version before the first record must equal it.
    ///   - encode: builds the header and payload of the `index`-th record for its assigned position.
    /// - Returns: the positions, in order.
    /// - Throws: ``LogError/versionMismatch(expected:actual:)``, or storage errors.
    @discardableResult
    public func append(
        count: Int,
        to stream: String,
        expectedVersion: UInt64? = nil,
        in txn: Transaction,
        encode: (_ index: Int, EventPosition) throws -> EncodedRecord
    ) throws -> [EventPosition] {
        guard count > 0 else { return [] }
        var head = try self.head(in: txn)
        try self.prepareStreamIndex(head: head.seq, in: txn)
        let current = try Self.checked(self.version(of: stream, in: txn), expected: expectedVersion)
        var positions: [EventPosition] = []
        positions.reserveCapacity(count)
        for index in 0..<count {
            let position = EventPosition(seq: head.seq + 1, version: current + UInt64(index) + 1)
            let encoded = try encode(index, position)
            let record = StoredEvent(seq: position.seq, prevHash: head.hash, header: encoded.header, payload: encoded.payload)
            try self.store(record, at: position, of: stream, in: txn)
            head = (position.seq, record.hash)
            positions.append(position)
        }
        try self.setHead(head, in: txn)
        try self.recordStreamIndexPosition(head, in: txn)
        return positions
    }

    /// Assigns positions to `count` records of `stream` without writing them: they are encoded later,
    /// all of a batch's at once and off the calling thread, and written by ``write(_:records:in:)``.
    /// Versions and `expectedVersion` take the batch's earlier reservations into account.
    ///
    /// Nothing may append to the log in `txn` between the first reservation and the write.
    /// - Throws: ``LogError/versionMismatch(expected:actual:)``, or storage errors.
    public func reserve(
        count: Int,
        to stream: String,
        expectedVersion: UInt64? = nil,
        in reserved: inout ReservedAppends,
        txn: Transaction
    ) throws -> [EventPosition] {
        guard count > 0 else { return [] }
        let lastSeq: UInt64
        if let last = reserved.entries.last {
            lastSeq = last.position.seq
        } else {
            lastSeq = try self.head(in: txn).seq
            try self.prepareStreamIndex(head: lastSeq, in: txn)
        }
        let current = try Self.checked(reserved.versions[stream] ?? self.version(of: stream, in: txn), expected: expectedVersion)
        let firstSeq = lastSeq + 1
        let positions = (0..<count).map { EventPosition(seq: firstSeq + UInt64($0), version: current + UInt64($0) + 1) }
        reserved.versions[stream] = current + UInt64(count)
        for position in positions { reserved.entries.append((stream, position)) }
        return positions
    }

    /// Writes the reserved records, `records[i]` at the `i`-th reserved position: their digests are
    /// computed in slices over the cores, then chained in order onto the head; the stream index
    /// entries go in key order. Leaves `reserved` empty.
    public func write(_ reserved: inout ReservedAppends, records: [EncodedRecord], in txn: Transaction) throws {
        let entries = reserved.entries
        reserved = ReservedAppends()
        guard !entries.isEmpty else { return }
        var head = try self.head(in: txn)
        guard records.count == entries.count, entries[0].position.seq == head.seq + 1 else {
            throw LogError.reservationMismatch
        }
        let digests = ParallelSlices.map(count: records.count, minimumPerSlice: 256) { slice in
            slice.map { (header: StoredEvent.digest(records[$0].header), payload: StoredEvent.digest(records[$0].payload)) }
        }.joined()
        var streamIndex = SortedWrites()
        for ((entry, record), digest) in zip(zip(entries, records), digests) {
            let stored = StoredEvent(
                seq: entry.position.seq, prevHash: head.hash, header: record.header, payload: record.payload,
                headerHash: digest.header, payloadHash: digest.payload
            )
            let seqKey = BigEndian.bytes(entry.position.seq)
            try self.putRecord(stored, key: seqKey, in: txn)
            streamIndex.put(key: Self.streamKey(entry.stream, version: entry.position.version), value: seqKey)
            head = (entry.position.seq, stored.hash)
        }
        try streamIndex.apply(to: self.streams, in: txn)
        try self.setHead(head, in: txn)
        try self.recordStreamIndexPosition(head, in: txn)
    }

    /// `version`, when it is the `expected` one (or none is expected).
    private static func checked(_ version: UInt64, expected: UInt64?) throws(LogError) -> UInt64 {
        if let expected, expected != version { throw LogError.versionMismatch(expected: expected, actual: version) }
        return version
    }

    /// The stream index key of `stream`'s record at `version`.
    private static func streamKey(_ stream: String, version: UInt64) -> [UInt8] {
        Self.streamKey(Array(stream.utf8), version: version)
    }

    /// The stream index key of the stream whose UTF-8 is `stream`, at `version`.
    private static func streamKey(_ stream: [UInt8], version: UInt64) -> [UInt8] {
        stream + [0] + BigEndian.bytes(version)
    }

    /// Writes a record at its position: the record and its stream index entry (the caller sets the head).
    private func store(_ record: StoredEvent, at position: EventPosition, of stream: String, in txn: Transaction) throws {
        let seqKey = BigEndian.bytes(position.seq)
        try self.putRecord(record, key: seqKey, in: txn)
        try txn.put(self.streams, key: Self.streamKey(stream, version: position.version), value: seqKey)
    }

    /// Writes a record past the last one. A key already there, or one sorting after it, was stored
    /// past the head by something other than this log (LMDB's append refuses it as an existing key):
    /// the log is damaged, not the command.
    private func putRecord(_ record: StoredEvent, key: [UInt8], in txn: Transaction) throws {
        do {
            try txn.put(self.events, key: key, value: record.encoded(), append: true)
        } catch let error where error.code == .keyExists {
            throw LogError.damaged(seq: record.seq, .beyondHead)
        }
    }

    private func setHead(_ head: (seq: UInt64, hash: [UInt8]), in txn: Transaction) throws {
        try txn.put(self.root, key: Self.headKey, value: BigEndian.bytes(head.seq) + head.hash)
    }

    /// Appends a record copied from another log (a replica following its primary), keeping its
    /// hashes: it must come at the next position, chain onto the head, and its hash must recompute.
    ///
    /// - Throws: ``LogError/corruptRecord(seq:)`` when the record does not fit the chain.
    @discardableResult
    public func appendCopy(of record: StoredEvent, to stream: String, in txn: Transaction) throws -> EventPosition {
        let head = try self.head(in: txn)
        guard record.seq == head.seq + 1, record.isIntact(expectedPrevHash: head.hash) else {
            throw LogError.corruptRecord(seq: record.seq)
        }
        try self.prepareStreamIndex(head: head.seq, in: txn)
        let position = EventPosition(seq: record.seq, version: try self.version(of: stream, in: txn) + 1)
        try self.store(record, at: position, of: stream, in: txn)
        try self.setHead((record.seq, record.hash), in: txn)
        try self.recordStreamIndexPosition((record.seq, record.hash), in: txn)
        return position
    }

    /// The record at `seq`, or nil.
    public func record(at seq: UInt64, in txn: Transaction) throws -> StoredEvent? {
        try txn.withValue(self.events, key: BigEndian.bytes(seq)) { bytes -> StoredEvent? in
            guard let bytes else { return nil }
            return StoredEvent(seq: seq, bytes: bytes)
        }
    }

    /// Visits records in log order after `seq`, up to the head, while `body` returns true.
    ///
    /// - Parameter checkingLinks: also check what costs no hashing (see ``forEachView(after:checkingLinks:in:_:)``).
    /// - Throws: ``LogError/damaged(seq:_:)`` at a record that cannot be decoded, or (`checkingLinks`)
    ///   whose link or position is broken.
    public func forEach(after seq: UInt64, checkingLinks: Bool = false, in txn: Transaction, _ body: (StoredEvent) throws -> Bool) throws {
        try self.forEachStored(after: seq, checkingLinks: checkingLinks, in: txn) { stored in
            guard let record = StoredEvent(seq: stored.seq, bytes: stored.bytes) else { throw LogError.damaged(seq: stored.seq, .undecodable) }
            return try body(record)
        }
    }

    /// Visits records in log order after `seq`, up to the head, while `body` returns true, each as its
    /// parts where the log stores them (valid only during the call), without copying them.
    ///
    /// Records stored past the head the log recorded are never visited: nothing the log appended put
    /// them there, and ``verify(range:environment:headerSeq:progress:)`` reports them.
    ///
    /// - Parameter checkingLinks: also check, before `body` sees a record, what costs no hashing: that
    ///   the positions follow each other without a gap or a stray key, and that each record's stored
    ///   `prev_hash` is the stored hash of the record before it (records swapped, removed or replaced
    ///   break it). Hashes are not recomputed: that is ``verify(range:environment:headerSeq:progress:)``'s
    ///   work, and a replay reading at hundreds of thousands of records a second cannot afford it.
    /// - Throws: ``LogError/damaged(seq:_:)`` at a record that cannot be decoded, or (`checkingLinks`)
    ///   whose link or position is broken; nothing at or after it is visited.
    public func forEachView(after seq: UInt64, checkingLinks: Bool = false, in txn: Transaction, _ body: (StoredEvent.View) throws -> Bool) throws {
        try self.forEachStored(after: seq, checkingLinks: checkingLinks, in: txn) { stored in
            guard let view = StoredEvent.View(seq: stored.seq, bytes: stored.bytes) else { throw LogError.damaged(seq: stored.seq, .undecodable) }
            return try body(view)
        }
    }

    /// Visits the stored bytes of the records after `seq`, up to the head, while `body` returns true.
    private func forEachStored(
        after seq: UInt64,
        checkingLinks: Bool,
        in txn: Transaction,
        _ body: ((seq: UInt64, bytes: UnsafeRawBufferPointer)) throws -> Bool
    ) throws {
        let head = try self.head(in: txn).seq
        guard seq < head else { return }
        var expected = seq + 1
        // The stored hash of the record before, as one value: comparing it costs no allocation.
        var previousHash: SIMD32<UInt8>?
        if checkingLinks {
            // The record before the first: absent (nil) or too short to hold a hash (all zeros, which no
            // hash is) is damage at its seq.
            let stored: SIMD32<UInt8>?? =
                seq == 0
                ? SIMD32(repeating: 0)
                : try txn.withValue(self.events, key: BigEndian.bytes(seq)) { bytes in bytes.map { Self.storedHash($0, at: StoredEvent.hashOffset) } }
            guard let stored else { throw LogError.damaged(seq: seq, .missing) }
            guard let stored else { throw LogError.damaged(seq: seq, .undecodable) }
            previousHash = stored
        }
        var stopped = false
        try txn.withCursor(self.events) { cursor in
            try cursor.forEach(from: BigEndian.bytes(expected)) { entry in
                guard entry.key.count == 8, let key = BigEndian.uint64(entry.key) else {
                    // Among the positions up to the head it is damage; past the head's key, the end.
                    if checkingLinks, entry.key.lexicographicallyPrecedes(BigEndian.bytes(head)) {
                        throw LogError.damaged(seq: expected, .strayKey)
                    }
                    return false
                }
                guard key <= head else { return false }
                if checkingLinks {
                    guard key == expected else { throw LogError.damaged(seq: expected, .missing) }
                    guard let prev = Self.storedHash(entry.value, at: StoredEvent.prevHashOffset), let hash = Self.storedHash(entry.value, at: StoredEvent.hashOffset)
                    else { throw LogError.damaged(seq: key, .undecodable) }
                    guard prev == previousHash else { throw LogError.damaged(seq: key, .prevHash) }
                    previousHash = hash
                    expected += 1
                }
                guard try body((key, entry.value)) else {
                    stopped = true
                    return false
                }
                return true
            }
        }
        // A tail cut off below the head leaves positions no record holds.
        if checkingLinks, !stopped, expected <= head { throw LogError.damaged(seq: expected, .missing) }
    }

    /// The 32 bytes at `offset` of a stored record, when it is long enough to hold them.
    private static func storedHash(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> SIMD32<UInt8>? {
        guard bytes.count >= offset + StoredEvent.hashLength else { return nil }
        return bytes.loadUnaligned(fromByteOffset: offset, as: SIMD32<UInt8>.self)
    }

    /// The global positions of `stream`'s records with versions in `versions`, in order.
    public func seqs(
        of stream: String,
        versions: ClosedRange<UInt64> = 1...UInt64.max,
        in txn: Transaction
    ) throws -> [UInt64] {
        let prefix = Array(stream.utf8) + [0]
        var result: [UInt64] = []
        try txn.withCursor(self.streams) { cursor in
            try cursor.forEach(from: prefix + BigEndian.bytes(versions.lowerBound)) { entry in
                guard entry.key.hasPrefix(prefix), let version = BigEndian.uint64(entry.key, at: prefix.count),
                    versions.contains(version), let seq = BigEndian.uint64(entry.value)
                else { return false }
                result.append(seq)
                return true
            }
        }
        return result
    }

    /// Drops the payload of the record at `seq`, keeping its hash so the chain still verifies.
    public func erasePayload(at seq: UInt64, in txn: Transaction) throws {
        guard var record = try self.record(at: seq, in: txn) else { return }
        guard record.payload != nil else { return }
        record.payload = nil
        try txn.put(self.events, key: BigEndian.bytes(seq), value: record.encoded())
    }

    /// Checks the chain over `range` (clamped to the log), reading in chunks of short transactions, and
    /// gives the first broken seq with its ``LogDamage``.
    ///
    /// Each record must be stored at the next position, decode, link to the stored hash of the record
    /// before, match its payload hash, hash to its stored hash and (with `headerSeq`) name its own
    /// position in its header; a range that reaches the head also checks the stored head against the
    /// last record and that nothing is stored past it (``LogDamage/beyondHead`` at the head's next
    /// position).
    ///
    /// - Parameters:
    ///   - headerSeq: the position a record's header names, read by the layer that encodes headers;
    ///     nil when the header cannot be read (``LogDamage/undecodable``). Called on this thread.
    ///   - progress: called with the last position checked after each chunk.
    public func verify(
        range: ClosedRange<UInt64>? = nil,
        environment: Environment,
        headerSeq: ((UnsafeRawBufferPointer) -> UInt64?)? = nil,
        progress: (UInt64) -> Void = { _ in }
    ) throws -> VerificationResult {
        // The head and whether anything lies past it, or before seq 1, in one snapshot: later appends are
        // no damage.
        let (head, isStoredPastHead, isStoredBeforeFirst) = try environment.read { txn in
            let head = try self.head(in: txn)
            return (head, try self.isStoredPastHead(head.seq, in: txn), try self.isStoredBeforeFirstPosition(in: txn))
        }
        let reachesHead = (range?.upperBound ?? head.seq) >= head.seq
        func result(_ broken: (seq: UInt64, damage: LogDamage)?, checked: UInt64) -> VerificationResult {
            let broken = broken ?? (reachesHead && isStoredPastHead ? (head.seq + 1, .beyondHead) : nil)
            return VerificationResult(firstBrokenSeq: broken?.seq, reason: broken?.damage, checked: checked, headSeq: head.seq, headHash: head.hash)
        }
        let first = max(range?.lowerBound ?? 1, 1)
        let last = min(range?.upperBound ?? head.seq, head.seq)
        guard first <= last else { return result(nil, checked: 0) }
        // A key sorting before seq 1's lies before the first position the chunks below read from.
        if first == 1, isStoredBeforeFirst { return result((1, .strayKey), checked: 0) }
        var expectedPrev: [UInt8] =
            first == 1
            ? Self.genesisHash
            : try environment.read { try self.record(at: first - 1, in: $0)?.hash } ?? Self.genesisHash
        var next = first
        var checked: UInt64 = 0
        let chunk: UInt64 = 20_000
        while next <= last {
            let stop = min(next + chunk - 1, last)
            let stopKey = BigEndian.bytes(stop)
            let broken: (seq: UInt64, damage: LogDamage)? = try environment.read { txn in
                var expectedSeq = next
                var broken: (seq: UInt64, damage: LogDamage)?
                try txn.withCursor(self.events) { cursor in
                    try cursor.forEach(from: BigEndian.bytes(next)) { entry in
                        guard entry.key.count == 8, let seq = BigEndian.uint64(entry.key) else {
                            // A key that is no position: damage where it lies, the chunk's end past it.
                            if entry.key.lexicographicallyPrecedes(stopKey) { broken = (expectedSeq, .strayKey) }
                            return false
                        }
                        guard seq <= stop else { return false }
                        guard seq == expectedSeq else {
                            broken = (expectedSeq, .missing)
                            return false
                        }
                        guard let record = StoredEvent(seq: seq, bytes: entry.value) else {
                            broken = (seq, .undecodable)
                            return false
                        }
                        if let damage = record.damage(expectedPrevHash: expectedPrev) ?? Self.headerDamage(record, headerSeq: headerSeq) {
                            broken = (seq, damage)
                            return false
                        }
                        expectedPrev = record.hash
                        expectedSeq += 1
                        checked += 1
                        return true
                    }
                }
                if broken == nil, expectedSeq <= stop { broken = (expectedSeq, .missing) }
                return broken
            }
            if let broken { return result(broken, checked: checked) }
            progress(stop)
            next = stop + 1
        }
        let headIntact = last < head.seq || expectedPrev == head.hash
        var verified = result(headIntact ? nil : (head.seq, .head), checked: checked)
        if verified.firstBrokenSeq == nil { verified.last = (last, expectedPrev) }
        return verified
    }

    /// What is wrong with the position `record`'s header names, when `headerSeq` reads it.
    private static func headerDamage(_ record: StoredEvent, headerSeq: ((UnsafeRawBufferPointer) -> UInt64?)?) -> LogDamage? {
        guard let headerSeq else { return nil }
        switch record.header.withUnsafeBytes(headerSeq) {
        case nil: return .undecodable
        case record.seq?: return nil
        default: return .seqMismatch
        }
    }

    /// Whether the log's table holds a key sorting before position 1's (a shorter key, position 0's),
    /// which reads that start at position 1 never meet.
    private func isStoredBeforeFirstPosition(in txn: Transaction) throws -> Bool {
        try txn.withCursor(self.events) { cursor in
            guard let first = try cursor.first() else { return false }
            return first.key.lexicographicallyPrecedes(BigEndian.bytes(UInt64(1)))
        }
    }

    /// Whether the log's table holds anything past position `head`: a record at a later position, or a
    /// key that is no position sorting after the head's.
    private func isStoredPastHead(_ head: UInt64, in txn: Transaction) throws -> Bool {
        try txn.withCursor(self.events) { cursor in
            guard let last = try cursor.last() else { return false }
            guard last.key.count == 8, let seq = BigEndian.uint64(last.key) else {
                return !last.key.lexicographicallyPrecedes(BigEndian.bytes(head))
            }
            return seq > head
        }
    }

    /// Refuses a log whose stored head disagrees with its records: its last record must be at the head
    /// (with the head's hash), and nothing may be stored past it. Call where the log is opened, before
    /// serving: an append would meet a record past the head (and fail), and records past it or missing
    /// below it mean the log was changed by something other than this log.
    ///
    /// - Throws: ``LogError/headDisagrees(directory:headSeq:lastSeq:)``, or storage errors.
    public func checkHead(in environment: Environment) throws {
        try environment.read { txn in
            let head = try self.head(in: txn)
            let last: (seq: UInt64?, hash: SIMD32<UInt8>?) = try txn.withCursor(self.events) { cursor in
                guard let entry = try cursor.last() else { return (0, SIMD32(repeating: 0)) }
                guard entry.key.count == 8, let seq = BigEndian.uint64(entry.key) else { return (nil, nil) }
                return (seq, Self.storedHash(entry.value, at: StoredEvent.hashOffset))
            }
            guard last.seq == head.seq, last.hash == head.hash.withUnsafeBytes({ Self.storedHash($0, at: 0) }) else {
                throw LogError.headDisagrees(directory: environment.directory, headSeq: head.seq, lastSeq: last.seq)
            }
        }
    }
}

/// A position assigned by the log: global `seq` and version within the stream.
public struct EventPosition: Sendable, Hashable {
    public var seq: UInt64
    public var version: UInt64
    public init(seq: UInt64, version: UInt64) {
        self.seq = seq
        self.version = version
    }
}

/// The bytes of a record to append.
public struct EncodedRecord: Sendable {
    public var header: [UInt8]
    public var payload: [UInt8]
    public init(header: [UInt8], payload: [UInt8]) {
        self.header = header
        self.payload = payload
    }
}

/// Positions handed out by ``EventLog/reserve(count:to:expectedVersion:in:txn:)`` and not yet written.
public struct ReservedAppends: Sendable {
    fileprivate var versions: [String: UInt64] = [:]
    fileprivate var entries: [(stream: String, position: EventPosition)] = []

    public init() {}

    /// Whether no position is reserved.
    public var isEmpty: Bool { self.entries.isEmpty }
}

/// The outcome of ``EventLog/verify(range:environment:headerSeq:progress:)``.
public struct VerificationResult: Sendable {
    /// The first position whose record does not match the chain, or nil when all verified.
    public var firstBrokenSeq: UInt64?
    /// What is wrong at ``firstBrokenSeq`` (nil when all verified).
    public var reason: LogDamage?
    /// How many records were checked and found intact.
    public var checked: UInt64
    /// The last position checked and its stored hash, when every record checked verified: with a range
    /// ending before the head, the value to compare with a position and hash recorded elsewhere.
    public var last: (seq: UInt64, hash: [UInt8])?
    public var headSeq: UInt64
    public var headHash: [UInt8]
}

/// How a rebuildable stream index is derived from the log's records: the layer above encodes each
/// record's header, so it reads the stream and version back from it.
public struct StreamIndexing: Sendable {
    /// The stream (its UTF-8) and version a record's header names, or nil when it names none. Called
    /// on several threads at once.
    public let entry: @Sendable (_ header: UnsafeRawBufferPointer, _ seq: UInt64) -> (stream: [UInt8], version: UInt64)?

    public init(entry: @escaping @Sendable (_ header: UnsafeRawBufferPointer, _ seq: UInt64) -> (stream: [UInt8], version: UInt64)?) {
        self.entry = entry
    }
}

/// Record headers where the log stores them, for the threads that read their stream index entries at
/// once: they point into a read transaction's pages, which stay mapped and unchanged while it is open,
/// and the threads only read them.
private struct HeadersInPlace: @unchecked Sendable {
    var seqs: [UInt64] = []
    var headers: [UnsafeRawBufferPointer] = []
}

/// Errors of the ``EventLog``.
public enum LogError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The stream's version is not the one the caller expected.
    case versionMismatch(expected: UInt64, actual: UInt64)
    /// A stored record cannot be decoded.
    case corruptRecord(seq: UInt64)
    /// The log's tables were not opened.
    case missingTables
    /// Reserved positions were written with another number of records, or after another append.
    case reservationMismatch
    /// The stored head is not a position and a hash.
    case corruptHead
    /// The log was laid out by a later version than this one reads.
    case newerLayout(found: UInt64, supported: UInt64)
    /// The stored log is damaged at `seq` (found by a read or an append that met it).
    case damaged(seq: UInt64, LogDamage)
    /// The stored head is not the last record of the log in `directory`'s `data.mdb` (``EventLog/checkHead(in:)``):
    /// `lastSeq` is the last record's position (0 when there is none, nil when the last key is no
    /// position); the same positions with other hashes when they are equal.
    case headDisagrees(directory: String, headSeq: UInt64, lastSeq: UInt64?)
    /// The rebuildable part (the stream index, and whatever its owner keeps beside it) was derived from
    /// a log up to `position`, which this log, whose head is `head`, does not hold: see `cause`.
    case rebuildablePartFromAnotherLog(position: UInt64, head: UInt64, cause: AnchorMismatch)
    /// Reading the log met a damaged page of its file (``Environment/isDamage(_:)``).
    case damagedFile(LMDBError)

    /// How a log fails a rebuildable part's anchor (``EventLog/checkRebuildablePartAnchor(in:)``).
    public enum AnchorMismatch: String, Hashable, Sendable {
        /// The log ends before the anchor: it was lost, emptied, truncated or restored from an older copy.
        case logEndsBefore = "log_ends_before"
        /// The log has no readable record at the anchor, below its head.
        case recordMissing = "record_missing"
        /// The log's record at the anchor has another hash: the log was replaced or rewritten.
        case recordDiffers = "record_differs"
    }

    public var description: String {
        switch self {
        case .versionMismatch(let expected, let actual): "version mismatch: expected \(expected), found \(actual)"
        case .corruptRecord(let seq): "the record at seq \(seq) cannot be decoded"
        case .missingTables: "the log's tables are missing"
        case .reservationMismatch: "reserved positions were written out of turn"
        case .corruptHead: "the log's head record is corrupt"
        case .damaged(let seq, let damage): "the log is damaged at seq \(seq) (\(damage.rawValue)): run ledger.verify, and restore a backup"
        case .headDisagrees(let directory, let headSeq, let lastSeq):
            if lastSeq == headSeq {
                "\(directory)/data.mdb: the log's stored head (seq \(headSeq)) does not hold the hash of its record at seq \(headSeq): the log was changed by something other than ContactLedger; restore data.mdb from a backup"
            } else {
                "\(directory)/data.mdb: the log's stored head is seq \(headSeq) but its last record is \(lastSeq.map { "at seq \($0)" } ?? "under a key that is no seq"): records were added or removed by something other than ContactLedger; restore data.mdb from a backup"
            }
        case .newerLayout(let found, let supported):
            "this data directory was written by a later version of ContactLedger (log layout \(found); this version reads up to \(supported)): run that version, or restore a backup made for this one"
        case .damagedFile(let error): "the log's file is damaged: \(error)"
        case .rebuildablePartFromAnotherLog(let position, let head, let cause):
            "the rebuildable part was derived from a log up to seq \(position), which this log (head seq \(head)) does not hold: \(cause.rawValue)"
        }
    }
}
