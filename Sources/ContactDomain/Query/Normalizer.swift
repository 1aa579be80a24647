// ContactLedger — contact domain.

/// Writes the canonical text of a query (behaviour reference §5.7; goflow `ContactQuery.String()`).
///
/// - property: attributes bare (`name`), fields `fields.<key>`, schemes `urns.<scheme>`, lowercase;
/// - comparator: the symbol (`has` → `~`, `is` → `=`);
/// - value: as given, unquoted if it matches `^[0-9]+(\.[0-9]+)?$`, otherwise Go-quoted (`"O\"Leary"`);
/// - `AND` / `OR` upper-case; a nested combination is parenthesised (its operator always differs from its
///   parent's, as trees are flattened); no parentheses at the top.
///
/// The canonical text parses back to the same tree (except for a whole-query phone number, which already
/// became `urns.tel = "+…"`). It is what smart groups store.
public enum QueryNormalizer {
    /// The canonical text of `node`.
    ///
    /// ```swift
    /// QueryNormalizer.canonicalText(of: query.root)  // `name = "will" OR (fields.age > 18 AND tickets = 0)`
    /// ```
    public static func canonicalText(of node: QueryNode) -> String {
        QueryNormalizer.render(node, nested: false)
    }

    /// The canonical text of one condition, e.g. `fields.age >= 18`.
    public static func canonicalText(of condition: QueryCondition) -> String {
        let value = QueryNormalizer.escapeValue(condition.value)
        return "\(condition.property.canonicalName) \(condition.comparator.rawValue) \(value)"
    }

    /// A value as canonical text writes it: bare if a plain unsigned decimal, else Go-quoted.
    ///
    /// Use it to build queries from values (goflow `EscapeValue` always quotes; quoting is also safe).
    public static func escapeValue(_ value: String) -> String {
        QueryNormalizer.isPlainNumber(value) ? value : GoStringLiteral.quote(value)
    }

    private static func render(_ node: QueryNode, nested: Bool) -> String {
        switch node {
        case .condition(let condition):
            return QueryNormalizer.canonicalText(of: condition)
        case .and(let children), .or(let children):
            let keyword: String
            if case .and = node { keyword = " AND " } else { keyword = " OR " }
            let text = children.map { QueryNormalizer.render($0, nested: true) }.joined(separator: keyword)
            return nested ? "(\(text))" : text
        }
    }

    /// `^\d+(\.\d+)?$` with ASCII digits.
    private static func isPlainNumber(_ value: String) -> Bool {
        let parts = value.unicodeScalars.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return false }
        return parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isASCIIDigit) }
    }
}
