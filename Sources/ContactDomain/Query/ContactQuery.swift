// ContactLedger — contact domain.

/// A parsed, validated contact query: its tree, canonical text and inspection.
///
/// Parsing follows behaviour reference §5 (goflow `contactql`): limits, then the whole-query phone
/// rewrite, then the grammar, then unknown property types, the condition limit, and each condition's
/// checks left to right. Values are read for their property's type at parse time, so evaluation can rely
/// on them (see ``QueryValue``).
public struct ContactQuery: Sendable, Hashable {
    /// The most characters (Unicode scalars, after trimming) a query may have.
    public static let maxLength = 10_000
    /// The deepest bracket nesting allowed, counted over `()[]{}` anywhere in the text, quotes included.
    public static let maxNestingDepth = 100
    /// The most conditions a query may have.
    public static let maxConditions = 250

    /// The simplified tree: same-operator combinations flattened.
    public let root: QueryNode
    /// The canonical text (§5.7), as stored for smart groups and returned by searches.
    public let normalized: String
    /// What the query uses (§5.8).
    public let inspection: QueryInspection

    /// Parses and validates `text` against a workspace.
    ///
    /// ```swift
    /// let query = try ContactQuery.parse("Age > 18 or will", resolver: workspace)
    /// query.normalized               // `fields.age > 18 OR name ~ "will"`
    /// query.inspection.allowAsGroup  // true
    /// ```
    ///
    /// - Parameters:
    ///   - text: The query as the user wrote it; surrounding whitespace is ignored.
    ///   - resolver: The workspace's fields, groups, flows and settings.
    /// - Returns: The parsed query.
    /// - Throws: ``QueryError`` with the first problem: `too_complex`, `syntax`, `unknown_property_type`,
    ///   then per condition `redacted_urns`, `unknown_property`, `invalid_partial_name`,
    ///   `invalid_partial_urn`, `unsupported_contains`, `unsupported_comparison`, `unsupported_setcheck`,
    ///   `invalid_number`, `invalid_date`, `invalid_group`, `invalid_flow`, `invalid_status`,
    ///   `invalid_language`. Positions count Unicode scalars of `text`.
    public static func parse(_ text: String, resolver: some QueryResolver) throws(QueryError) -> ContactQuery {
        let allScalars = text.unicodeScalars
        let trimmedView = allScalars.trimmingQueryWhitespace()
        let offset = allScalars.distance(from: allScalars.startIndex, to: trimmedView.startIndex)
        let scalars = Array(trimmedView)
        let whole = QuerySpan(position: 0, length: allScalars.count)

        if scalars.count > ContactQuery.maxLength || ContactQuery.nestingExceedsLimit(scalars) {
            throw QueryError.tooComplex(whole)
        }

        let raw: QueryParser.RawNode
        if let phone = ContactQuery.wholeQueryPhoneNumber(scalars, resolver: resolver) {
            let span = QuerySpan(position: offset, length: scalars.count)
            raw = .condition(
                QueryParser.RawCondition(
                    property: .scheme("tel"),
                    key: "tel",
                    comparator: .equal,
                    value: phone,
                    isImplicit: true,
                    propertySpan: span,
                    comparatorSpan: span,
                    valueSpan: span
                )
            )
        } else {
            var parser = QueryParser(
                tokens: QueryLexer.tokenize(scalars, offset: offset),
                isAnonymous: resolver.isAnonymous
            )
            raw = try parser.parse()
        }

        var conditionCount = 0
        var unknownType: QueryParser.RawCondition?
        raw.forEachCondition { condition in
            conditionCount += 1
            if unknownType == nil, case .unknownType = condition.property { unknownType = condition }
        }
        if let condition = unknownType, case .unknownType(let type) = condition.property {
            throw QueryError.unknownPropertyType(type, at: condition.propertySpan)
        }
        if conditionCount > ContactQuery.maxConditions {
            throw QueryError.tooComplex(whole)
        }

        let root = try QueryValidator(resolver: resolver).validate(raw)
        return ContactQuery(root: root)
    }

    /// Wraps an already validated tree, e.g. one composed by code.
    public init(root: QueryNode) {
        self.root = root
        self.normalized = QueryNormalizer.canonicalText(of: root)
        self.inspection = QueryInspection(root: root)
    }

    static func nestingExceedsLimit(_ scalars: [Unicode.Scalar]) -> Bool {
        var depth = 0
        for scalar in scalars {
            switch scalar {
            case "(", "[", "{":
                depth += 1
                if depth > ContactQuery.maxNestingDepth { return true }
            case ")", "]", "}":
                depth = max(0, depth - 1)
            default:
                break
            }
        }
        return false
    }

    /// The E.164 number a whole query is rewritten to (§5.6), when URNs aren't redacted and the text is
    /// `^\+?[\d .\-()]{5,}$`.
    private static func wholeQueryPhoneNumber(_ scalars: [Unicode.Scalar], resolver: some QueryResolver) -> String? {
        guard !resolver.isAnonymous else { return nil }
        var body = scalars[...]
        if body.first == "+" { body = body.dropFirst() }
        guard body.count >= 5, body.allSatisfy({ $0.isASCIIDigit || " .-()".unicodeScalars.contains($0) }) else {
            return nil
        }
        guard let number = resolver.phoneNumber(forQuery: String(String.UnicodeScalarView(scalars))),
            !number.isEmpty
        else { return nil }
        return number
    }
}
