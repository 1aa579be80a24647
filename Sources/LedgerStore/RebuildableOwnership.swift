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
///
/// The marker also carries an anchor in the durable part (`open <boot id> anchor <seq> <hash>`, and
/// `closed anchor …`; ``DurableAnchor``): a position and its hash the durable part held when it was last
/// opened. A part discarded unread, or emptied, cannot say which durable part it was built from; the
/// anchor still can.
enum RebuildableOwnership {
    static let markerName = "ownership"
    private static let closed = "closed"
    private static let lostAWrite = "open lost-a-write"

    /// What claiming a part found: whether it was discarded, and the anchor its marker carried.
    struct Claim {
        var discarded: Bool
        /// Whether it was discarded because a commit of its own failed after the durable part's
        /// (``markUntrusted(directory:)``), not because the machine went down with it open.
        var lostAWrite = false
        var anchor: DurableAnchor?
    }

    /// Claims the rebuildable part in `directory` for this process, creating the directory if needed;
    /// returns whether an untrusted part was found and deleted, and the anchor its marker carried.
    ///
    /// The marker is synced before the part is opened, so no unsynced write can precede it.
    static func claim(directory: String) throws -> Claim {
        let manager = FileManager.default
        if !manager.fileExists(atPath: directory) {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        }
        let dataPath = Environment.dataFile(in: directory)
        let bootID = Self.bootID()
        var discarded = false
        let marker = Self.readMarker(directory: directory)
        let (owner, anchor) = Self.parse(marker)
        if manager.fileExists(atPath: dataPath) {
            let trusted = owner == Self.closed || (bootID != nil && owner == "open \(bootID ?? "")")
            if !trusted {
                try Self.discardFiles(directory: directory)
                discarded = true
            }
        }
        let lostAWrite = discarded && owner == Self.lostAWrite
        // An unreadable boot id is recorded as one that never matches. The anchor is kept until the
        // durable part is found to hold it (``recordAnchor(_:directory:)``): a start refused for want of
        // it must be refused again.
        try Self.writeMarker("open \(bootID ?? "unknown-\(UUID().uuidString)")", anchor: anchor, directory: directory)
        return Claim(discarded: discarded, lostAWrite: lostAWrite, anchor: anchor)
    }

    /// Records `anchor`, a position the durable part now holds, in the marker of the part in `directory`
    /// (claimed by this process).
    static func recordAnchor(_ anchor: DurableAnchor, directory: String) throws(LMDBError) {
        let (owner, _) = Self.parse(Self.readMarker(directory: directory))
        guard let owner, owner.hasPrefix("open ") else { return }
        try Self.writeMarker(owner, anchor: anchor, directory: directory)
    }

    /// A marker's owner part (`closed`, `open <boot id>`) and its anchor, if it carries one.
    private static func parse(_ marker: String?) -> (owner: String?, anchor: DurableAnchor?) {
        guard let marker, let range = marker.range(of: " anchor ") else { return (marker, nil) }
        let owner = String(marker[..<range.lowerBound])
        let parts = marker[range.upperBound...].split(separator: " ")
        guard parts.count == 2, let seq = UInt64(parts[0]), let hash = DurableAnchor.bytes(hex: parts[1]) else { return (owner, nil) }
        return (owner, DurableAnchor(seq: seq, hash: hash))
    }

    private static func writeMarker(_ owner: String, anchor: DurableAnchor?, directory: String) throws(LMDBError) {
        try Self.writeMarker(owner + (anchor.map { " anchor \($0.seq) \($0.hexHash)" } ?? ""), directory: directory)
    }

    /// Deletes the part's LMDB files in `directory` (its data file, and its lock file if it can), to be
    /// made again empty.
    static func discardFiles(directory: String) throws {
        try FileManager.default.removeItem(atPath: Environment.dataFile(in: directory))
        try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent("lock.mdb"))
    }

    /// Records that the part in `directory` was synced and closed; throws when it could not be recorded
    /// (a full disk), so the owner can say so: the part is then discarded at the next start after a reboot.
    /// The anchor stays: a part emptied at this opening has none of its own, and a start refused for want
    /// of it must be refused again.
    static func release(directory: String) throws(LMDBError) {
        try Self.writeMarker(Self.closed, anchor: Self.parse(Self.readMarker(directory: directory)).anchor, directory: directory)
    }

    /// Records that the part in `directory` lost a write: the next opening discards it, whatever the boot.
    static func markUntrusted(directory: String) {
        try? Self.writeMarker(Self.lostAWrite, anchor: Self.parse(Self.readMarker(directory: directory)).anchor, directory: directory)
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
