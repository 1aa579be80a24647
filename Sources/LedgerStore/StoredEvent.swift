// ContactLedger — storage layer.
import Crypto

/// One record of the ``EventLog`` as stored: opaque header and payload bytes, chained by SHA-256.
///
/// `hash = SHA-256(prev_hash ‖ SHA-256(header) ‖ payload_hash)` with `payload_hash = SHA-256(payload)`.
/// Keeping `payload_hash` lets a payload be erased (personal data removed) while the chain still
/// verifies.
public struct StoredEvent: Sendable, Hashable {
    /// The global log position, from 1.
    public var seq: UInt64
    /// The previous record's hash (32 zero bytes for the first record).
    public var prevHash: [UInt8]
    /// This record's hash.
    public var hash: [UInt8]
    /// SHA-256 of the payload, kept when the payload is erased.
    public var payloadHash: [UInt8]
    /// The envelope without payload and hashes, as encoded by the layer above.
    public var header: [UInt8]
    /// The payload, or nil once erased.
    public var payload: [UInt8]?

    static let formatVersion: UInt8 = 1
    static let hashLength = 32

    /// The chain hash of a record with these parts.
    static func chainHash(prevHash: [UInt8], header: [UInt8], payloadHash: [UInt8]) -> [UInt8] {
        Self.chainHash(prevHash: prevHash, headerHash: Self.digest(header), payloadHash: payloadHash)
    }

    /// The chain hash from the header's digest (computed ahead, off the appending thread).
    static func chainHash(prevHash: [UInt8], headerHash: [UInt8], payloadHash: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: prevHash)
        hasher.update(data: headerHash)
        hasher.update(data: payloadHash)
        return Array(hasher.finalize())
    }

    static func digest(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    /// Whether the stored hash matches the parts and `expectedPrevHash`.
    func isIntact(expectedPrevHash: [UInt8]) -> Bool {
        self.damage(expectedPrevHash: expectedPrevHash) == nil
    }

    /// What does not match, checked in the order a reader would trust the parts: the link to the
    /// record before, the payload against its hash, then the stored hash against the parts; nil when
    /// everything does.
    func damage(expectedPrevHash: [UInt8]) -> LogDamage? {
        guard self.prevHash == expectedPrevHash else { return .prevHash }
        if let payload = self.payload, Self.digest(payload) != self.payloadHash { return .payloadHash }
        guard Self.chainHash(prevHash: self.prevHash, header: self.header, payloadHash: self.payloadHash) == self.hash else { return .hash }
        return nil
    }

    /// Where a stored record keeps its `prev_hash` and its `hash` (see ``encoded()``).
    static let prevHashOffset = 1
    static let hashOffset = 1 + Self.hashLength

    /// Layout: format(1) prev(32) hash(32) payloadHash(32) headerLength(4) header flag(1) payload.
    func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(102 + self.header.count + (self.payload?.count ?? 0))
        bytes.append(Self.formatVersion)
        bytes += self.prevHash
        bytes += self.hash
        bytes += self.payloadHash
        bytes += BigEndian.bytes(UInt32(self.header.count))
        bytes += self.header
        if let payload = self.payload {
            bytes.append(1)
            bytes += payload
        } else {
            bytes.append(0)
        }
        return bytes
    }

    /// Decodes a stored record; nil when the bytes are not a well-formed record.
    init?(seq: UInt64, bytes: UnsafeRawBufferPointer) {
        guard let view = View(seq: seq, bytes: bytes) else { return nil }
        self.seq = seq
        self.prevHash = Array(bytes[1..<33])
        self.hash = Array(bytes[33..<65])
        self.payloadHash = Array(bytes[65..<97])
        self.header = Array(view.header)
        self.payload = view.payload.map { Array($0) }
    }

    /// A record's header and payload where the log stores them, for a reader that decodes them at once
    /// (a replay): making a record's five arrays cost more than stepping LMDB's cursor to it.
    ///
    /// Valid only inside the call that gives it (it points into the read transaction's pages).
    public struct View {
        /// The global log position.
        public let seq: UInt64
        /// The envelope without payload and hashes.
        public let header: UnsafeRawBufferPointer
        /// The payload, or nil once erased.
        public let payload: UnsafeRawBufferPointer?

        /// The parts of stored record bytes (layout: see ``StoredEvent/encoded()``); nil when the bytes
        /// are not a well-formed record.
        init?(seq: UInt64, bytes: UnsafeRawBufferPointer) {
            let fixed = 1 + 3 * StoredEvent.hashLength + 4
            guard bytes.count >= fixed + 1, bytes[0] == StoredEvent.formatVersion,
                let headerLength = BigEndian.uint32(bytes, at: 1 + 3 * StoredEvent.hashLength)
            else { return nil }
            let headerEnd = fixed + Int(headerLength)
            guard bytes.count >= headerEnd + 1 else { return nil }
            self.seq = seq
            self.header = UnsafeRawBufferPointer(rebasing: bytes[fixed..<headerEnd])
            switch bytes[headerEnd] {
            case 1: self.payload = UnsafeRawBufferPointer(rebasing: bytes[(headerEnd + 1)...])
            case 0 where bytes.count == headerEnd + 1: self.payload = nil
            default: return nil
            }
        }
    }

    /// A record as received from elsewhere (e.g. a replication stream), hashes included; check it
    /// with ``EventLog/appendCopy(of:to:in:)``.
    public init(seq: UInt64, prevHash: [UInt8], hash: [UInt8], payloadHash: [UInt8], header: [UInt8], payload: [UInt8]?) {
        self.seq = seq
        self.prevHash = prevHash
        self.hash = hash
        self.payloadHash = payloadHash
        self.header = header
        self.payload = payload
    }

    init(seq: UInt64, prevHash: [UInt8], header: [UInt8], payload: [UInt8]) {
        self.init(seq: seq, prevHash: prevHash, header: header, payload: payload, headerHash: Self.digest(header), payloadHash: Self.digest(payload))
    }

    /// A record chained onto `prevHash`, its parts' digests computed ahead.
    init(seq: UInt64, prevHash: [UInt8], header: [UInt8], payload: [UInt8], headerHash: [UInt8], payloadHash: [UInt8]) {
        self.seq = seq
        self.prevHash = prevHash
        self.header = header
        self.payload = payload
        self.payloadHash = payloadHash
        self.hash = Self.chainHash(prevHash: prevHash, headerHash: headerHash, payloadHash: payloadHash)
    }
}
