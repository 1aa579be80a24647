// ContactLedger — contact domain.

/// A contact's status. Only active contacts are members of groups.
public enum ContactStatus: String, Sendable, Hashable, CaseIterable, Codable {
    case active
    case blocked
    case stopped
    case archived
}
