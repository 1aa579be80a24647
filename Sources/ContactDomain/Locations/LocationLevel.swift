// ContactLedger — contact domain.

/// The depth of a location in a hierarchy: the country is the root, then states, districts and wards.
public enum LocationLevel: Int, Sendable, Hashable, Comparable, CaseIterable, Codable {
    /// The root of the hierarchy.
    case country = 0
    /// A first-level division (field type `state`).
    case state = 1
    /// A second-level division (field type `district`).
    case district = 2
    /// A third-level division (field type `ward`).
    case ward = 3

    /// The level whose locations a field of `type` holds, or `nil` for non-location types.
    public init?(fieldType: FieldType) {
        switch fieldType {
        case .state: self = .state
        case .district: self = .district
        case .ward: self = .ward
        case .text, .number, .datetime: return nil
        }
    }

    /// Orders levels from the country down.
    public static func < (lhs: LocationLevel, rhs: LocationLevel) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}
