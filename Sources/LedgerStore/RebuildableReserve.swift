// ContactLedger — storage layer.
import CLMDB
import Foundation

/// Keeps disk space allocated ahead of the rebuildable part's last page, so that its commit, which
/// comes after the durable part's, never fails for want of space.
///
/// A write commits the durable part first. If the rebuildable commit then found the disk full, the
/// write would be durable yet missing from the read models. So before each write the file is grown
/// (`posix_fallocate`) to cover the pages in use plus a reserve of twice the largest growth seen
/// recently (at least ``minimumReserve``); if the disk cannot hold that, the write is refused before
/// anything is written, as a full durable part refuses it.
final class RebuildableReserve {
    static let minimumReserve = 1 << 20
    static let maximumReserve = 64 << 20

    private let environment: OpaquePointer
    private let descriptor: Int32
    private var allocatedBytes: Int
    private var lastUsedBytes: Int
    private var largestGrowth = 0

    init(environment: OpaquePointer, dataPath: String) throws(LMDBError) {
        let descriptor = open(dataPath, O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { throw LMDBError(code: .init(rawValue: errno), operation: "open") }
        let size = lseek(descriptor, 0, SEEK_END)
        self.environment = environment
        self.descriptor = descriptor
        self.allocatedBytes = max(Int(size), 0)
        self.lastUsedBytes = 0
        self.lastUsedBytes = self.usedBytes()
    }

    deinit { close(self.descriptor) }

    private func usedBytes() -> Int {
        Environment.usedBytes(of: self.environment)
    }

    /// Makes sure the next write's rebuildable pages have disk space; call from the writer before a
    /// write begins.
    ///
    /// - Throws: ``LMDBError`` `.noSpace` when the disk cannot hold the reserve (nothing is written).
    func ensure() throws(LMDBError) {
        let used = self.usedBytes()
        self.largestGrowth = max(self.largestGrowth * 15 / 16, used - self.lastUsedBytes)
        self.lastUsedBytes = used
        let reserve = min(max(Self.minimumReserve, 2 * self.largestGrowth), Self.maximumReserve)
        guard self.allocatedBytes < used + reserve else { return }
        // Grow by whole reserves, so this is rare.
        let target = used + 2 * reserve
        let rc = posix_fallocate(self.descriptor, 0, off_t(target))
        if rc == 0 {
            self.allocatedBytes = target
            return
        }
        // A file system without fallocate (EOPNOTSUPP) gets no reserve; a full one refuses the write
        // unless the pages in use plus the smallest reserve still fit.
        guard rc == ENOSPC else { return }
        if self.allocatedBytes >= used + Self.minimumReserve { return }
        throw LMDBError(code: .noSpace, operation: "posix_fallocate")
    }
}
