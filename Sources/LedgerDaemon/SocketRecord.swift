// ContactLedger — daemon wiring.
import Foundation

/// The socket path this data directory's daemon last listened on, kept in the data directory, so that a
/// later start removes a stale socket it left there (after a crash or a kill) and no other.
struct SocketRecord {
    private let file: String
    private let dataDirectory: String

    init(dataDirectory: String) {
        self.dataDirectory = Self.absolute(dataDirectory)
        self.file = (dataDirectory as NSString).appendingPathComponent("socket.path")
    }

    /// Whether a stale socket at `socketPath` is this data directory's own: it is inside the directory
    /// (which the lock makes ours), or this directory's daemon listened there last.
    func isOwn(_ socketPath: String) -> Bool {
        let path = Self.absolute(socketPath)
        if path.hasPrefix(self.dataDirectory + "/") { return true }
        guard let recorded = try? String(contentsOfFile: self.file, encoding: .utf8) else { return false }
        return recorded == path
    }

    /// Records that this data directory's daemon listens on `socketPath`.
    func record(_ socketPath: String) throws {
        try Self.absolute(socketPath).write(toFile: self.file, atomically: true, encoding: .utf8)
        // Like the data files, whatever the umask.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: self.file)
    }

    private static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }
}
