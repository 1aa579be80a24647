// ContactLedger — contact domain.

/// A built-in contact attribute that queries can test (behaviour reference §5.3).
public enum QueryAttribute: String, Sendable, Hashable, CaseIterable, Codable {
    case uuid
    /// Deprecated in favour of ``ref``; matches the numeric id.
    case id
    /// The obfuscated id of anonymous workspaces (§8.2).
    case ref
    case name
    case status
    case language
    /// The path of any URN, whatever its scheme.
    case urn
    case group
    case flow
    case history
    case tickets
    case createdOn = "created_on"
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
