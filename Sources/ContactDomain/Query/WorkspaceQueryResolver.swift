// ContactLedger — contact domain.

/// Resolves the names a contact query uses against one workspace: its fields, groups, date format,
/// default country (for whole-query phone numbers) and URN redaction.
public struct WorkspaceQueryResolver: QueryResolver {
    public let workspace: Workspace

    public init(workspace: Workspace) { self.workspace = workspace }

    public func fieldType(forKey key: String) -> FieldType? { self.workspace.field(key)?.type }
    public func groupName(matching name: String) -> String? { self.workspace.group(named: name)?.name }
    public var isAnonymous: Bool { self.workspace.anonymous }
    public func isValidLanguage(_ code: String) -> Bool { (try? LanguageCode(code)) != nil }

    public var dateOrder: QueryDateOrder {
        switch self.workspace.dateFormat {
        case .yearMonthDay: .yearMonthDay
        case .dayMonthYear: .dayMonthYear
        case .monthDayYear: .monthDayYear
        }
    }

    public func phoneNumber(forQuery text: String) -> String? {
        try? PhoneNumbers.parse(text, defaultCountry: self.workspace.defaultCountry, allowShortCodes: false)
    }
}
