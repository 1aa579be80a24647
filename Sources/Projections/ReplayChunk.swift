// ContactLedger — read models.
import ContactDomain
import Foundation
import JSONText
import LedgerStore

/// A run of log records decoded for replay, read in a read transaction so that decoding (most of a
/// replayed event's cost) happens outside the single writer; ``Projector/apply(_:log:until:in:)``
/// then applies it in a write transaction.
public struct ReplayChunk: Sendable {
    /// One decoded record: its header, and its event unless the payload was erased.
    ///
    /// The header's `id` is empty and its idempotency key nil: no read model uses them, so they are not
    /// decoded.
    public struct Item: Sendable {
        public var header: EventHeader
        public var event: LedgerEvent?
        /// The contact the header's stream names (``EventHeader/contactUUID``), parsed where the record
        /// is decoded, off the thread that applies it.
        public var contact: ContactUUID?

        /// The event changes contacts across its workspace: a field's or a group's deletion, which
        /// changes every contact that has the field or the group, so its cost grows with them (seconds
        /// for a field all of 60,000 contacts have) where any other event changes a contact or two.
        public var isWorkspaceWide: Bool {
            switch self.event {
            case .fieldDeleted?, .groupDeleted?: true
            default: false
            }
        }

        init(header: EventHeader, event: LedgerEvent?, contact: ContactUUID?) {
            self.header = header
            self.event = event
            self.contact = contact
        }
    }

    /// The checkpoint the chunk continues from: it holds the records right after it.
    public let after: UInt64
    public internal(set) var items: [Item] = []
    /// The log's head in the snapshot the chunk was read from.
    public let readHead: UInt64
    /// Nanoseconds spent reading and decoding.
    public internal(set) var decodeNanoseconds: UInt64 = 0

    /// The position of the chunk's last record (`after` when it is empty).
    public var last: UInt64 { self.items.last?.header.seq ?? self.after }

    /// Reads and decodes up to `limit` records after `position`, in `txn` (a read transaction will
    /// do), stopping early once `maximumNanoseconds` have passed.
    ///
    /// The checks that cost no hashing are made as the records are read (the log's links and
    /// positions, ``EventLog/forEachView(after:checkingLinks:in:_:)``, and each header naming its
    /// record's position), so a rebuild never adopts records swapped, removed or moved; a changed
    /// record whose links still hold is `ledger.verify`'s to find.
    ///
    /// - Throws: ``LogError/damaged(seq:_:)`` at the first record that is damaged or cannot be decoded.
    public static func read(log: EventLog, after position: UInt64, limit: Int, maximumNanoseconds: UInt64 = .max, in txn: Transaction) throws -> ReplayChunk {
        let started = DispatchTime.now().uptimeNanoseconds
        var chunk = ReplayChunk(after: position, readHead: try log.head(in: txn).seq)
        chunk.items.reserveCapacity(min(limit, 65_536))
        var decoder = RecordDecoder()
        try log.forEachView(after: position, checkingLinks: true, in: txn) { record in
            chunk.items.append(try decoder.decode(record))
            // The clock is read every 64 records: reading it costs about as much as a small event.
            if chunk.items.count % 64 == 0, DispatchTime.now().uptimeNanoseconds - started > maximumNanoseconds { return false }
            return chunk.items.count < limit
        }
        chunk.decodeNanoseconds = DispatchTime.now().uptimeNanoseconds - started
        return chunk
    }

    /// The chunk cut right after each workspace-wide event (``Item/isWorkspaceWide``), in order; each
    /// run continues where the one before ends.
    public func runsEndingAtWorkspaceWideEvents() -> [ReplayChunk] {
        var runs: [ReplayChunk] = []
        var run = ReplayChunk(after: self.after, readHead: self.readHead)
        for item in self.items {
            let isWorkspaceWide = item.isWorkspaceWide
            run.items.append(item)
            if isWorkspaceWide {
                runs.append(run)
                run = ReplayChunk(after: item.header.seq, readHead: self.readHead)
            }
        }
        if !run.items.isEmpty || runs.isEmpty { runs.append(run) }
        return runs
    }

    /// Decodes stored records in log order, each where the log stores it.
    struct RecordDecoder {
        private let decoder = JSONValueDecoder()
        /// The header of the record decoded last and the contact it names: the next record of the same
        /// stream reuses them. Two properties rather than an optional pair, which was copied whole
        /// (each of its strings retained, then released) to be looked into.
        private var previousHeader: EventHeader?
        private var previousContact: ContactUUID?

        /// - Throws: ``LogError/damaged(seq:_:)``: ``LogDamage/seqMismatch`` for a header naming
        ///   another position, ``LogDamage/undecodable`` for a header or payload that cannot be read.
        mutating func decode(_ record: StoredEvent.View) throws -> Item {
            let header = try self.header(of: record)
            // The same stream (its very string, when read as the last one's) names the same contact.
            let contact = self.previousHeader?.stream == header.stream ? self.previousContact : header.contactUUID
            let event: LedgerEvent?
            do {
                event = try record.payload.map { try LedgerEvent.decode(type: header.type, schemaVersion: header.schemaVersion, payload: $0) }
            } catch {
                throw LogError.damaged(seq: record.seq, .undecodable)
            }
            self.previousHeader = header
            self.previousContact = contact
            return Item(header: header, event: event, contact: contact)
        }

        /// The record's header, without its `id` and idempotency key (see ``Item``).
        ///
        /// - Throws: ``LogError/damaged(seq:_:)`` as ``decode(_:)`` does.
        func header(of record: StoredEvent.View) throws -> EventHeader {
            // Headers this version wrote are read straight from their bytes: building the JSON tree
            // was most of a replayed header's cost. Any other bytes take the parse below, as does a
            // header naming another position than its record's, which the parse then refuses.
            if let header = EventHeader.readCanonical(record.header, seq: record.seq, previous: self.previousHeader, requiringSeq: true) {
                return header
            }
            let parsed: JSONValue
            do {
                parsed = try JSONTextParser.parse(record.header.assumingMemoryBound(to: UInt8.self), fractions: .decimal)
            } catch {
                throw LogError.damaged(seq: record.seq, .undecodable)
            }
            // The position is the record's key; a header naming another was moved or edited.
            if case .object(let members) = parsed, let stored = members["seq"], stored != .integer(Int64(clamping: record.seq)) {
                throw LogError.damaged(seq: record.seq, .seqMismatch)
            }
            if let header = Self.directlyRead(parsed, seq: record.seq) { return header }
            let stored: ReplayedHeader
            do {
                stored = try self.decoder.decode(ReplayedHeader.self, from: parsed)
            } catch {
                throw LogError.damaged(seq: record.seq, .undecodable)
            }
            return EventHeader(
                seq: record.seq, id: "", stream: stored.stream, version: stored.version, type: stored.type,
                schemaVersion: stored.schemaVersion, workspace: stored.workspace, createdOn: stored.createdOn,
                actor: stored.actor, peer: stored.peer.map { Peer(uid: $0.uid, gid: 0, pid: 0) }, idempotencyKey: nil
            )
        }

        /// The header read straight from its parsed members (a generic `Decodable` pass costs more than
        /// the parse); nil for any shape `ReplayedHeader` would have to judge, which then decodes it.
        static func directlyRead(_ parsed: JSONValue, seq: UInt64) -> EventHeader? {
            guard case .object(let members) = parsed,
                case .string(let stream)? = members["stream"],
                case .integer(let version)? = members["version"], version >= 0,
                case .string(let type)? = members["type"],
                case .integer(let schemaVersion)? = members["schema_version"],
                case .string(let workspace)? = members["workspace"],
                case .string(let created)? = members["created_on"], let createdOn = Timestamp(rfc3339: created),
                let actor = JSONValue.optionalString(members["actor"])
            else { return nil }
            var peer: Peer?
            switch members["peer"] {
            case nil, .null?: peer = nil
            case .object(let parts)?:
                guard case .integer(let uid)? = parts["uid"], let fitted = UInt32(exactly: uid) else { return nil }
                peer = Peer(uid: fitted, gid: 0, pid: 0)
            default: return nil
            }
            return EventHeader(
                seq: seq, id: "", stream: stream, version: UInt64(version), type: type, schemaVersion: Int(schemaVersion),
                workspace: workspace, createdOn: createdOn, actor: actor, peer: peer, idempotencyKey: nil
            )
        }
    }

    /// The members of a stored ``EventHeader`` that read models use (the audit index keeps only the
    /// peer's uid): decoding fewer members is most of what decoding a header costs. `seq` is the
    /// record's key.
    private struct ReplayedHeader: Decodable {
        struct PeerUID: Decodable { var uid: UInt32 }

        var stream: String
        var version: UInt64
        var type: String
        var schemaVersion: Int
        var workspace: String
        var createdOn: Timestamp
        var actor: String?
        var peer: PeerUID?

        enum CodingKeys: String, CodingKey {
            case stream, version, type, workspace, actor, peer
            case schemaVersion = "schema_version"
            case createdOn = "created_on"
        }
    }
}
