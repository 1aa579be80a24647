// ContactLedger — contact domain.

/// The `ref` of a contact in an anonymous workspace: a keyed bijection of its numeric id onto 6
/// (ids below 2^30) or 7 characters of the 32-symbol alphabet `ABCDEFGHJKLMNPQRSTUVWXYZ23456789`.
///
/// A 4-round Feistel permutation on 30 bits (or, for larger ids, on 36 bits with cycle-walking into
/// 35 bits), keyed by a secret of the ledger, so refs cannot be turned back into ids without it.
public struct AnonymousReference: Sendable {
    static let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
    private let key: UInt64

    public init(key: UInt64) { self.key = key }

    /// The ref of `id`.
    public func encode(_ id: Int64) -> String {
        let value = UInt64(max(id, 0))
        if value < 1 << 30 {
            return Self.render(self.permute(value, halfBits: 15), characters: 6)
        }
        var permuted = self.permute(value & ((1 << 35) - 1), halfBits: 18)
        while permuted >= 1 << 35 { permuted = self.permute(permuted, halfBits: 18) }
        return Self.render(permuted, characters: 7)
    }

    /// The id of `ref` (case-insensitive), or nil when it is not a ref.
    public func decode(_ reference: String) -> Int64? {
        let characters = Array(reference.uppercased())
        guard characters.count == 6 || characters.count == 7 else { return nil }
        var value: UInt64 = 0
        for character in characters {
            guard let digit = Self.alphabet.firstIndex(of: character) else { return nil }
            value = value << 5 | UInt64(digit)
        }
        if characters.count == 6 { return Int64(self.unpermute(value, halfBits: 15)) }
        var original = self.unpermute(value, halfBits: 18)
        while original >= 1 << 35 { original = self.unpermute(original, halfBits: 18) }
        return original >= 1 << 30 ? Int64(original) : nil
    }

    private func round(_ value: UInt64, _ index: UInt64, mask: UInt64) -> UInt64 {
        var x = value &+ self.key &+ index &* 0x9E37_79B9_7F4A_7C15
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        return (x ^ (x >> 31)) & mask
    }

    private func permute(_ value: UInt64, halfBits: UInt64) -> UInt64 {
        let mask: UInt64 = (1 << halfBits) - 1
        var left = value >> halfBits & mask
        var right = value & mask
        for index in 0..<4 {
            (left, right) = (right, left ^ self.round(right, UInt64(index), mask: mask))
        }
        return left << halfBits | right
    }

    private func unpermute(_ value: UInt64, halfBits: UInt64) -> UInt64 {
        let mask: UInt64 = (1 << halfBits) - 1
        var left = value >> halfBits & mask
        var right = value & mask
        for index in (0..<4).reversed() {
            (left, right) = (right ^ self.round(left, UInt64(index), mask: mask), left)
        }
        return left << halfBits | right
    }

    private static func render(_ value: UInt64, characters: Int) -> String {
        var result: [Character] = []
        for position in (0..<characters).reversed() {
            result.append(Self.alphabet[Int(value >> (UInt64(position) * 5) & 31)])
        }
        return String(result)
    }
}
