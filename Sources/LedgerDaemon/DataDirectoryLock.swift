// ContactLedger — daemon wiring.
import CLedgerSys
import Foundation

/// An exclusive lock on the data directory, so a second daemon refuses to start on it.
///
/// Two `flock`s, both held for the life of the process (the kernel releases them when the process dies,
/// even by SIGKILL): one on `daemon.lock`, which also records the holder's pid, and one on the directory
/// itself. The file alone was not enough: deleted under a running daemon (with LMDB's `lock.mdb`), it let
/// a second daemon create a new one, lock it and serve the same log, both acknowledging writes under the
/// same seqs. Deleting the directory deletes the ledger with it, so its lock lasts as long as the data it
/// guards.
final class DataDirectoryLock: Sendable {
    /// Why the lock could not be taken.
    enum Failure: Error, CustomStringConvertible {
        case heldByAnotherDaemon(path: String)
        case cannotOpen(path: String, errno: Int32)
        /// The directory's own lock is held: `daemon.lock` was deleted (or replaced) under the daemon that
        /// holds it.
        case directoryHeldByAnotherDaemon(path: String)
        case cannotOpenDirectory(path: String, errno: Int32)

        var description: String {
            switch self {
            case .heldByAnotherDaemon(let path): "another contactledgerd holds the data directory (lock \(path))"
            case .cannotOpen(let path, let code): "cannot open lock file \(path): \(String(cString: strerror(code)))"
            case .directoryHeldByAnotherDaemon(let path):
                "another contactledgerd holds the data directory (lock on the directory \(path) itself; "
                    + "its daemon.lock was deleted or replaced under it)"
            case .cannotOpenDirectory(let path, let code):
                "cannot open data directory \(path) to lock it: \(String(cString: strerror(code)))"
            }
        }
    }

    private let descriptor: Int32
    private let directoryDescriptor: Int32

    init(directory: String) throws {
        let path = (directory as NSString).appendingPathComponent("daemon.lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure.cannotOpen(path: path, errno: errno) }
        guard CLedgerSys_lockExclusive(fd) == 0 else {
            close(fd)
            throw Failure.heldByAnotherDaemon(path: path)
        }
        // After the file: a daemon that holds both (the usual case) is named by its lock file as before, and
        // a daemon of an earlier version, which locks only the file, is still refused by it.
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryFD >= 0 else {
            let code = errno
            close(fd)
            throw Failure.cannotOpenDirectory(path: directory, errno: code)
        }
        guard CLedgerSys_lockExclusive(directoryFD) == 0 else {
            close(directoryFD)
            close(fd)
            throw Failure.directoryHeldByAnotherDaemon(path: directory)
        }
        ftruncate(fd, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        self.descriptor = fd
        self.directoryDescriptor = directoryFD
    }

    deinit {
        close(self.directoryDescriptor)
        close(self.descriptor)
    }
}
