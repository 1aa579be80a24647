// ContactLedger — shared test support.
import Foundation

/// Finds numbered values in raw bytes (a data file, a backup): which of `value-000123`-like names a file
/// still holds, for the erasure tests of the storage layer and of the daemon.
public enum NumberedBytes {
    /// The numbers of `digits` digits that follow `prefix` anywhere in `bytes` (a generic search for
    /// each value, `Data.range(of:)`, took minutes over a few megabytes).
    public static func numbers(after prefix: String, digits: Int, in bytes: Data) -> Set<Int> {
        let needle = Array(prefix.utf8)
        var found = Set<Int>()
        bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard let base = raw.baseAddress, raw.count >= needle.count + digits else { return }
            let last = raw.count - needle.count - digits
            var offset = 0
            while offset <= last, let hit = memchr(base + offset, Int32(needle[0]), last - offset + 1) {
                let at = base.distance(to: UnsafeRawPointer(hit))
                offset = at + 1
                guard memcmp(base + at, needle, needle.count) == 0 else { continue }
                let text = raw[(at + needle.count)..<(at + needle.count + digits)]
                if let number = Int(String(decoding: text, as: UTF8.self)) { found.insert(number) }
            }
        }
        return found
    }
}
