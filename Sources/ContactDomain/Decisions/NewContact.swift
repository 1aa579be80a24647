// ContactLedger — contact domain.

/// The attributes of a contact to create.
public struct NewContact: Sendable, Hashable {
    public var name: String?
    public var language: String?
    public var status: ContactStatus
    public var urns: [String]
    /// Field values by key, in the order given (null or "" leaves the field unset).
    public var fields: [(key: String, value: String?)]
    public var groups: [GroupUUID]

    public init(
        name: String? = nil,
        language: String? = nil,
        status: ContactStatus = .active,
        urns: [String] = [],
        fields: [(key: String, value: String?)] = [],
        groups: [GroupUUID] = []
    ) {
        self.name = name
        self.language = language
        self.status = status
        self.urns = urns
        self.fields = fields
        self.groups = groups
    }

    public static func == (lhs: NewContact, rhs: NewContact) -> Bool {
        lhs.name == rhs.name && lhs.language == rhs.language && lhs.status == rhs.status && lhs.urns == rhs.urns
            && lhs.groups == rhs.groups && lhs.fields.map(\.key) == rhs.fields.map(\.key)
            && lhs.fields.map(\.value) == rhs.fields.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.name)
        hasher.combine(self.urns)
    }
}
