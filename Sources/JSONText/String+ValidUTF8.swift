// ContactLedger — JSON text.

extension String {
    /// The text of `bytes` when they are well-formed UTF-8, else nil: what `String(validating:as:)`
    /// answers, at half its cost.
    ///
    /// Why not that initializer: it is generic and the standard library does not specialize it for our
    /// buffers, so every call looked its type metadata up at run time. In a replay, where every string of
    /// every event goes through here, the lookups alone were a tenth of the decoders' time.
    public init?(validUTF8 bytes: UnsafeBufferPointer<UInt8>) {
        guard JSONTextReader.isValidUTF8(bytes) else { return nil }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
