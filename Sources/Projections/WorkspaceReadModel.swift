// ContactLedger — read models.
import ContactDomain
import LedgerStore

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
    public func workspace(_ name: String, in txn: Transaction) throws -> Workspace {
        try txn.withValue(self.workspaces, key: Array(name.utf8)) { bytes throws(LMDBError) in
            guard let bytes, let workspace = try? JSONCoding.decode(Workspace.self, from: bytes) else {
                return Workspace(name: name)
            }
            return workspace
        }
    }

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
