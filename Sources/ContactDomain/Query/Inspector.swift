// ContactLedger — contact domain.

/// What a query uses, for `contacts.parse_query` and smart-group rules (behaviour reference §5.8, §4.2;
/// goflow `contactql/inspect.go`).
public struct QueryInspection: Sendable, Hashable {
    /// The attributes used, sorted by name, each once; a bare-word name search counts as `name`.
    public var attributes: [QueryAttribute]
    /// The custom field keys used, in order of first use, each once.
    public var fields: [String]
    /// The canonical names of the groups named by `group =` / `group !=` conditions, in order of first use,
    /// each once; `group = ""` adds none.
    public var groups: [String]
    /// The URN schemes used, sorted, each once.
    public var schemes: [String]
    /// Whether the query may define a smart group: false if it uses `id`, `ref`, `status`, `group`, `flow`
    /// or `history`.
    public var allowAsGroup: Bool

    /// Inspects a validated query tree.
    public init(root: QueryNode) {
        var attributes = Set<QueryAttribute>()
        var schemes = Set<String>()
        var fields: [String] = []
        var groups: [String] = []
        for condition in root.conditions {
            switch condition.property {
            case .attribute(let attribute):
                attributes.insert(attribute)
                if case .group(let name) = condition.typedValue, !groups.contains(name) {
                    groups.append(name)
                }
            case .scheme(let scheme):
                schemes.insert(scheme)
            case .field(let key, _):
                if !fields.contains(key) { fields.append(key) }
            }
        }
        self.attributes = attributes.sorted { $0.rawValue < $1.rawValue }
        self.fields = fields
        self.groups = groups
        self.schemes = schemes.sorted()
        self.allowAsGroup = !attributes.contains { $0.preventsSmartGroup }
    }

    /// The attribute names, as the wire lists them (`["name", "tickets"]`).
    public var attributeNames: [String] { self.attributes.map(\.rawValue) }
}
