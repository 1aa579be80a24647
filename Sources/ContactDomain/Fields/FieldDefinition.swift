// ContactLedger — contact domain.

import JSONText

/// A custom contact field as defined in a workspace: `{key, name, type, featured, priority}` on the wire.
///
/// Featured fields are shown as columns and at the top of the contact page, ordered by ``priority`` descending
/// and then by creation order (behaviour reference §3.3); see ``featuredOrder(_:)``.
public struct FieldDefinition: Sendable, Hashable, Codable {
    /// The most user fields one workspace may define (system fields don't count).
    public static let maxFieldsPerWorkspace = 250

    /// The longest field name allowed, in characters.
    public static let maxNameLength = 36

    /// The field's key, unique per workspace.
    public var key: FieldKey
    /// The field's display name, unique per workspace ignoring case.
    public var name: String
    /// The value type that decides which reading of a value is used.
    public var type: FieldType
    /// Whether the field is shown in contact lists and at the top of the contact page.
    public var featured: Bool
    /// The featured-field ordering weight; higher comes first, `0` when not featured.
    public var priority: Int

    /// Creates a definition. The name is not validated here; call ``validateName(_:)`` first.
    ///
    /// - Parameters:
    ///   - key: the field key.
    ///   - name: the display name.
    ///   - type: the value type, `text` by default.
    ///   - featured: whether the field is featured.
    ///   - priority: the featured ordering weight.
    public init(key: FieldKey, name: String, type: FieldType = .text, featured: Bool = false, priority: Int = 0) {
        self.key = key
        self.name = name
        self.type = type
        self.featured = featured
        self.priority = priority
    }

    /// The explicit JSON member names.
    enum CodingKeys: String, CodingKey {
        case key
        case name
        case type
        case featured
        case priority
    }

    /// Checks a field name: only letters, digits, `-` and spaces, not empty, no leading or trailing space, at most
    /// ``maxNameLength`` characters.
    ///
    /// Uniqueness (ignoring case) is a workspace rule and is not checked here.
    ///
    /// - Throws: ``FieldRuleError`` with code `invalid_name` or `name_too_long`.
    public static func validateName(_ name: String) throws(FieldRuleError) {
        guard let first = name.first, let last = name.last, first != " ", last != " " else {
            throw FieldRuleError(code: .invalidName)
        }
        for character in name {
            let isDigit = character.isASCII && character.isWholeNumber
            guard character.isLetter || isDigit || character == "-" || character == " " else {
                throw FieldRuleError(code: .invalidName)
            }
        }
        if name.codePointCount > Self.maxNameLength {
            throw FieldRuleError(code: .nameTooLong, limit: Self.maxNameLength)
        }
    }

    /// The featured fields of a workspace in display order: ``priority`` descending, then creation order.
    ///
    /// - Parameter fields: every field of the workspace, **in creation order**.
    /// - Returns: the featured fields only, ordered for display.
    public static func featuredOrder(_ fields: [FieldDefinition]) -> [FieldDefinition] {
        Self.displayOrder(fields).filter(\.featured)
    }

    /// Every field of a workspace in display order: featured ones first, then by ``priority``
    /// descending, then creation order (§3.3).
    ///
    /// - Parameter fields: every field of the workspace, **in creation order**.
    public static func displayOrder(_ fields: [FieldDefinition]) -> [FieldDefinition] {
        fields.enumerated()
            .sorted { lhs, rhs in
                if lhs.element.featured != rhs.element.featured { return lhs.element.featured }
                if lhs.element.priority != rhs.element.priority {
                    return lhs.element.priority > rhs.element.priority
                }
                return lhs.offset < rhs.offset
            }
            .map(\.element)
    }

    /// Saves a featured list: the listed fields become featured with priorities `n, n-1, … 1` in list order and
    /// every other field is un-featured with priority `0` (rapidpro `UpdatePriority`).
    ///
    /// - Parameters:
    ///   - keys: the keys to feature, first shown first; keys that name no field are ignored, repeats count once.
    ///   - fields: every field of the workspace.
    /// - Returns: `fields` in the same order, with `featured` and `priority` rewritten.
    public static func applyingFeaturedList(_ keys: [FieldKey], to fields: [FieldDefinition]) -> [FieldDefinition] {
        let known = Set(fields.map(\.key))
        var seen = Set<FieldKey>()
        let listed = keys.filter { known.contains($0) && seen.insert($0).inserted }
        var priorities: [FieldKey: Int] = [:]
        for (index, key) in listed.enumerated() {
            priorities[key] = listed.count - index
        }
        return fields.map { field in
            var updated = field
            let priority = priorities[field.key]
            updated.featured = priority != nil
            updated.priority = priority ?? 0
            return updated
        }
    }
}
