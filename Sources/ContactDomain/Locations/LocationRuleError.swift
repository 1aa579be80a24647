// ContactLedger — contact domain.

/// A rule that a location hierarchy broke, found by ``LocationHierarchy/init(root:)``.
///
/// The ``code`` is stable and machine-readable; the ``message`` is constant per code and never contains a
/// location name. ``level`` says how deep the offending location is (0 = the country).
public struct LocationRuleError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The stable, machine-readable reason a rule was broken.
    public struct Code: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
        /// The snake_case wire form of the code, e.g. `too_deep`.
        public var rawValue: String

        /// Creates a code from its wire form.
        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        /// A location name is empty or only white space.
        public static let emptyName = Code(rawValue: "empty_name")
        /// An alias is empty or only white space.
        public static let emptyAlias = Code(rawValue: "empty_alias")
        /// A location name contains the path separator `>`.
        public static let nameContainsSeparator = Code(rawValue: "name_contains_separator")
        /// Two children of one location share a name (ignoring case and spacing), so their paths would clash.
        public static let duplicateName = Code(rawValue: "duplicate_name")
        /// The tree has locations below wards (more than three levels under the country).
        public static let tooDeep = Code(rawValue: "too_deep")

        /// The wire form of the code.
        public var description: String { self.rawValue }
    }

    /// Which rule was broken.
    public let code: Code
    /// The depth of the offending location (0 = the country).
    public let level: Int
    /// Where in the tree, as a JSON path from the root: `children[0].children[2].name`; empty for the
    /// root itself.
    public let path: String

    /// Creates an error for a broken rule at a depth and a place.
    public init(code: Code, level: Int, path: String = "") {
        self.code = code
        self.level = level
        self.path = path
    }

    /// A constant, human-readable sentence for ``code``.
    public var message: String {
        switch self.code {
        case .emptyName: "Location names can't be empty."
        case .emptyAlias: "Location aliases can't be empty."
        case .nameContainsSeparator: "Location names can't contain '>'."
        case .duplicateName: "Locations under the same parent must have different names."
        case .tooDeep: "Hierarchies have at most three levels under the country: states, districts and wards."
        default: "Invalid location hierarchy."
        }
    }

    /// The code, level and message.
    public var description: String { "\(self.code.rawValue) (level \(self.level)): \(self.message)" }
}
