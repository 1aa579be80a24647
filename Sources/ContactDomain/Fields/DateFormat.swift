// ContactLedger — contact domain.

/// The order in which a workspace writes the day, month and year of a date.
///
/// It decides how datetime field values without an ISO date are read (behaviour reference §3.2) and how dates
/// are displayed. The raw values are the wire strings of `workspace.configure {date_format}`.
public enum DateFormat: String, Sendable, Hashable, CaseIterable, Codable {
    /// Year, month, day: `2020-06-26`. The default.
    case yearMonthDay = "YYYY-MM-DD"
    /// Day, month, year: `26-06-2020`.
    case dayMonthYear = "DD-MM-YYYY"
    /// Month, day, year: `06-26-2020`.
    case monthDayYear = "MM-DD-YYYY"
}
