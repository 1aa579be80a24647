// ContactLedger — contact domain.
import Foundation

/// Resolves the names a contact query uses against one workspace: its fields, groups, date format,
/// default country (for whole-query phone numbers) and URN redaction.
public struct WorkspaceQueryResolver: QueryResolver {
    public let workspace: Workspace
    /// The instant the query is read at: its year in the workspace's timezone pivots two-digit years.
    public let now: Date

    public init(workspace: Workspace, now: Date = Date()) {
        self.workspace = workspace
        self.now = now
    }

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

    /// The year in the workspace's timezone, as field values pivot on it (behaviour reference §5.5: the
    /// same parser as field values): around New Year, UTC's year read `d = 01-02-27` as 1927 where the
    /// value was 2027.
    public var currentYear: Int { FieldDateTimeParser.localYear(of: self.now, in: self.workspace.timeZone) }

    /// The workspace's zone: `d = "2026-12-07T23:00:00Z"` names the day that instant is there (§5.5: the
    /// same parser as field values, which read it as that instant).
    public var timeZone: TimeZone? { self.workspace.timeZone }

    public func phoneNumber(forQuery text: String) -> String? {
        try? PhoneNumbers.parse(text, defaultCountry: self.workspace.defaultCountry, allowShortCodes: false)
    }
}
