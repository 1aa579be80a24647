// ContactLedger — contact domain.

/// One comparison of a contact property with a value, validated against the workspace.
public struct QueryCondition: Sendable, Hashable {
    /// The property tested.
    public var property: QueryProperty
    /// The comparison made.
    public var comparator: QueryComparator
    /// The value exactly as given, with quotes removed and escapes decoded; case is kept.
    public var value: String
    /// The value read for the property's type (see ``QueryValue``).
    public var typedValue: QueryValue
    /// Whether the condition came from a bare value (search-box words, §5.6) rather than `prop op value`.
    public var isImplicit: Bool
    /// Where the condition is in the original query text.
    public var span: QuerySpan

    /// Creates a condition. Parsing builds these; other code may build them to compose queries.
    public init(
        property: QueryProperty,
        comparator: QueryComparator,
        value: String,
        typedValue: QueryValue,
        isImplicit: Bool = false,
        span: QuerySpan = QuerySpan(position: 0, length: 0)
    ) {
        self.property = property
        self.comparator = comparator
        self.value = value
        self.typedValue = typedValue
        self.isImplicit = isImplicit
        self.span = span
    }
}
