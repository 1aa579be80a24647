// ContactLedger — command-line client.
import Foundation
import RPC

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What makes a path unusable as the daemon's socket whether or not a daemon runs: said by a command
/// that cannot connect, and by `doctor`.
///
/// A regular file or a directory at the socket's path refuses a connection as a socket nobody listens on
/// does (`ECONNREFUSED`), so "is contactledgerd running?" sent people after a daemon when the path was wrong.
enum SocketPathProblem: Error, CustomStringConvertible {
    /// The path is longer than a Unix socket address holds.
    case tooLong(path: String, bytes: Int)
    /// The path names a directory.
    case directory(path: String)
    /// The path names something else that is not a socket (a regular file, a FIFO).
    case notASocket(path: String)

    /// The problem with `path` as a socket's path, or nil when it is a socket or nothing is there (or this
    /// user cannot see what is).
    ///
    /// The path is read with `stat`, which follows a symbolic link as `connect` does.
    init?(path: String) {
        let bytes = path.utf8.count
        guard bytes <= RPCClient.maximumSocketPathBytes else {
            self = .tooLong(path: path, bytes: bytes)
            return
        }
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFSOCK: return nil
        case S_IFDIR: self = .directory(path: path)
        default: self = .notASocket(path: path)
        }
    }

    var description: String {
        switch self {
        case .tooLong(let path, let bytes): "socket path too long (\(bytes) bytes, at most \(RPCClient.maximumSocketPathBytes)): \(path)"
        case .directory(let path): "\(path) is a directory"
        case .notASocket(let path): "\(path) is not a socket"
        }
    }
}
