// ContactLedger — contact domain.

/// One location of a hierarchy as the client sends it: `{name, aliases?, children?}`.
///
/// A plain tree with no validation; ``LocationHierarchy/init(root:)`` checks it. Empty `aliases` and `children`
/// are left out when encoding.
public struct LocationNode: Sendable, Hashable, Codable {
    /// The location's name, e.g. `Kigali City`.
    public var name: String
    /// Other names the location is matched by, e.g. `Kigali`.
    public var aliases: [String]
    /// The locations one level down.
    public var children: [LocationNode]

    /// Creates a location.
    ///
    /// - Parameters:
    ///   - name: the location's name.
    ///   - aliases: other names it is matched by.
    ///   - children: the locations one level down.
    public init(name: String, aliases: [String] = [], children: [LocationNode] = []) {
        self.name = name
        self.aliases = aliases
        self.children = children
    }

    /// The explicit JSON member names.
    enum CodingKeys: String, CodingKey {
        case name
        case aliases
        case children
    }

    /// Decodes `{name, aliases?, children?}`; missing or `null` lists are empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.name = try container.decode(String.self, forKey: .name)
        self.aliases = try container.decodeIfPresent([String].self, forKey: .aliases) ?? []
        self.children = try container.decodeIfPresent([LocationNode].self, forKey: .children) ?? []
    }

    /// Encodes `{name, aliases?, children?}`, leaving out empty lists.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.name, forKey: .name)
        if !self.aliases.isEmpty {
            try container.encode(self.aliases, forKey: .aliases)
        }
        if !self.children.isEmpty {
            try container.encode(self.children, forKey: .children)
        }
    }
}
