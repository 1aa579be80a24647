// ContactLedger — storage layer.
import Foundation

/// Forces a file's or a directory's contents to disk (a renamed file's new name is durable once its
/// directory is synced).
enum FileSync {
    static func sync(path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw CocoaError(.fileReadUnknown) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw CocoaError(.fileWriteUnknown) }
    }
}
