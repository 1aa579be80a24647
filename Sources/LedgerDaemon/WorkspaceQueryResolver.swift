// ContactLedger — daemon wiring.
import ContactDomain

/// Resolves the names a contact query uses against one workspace's fields and groups.
struct WorkspaceQueryResolver: QueryResolver {
    let workspace: Workspace

    func fieldType(forKey key: String) -> FieldType? { self.workspace.field(key)?.type }
    func groupName(matching name: String) -> String? { self.workspace.group(named: name)?.name }
    var isAnonymous: Bool { self.workspace.anonymous }
    func isValidLanguage(_ code: String) -> Bool { (try? LanguageCode(code)) != nil }
    var dateOrder: QueryDateOrder {
        switch self.workspace.dateFormat {
        case .yearMonthDay: .yearMonthDay
        case .dayMonthYear: .dayMonthYear
        case .monthDayYear: .monthDayYear
        }
    }
}
