// ContactLedger — contact domain.
import Foundation

/// A contact's UUID: assigned at creation, never changes, survives deletion. Lowercase text form.
///
/// It hashes, compares and orders by its 128 bits, kept beside the text: a replay looks contacts up by
/// UUID in dictionaries of hundreds of thousands, where hashing the text and comparing it through its
/// heap storage were a fifth of applying an event.
public struct ContactUUID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let rawValue: String
    private let bits: UUIDBits

    /// Accepts any UUID text form; nil when `text` is not a UUID.
    public init?(_ text: String) {
        guard let (canonical, bits) = UUIDText.parse(text) else { return nil }
        self.rawValue = canonical
        self.bits = bits
    }

    /// The UUID `text` holds after `prefix` (a stream name's kind); nil when `text` is not `prefix`
    /// then a UUID.
    init?(_ text: String, after prefix: String) {
        guard let (canonical, bits) = UUIDText.parse(text, after: prefix) else { return nil }
        self.rawValue = canonical
        self.bits = bits
    }

    /// A new random (v4) UUID.
    public static func random() -> ContactUUID { ContactUUID(uuid: UUID.random()) }

    init(uuid: UUID) {
        self.rawValue = uuid.lowercasedString
        self.bits = withUnsafeBytes(of: uuid.uuid) { bytes in
            UUIDBits(
                high: bytes.prefix(8).reduce(0) { $0 << 8 | UInt64($1) },
                low: bytes.suffix(8).reduce(0) { $0 << 8 | UInt64($1) }
            )
        }
    }

    public var description: String { self.rawValue }
    public static func < (lhs: ContactUUID, rhs: ContactUUID) -> Bool { lhs.bits < rhs.bits }
    public static func == (lhs: ContactUUID, rhs: ContactUUID) -> Bool { lhs.bits == rhs.bits }
    public func hash(into hasher: inout Hasher) { hasher.combine(self.bits) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let value = ContactUUID(try container.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a UUID")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.rawValue)
    }
}

/// A group's UUID. Lowercase text form.
public struct GroupUUID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let rawValue: String

    /// Accepts any UUID text form; nil when `text` is not a UUID.
    public init?(_ text: String) {
        guard let canonical = UUIDText.canonical(text) else { return nil }
        self.rawValue = canonical
    }

    /// A new random (v4) UUID.
    public static func random() -> GroupUUID {
        GroupUUID(rawValue: UUID.random().lowercasedString)
    }

    private init(rawValue: String) { self.rawValue = rawValue }

    public var description: String { self.rawValue }
    public static func < (lhs: GroupUUID, rhs: GroupUUID) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let value = GroupUUID(try container.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not a UUID")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.rawValue)
    }
}
