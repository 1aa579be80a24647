// ContactLedger — storage layer.
import CLMDB
import Foundation

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
        let path = Environment.dataFile(in: directory)
        // The size from the file system by path (no `struct stat`, whose defining module a clean build
        // under MemberImportVisibility did not see).
        guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber else { return }
        var info = MDB_envinfo()
        var stat = MDB_stat()
        mdb_env_info(env, &info)
        mdb_env_stat(env, &stat)
        let used = (info.me_last_pgno + 1) * Int(stat.ms_psize)
        guard size.intValue < used else { return }
        throw TruncatedDataFile(path: path, size: size.intValue, usedBytes: used)
    }
}
