// ContactLedger — JSON-RPC layer.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Makes a socket path free for a server to bind, without taking over anybody else's socket.
///
/// A socket that a server still answers on is never removed (binding over it would leave that server
/// running but unreachable). A stale socket, one nobody listens on any more, is removed only when the
/// caller knows it for its own (left by its own crash); anything else at the path is refused.
public enum SocketPathClaim {
    /// Why the path cannot be claimed.
    public enum Failure: Error, CustomStringConvertible {
        /// A server accepts connections on the socket.
        case inUse(path: String)
        /// Nobody listens on the socket, but it is not the caller's to remove.
        case staleSocketOfAnother(path: String)
        /// The socket cannot be probed (e.g. its directory or the socket denies this user).
        case cannotProbe(path: String, errno: Int32)
        /// Something other than a socket is at the path.
        case notASocket(path: String)
        /// The socket could not be bound aside and linked into place (``StagedSocketPath``).
        case cannotPublish(path: String, errno: Int32)

        public var description: String {
            switch self {
            case .inUse(let path): "another server is listening on the socket \(path)"
            case .staleSocketOfAnother(let path):
                "a stale socket that this data directory's daemon did not create is at \(path): remove it, or choose another socket"
            case .cannotProbe(let path, let code): "cannot tell whether the socket \(path) is in use: \(String(cString: strerror(code)))"
            case .notASocket(let path): "\(path) exists and is not a socket"
            case .cannotPublish(let path, let code): "cannot create the socket \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    /// Frees `path` for binding: nothing there, or a stale socket that `staleSocketIsOwn` allows removing.
    ///
    /// - Throws: ``Failure``.
    public static func claim(_ path: String, staleSocketIsOwn: Bool) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }  // Nothing there (or nothing this user can see).
        guard info.st_mode & S_IFMT == S_IFSOCK else { throw Failure.notASocket(path: path) }
        do {
            _ = try RPCClient(socketPath: path)
            throw Failure.inUse(path: path)
        } catch RPCClient.TransportError.connectFailed(let code) {
            switch code {
            case ENOENT: return  // Removed meanwhile.
            case ECONNREFUSED:
                guard staleSocketIsOwn else { throw Failure.staleSocketOfAnother(path: path) }
                unlink(path)
            default:
                throw Failure.cannotProbe(path: path, errno: code)
            }
        }
    }
}
