// ContactLedger — contact domain.

/// A built-in contact attribute that queries can test (behaviour reference §5.3).
public enum QueryAttribute: String, Sendable, Hashable, CaseIterable, Codable {
    /// The contact UUID (text; compared case-insensitively).
    case uuid
    /// Deprecated in favour of ``ref``; matches the numeric id.
    case id
    /// The obfuscated id of anonymous workspaces (§8.2).
    case ref
    /// The contact name (text; `~` is a word-prefix search).
    case name
    /// The contact status: active, blocked, stopped or archived (any case).
    case status
    /// The ISO-639-3 language code.
    case language
    /// The path of any URN, whatever its scheme.
    case urn
    /// Membership of a group, by case-insensitive name; the group must exist.
    case group
    /// The flow the contact is currently in; the flow must exist.
    case flow
    /// Any flow the contact has ever been in; the flow must exist.
    case history
    /// The number of open tickets.
    case tickets
    /// When the contact was created (compared by day).
    case createdOn = "created_on"
    /// When the contact last sent something (compared by day).
    case lastSeenOn = "last_seen_on"

    /// The value type conditions on this attribute compare with.
    public var valueType: FieldType {
        switch self {
        case .tickets: .number
        case .createdOn, .lastSeenOn: .datetime
        case .uuid, .id, .ref, .name, .status, .language, .urn, .group, .flow, .history: .text
        }
    }

    /// Whether a query using this attribute may not define a smart group (§4.2).
    public var preventsSmartGroup: Bool {
        switch self {
        case .id, .ref, .status, .group, .flow, .history: true
        case .uuid, .name, .language, .urn, .tickets, .createdOn, .lastSeenOn: false
        }
    }

    /// Whether `= ""` / `!= ""` (set checks) are refused on this attribute (§5.4).
    public var refusesSetCheck: Bool {
        switch self {
        case .uuid, .id, .ref, .status, .createdOn, .tickets: true
        case .name, .language, .urn, .group, .flow, .history, .lastSeenOn: false
        }
    }
}
