// ContactLedger — storage layer.
import CLedgerSys
import Foundation

/// Forces a file's or a directory's contents to disk (a renamed file's new name is durable once its
/// directory is synced).
enum FileSync {
    /// Throws an ``LMDBError`` carrying the `errno`, so a full disk can be told from other failures.
    static func sync(path: String) throws(LMDBError) {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw LMDBError(code: .init(rawValue: errno), operation: "open") }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw LMDBError(code: .init(rawValue: errno), operation: "fsync") }
    }

    /// Writes a large file's dirty pages back to disk a slice at a time, waiting for each: the disk's
    /// queue never holds more than a slice, so other files' syncs (the log's) go in between.
    ///
    /// A file written in one go and left to the kernel is flushed all at once: when its dirty pages
    /// expire (about 30 s), or at once when it is renamed over another file (ext4 starts writing a file
    /// renamed over another, lest a crash leave it empty), which blocks the rename itself. 800 MB
    /// renamed that way took 1.25 s, and a process syncing a small file meanwhile waited up to 311 ms;
    /// the same 800 MB written back in 8 MB slices first took 1.2-1.3 s, and those syncs waited 57 ms
    /// at most. Nothing is made durable by this (no metadata, no disk cache flush).
    static func writeBack(path: String, sliceBytes: Int = 8 << 20) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw CocoaError(.fileReadUnknown) }
        defer { close(descriptor) }
        let size = Int(lseek(descriptor, 0, SEEK_END))
        var offset = 0
        while offset < size {
            guard CLedgerSys_writeBackRange(descriptor, Int64(offset), Int64(sliceBytes)) == 0 else { throw CocoaError(.fileWriteUnknown) }
            offset += sliceBytes
        }
    }

    /// Frees the blocks of a large file that is being deleted (unlinked, `descriptor` among its last
    /// open ones) a slice at a time from its end, pausing between slices, instead of all at once when
    /// the last descriptor closes.
    ///
    /// The file system frees a file's blocks in its journal's transactions, which other files' syncs
    /// wait for: closing a deleted 1 GB file took 0.6-0.9 s, and a process syncing a small file
    /// meanwhile waited up to 183-267 ms. In 32 MB slices 10 ms apart it took 1.1 s, and those syncs
    /// waited 130-145 ms at most (smaller slices were worse: more journal commits).
    static func truncateGradually(descriptor: Int32, sliceBytes: Int = 32 << 20, pause: TimeInterval = 0.01) {
        var size = Int(lseek(descriptor, 0, SEEK_END))
        while size > 0 {
            size = max(0, size - sliceBytes)
            guard ftruncate(descriptor, off_t(size)) == 0 else { return }
            Thread.sleep(forTimeInterval: pause)
        }
    }
}
