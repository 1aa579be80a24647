// ContactLedger — read models.
import ContactDomain
import Foundation
import LedgerStore

/// Keeps every read model in step with the log, inside the transaction that appends each event,
/// so a command's answer and every later query see its effects (read-your-writes).
///
/// The projection's schema version and checkpoint (last applied `seq`) are stored with it; when the
/// code's version differs from the stored one, ``rebuildIfNeeded(log:environment:progress:)`` rebuilds
/// the read models from the log.
public struct Projector: Sendable {
    /// The read-model schema version of this code. Bump it when a stored read-model shape changes (13: text
    /// folded by its code points' simple lowercase mapping, so an İ is indexed under i).
    public static let version = 13
    /// The projection's name in `projections.status`.
    public static let name = "contacts"

    /// The table names of the read models, before any generation suffix.
    static let baseTableNames = ContactReadModel.tableNames + WorkspaceReadModel.tableNames + AuditIndex.tableNames + ["rm.meta"]

    /// The read models exist in generations: one answers while another is rebuilt from the log;
    /// ``verificationGeneration`` is scratch space for `projections.verify`.
    public static let generations = [0, 1, 2]
    /// The generation `projections.verify` rebuilds into and drops afterwards.
    public static let verificationGeneration = 2

    /// The base table names, for comparing two generations table by table.
    public var tablesByBaseName: [(String, Table)] {
        zip(Self.baseTableNames, self.contacts.allTables + self.workspaces.allTables + self.audit.allTables + [self.meta]).map { ($0, $1) }
    }

    /// The table names of one generation (generation 0 keeps the plain names).
    public static func tableNames(generation: Int) -> [String] {
        Self.baseTableNames.map { Self.tableName($0, generation: generation) }
    }

    private static func tableName(_ base: String, generation: Int) -> String {
        generation == 0 ? base : "\(base)#\(generation)"
    }

    /// Which generation of tables this projector writes.
    public let generation: Int
    public let contacts: ContactReadModel
    public let workspaces: WorkspaceReadModel
    public let audit: AuditIndex
    private let meta: Table

    public init(tables: [String: Table], generation: Int = 0) throws(ReadModelError) {
        var own: [String: Table] = [:]
        for base in Self.baseTableNames {
            guard let table = tables[Self.tableName(base, generation: generation)] else { throw ReadModelError.missingTables }
            own[base] = table
        }
        self.generation = generation
        self.contacts = try ContactReadModel(tables: own)
        self.workspaces = try WorkspaceReadModel(tables: own)
        self.audit = try AuditIndex(tables: own)
        guard let meta = own["rm.meta"] else { throw ReadModelError.missingTables }
        self.meta = meta
    }

    /// Empties every read-model table of this generation and sets its checkpoint to 0 at this code's
    /// version, ready for a rebuild.
    public func reset(in txn: Transaction) throws {
        for table in self.contacts.allTables + self.workspaces.allTables + self.audit.allTables { try txn.clear(table) }
        try txn.put(self.meta, key: Array("state".utf8), value: BigEndian.bytes(UInt64(Self.version)) + BigEndian.bytes(UInt64(0)))
    }

    /// Empties every table of this generation, checkpoint included.
    public func drop(in txn: Transaction) throws {
        for table in self.contacts.allTables + self.workspaces.allTables + self.audit.allTables + [self.meta] { try txn.clear(table) }
    }

    /// Empties the first table of this generation that still has entries (table after table, checkpoint
    /// last); returns whether the generation is now empty. A generation swapped out is dropped this
    /// way, a table per writer command, rather than in the swap's transaction.
    ///
    /// Emptying a table (`mdb_drop`) frees its leaf pages from the branch pages that point to them,
    /// without reading the leaves: a table of millions of entries goes in one short command, where
    /// deleting entry by entry kept the writer busy for minutes after a large rebuild's swap.
    public func dropNextTable(in txn: Transaction) throws -> Bool {
        let tables = self.contacts.allTables + self.workspaces.allTables + self.audit.allTables + [self.meta]
        guard let index = try tables.firstIndex(where: { try txn.count($0) > 0 }) else { return true }
        try txn.clear(tables[index])
        return try tables[(index + 1)...].allSatisfy { try txn.count($0) == 0 }
    }

    /// Applies up to `limit` log events after this projection's checkpoint, in `txn`, decoding them
    /// there; returns the new checkpoint and whether it reached the log's head. Past `deadline` (an
    /// uptime in nanoseconds) it stops after the next workspace-wide event (``replay(_:until:in:)``).
    ///
    /// Prefer ``ReplayChunk/read(log:after:limit:maximumNanoseconds:in:)`` outside the writer and
    /// ``apply(_:log:until:in:)`` in it; this is for when a decoded chunk went stale.
    public func catchUp(log: EventLog, limit: Int, until deadline: UInt64 = .max, in txn: Transaction) throws -> (position: UInt64, reachedHead: Bool) {
        let start = try self.state(in: txn)?.position ?? 0
        let chunk = try ReplayChunk.read(log: log, after: start, limit: limit, in: txn)
        let position = try self.replay(chunk, until: deadline, in: txn)
        return (position, position >= chunk.readHead)
    }

    /// Applies `chunk`, which must continue this projection's checkpoint, a run at a time, each run
    /// ending with a workspace-wide event (``ReplayChunk/Item/isWorkspaceWide``), and stops after the
    /// first run that ends past `deadline` (an uptime in nanoseconds); returns the new checkpoint.
    ///
    /// For catch-ups inside the writer, whose commands hold every other write: they are sized by
    /// events, but a field's or a group's deletion costs in proportion to the contacts that have it, and
    /// six deletions in one chunk held every write for 45 s. Past the deadline a command applies one
    /// more deletion at most; deletions that cost little (an empty group) still go many to a command.
    public func replay(_ chunk: ReplayChunk, until deadline: UInt64, in txn: Transaction) throws -> UInt64 {
        guard deadline != .max, chunk.items.contains(where: \.isWorkspaceWide) else {
            _ = try self.replay([chunk], in: txn)
            return chunk.last
        }
        for run in chunk.runsEndingAtWorkspaceWideEvents() {
            _ = try self.replay([run], in: txn)
            if DispatchTime.now().uptimeNanoseconds > deadline { return run.last }
        }
        return chunk.last
    }

    /// What ``apply(_:log:until:in:)`` did with a chunk.
    public enum ChunkOutcome: Sendable {
        /// Applied: the new checkpoint, whether it is the log's head, and the log's head.
        case applied(position: UInt64, reachedHead: Bool, head: UInt64)
        /// Not applied: the checkpoint is no longer where the chunk starts, or a contact in it was deleted
        /// (its earlier payloads erased) after it was read. Read it again.
        case stale
    }

    /// Applies a chunk read (and decoded) in an earlier snapshot, in the write transaction `txn`, if it
    /// still fits: it must start at this projection's checkpoint, and no contact of the chunk may have
    /// been deleted since it was read (a deletion erases the contact's earlier payloads, which the chunk
    /// still holds): the records appended since its snapshot are checked for that. Past `deadline` it
    /// stops after the next workspace-wide event (``replay(_:until:in:)``).
    public func apply(_ chunk: ReplayChunk, log: EventLog, until deadline: UInt64 = .max, in txn: Transaction) throws -> ChunkOutcome {
        let head = try log.head(in: txn).seq
        guard let state = try self.state(in: txn), state.version == Self.version, state.position == chunk.after else {
            return .stale
        }
        if head > chunk.readHead, !chunk.items.isEmpty {
            let streams = Set(chunk.items.lazy.filter { $0.header.stream.hasPrefix("contact/") }.map(\.header.stream))
            let decoder = ReplayChunk.RecordDecoder()
            var deleted = false
            try log.forEachView(after: chunk.readHead, in: txn) { record in
                let header = try decoder.header(of: record)
                deleted = header.type == "contact_deleted" && streams.contains(header.stream)
                return !deleted
            }
            if deleted { return .stale }
        }
        let position = try self.replay(chunk, until: deadline, in: txn)
        return .applied(position: position, reachedHead: position >= head, head: head)
    }

    /// Applies the events one command appends, in order, in the transaction that appends them; a
    /// contact changed by several of them is read, indexed and stored once.
    public func apply(_ events: [(event: LedgerEvent, header: EventHeader)], in txn: Transaction) throws {
        guard let last = events.last else { return }
        let batch = self.openBatch(in: txn)
        try batch.apply(events)
        try batch.finish(checkpoint: last.header.seq)
    }

    /// A batch for events applied over a whole command, finished by the caller before `txn` commits.
    ///
    /// - Parameter journaled: keep the applied events, so the batch can roll back to a
    ///   ``ProjectionBatch/Mark`` (one batch over many commands, each of which may fail).
    public func openBatch(in txn: Transaction, journaled: Bool = false) -> ProjectionBatch {
        ProjectionBatch(projector: self, txn: txn, journaled: journaled)
    }

    /// The stored schema version and checkpoint, or nil before the first start.
    public func state(in txn: Transaction) throws -> (version: Int, position: UInt64)? {
        guard let bytes = try txn.get(self.meta, key: Array("state".utf8)), bytes.count == 16,
            let version = BigEndian.uint64(bytes), let position = BigEndian.uint64(bytes, at: 8)
        else { return nil }
        return (Int(version), position)
    }

    /// The indexes of this generation that this code may read (``ReadableIndexes``), as of `txn`.
    public func readableIndexes(in txn: Transaction) throws -> ReadableIndexes {
        ReadableIndexes(writtenBy: try self.state(in: txn)?.version ?? Self.version)
    }

    /// Moves the checkpoint to `seq`, keeping the version the generation was written by: an older
    /// generation that answers (and takes every write) while its successor is rebuilt keeps saying so,
    /// so its indexes of an older format are not read, and a restart still rebuilds it. Only
    /// ``reset(in:)`` makes a generation this code's version.
    func setCheckpoint(_ seq: UInt64, in txn: Transaction) throws {
        let version = try self.state(in: txn)?.version ?? Self.version
        try txn.put(self.meta, key: Array("state".utf8), value: BigEndian.bytes(UInt64(version)) + BigEndian.bytes(seq))
    }
}
