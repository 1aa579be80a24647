// ContactLedger — contact domain.

/// Why a contact query was refused: goflow's code, message and extra members plus where in the text.
///
/// The wire form (JSON-RPC -32004) is `{code, position, length, …extra}` (rpc-api.md). Messages are the
/// exact goflow strings of behaviour reference §5.4, fixed for each code and its extra members.
///
/// Positions and lengths count Unicode scalars of the original text (before trimming):
/// - `syntax`: the offending token; at the end of the text, its end with length 0.
/// - `too_complex`: the whole text (like goflow, the error doesn't say which limit was hit or where).
/// - `unknown_property_type`, `unknown_property`: the property.
/// - `unsupported_contains`, `unsupported_comparison`: the comparator.
/// - `unsupported_setcheck`, `redacted_urns`: the whole condition.
/// - `invalid_*` (number, date, group, flow, status, language, partial_name, partial_urn): the value,
///   quotes included.
/// - A condition written as a bare value (§5.6) has only the value, so every error on it covers the value;
///   a whole query rewritten as a phone number covers the whole trimmed query.
public struct QueryError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The error codes of goflow `contactql/error.go`.
    public enum Code: String, Sendable, Hashable, CaseIterable, Codable {
        /// The text doesn't match the grammar.
        case syntax
        /// A number-typed property compared with a value that isn't a plain decimal. Extra: `value`.
        case invalidNumber = "invalid_number"
        /// A datetime-typed property compared with a value that isn't a date. Extra: `value`.
        case invalidDate = "invalid_date"
        /// `status` compared with something other than the four statuses. Extra: `value`.
        case invalidStatus = "invalid_status"
        /// `language` compared with something other than an ISO-639-3 code. Extra: `value`.
        case invalidLanguage = "invalid_language"
        /// `group` compared with a name no group has. Extra: `value`.
        case invalidGroup = "invalid_group"
        /// `flow` or `history` compared with a name no flow has. Extra: `value`.
        case invalidFlow = "invalid_flow"
        /// `name ~` with no word of 2 or more characters. Extra: `min_token_length` = "2".
        case invalidPartialName = "invalid_partial_name"
        /// `~` on a URN with a value shorter than 3. Extra: `min_value_length` = "3".
        case invalidPartialURN = "invalid_partial_urn"
        /// `~` on a property other than name or URNs. Extra: `property`.
        case unsupportedContains = "unsupported_contains"
        /// `>`, `>=`, `<`, `<=` on a property that is neither number nor datetime. Extra: `property`, `operator`.
        case unsupportedComparison = "unsupported_comparison"
        /// `= ""` / `!= ""` on uuid, id, ref, status, created_on or tickets. Extra: `property`, `operator`.
        case unsupportedSetCheck = "unsupported_setcheck"
        /// A `type.key` property whose type is neither `fields` nor `urns`. Extra: `type`.
        case unknownPropertyType = "unknown_property_type"
        /// A property that is no attribute, scheme or field. Extra: `property`.
        case unknownProperty = "unknown_property"
        /// A URN value queried while URNs are redacted (anonymous workspace).
        case redactedURNs = "redacted_urns"
        /// Over 10,000 characters, bracket nesting over 100, or over 250 conditions.
        case tooComplex = "too_complex"
    }

    /// The machine-readable reason.
    public let code: Code
    /// The human-readable goflow message, e.g. `can't convert 'XZ' to a number`.
    public let message: String
    /// The offset, in Unicode scalars of the original text, of what the error is about.
    public let position: Int
    /// The number of Unicode scalars the error is about (0 at the end of the text).
    public let length: Int
    /// The extra members goflow names for the code (`property`, `operator`, `value`, `type`,
    /// `min_token_length`, `min_value_length`); empty for `syntax`, `redacted_urns` and `too_complex`.
    public let extra: [String: String]

    /// Creates an error; the parser is the usual source.
    public init(code: Code, message: String, span: QuerySpan, extra: [String: String] = [:]) {
        self.code = code
        self.message = message
        self.position = span.position
        self.length = span.length
        self.extra = extra
    }

    /// The message.
    public var description: String { self.message }

    static func syntax(_ message: String, at span: QuerySpan) -> QueryError {
        QueryError(code: .syntax, message: message, span: span)
    }

    static func tooComplex(_ span: QuerySpan) -> QueryError {
        QueryError(code: .tooComplex, message: "query is too complex", span: span)
    }

    static func redactedURNs(_ span: QuerySpan) -> QueryError {
        QueryError(code: .redactedURNs, message: "cannot query on redacted URNs", span: span)
    }

    static func unknownPropertyType(_ type: String, at span: QuerySpan) -> QueryError {
        QueryError(
            code: .unknownPropertyType,
            message: "unknown property type '\(type)'",
            span: span,
            extra: ["type": type]
        )
    }

    static func unknownProperty(_ key: String, at span: QuerySpan) -> QueryError {
        QueryError(
            code: .unknownProperty,
            message: "can't resolve '\(key)' to attribute, scheme or field",
            span: span,
            extra: ["property": key]
        )
    }

    static func invalidPartialName(_ span: QuerySpan) -> QueryError {
        QueryError(
            code: .invalidPartialName,
            message: "contains operator on name requires token of minimum length 2",
            span: span,
            extra: ["min_token_length": "2"]
        )
    }

    static func invalidPartialURN(_ span: QuerySpan) -> QueryError {
        QueryError(
            code: .invalidPartialURN,
            message: "contains operator on URN requires value of minimum length 3",
            span: span,
            extra: ["min_value_length": "3"]
        )
    }

    static func unsupportedContains(_ key: String, at span: QuerySpan) -> QueryError {
        QueryError(
            code: .unsupportedContains,
            message: "contains conditions can only be used with name or URN values",
            span: span,
            extra: ["property": key]
        )
    }

    static func unsupportedComparison(_ key: String, _ comparator: QueryComparator, at span: QuerySpan) -> QueryError {
        QueryError(
            code: .unsupportedComparison,
            message: "comparisons with \(comparator.rawValue) can only be used with date and number fields",
            span: span,
            extra: ["property": key, "operator": comparator.rawValue]
        )
    }

    static func unsupportedSetCheck(_ key: String, _ comparator: QueryComparator, at span: QuerySpan) -> QueryError {
        QueryError(
            code: .unsupportedSetCheck,
            message: "can't check whether '\(key)' is set or not set",
            span: span,
            extra: ["property": key, "operator": comparator.rawValue]
        )
    }

    static func invalidValue(_ code: Code, _ value: String, at span: QuerySpan) -> QueryError {
        let message: String
        switch code {
        case .invalidNumber: message = "can't convert '\(value)' to a number"
        case .invalidDate: message = "can't convert '\(value)' to a date"
        case .invalidGroup: message = "'\(value)' is not a valid group name"
        case .invalidFlow: message = "'\(value)' is not a valid flow name"
        case .invalidStatus: message = "'\(value)' is not a valid contact status"
        case .invalidLanguage: message = "'\(value)' is not a valid language code"
        default: message = "'\(value)' is not a valid value"
        }
        return QueryError(code: code, message: message, span: span, extra: ["value": value])
    }
}
