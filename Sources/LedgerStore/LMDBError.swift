// ContactLedger — storage layer.
import CLMDB

/// An error reported by LMDB, carrying its return code and the operation that failed.
///
/// Descriptions never include keys or values, so they are safe to log.
public struct LMDBError: Error, Hashable, Sendable, CustomStringConvertible {
    /// An LMDB or errno return code. A struct rather than an enum so unknown codes still fit.
    public struct Code: RawRepresentable, Hashable, Sendable {
        public var rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let notFound = Code(rawValue: MDB_NOTFOUND)
        public static let keyExists = Code(rawValue: MDB_KEYEXIST)
        public static let mapFull = Code(rawValue: MDB_MAP_FULL)
        public static let readersFull = Code(rawValue: MDB_READERS_FULL)
        public static let badValueSize = Code(rawValue: MDB_BAD_VALSIZE)
        public static let mapResized = Code(rawValue: MDB_MAP_RESIZED)
        /// A page LMDB found damaged: the file holds something other than what LMDB wrote.
        public static let corrupted = Code(rawValue: MDB_CORRUPTED)
        /// A page a tree points to is not there (a damaged or cut-short file).
        public static let pageNotFound = Code(rawValue: MDB_PAGE_NOTFOUND)
        /// `ENOSPC`: the file system is full.
        public static let noSpace = Code(rawValue: 28)
        /// `EDQUOT`: the user's disk quota is used up (Linux's number), a full disk for the writer.
        public static let quotaExceeded = Code(rawValue: 122)
        /// `EACCES`.
        public static let accessDenied = Code(rawValue: 13)
    }

    /// The return code.
    public var code: Code
    /// The C function that failed, e.g. `mdb_put`; for a file of the store's own (not LMDB's), the
    /// function and the file's path, e.g. `write /var/lib/contactledger/readmodels/ownership.tmp`.
    public var operation: String

    public init(code: Code, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// Whether retrying after more space is found (a bigger map, a freed disk) could succeed.
    public var isOutOfSpace: Bool { self.code == .mapFull || self.isDiskFull }

    /// Whether LMDB found a damaged page (`MDB_CORRUPTED`, `MDB_PAGE_NOTFOUND`): the file holds
    /// something other than what LMDB wrote, as opposed to a misuse of its API.
    public var isDamagedPage: Bool { self.code == .corrupted || self.code == .pageNotFound }

    /// Whether the file system (or the writer's quota on it) is full: `ENOSPC` or `EDQUOT`.
    public var isDiskFull: Bool { self.code == .noSpace || self.code == .quotaExceeded }

    public var description: String {
        guard let message = mdb_strerror(self.code.rawValue) else { return "\(self.operation): \(self.code.rawValue)" }
        // Said plainly first: a start refused on a full disk must name the cause in its one log line.
        let cause = self.isDiskFull ? "disk full, " : ""
        return "\(self.operation): \(cause)\(String(cString: message)) (\(self.code.rawValue))"
    }
}

/// Throws an ``LMDBError`` for any return code other than `MDB_SUCCESS`.
@inline(__always)
func check(_ rc: Int32, _ operation: String) throws(LMDBError) {
    guard rc == MDB_SUCCESS else { throw LMDBError(code: .init(rawValue: rc), operation: operation) }
}
