// ContactLedger — contact domain.

/// A group as named in events and answers.
public struct GroupReference: Sendable, Hashable, Codable {
    public var uuid: GroupUUID
    public var name: String
    public init(uuid: GroupUUID, name: String) {
        self.uuid = uuid
        self.name = name
    }
}

/// `contact_created`: a new contact with its initial attributes and URNs.
public struct ContactCreated: Sendable, Hashable, Codable {
    public var uuid: ContactUUID
    public var id: Int64
    public var name: String?
    public var language: String?
    public var status: ContactStatus
    public var urns: [String]

    public init(uuid: ContactUUID, id: Int64, name: String?, language: String?, status: ContactStatus, urns: [String]) {
        self.uuid = uuid
        self.id = id
        self.name = name
        self.language = language
        self.status = status
        self.urns = urns
    }

    enum CodingKeys: String, CodingKey {
        case uuid, id, name, language, status, urns
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.uuid, forKey: .uuid)
        try container.encode(self.id, forKey: .id)
        try container.encode(self.name, forKey: .name)
        try container.encode(self.language, forKey: .language)
        try container.encode(self.status, forKey: .status)
        try container.encode(self.urns, forKey: .urns)
    }
}

/// `contact_field_changed`: a field value set (`value`) or cleared (`value` null).
public struct ContactFieldChanged: Sendable, Hashable, Codable {
    /// The field as it was named when the value changed.
    public struct Field: Sendable, Hashable, Codable {
        public var key: String
        public var name: String
        public init(key: String, name: String) {
            self.key = key
            self.name = name
        }
    }

    public var field: Field
    public var value: FieldValue?

    public init(field: Field, value: FieldValue?) {
        self.field = field
        self.value = value
    }

    enum CodingKeys: String, CodingKey {
        case field, value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.field, forKey: .field)
        try container.encode(self.value, forKey: .value)
    }
}

/// `contact_groups_changed`: memberships gained and lost in one change.
public struct ContactGroupsChanged: Sendable, Hashable, Codable {
    public var groupsAdded: [GroupReference]?
    public var groupsRemoved: [GroupReference]?

    public init(groupsAdded: [GroupReference]?, groupsRemoved: [GroupReference]?) {
        self.groupsAdded = groupsAdded?.isEmpty == true ? nil : groupsAdded
        self.groupsRemoved = groupsRemoved?.isEmpty == true ? nil : groupsRemoved
    }

    enum CodingKeys: String, CodingKey {
        case groupsAdded = "groups_added"
        case groupsRemoved = "groups_removed"
    }
}

/// A message, as carried by `msg_received` and `msg_created`.
public struct Message: Sendable, Hashable, Codable {
    /// Whether an incoming message shows in the inbox; a blocked contact's messages are archived.
    public enum Visibility: String, Sendable, Hashable, Codable {
        case visible
        case archived
    }

    /// Why an outgoing message cannot be sent. Only `no_route` is recorded: a message to a blocked, stopped or
    /// archived contact is refused and not recorded (the contract's product decision).
    public enum UnsendableReason: String, Sendable, Hashable, Codable {
        /// The contact has no URN to send it to.
        case noRoute = "no_route"
    }

    public var uuid: String
    public var urn: String?
    public var text: String
    public var channel: String?
    public var externalID: String?
    public var visibility: Visibility?
    public var unsendableReason: UnsendableReason?

    public init(
        uuid: String,
        urn: String?,
        text: String,
        channel: String? = nil,
        externalID: String? = nil,
        visibility: Visibility? = nil,
        unsendableReason: UnsendableReason? = nil
    ) {
        self.uuid = uuid
        self.urn = urn
        self.text = text
        self.channel = channel
        self.externalID = externalID
        self.visibility = visibility
        self.unsendableReason = unsendableReason
    }

    enum CodingKeys: String, CodingKey {
        case uuid, urn, text, channel, visibility
        case externalID = "external_id"
        case unsendableReason = "unsendable_reason"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.uuid, forKey: .uuid)
        try container.encode(self.urn, forKey: .urn)
        try container.encode(self.text, forKey: .text)
        try container.encode(self.channel, forKey: .channel)
        try container.encodeIfPresent(self.externalID, forKey: .externalID)
        try container.encodeIfPresent(self.visibility, forKey: .visibility)
        try container.encodeIfPresent(self.unsendableReason, forKey: .unsendableReason)
    }
}

/// `contact_deleted`: the tombstone's ids and status, which stay after the contact's personal data is
/// erased (so a rebuild from the erased log restores the same tombstone).
public struct ContactDeleted: Sendable, Hashable, Codable {
    public var uuid: ContactUUID
    /// The numeric id (absent in events written before it was recorded).
    public var id: Int64?
    /// The status at deletion (absent in events written before it was recorded).
    public var status: ContactStatus?

    public init(uuid: ContactUUID, id: Int64?, status: ContactStatus?) {
        self.uuid = uuid
        self.id = id
        self.status = status
    }
}
