// ContactLedger — contact domain.

/// A location found in a hierarchy, with the paths a field value stores for it.
public struct LocationMatch: Sendable, Hashable {
    /// The location's own name (not an alias), e.g. `Gasabo`.
    public let name: String
    /// The location's full path, e.g. `Rwanda > Kigali City > Gasabo`.
    public let path: String
    /// How deep the location is.
    public let level: LocationLevel
    /// The path of the state it is or lies in; `nil` for the country.
    public let statePath: String?
    /// The path of the district it is or lies in; `nil` for the country and states.
    public let districtPath: String?
    /// Its path when it is a ward.
    public let wardPath: String?

    /// Creates a match.
    public init(
        name: String, path: String, level: LocationLevel, statePath: String?, districtPath: String?, wardPath: String?
    ) {
        self.name = name
        self.path = path
        self.level = level
        self.statePath = statePath
        self.districtPath = districtPath
        self.wardPath = wardPath
    }
}
