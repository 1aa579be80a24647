// ContactLedger — contact domain.

/// The value type of a custom contact field.
///
/// Every value keeps its raw text plus each typed reading that parsed; the type only decides which
/// reading queries and answers use, so changing a field's type never re-parses stored values.
public enum FieldType: String, Sendable, Hashable, CaseIterable, Codable {
    case text
    case number
    case datetime
    case state
    case district
    case ward

    /// Whether values of this type resolve against the workspace's location hierarchy.
    public var isLocation: Bool {
        switch self {
        case .state, .district, .ward: true
        case .text, .number, .datetime: false
        }
    }

    /// The order in which values of one contact are set: a district resolves within the contact's state
    /// and a ward within its district, so states go before districts and districts before wards (other
    /// types first, in any order).
    public var settingOrder: Int {
        switch self {
        case .text, .number, .datetime: 0
        case .state: 1
        case .district: 2
        case .ward: 3
        }
    }
}
