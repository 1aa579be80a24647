// ContactLedger — daemon wiring.
import Foundation
import RPC

/// A directory a caller named for the daemon to write into (an export's, a backup's), opened once when
/// the call is checked and written through that descriptor until the work ends.
///
/// Checked by its path and written later by the same path, the directory could change in between: an
/// export accepted into `/tmp/swap/` (a link to a harmless directory) was written into the data
/// directory once the link was pointed there, and renamed over `data.mdb`; the daemon went on
/// acknowledging writes into the unlinked file and found no ledger at its next start. The check is made
/// on the directory the descriptor holds (the kernel names it), and the work goes through ``path``,
/// `/proc/self/fd/N`, which the kernel resolves to that same directory whatever is renamed or relinked
/// on the way to it afterwards.
final class PinnedDirectory: Sendable {
    let descriptor: Int32

    /// The directory's path through the open descriptor: what the work writes to.
    var path: String { "/proc/self/fd/\(self.descriptor)" }

    /// Opens the directory `directory` (an absolute path, checked by ``OutputPath/checked(_:field:dataDirectory:)``)
    /// and checks it again where it was found: outside `dataDirectory` and the kernel's file systems.
    /// Throws -32602 naming `field`: `directory_not_found` when it is missing or no directory,
    /// `inside_data_directory`, `not_a_regular_location`.
    convenience init(opening directory: String, field: String, dataDirectory: String) throws {
        try self.init(
            descriptor: open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC), field: field, missing: "directory_not_found", dataDirectory: dataDirectory
        )
    }

    /// Opens `name`, a directory in `parent`, through `parent`'s descriptor and without following a link
    /// (`O_NOFOLLOW`), and checks it as ``init(opening:field:dataDirectory:)`` does. Throws -32602
    /// `cannot_create` naming `field` when it is no directory of `parent`'s.
    convenience init(openingChild name: String, of parent: PinnedDirectory, field: String, dataDirectory: String) throws {
        try self.init(
            descriptor: openat(parent.descriptor, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), field: field, missing: "cannot_create",
            dataDirectory: dataDirectory
        )
    }

    /// Takes `descriptor` (negative when the open failed: -32602 `missing`) and checks the directory it
    /// holds.
    private init(descriptor: Int32, field: String, missing: String, dataDirectory: String) throws {
        guard descriptor >= 0 else { throw RPCError.invalidParams(field: field, reason: missing) }
        self.descriptor = descriptor
        guard let opened = Self.location(of: descriptor) else { throw RPCError.invalidParams(field: field, reason: missing) }
        _ = try OutputPath.checked(opened, field: field, dataDirectory: dataDirectory)
    }

    deinit { close(self.descriptor) }

    /// The path the kernel gives the directory `descriptor` holds; nil once it was removed.
    private static func location(of descriptor: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/fd/\(descriptor)", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let target = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // A removed directory reads "/old/path (deleted)": nothing to write into.
        guard target.hasPrefix("/"), !target.hasSuffix(" (deleted)") else { return nil }
        return target
    }
}
