// ContactLedger — daemon wiring.
import Foundation
import LedgerStore
import RPC

/// The directory a backup is written into: a new one (created here, its missing parents too) or an
/// empty one that existed before, opened once (``PinnedDirectory``) and written, and if need be removed,
/// through what was opened.
///
/// A backup that fails must leave nothing behind: a partial copy holds space on a disk that is likely
/// full already, refuses a retry to the same path (it is no longer empty), and may look startable (a
/// cut-off `data.mdb` opens as an empty ledger, or faults inside LMDB). ``discard()`` removes the
/// directories this backup created, and only those. Created one inside the other through their
/// parents' descriptors, and removed through the descriptor of the existing directory they were made
/// in: removed by path, a link on the way re-pointed at the data directory while the copy ran made a
/// failed backup remove the live `data.mdb`.
struct BackupTarget {
    /// The directory the copy goes into, opened.
    let directory: PinnedDirectory
    /// The topmost directory this backup created: its name in the directory that existed before (also
    /// opened); nil when `path` existed before.
    private let createdRoot: (parent: PinnedDirectory, name: String)?

    /// Checks `path` (an existing empty directory) or creates it `0700`, and opens it, outside
    /// `dataDirectory`. Throws -32602 `{field: path, reason: not_an_empty_directory | cannot_create |
    /// inside_data_directory | …}`, or -32005 `{reason: disk_full}` when the file system (or the quota)
    /// is full: the path itself is fine then.
    static func prepare(_ path: String, dataDirectory: String) throws -> BackupTarget {
        let manager = FileManager.default
        // The missing directories' names, outermost first, below the longest existing ancestor.
        var missing: [String] = []
        var existing = URL(fileURLWithPath: path).standardizedFileURL.path
        while existing != "/", !manager.fileExists(atPath: existing) {
            missing.insert((existing as NSString).lastPathComponent, at: 0)
            existing = (existing as NSString).deletingLastPathComponent
        }
        guard let outermost = missing.first else {
            var isDirectory: ObjCBool = false
            guard manager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw RPCError.invalidParams(field: "path", reason: "not_an_empty_directory")
            }
            let directory = try PinnedDirectory(opening: path, field: "path", dataDirectory: dataDirectory)
            guard (try? manager.contentsOfDirectory(atPath: directory.path))?.isEmpty == true else {
                throw RPCError.invalidParams(field: "path", reason: "not_an_empty_directory")
            }
            return BackupTarget(directory: directory, createdRoot: nil)
        }
        let parent = try PinnedDirectory(opening: existing, field: "path", dataDirectory: dataDirectory)
        var current = parent
        for (index, name) in missing.enumerated() {
            // mkdirat(2) one by one, each in the one opened before, keeps each one's errno.
            if mkdirat(current.descriptor, name, 0o700) != 0 {
                let failure = LMDBError(code: .init(rawValue: errno), operation: "mkdir")
                if index > 0 { try? manager.removeItem(atPath: parent.path + "/" + outermost) }
                if failure.isDiskFull { throw Self.diskFull }
                throw RPCError.invalidParams(field: "path", reason: "cannot_create")
            }
            do {
                current = try PinnedDirectory(openingChild: name, of: current, field: "path", dataDirectory: dataDirectory)
            } catch {
                try? manager.removeItem(atPath: parent.path + "/" + outermost)
                throw error
            }
        }
        return BackupTarget(directory: current, createdRoot: (parent, outermost))
    }

    /// The answer to a backup that ran out of space: nothing of it is left.
    static let diskFull = RPCError.storageUnavailable(reason: "disk_full")

    /// The answer to a copy that failed with `error`: -32005 `disk_full` or `copy_failed`.
    static func copyFailure(_ error: any Error) -> RPCError {
        if let error = error as? LMDBError, error.isDiskFull { return Self.diskFull }
        return RPCError.storageUnavailable(reason: "copy_failed")
    }

    /// Removes the directories the failed backup created. In a directory that existed before, the
    /// copy removed its own files as it failed (``Environment/copy(to:)``), and only those: another
    /// backup racing to the same path keeps its own.
    func discard() {
        guard let createdRoot else { return }
        try? FileManager.default.removeItem(atPath: createdRoot.parent.path + "/" + createdRoot.name)
    }

    /// Removes a whole copy whose answer could not be stored: the directories this backup created, or
    /// else everything in its directory, which was empty when the backup took its turn (backups take
    /// turns, so no other backup's files are there).
    func discardWholeCopy() {
        guard createdRoot == nil else { return self.discard() }
        let manager = FileManager.default
        for item in (try? manager.contentsOfDirectory(atPath: self.directory.path)) ?? [] {
            try? manager.removeItem(atPath: (self.directory.path as NSString).appendingPathComponent(item))
        }
    }
}
