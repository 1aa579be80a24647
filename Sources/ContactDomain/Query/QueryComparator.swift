// ContactLedger — contact domain.

/// The comparison a condition makes; the raw value is the canonical symbol.
public enum QueryComparator: String, Sendable, Hashable, CaseIterable, Codable {
    /// `=`, also written `is`; with `""`, "is not set".
    case equal = "="
    /// `!=`: true when no value equals; with `""`, "is set".
    case notEqual = "!="
    /// `~`, also written `has`: word-prefix match on names, substring match on URNs.
    case contains = "~"
    /// `>` (numbers; dates: after that day).
    case greaterThan = ">"
    /// `>=` (numbers; dates: on or after that day).
    case greaterThanOrEqual = ">="
    /// `<` (numbers; dates: before that day).
    case lessThan = "<"
    /// `<=` (numbers; dates: on or before that day).
    case lessThanOrEqual = "<="

    /// Reads a comparator token: a symbol or the case-insensitive word aliases `is` (`=`) and `has` (`~`).
    public init?(token: String) {
        switch token.lowercased() {
        case "is": self = .equal
        case "has": self = .contains
        default:
            guard let comparator = QueryComparator(rawValue: token) else { return nil }
            self = comparator
        }
    }

    /// Whether this is one of the ordering comparators `>`, `>=`, `<`, `<=`.
    public var isOrdering: Bool {
        switch self {
        case .greaterThan, .greaterThanOrEqual, .lessThan, .lessThanOrEqual: true
        case .equal, .notEqual, .contains: false
        }
    }
}
