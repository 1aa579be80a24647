// ContactLedger — storage layer.
import Foundation

/// A position of an environment's durable part and the hash stored there: what a rebuildable part is
/// checked against, to be sure it was derived from this durable part (a log lost, emptied, cut short,
/// restored from an older copy or replaced by another's fails it).
public struct DurableAnchor: Sendable, Hashable {
    /// The position (a log's seq).
    public var seq: UInt64
    /// The hash the durable part stores at `seq`.
    public var hash: [UInt8]

    public init(seq: UInt64, hash: [UInt8]) {
        self.seq = seq
        self.hash = hash
    }

    /// The hash in lowercase hexadecimal, as the ownership marker keeps it.
    var hexHash: String { self.hash.map { String(format: "%02x", $0) }.joined() }

    /// The bytes of hexadecimal `text`; nil when it is not that.
    static func bytes(hex text: Substring) -> [UInt8]? {
        guard text.count.isMultiple(of: 2) else { return nil }
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        return bytes
    }
}
