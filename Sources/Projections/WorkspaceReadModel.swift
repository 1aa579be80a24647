// ContactLedger — read models.
import ContactDomain
import LedgerStore
import Synchronization

/// Each workspace's settings, fields, groups and locations, kept from the workspace events.
public struct WorkspaceReadModel: Sendable {
    static let tableNames = ["rm.workspaces"]
    private let workspaces: Table

    init(tables: [String: Table]) throws(ReadModelError) {
        guard let workspaces = tables["rm.workspaces"] else { throw ReadModelError.missingTables }
        self.workspaces = workspaces
    }

    var allTables: [Table] { [self.workspaces] }

    /// The workspace named `name` (a fresh one with default settings when it has no events yet).
    ///
    /// - Throws: ``ReadModelError/damagedRecord(table:)`` when its stored record does not decode: a
    ///   default workspace in its place would let the next command write its fields and groups away.
    public func workspace(_ name: String, in txn: Transaction) throws -> Workspace {
        let workspace = try txn.withValue(self.workspaces, key: Array(name.utf8)) { bytes throws(LMDBError) -> Workspace? in
            guard let bytes else { return Workspace(name: name) }
            return Self.decoded.workspace(name, from: bytes)
        }
        guard let workspace else { throw ReadModelError.damagedRecord(table: "rm.workspaces") }
        return workspace
    }

    /// Every command reads its workspace, with all its fields and groups: decoding that JSON each time
    /// was a tenth of the writer's time when creating contacts. Keyed by the stored bytes themselves,
    /// so whatever transaction, generation or replica they come from, a hit is exactly what decoding
    /// them would give.
    private static let decoded = DecodedWorkspaces()

    /// Names of the workspaces that have events.
    public func names(in txn: Transaction) throws -> [String] {
        var names: [String] = []
        try txn.withCursor(self.workspaces) { cursor in
            try cursor.forEach(from: []) { entry in
                names.append(String(decoding: entry.key, as: UTF8.self))
                return true
            }
        }
        return names
    }

    func apply(_ event: LedgerEvent, header: EventHeader, in txn: Transaction) throws {
        var workspace = try self.workspace(header.workspace, in: txn)
        workspace.apply(event, seq: header.seq)
        try txn.put(self.workspaces, key: Array(header.workspace.utf8), value: try JSONCoding.encode(workspace))
    }
}

/// The last decoded form of each workspace's stored bytes (see ``WorkspaceReadModel/workspace(_:in:)``).
private final class DecodedWorkspaces: Sendable {
    private struct Entry {
        var bytes: [UInt8]
        var workspace: Workspace
    }

    /// More workspaces than this and the memo starts again: it holds the ones in use.
    private static let capacity = 256
    private let entries = Mutex<[String: Entry]>([:])

    /// `bytes` decoded, from the memo when they are the bytes it last decoded for `name`; nil when they
    /// do not decode.
    func workspace(_ name: String, from bytes: UnsafeRawBufferPointer) -> Workspace? {
        let hit = self.entries.withLock { entries -> Workspace? in
            guard let entry = entries[name], entry.bytes.count == bytes.count,
                entry.bytes.withUnsafeBytes({ $0.elementsEqual(bytes) })
            else { return nil }
            return entry.workspace
        }
        if let hit { return hit }
        guard let workspace = try? JSONCoding.decode(Workspace.self, from: bytes) else { return nil }
        let entry = Entry(bytes: Array(bytes), workspace: workspace)
        self.entries.withLock { entries in
            if entries.count >= Self.capacity, entries[name] == nil { entries.removeAll(keepingCapacity: true) }
            entries[name] = entry
        }
        return workspace
    }
}
