// ContactLedger — daemon wiring.
import Foundation
import LedgerStore
import RPC

/// The directory a backup is written into: a new one (created here, its missing parents too) or an
/// empty one that existed before.
///
/// A backup that fails must leave nothing behind: a partial copy holds space on a disk that is likely
/// full already, refuses a retry to the same path (it is no longer empty), and may look startable (a
/// cut-off `data.mdb` opens as an empty ledger, or faults inside LMDB). ``discard()`` removes the
/// directories this backup created, and only those.
struct BackupTarget {
    /// The directory the copy goes into.
    let path: String
    /// The topmost directory this backup created (`path` or one of its parents), nil when `path`
    /// existed before.
    private let createdRoot: String?

    /// Checks `path` (an existing empty directory) or creates it `0700`. Throws -32602
    /// `{field: path, reason: not_an_empty_directory | cannot_create}`, or -32005 `{reason: disk_full}`
    /// when the file system (or the quota) is full: the path itself is fine then.
    static func prepare(_ path: String) throws -> BackupTarget {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        if manager.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, (try? manager.contentsOfDirectory(atPath: path))?.isEmpty == true else {
                throw RPCError.invalidParams(field: "path", reason: "not_an_empty_directory")
            }
            return BackupTarget(path: path, createdRoot: nil)
        }
        // The missing directories, outermost first; mkdir(2) one by one keeps each one's errno.
        var missing: [String] = []
        var existing = URL(fileURLWithPath: path).standardizedFileURL.path
        while existing != "/", !manager.fileExists(atPath: existing) {
            missing.insert(existing, at: 0)
            existing = (existing as NSString).deletingLastPathComponent
        }
        for (index, directory) in missing.enumerated() where mkdir(directory, 0o700) != 0 {
            let failure = LMDBError(code: .init(rawValue: errno), operation: "mkdir")
            if index > 0 { try? manager.removeItem(atPath: missing[0]) }
            if failure.isDiskFull { throw Self.diskFull }
            throw RPCError.invalidParams(field: "path", reason: "cannot_create")
        }
        return BackupTarget(path: path, createdRoot: missing.first)
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
        try? FileManager.default.removeItem(atPath: createdRoot)
    }

    /// Removes a whole copy whose answer could not be stored: the directories this backup created, or
    /// else everything in `directory` (`path` as opened for the copy), which was empty when the backup
    /// took its turn (backups take turns, so no other backup's files are there).
    func discardWholeCopy(in directory: PinnedDirectory) {
        guard createdRoot == nil else { return self.discard() }
        let manager = FileManager.default
        for item in (try? manager.contentsOfDirectory(atPath: directory.path)) ?? [] {
            try? manager.removeItem(atPath: (directory.path as NSString).appendingPathComponent(item))
        }
    }
}
