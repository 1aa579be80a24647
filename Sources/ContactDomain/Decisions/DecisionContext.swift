// ContactLedger — contact domain.

/// What the deciders may look up beyond the contact itself: URN ownership across the workspace.
public protocol ContactLookup {
    /// The contact of this workspace that owns the URN identity (`scheme:path`), if any.
    func owner(ofURN identity: String) throws -> ContactUUID?
}

/// Everything a decision depends on besides the command: the workspace, the time, lookups.
public struct DecisionContext {
    public var workspace: Workspace
    /// The time the command is decided; events get it as `created_on`.
    public var now: Timestamp
    public var lookup: any ContactLookup
    /// The smart groups a contact matches (only consulted for active contacts).
    public var smartGroupsMatching: (Contact) -> Set<GroupUUID>
    /// Shared by copies of this context, so a command's deciders normalize each URN once.
    private let normalizations: URNNormalizations

    public init(
        workspace: Workspace,
        now: Timestamp,
        lookup: any ContactLookup,
        smartGroupsMatching: @escaping (Contact) -> Set<GroupUUID> = { _ in [] },
        normalizedURNs: URNNormalizationTable = URNNormalizationTable()
    ) {
        self.normalizations = URNNormalizations(prepared: normalizedURNs)
        self.workspace = workspace
        self.now = now
        self.lookup = lookup
        self.smartGroupsMatching = smartGroupsMatching
    }

    /// `raw` normalized with the workspace's default country (``URN/normalized(_:defaultCountry:)``),
    /// memoized for this context; `normalizedURNs` given at its creation are not normalized again.
    public func normalizedURN(_ raw: String) throws(URNError) -> URN {
        try self.normalizations.normalized(raw, defaultCountry: self.workspace.defaultCountry)
    }
}
