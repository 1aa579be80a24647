// ContactLedger — storage layer.
import Foundation

/// Decides whether an environment's rebuildable part can be trusted when it is opened, from a small
/// marker file beside it.
///
/// The rebuildable part is committed without a sync, so LMDB's crash safety does not hold for it
/// across a power loss: the kernel may have written a newer meta page before the pages it points to.
/// A process crash is harmless (the page cache survives it). The marker tells the two apart: it says
/// `open <boot id>` while a process has the part open, and `closed` once the part was synced and
/// closed. Opening trusts the part if it was closed, or if it was left open during the current boot;
/// otherwise the machine went down with the part open, and its files are deleted.
enum RebuildableOwnership {
    static let markerName = "ownership"
    private static let closed = "closed"

    /// Claims the rebuildable part in `directory` for this process, creating the directory if needed;
    /// returns whether an untrusted part was found and deleted.
    ///
    /// The marker is synced before the part is opened, so no unsynced write can precede it.
    static func claim(directory: String) throws -> Bool {
        let manager = FileManager.default
        if !manager.fileExists(atPath: directory) {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        }
        let dataPath = Environment.dataFile(in: directory)
        let bootID = Self.bootID()
        var discarded = false
        if manager.fileExists(atPath: dataPath) {
            let marker = Self.readMarker(directory: directory)
            let trusted = marker == Self.closed || (bootID != nil && marker == "open \(bootID ?? "")")
            if !trusted {
                try Self.discardFiles(directory: directory)
                discarded = true
            }
        }
        // An unreadable boot id is recorded as one that never matches.
        try Self.writeMarker("open \(bootID ?? "unknown-\(UUID().uuidString)")", directory: directory)
        return discarded
    }

    /// Deletes the part's LMDB files in `directory` (its data file, and its lock file if it can), to be
    /// made again empty.
    static func discardFiles(directory: String) throws {
        try FileManager.default.removeItem(atPath: Environment.dataFile(in: directory))
        try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent("lock.mdb"))
    }

    /// Records that the part in `directory` was synced and closed; throws when it could not be recorded
    /// (a full disk), so the owner can say so: the part is then discarded at the next start after a reboot.
    static func release(directory: String) throws(LMDBError) {
        try Self.writeMarker(Self.closed, directory: directory)
    }

    /// Records that the part in `directory` lost a write: the next opening discards it, whatever the boot.
    static func markUntrusted(directory: String) {
        try? Self.writeMarker("open lost-a-write", directory: directory)
    }

    /// Syncs a copy of a rebuildable part made into `directory` and marks it closed.
    static func markCopied(directory: String) throws {
        try FileSync.sync(path: Environment.dataFile(in: directory))
        try Self.writeMarker(Self.closed, directory: directory)
    }

    private static func readMarker(directory: String) -> String? {
        let path = (directory as NSString).appendingPathComponent(Self.markerName)
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Replaces the marker atomically and durably: a synced temporary file renamed over it, then the
    /// directory synced. A failure names the step and the file, with its `errno` (a start refused on a
    /// full disk says so), and removes the temporary file (a full disk left an empty one behind).
    private static func writeMarker(_ text: String, directory: String) throws(LMDBError) {
        let path = (directory as NSString).appendingPathComponent(Self.markerName)
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw LMDBError(code: .init(rawValue: errno), operation: "open \(temporary)") }
        let bytes = Array((text + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        // The errno of the first step that failed: it tells a full disk from anything else (a short
        // write is one that ran out of space).
        var failure: LMDBError?
        if written != bytes.count { failure = LMDBError(code: .init(rawValue: written < 0 ? errno : ENOSPC), operation: "write \(temporary)") }
        if failure == nil, fsync(descriptor) != 0 { failure = LMDBError(code: .init(rawValue: errno), operation: "fsync \(temporary)") }
        close(descriptor)
        if failure == nil, rename(temporary, path) != 0 { failure = LMDBError(code: .init(rawValue: errno), operation: "rename \(temporary)") }
        if let failure {
            unlink(temporary)
            throw failure
        }
        try FileSync.sync(path: directory)
    }

    /// This boot's id from the kernel, or nil where it cannot be read.
    private static func bootID() -> String? {
        guard let data = FileManager.default.contents(atPath: "/proc/sys/kernel/random/boot_id") else { return nil }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }
}
