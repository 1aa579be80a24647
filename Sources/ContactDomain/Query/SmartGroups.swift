// ContactLedger — contact domain.

/// The smart groups of a workspace with their parsed queries, to tell which ones a contact belongs in.
///
/// A group whose query no longer parses (a field it used changed) matches nobody, as in goflow.
/// Only active contacts are members of any group.
public struct SmartGroups: Sendable {
    private let queries: [(GroupUUID, ContactQuery?)]
    /// Nil without smart groups: an evaluator makes a calendar in the workspace's time zone, which
    /// showed in the profile of every create.
    private let evaluator: QueryEvaluator?

    public init(workspace: Workspace, reference: AnonymousReference?) {
        let resolver = WorkspaceQueryResolver(workspace: workspace)
        self.queries = workspace.groups.compactMap { group in
            guard let query = group.query else { return nil }
            return (group.uuid, try? ContactQuery.parse(query, resolver: resolver))
        }
        self.evaluator = self.queries.isEmpty ? nil : QueryEvaluator(workspace: workspace, reference: reference)
    }

    /// The version of the rules by which a query matches contacts. Raise it with any change that makes a
    /// query match other contacts than before (text folding: `izmir` finding `İzmir`; readings a build no
    /// longer takes: a datetime whose day has no four-digit year): memberships are events, recorded under
    /// the rules of their day, and a start finding an older version stored evaluates every smart group
    /// again, so a group never contradicts its query after an upgrade (the upgrade audit found one showing
    /// `ready` with 13 members where its query matched 10).
    public static let matchingRulesVersion: UInt64 = 1

    /// Whether the workspace has any smart group.
    public var isEmpty: Bool { self.queries.isEmpty }

    /// The smart groups `contact` belongs in.
    public func matching(_ contact: Contact) -> Set<GroupUUID> {
        guard let evaluator = self.evaluator, contact.status == .active, !contact.isDeleted else { return [] }
        var result: Set<GroupUUID> = []
        for (uuid, query) in self.queries {
            if let query, evaluator.matches(contact, query) { result.insert(uuid) }
        }
        return result
    }
}
