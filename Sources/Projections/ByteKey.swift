// ContactLedger — read models.

/// Key bytes as the key of an in-memory dictionary, hashed in one pass over the bytes: `[UInt8]`'s own
/// `Hashable` feeds the hasher a byte at a time, which a replay holding hundreds of thousands of
/// contacts paid on every event.
struct ByteKey: Hashable, Sendable {
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    func hash(into hasher: inout Hasher) {
        self.bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (lhs: ByteKey, rhs: ByteKey) -> Bool {
        lhs.bytes == rhs.bytes
    }
}
