// ContactLedger — storage layer.
import CLMDB
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// An LMDB data file shorter than the pages its meta page says are in use: it was truncated (a copy or
/// restore cut short, a full disk, a tampered file).
///
/// LMDB maps the file and trusts its meta page, so reading a page past the file's end stops the process
/// with `SIGBUS`, and no message says which file. ``Environment`` checks each file's size when it opens
/// it and throws this instead, naming the file.
public struct TruncatedDataFile: Error, Hashable, Sendable, CustomStringConvertible {
    /// The data file's path.
    public var path: String
    /// Its size in bytes.
    public var size: Int
    /// The bytes its meta page says are in use (its last page's end).
    public var usedBytes: Int

    public var description: String {
        "\(self.path) is \(self.size) bytes, shorter than the \(self.usedBytes) bytes its LMDB meta page says it uses: the file was truncated or damaged"
    }

    /// Throws when the data file of the open environment `env` (in `directory`) is shorter than its used
    /// pages. Reads only the meta page LMDB read when it opened the file, and the file's size.
    static func check(_ env: OpaquePointer, directory: String) throws(TruncatedDataFile) {
        var descriptor: Int32 = -1
        var info = MDB_envinfo()
        var stat = MDB_stat()
        var file = Glibc.stat()
        guard mdb_env_get_fd(env, &descriptor) == MDB_SUCCESS, fstat(descriptor, &file) == 0 else { return }
        mdb_env_info(env, &info)
        mdb_env_stat(env, &stat)
        let used = (info.me_last_pgno + 1) * Int(stat.ms_psize)
        guard Int(file.st_size) < used else { return }
        throw TruncatedDataFile(path: Environment.dataFile(in: directory), size: Int(file.st_size), usedBytes: used)
    }
}
