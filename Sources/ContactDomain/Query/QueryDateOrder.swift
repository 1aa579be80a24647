// ContactLedger — contact domain.

/// The order of day, month and year the workspace's date format uses when reading non-ISO dates.
public enum QueryDateOrder: String, Sendable, Hashable, CaseIterable, Codable {
    /// `YYYY-MM-DD`.
    case yearMonthDay = "YYYY-MM-DD"
    /// `MM-DD-YYYY`.
    case monthDayYear = "MM-DD-YYYY"
    /// `DD-MM-YYYY`.
    case dayMonthYear = "DD-MM-YYYY"
}
