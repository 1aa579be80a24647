// ContactLedger — contact domain.

/// A contact group: manual (members added by hand) or smart (members are whoever matches `query`).
public struct Group: Sendable, Hashable, Codable {
    public static let maximumNameLength = 64
    public static let maximumPerWorkspace = 250

    public var uuid: GroupUUID
    public var name: String
    /// The normalized query of a smart group; nil for a manual group.
    public var query: String?
    /// Creation order, for stable listings.
    public var createdSeq: UInt64

    public init(uuid: GroupUUID, name: String, query: String?, createdSeq: UInt64) {
        self.uuid = uuid
        self.name = name
        self.query = query
        self.createdSeq = createdSeq
    }

    /// Whether membership follows a query.
    public var isSmart: Bool { self.query != nil }

    enum CodingKeys: String, CodingKey {
        case uuid, name, query
        case createdSeq = "created_seq"
    }
}
