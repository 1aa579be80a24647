// ContactLedger — contact domain.

/// What a condition tests: a built-in attribute, the URNs of one scheme, or a custom field.
public enum QueryProperty: Sendable, Hashable {
    /// A built-in attribute such as `name` or `tickets`.
    case attribute(QueryAttribute)
    /// The paths of the contact's URNs with this (lowercase) scheme, e.g. `tel`.
    case scheme(String)
    /// A custom field, with its type as the workspace defines it.
    case field(key: String, type: FieldType)

    /// The URN schemes a bare property name resolves to (behaviour reference §2.2; gocommon
    /// `urns/schemes.go`). `urns.<scheme>` accepts any scheme name.
    public static let knownSchemes: Set<String> = [
        "bsuid", "ext", "facebook", "fcm", "freshchat", "instagram", "jiochat", "line", "mailto", "rocketchat",
        "slack", "tel", "telegram", "twitter", "twitterid", "viber", "vk", "webchat", "wechat", "whatsapp",
    ]

    /// The property as the canonical query text writes it: `name`, `urns.tel`, `fields.age`.
    public var canonicalName: String {
        switch self {
        case .attribute(let attribute): attribute.rawValue
        case .scheme(let scheme): "urns.\(scheme)"
        case .field(let key, _): "fields.\(key)"
        }
    }

    /// The type values are compared as: URNs are text, attributes and fields have their own types.
    public var valueType: FieldType {
        switch self {
        case .attribute(let attribute): attribute.valueType
        case .scheme: .text
        case .field(_, let type): type
        }
    }

    /// Whether the condition reads URN paths (a scheme or the `urn` attribute), which redaction forbids.
    public var readsURNs: Bool {
        switch self {
        case .attribute(let attribute): attribute == .urn
        case .scheme: true
        case .field: false
        }
    }
}
