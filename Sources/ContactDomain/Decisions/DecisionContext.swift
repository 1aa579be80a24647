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

    public init(
        workspace: Workspace,
        now: Timestamp,
        lookup: any ContactLookup,
        smartGroupsMatching: @escaping (Contact) -> Set<GroupUUID> = { _ in [] }
    ) {
        self.workspace = workspace
        self.now = now
        self.lookup = lookup
        self.smartGroupsMatching = smartGroupsMatching
    }
}
