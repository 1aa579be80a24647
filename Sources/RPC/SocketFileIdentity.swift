// ContactLedger — JSON-RPC layer.
import Foundation

/// Which file a path names (its device and inode), so a server removes its socket file at exit only if
/// the path still names the socket it published.
///
/// Someone may remove a running server's socket file and start another server on the same path; the
/// first one, stopping later, removed the second one's socket, and its clients could no longer connect.
struct SocketFileIdentity: Equatable {
    private let device: UInt64
    private let inode: UInt64

    /// The file at `path` as it is now (the link itself, not what it points to); nil when there is none.
    init?(path: String) {
        // FileManager reads it with lstat.
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let device = (attributes[.systemNumber] as? NSNumber)?.uint64Value,
            let inode = (attributes[.systemFileNumber] as? NSNumber)?.uint64Value
        else { return nil }
        self.device = device
        self.inode = inode
    }

    /// Removes the file at `path` if it is still `published` (or when what was published could not be
    /// read: then as before, whatever is there).
    static func removeIfUnchanged(_ path: String, published: SocketFileIdentity?) {
        guard published == nil || SocketFileIdentity(path: path) == published else { return }
        unlink(path)
    }
}
