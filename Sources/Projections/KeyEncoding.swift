// ContactLedger — read models.
import LedgerStore

/// Builds read-model keys: text parts separated by a NUL byte, so prefixes never collide.
enum KeyEncoding {
    static func key(_ parts: String...) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(parts.reduce(parts.count) { $0 + $1.utf8.count })
        for (index, part) in parts.enumerated() {
            if index > 0 { bytes.append(0) }
            bytes.append(contentsOf: part.utf8)
        }
        return bytes
    }

    static func prefix(_ parts: String...) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(parts.reduce(parts.count) { $0 + $1.utf8.count })
        for part in parts {
            bytes.append(contentsOf: part.utf8)
            bytes.append(0)
        }
        return bytes
    }
}
