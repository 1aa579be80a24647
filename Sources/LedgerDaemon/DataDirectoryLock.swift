// ContactLedger — daemon wiring.
import CLedgerSys
import Foundation

/// An exclusive lock on the data directory, so a second daemon refuses to start on it.
///
/// Held for the life of the process (the kernel releases it when the process dies, even by SIGKILL).
final class DataDirectoryLock: Sendable {
    /// Why the lock could not be taken.
    enum Failure: Error, CustomStringConvertible {
        case heldByAnotherDaemon(path: String)
        case cannotOpen(path: String, errno: Int32)

        var description: String {
            switch self {
            case .heldByAnotherDaemon(let path): "another contactledgerd holds the data directory (lock \(path))"
            case .cannotOpen(let path, let code): "cannot open lock file \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    private let descriptor: Int32

    init(directory: String) throws {
        let path = (directory as NSString).appendingPathComponent("daemon.lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure.cannotOpen(path: path, errno: errno) }
        guard CLedgerSys_lockExclusive(fd) == 0 else {
            close(fd)
            throw Failure.heldByAnotherDaemon(path: path)
        }
        ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        self.descriptor = fd
    }

    deinit {
        close(self.descriptor)
    }
}
