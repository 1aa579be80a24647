// ContactLedger — contact domain.

/// `workspace_configured`: the settings that changed (absent members are unchanged).
public struct WorkspaceConfigured: Sendable, Hashable, Codable {
    /// `default_country`: present with null when cleared.
    public var defaultCountry: String??
    public var timezone: String?
    public var dateFormat: DateFormat?
    public var anonymous: Bool?

    public init(defaultCountry: String?? = nil, timezone: String? = nil, dateFormat: DateFormat? = nil, anonymous: Bool? = nil) {
        self.defaultCountry = defaultCountry
        self.timezone = timezone
        self.dateFormat = dateFormat
        self.anonymous = anonymous
    }

    enum CodingKeys: String, CodingKey {
        case defaultCountry = "default_country"
        case timezone
        case dateFormat = "date_format"
        case anonymous
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if container.contains(.defaultCountry) {
            self.defaultCountry = .some(try container.decodeIfPresent(String.self, forKey: .defaultCountry))
        } else {
            self.defaultCountry = nil
        }
        self.timezone = try container.decodeIfPresent(String.self, forKey: .timezone)
        self.dateFormat = try container.decodeIfPresent(DateFormat.self, forKey: .dateFormat)
        self.anonymous = try container.decodeIfPresent(Bool.self, forKey: .anonymous)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if let defaultCountry = self.defaultCountry { try container.encode(defaultCountry, forKey: .defaultCountry) }
        try container.encodeIfPresent(self.timezone, forKey: .timezone)
        try container.encodeIfPresent(self.dateFormat, forKey: .dateFormat)
        try container.encodeIfPresent(self.anonymous, forKey: .anonymous)
    }
}

/// `field_created`.
public struct FieldCreated: Sendable, Hashable, Codable {
    public var key: String
    public var name: String
    public var type: FieldType
    public init(key: String, name: String, type: FieldType) {
        self.key = key
        self.name = name
        self.type = type
    }
}

/// `field_updated`: the attributes that changed.
public struct FieldUpdated: Sendable, Hashable, Codable {
    public var key: String
    public var name: String?
    public var type: FieldType?
    public var featured: Bool?
    public var priority: Int?
    public init(key: String, name: String? = nil, type: FieldType? = nil, featured: Bool? = nil, priority: Int? = nil) {
        self.key = key
        self.name = name
        self.type = type
        self.featured = featured
        self.priority = priority
    }
}

/// `group_created`: a manual group (`query` null) or a smart group.
public struct GroupCreated: Sendable, Hashable, Codable {
    public var uuid: GroupUUID
    public var name: String
    public var query: String?
    public init(uuid: GroupUUID, name: String, query: String?) {
        self.uuid = uuid
        self.name = name
        self.query = query
    }

    enum CodingKeys: String, CodingKey { case uuid, name, query }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.uuid, forKey: .uuid)
        try container.encode(self.name, forKey: .name)
        try container.encode(self.query, forKey: .query)
    }
}

/// `group_updated`: the attributes that changed.
public struct GroupUpdated: Sendable, Hashable, Codable {
    public var uuid: GroupUUID
    public var name: String?
    public var query: String?
    public init(uuid: GroupUUID, name: String? = nil, query: String? = nil) {
        self.uuid = uuid
        self.name = name
        self.query = query
    }
}
