// ContactLedger — contact domain.
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension UUID {
    /// A new random (version 4) UUID drawn from the system's generator (`getrandom`).
    ///
    /// Foundation's `UUID()` on Linux opens `/dev/urandom` on every call (and, with no file descriptor
    /// left, hands out the all-zero version-4 UUID every time), and two `getrandom` calls per
    /// UUID still showed on the write path (every event has an id): the bytes come from a pool that
    /// `getentropy` refills 256 bytes (16 UUIDs) a call.
    public static func random() -> UUID {
        var bytes = RandomPool.shared.withLock { $0.take16() }
        bytes[6] = (bytes[6] & 0x0F) | 0x40  // version 4
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        return UUID(uuid: (
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
        ))
    }

    /// The lowercase text form the ledger stores and answers with.
    ///
    /// Written from the bytes here: Foundation formats `uuidString` with `snprintf` and the ledger then
    /// lowercased it, for every event's id.
    public var lowercasedString: String {
        let digits = Array("0123456789abcdef".utf8)
        return withUnsafeBytes(of: self.uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { text in
                var written = 0
                for (index, byte) in bytes.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        text[written] = UInt8(ascii: "-")
                        written += 1
                    }
                    text[written] = digits[Int(byte >> 4)]
                    text[written + 1] = digits[Int(byte & 0x0F)]
                    written += 2
                }
                return written
            }
        }
    }
}

/// Bytes from the system's generator, taken 16 at a time; each byte is handed out once.
private struct RandomPool: ~Copyable {
    static let shared = Mutex(RandomPool())

    private var bytes = [UInt8](repeating: 0, count: 4096)
    private var used = 4096

    mutating func take16() -> [UInt8] {
        if self.used + 16 > self.bytes.count { self.refill() }
        defer { self.used += 16 }
        return Array(self.bytes[self.used..<(self.used + 16)])
    }

    private mutating func refill() {
        // getentropy: the kernel's generator (getrandom), at most 256 bytes a call.
        self.bytes.withUnsafeMutableBytes { buffer in
            var filled = 0
            while filled < buffer.count, let base = buffer.baseAddress {
                let length = min(256, buffer.count - filled)
                if getentropy(base + filled, length) == 0 {
                    filled += length
                } else {
                    // It cannot fail on a seeded Linux kernel; should it, use the standard library's
                    // generator rather than hand out zeros.
                    var generator = SystemRandomNumberGenerator()
                    for index in filled..<buffer.count { buffer[index] = generator.next() }
                    filled = buffer.count
                }
            }
        }
        self.used = 0
    }
}
