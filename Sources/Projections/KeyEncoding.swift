// ContactLedger — read models.
import LedgerStore

/// Builds read-model keys: text parts separated by a NUL byte, so prefixes never collide.
enum KeyEncoding {
    static func key(_ parts: String...) -> [UInt8] {
        var bytes: [UInt8] = []
        for (index, part) in parts.enumerated() {
            if index > 0 { bytes.append(0) }
            bytes += Array(part.utf8)
        }
        return bytes
    }

    static func prefix(_ parts: String...) -> [UInt8] {
        var bytes: [UInt8] = []
        for part in parts {
            bytes += Array(part.utf8)
            bytes.append(0)
        }
        return bytes
    }
}
