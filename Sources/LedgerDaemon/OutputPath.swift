// ContactLedger — daemon wiring.
import Foundation
import RPC

/// A path a caller gives the daemon to write to (an export's file, a backup's directory), checked before
/// any work: a mistaken or hostile path must not replace the daemon's own files (an export over
/// `data.mdb` would leave the daemon acknowledging writes to a file no longer there), nor write into the
/// kernel's file systems, nor land somewhere relative to wherever the daemon happened to start.
enum OutputPath {
    /// The kernel's file systems: devices, processes, sysfs.
    private static let kernelRoots = ["/dev", "/proc", "/sys"]

    /// Refuses `path` (-32602 naming `field`) unless it is absolute, has no NUL, and, symbolic links
    /// followed as far as the path exists, lies outside `dataDirectory` and the kernel's file systems;
    /// returns it with `.` and `..` taken out, the path the caller writes to: the one checked (written as
    /// given, `…/missing/../b` failed in the kernel, where `missing` must exist, and a backup answered
    /// -32005 `copy_failed` for a path `mkdir -p` takes).
    static func checked(_ path: String, field: String, dataDirectory: String) throws -> String {
        guard path.hasPrefix("/") else { throw RPCError.invalidParams(field: field, reason: "must_be_absolute") }
        guard !path.utf8.contains(0) else { throw RPCError.invalidParams(field: field, reason: "invalid") }
        let target = Self.resolved(path)
        let data = Self.resolved(dataDirectory)
        if target == data || target.hasPrefix(data + "/") {
            throw RPCError.invalidParams(field: field, reason: "inside_data_directory")
        }
        if Self.kernelRoots.contains(where: { target == $0 || target.hasPrefix($0 + "/") }) {
            throw RPCError.invalidParams(field: field, reason: "not_a_regular_location")
        }
        return URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// `path` with `.` and `..` removed and the symbolic links of its longest existing ancestor resolved.
    private static func resolved(_ path: String) -> String {
        var existing = URL(fileURLWithPath: path).standardizedFileURL.path
        var rest: [String] = []
        while existing != "/", !FileManager.default.fileExists(atPath: existing) {
            rest.insert((existing as NSString).lastPathComponent, at: 0)
            existing = (existing as NSString).deletingLastPathComponent
        }
        var base = existing
        if let real = realpath(existing, nil) {
            base = String(cString: real)
            free(real)
        }
        return rest.reduce(base) { ($0 as NSString).appendingPathComponent($1) }
    }
}
