// ContactLedger — contact domain.
import Foundation

extension UUID {
    /// A new random (version 4) UUID drawn from the system's generator (`getrandom`).
    ///
    /// Foundation's `UUID()` on Linux opens `/dev/urandom` on every call, which showed up as an extra
    /// `open`/`close` pair per event on the write path.
    public static func random() -> UUID {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        var bytes = [UInt8](repeating: 0, count: 16)
        for index in 0..<8 {
            bytes[index] = UInt8(truncatingIfNeeded: high >> (56 - 8 * index))
            bytes[8 + index] = UInt8(truncatingIfNeeded: low >> (56 - 8 * index))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x40  // version 4
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        return UUID(uuid: (
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
        ))
    }

    /// The lowercase text form the ledger stores and answers with.
    public var lowercasedString: String { self.uuidString.lowercased() }
}
