// ContactLedger — JSON-RPC layer.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where a server's socket is bound before it is published at its path: in a fresh `0700` directory
/// beside it, where nobody else can connect to it or replace it.
///
/// Bound at its path directly, a socket accepts connections, with the mode the umask gave it, before
/// its own mode and group are set; and setting them by path would follow a symbolic link that a user
/// who may write the directory swapped in meanwhile, turning the daemon's `chmod` and `chown` onto
/// another file. Here the mode and group are set while the socket is private, and it is then
/// hard-linked to its path, which fails (rather than replace it) if anything appeared there.
struct StagedSocketPath {
    /// The path clients connect to.
    let path: String
    /// The private directory, nil when a path inside it would be too long for a socket address (then
    /// the socket is bound at `path` itself).
    private let directory: String?

    /// The path to bind.
    var bindPath: String { self.directory.map { $0 + "/s" } ?? self.path }

    /// Creates the private directory beside `path`.
    ///
    /// - Throws: ``SocketPathClaim/Failure/cannotPublish(path:errno:)``.
    init(path: String) throws {
        self.path = path
        let parent = (path as NSString).deletingLastPathComponent
        var template = Array(((parent.isEmpty ? "." : parent) + "/.sockXXXXXX").utf8CString)
        // sun_path holds 108 bytes, its terminating NUL included; the directory adds "/s".
        guard template.count + 2 <= 108 else {
            self.directory = nil
            return
        }
        let made = template.withUnsafeMutableBufferPointer { buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }
        guard let made else { throw SocketPathClaim.Failure.cannotPublish(path: path, errno: errno) }
        self.directory = String(cString: made)
    }

    /// Sets the socket's mode and group, then links it to its path.
    ///
    /// - Throws: ``SocketPathClaim/Failure/inUse(path:)`` if a socket appeared at the path since it was
    ///   claimed, ``SocketPathClaim/Failure/cannotPublish(path:errno:)`` otherwise.
    func publish(mode: mode_t, group: gid_t?) throws {
        chmod(self.bindPath, mode)
        if let group { chown(self.bindPath, getuid(), group) }
        guard self.directory != nil else { return }
        defer { self.discard() }
        guard link(self.bindPath, self.path) == 0 else {
            let code = errno
            throw code == EEXIST ? SocketPathClaim.Failure.inUse(path: self.path) : SocketPathClaim.Failure.cannotPublish(path: self.path, errno: code)
        }
    }

    /// Removes the private directory and the staged name in it (the published path stays).
    func discard() {
        guard let directory else { return }
        unlink(directory + "/s")
        rmdir(directory)
    }
}
