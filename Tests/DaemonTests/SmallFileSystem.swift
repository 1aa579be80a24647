// ContactLedger — daemon tests.
import Foundation

/// A small tmpfs mounted at a fresh directory, for tests that need writes to fail with ENOSPC on a real
/// file system (no mocked storage); unmounted and removed when released. Needs root:
/// ``ReliabilityLimitsTests/canMount`` says whether mounting works here.
final class SmallFileSystem {
    /// The mount point.
    let path: String
    private let base: String

    /// Mounts a tmpfs of `size` (`mount`'s syntax, e.g. `4m`); `inodes` limits how many files and
    /// directories it holds, its root among them (a mkdir past the limit fails with ENOSPC).
    init(size: String, inodes: Int? = nil) throws {
        self.base = "/tmp/clt-fs-\(UUID().uuidString.prefix(8).lowercased())"
        self.path = self.base + "/m"
        try FileManager.default.createDirectory(atPath: self.path, withIntermediateDirectories: true)
        let options = "size=\(size),mode=0750" + (inodes.map { ",nr_inodes=\($0)" } ?? "")
        let mounted = ReliabilityLimitsTests.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", self.path])
        guard mounted.0 == 0 else { throw MountError(output: mounted.1) }
    }

    private var fillerPath: String { self.path + "/filler" }

    /// Bytes free for writing.
    var freeBytes: Int {
        var stats = statvfs()
        guard statvfs(self.path, &stats) == 0 else { return 0 }
        return Int(stats.f_bavail) * Int(stats.f_frsize)
    }

    /// Writes a filler file so that about `bytes` stay free.
    func fill(leaving bytes: Int) {
        let descriptor = open(self.fillerPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let chunk = [UInt8](repeating: 0x5A, count: 64 << 10)
        while self.freeBytes > bytes {
            let size = min(chunk.count, self.freeBytes - bytes)
            guard chunk.withUnsafeBytes({ write(descriptor, $0.baseAddress, size) }) > 0 else { return }
        }
    }

    /// Removes the filler: the space comes back.
    func removeFiller() {
        unlink(self.fillerPath)
    }

    deinit {
        _ = ReliabilityLimitsTests.run(["umount", "-l", self.path])
        try? FileManager.default.removeItem(atPath: self.base)
    }

    struct MountError: Error, CustomStringConvertible {
        var output: String
        var description: String { "mount: \(self.output)" }
    }
}
