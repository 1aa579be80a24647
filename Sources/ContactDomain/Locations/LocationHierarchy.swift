// ContactLedger — contact domain.
import JSONText

/// A workspace's validated location tree (country → states → districts → wards) with name and path look-ups.
///
/// `state`, `district` and `ward` field values resolve against it (behaviour reference §3.2, goflow
/// `core/location.go`, `envs/locations.go`). It encodes as its ``root`` tree `{name, aliases?, children?}`;
/// decoding validates like ``init(root:)``. Equality and hashing compare the tree.
///
/// ```swift
/// let hierarchy = try LocationHierarchy(root: rwanda)
/// hierarchy.resolve("kigali city", for: .state, currentState: nil, currentDistrict: nil)?.path
/// // "Rwanda > Kigali City"
/// ```
public struct LocationHierarchy: Sendable, Hashable, Codable {
    /// The most levels allowed under the country (states, districts, wards).
    public static let maxDepth = 3

    /// The path separator, shown as ` > ` between names.
    public static let pathSeparator: Character = ">"

    /// The tree as given (the country at the root).
    public let root: LocationNode

    /// Every location in depth-first order, so that earlier entries win ties as in goflow.
    private let entries: [Entry]
    /// Normalized path → entry index.
    private let pathIndex: [String: Int]
    /// Per level: lowercased name or alias → entry indexes.
    private let nameIndex: [[String: [Int]]]

    /// One flattened location.
    private struct Entry: Sendable {
        var name: String
        var path: String
        var level: LocationLevel
        var parent: Int?
    }

    /// Validates a tree and indexes it.
    ///
    /// - Parameter root: the country, with states, districts and wards below it.
    /// - Throws: ``LocationRuleError`` with code `empty_name`, `empty_alias`, `name_contains_separator`,
    ///   `duplicate_name` or `too_deep`.
    public init(root: LocationNode) throws(LocationRuleError) {
        var entries: [Entry] = []
        var pathIndex: [String: Int] = [:]
        var nameIndex = [[String: [Int]]](repeating: [:], count: Self.maxDepth + 1)

        // `place` is the node's JSON path from the root (`children[0].children[2]`), for the errors.
        func visit(_ node: LocationNode, depth: Int, parent: Int?, place: String) throws(LocationRuleError) {
            let member = { (name: String) in place.isEmpty ? name : place + "." + name }
            guard let level = LocationLevel(rawValue: depth) else {
                throw LocationRuleError(code: .tooDeep, level: depth, path: place)
            }
            guard !node.name.allSatisfy(\.isWhitespace) else {
                throw LocationRuleError(code: .emptyName, level: depth, path: member("name"))
            }
            guard !node.name.contains(Self.pathSeparator) else {
                throw LocationRuleError(code: .nameContainsSeparator, level: depth, path: member("name"))
            }
            if let alias = node.aliases.firstIndex(where: { $0.allSatisfy(\.isWhitespace) }) {
                throw LocationRuleError(code: .emptyAlias, level: depth, path: member("aliases[\(alias)]"))
            }
            let path = parent.map { entries[$0].path + " > " + node.name } ?? node.name
            let normalized = Self.normalizePath(path)
            guard pathIndex[normalized] == nil else {
                throw LocationRuleError(code: .duplicateName, level: depth, path: member("name"))
            }
            let index = entries.count
            entries.append(Entry(name: node.name, path: path, level: level, parent: parent))
            pathIndex[normalized] = index
            for name in [node.name] + node.aliases {
                nameIndex[depth][name.simpleLowercased(), default: []].append(index)
            }
            for (position, child) in node.children.enumerated() {
                try visit(child, depth: depth + 1, parent: index, place: member("children[\(position)]"))
            }
        }

        try visit(root, depth: 0, parent: nil, place: "")
        self.root = root
        self.entries = entries
        self.pathIndex = pathIndex
        self.nameIndex = nameIndex
    }

    /// Decodes the tree and validates it; a broken rule is a `DecodingError.dataCorrupted` whose debug
    /// description is the rule's constant message.
    public init(from decoder: any Decoder) throws {
        let root = try LocationNode(from: decoder)
        do {
            try self.init(root: root)
        } catch {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    /// Encodes the tree.
    public func encode(to encoder: any Encoder) throws {
        try self.root.encode(to: encoder)
    }

    /// Compares the trees.
    public static func == (lhs: LocationHierarchy, rhs: LocationHierarchy) -> Bool {
        lhs.root == rhs.root
    }

    /// Hashes the tree.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.root)
    }

    // MARK: - Paths

    /// The comparison form of a path: trailing periods dropped, each part trimmed with inner white space collapsed
    /// and lowercased, parts joined by ` > ` (`"rwanda>  KIGALI   city."` → `"rwanda > kigali city"`).
    public static func normalizePath(_ path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.last == "." {
            trimmed = trimmed.dropLast()
        }
        return trimmed.split(separator: Self.pathSeparator, omittingEmptySubsequences: false)
            .map { part in part.split(whereSeparator: \.isWhitespace).joined(separator: " ").simpleLowercased() }
            .joined(separator: " > ")
    }

    /// The last name of a path (`"Rwanda > Kigali City"` → `"Kigali City"`); queries compare locations by it.
    public static func name(ofPath path: String) -> String {
        let last = path.split(separator: Self.pathSeparator, omittingEmptySubsequences: false).last ?? Substring(path)
        return String(last).trimmingWhitespaceAndNewlines()
    }

    /// The location at a path, at any level; case and spacing don't matter.
    ///
    /// - Parameter path: e.g. `Rwanda > Kigali City` or `rwanda>kigali city`.
    /// - Returns: the location, or `nil` when no location has that path.
    public func location(atPath path: String) -> LocationMatch? {
        self.pathIndex[Self.normalizePath(path)].map(self.match(at:))
    }

    // MARK: - Names

    /// The locations at `level` whose name or an alias equals `name` ignoring case, inside `parentPath` if given.
    ///
    /// - Parameters:
    ///   - name: the name, compared exactly after lowercasing (no trimming).
    ///   - level: the level to search.
    ///   - parentPath: a path the matches must be direct children of; when it names no location, nothing matches.
    /// - Returns: the matches in tree order.
    public func locations(named name: String, level: LocationLevel, parentPath: String?) -> [LocationMatch] {
        let parent: Int?
        if let parentPath {
            guard let index = self.pathIndex[Self.normalizePath(parentPath)] else { return [] }
            parent = index
        } else {
            parent = nil
        }
        return self.find(name, level: level, parent: parent).map(self.match(at:))
    }

    /// Fuzzy matching at one level, trying in turn (goflow `FindLocationsFuzzy`):
    /// 1. the exact name or alias;
    /// 2. the text with white space and punctuation removed;
    /// 3. each word (letters and digits, inner hyphens allowed);
    /// 4. each pair of neighbouring words.
    ///
    /// - Parameters:
    ///   - text: the text to match.
    ///   - level: the level to search.
    ///   - parentPath: a path the match must be a direct child of; when it names no location, nothing matches.
    /// - Returns: the first match, or `nil`.
    public func matchFuzzy(_ text: String, level: LocationLevel, parentPath: String?) -> LocationMatch? {
        let parent: Int?
        if let parentPath {
            guard let index = self.pathIndex[Self.normalizePath(parentPath)] else { return nil }
            parent = index
        } else {
            parent = nil
        }
        if let found = self.find(text, level: level, parent: parent).first {
            return self.match(at: found)
        }
        let stripped = String(String.UnicodeScalarView(text.unicodeScalars.filter { !Self.isStripped($0) }))
        if let found = self.find(stripped, level: level, parent: parent).first {
            return self.match(at: found)
        }
        let words = Self.words(in: text)
        for word in words {
            if let found = self.find(word, level: level, parent: parent).first {
                return self.match(at: found)
            }
        }
        for (first, second) in zip(words, words.dropFirst()) {
            if let found = self.find(first + " " + second, level: level, parent: parent).first {
                return self.match(at: found)
            }
        }
        return nil
    }

    /// Resolves a field value's text the way field parsing does (goflow `FieldValues.Parse`).
    ///
    /// Text containing `>` is looked up as a path at any level, whatever the field type. Otherwise, for location
    /// field types only: a state is matched anywhere, a district only inside `currentState`, a ward only inside
    /// `currentDistrict` (no current parent → no match).
    ///
    /// - Parameters:
    ///   - text: the raw field value.
    ///   - fieldType: the type of the field being set.
    ///   - currentState: the contact's current state value (a path).
    ///   - currentDistrict: the contact's current district value (a path).
    /// - Returns: the match, or `nil`. A match of the country itself gives no field readings.
    public func resolve(
        _ text: String, for fieldType: FieldType, currentState: String?, currentDistrict: String?
    ) -> LocationMatch? {
        if text.contains(Self.pathSeparator) {
            return self.location(atPath: text)
        }
        switch LocationLevel(fieldType: fieldType) {
        case .state:
            return self.matchFuzzy(text, level: .state, parentPath: nil)
        case .district:
            guard let currentState else { return nil }
            return self.matchFuzzy(text, level: .district, parentPath: currentState)
        case .ward:
            guard let currentDistrict else { return nil }
            return self.matchFuzzy(text, level: .ward, parentPath: currentDistrict)
        case .country, nil:
            return nil
        }
    }

    // MARK: - Private

    private func find(_ name: String, level: LocationLevel, parent: Int?) -> [Int] {
        let candidates = self.nameIndex[level.rawValue][name.simpleLowercased()] ?? []
        guard let parent else { return candidates }
        return candidates.filter { self.entries[$0].parent == parent }
    }

    private func match(at index: Int) -> LocationMatch {
        let entry = self.entries[index]
        var pathsByLevel: [LocationLevel: String] = [:]
        var current: Int? = index
        while let position = current {
            pathsByLevel[self.entries[position].level] = self.entries[position].path
            current = self.entries[position].parent
        }
        return LocationMatch(
            name: entry.name, path: entry.path, level: entry.level, statePath: pathsByLevel[.state],
            districtPath: pathsByLevel[.district], wardPath: pathsByLevel[.ward])
    }

    /// Go's `[\s\p{P}]`: ASCII white space or any Unicode punctuation.
    private static func isStripped(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case " ", "\t", "\n", "\r", "\u{0C}": return true
        default: break
        }
        switch scalar.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation:
            return true
        default:
            return false
        }
    }

    /// Go's `[\p{L}\d]`: a Unicode letter or an ASCII digit.
    private static func isWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        if scalar >= "0" && scalar <= "9" {
            return true
        }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return true
        default:
            return false
        }
    }

    /// The words of a text as goflow's `[\p{L}\d]+(-[\p{L}\d]+)*` finds them.
    private static func words(in text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var words: [String] = []
        var index = 0
        while index < scalars.count {
            guard Self.isWordScalar(scalars[index]) else {
                index += 1
                continue
            }
            let start = index
            while index < scalars.count, Self.isWordScalar(scalars[index]) {
                index += 1
            }
            while index + 1 < scalars.count, scalars[index] == "-", Self.isWordScalar(scalars[index + 1]) {
                index += 1
                while index < scalars.count, Self.isWordScalar(scalars[index]) {
                    index += 1
                }
            }
            words.append(String(String.UnicodeScalarView(scalars[start..<index])))
        }
        return words
    }
}
