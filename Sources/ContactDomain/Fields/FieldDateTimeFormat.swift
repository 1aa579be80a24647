// ContactLedger — contact domain.

import Foundation

/// RFC 3339 text for datetime field values: `2026-01-02T00:00:00.000000+02:00`.
///
/// Always six fractional digits and a numeric offset (never `Z`), in the given timezone. Offsets with seconds
/// (historic local mean times) are truncated to whole minutes, and the local time is computed with the offset
/// shown, so the text always names the exact instant.
public enum FieldDateTimeFormat {
    /// Formats an instant in a timezone.
    ///
    /// - Parameters:
    ///   - date: the instant, shown to the nearest microsecond.
    ///   - timeZone: the workspace timezone whose offset (at that instant) is used.
    /// - Returns: RFC 3339 text with microseconds and offset.
    public static func string(from date: Date, in timeZone: TimeZone) -> String {
        let offset = CivilCalendar.offsetSeconds(timeZone, at: date)
        let local = CivilCalendar.micros(of: date) + offset * 1_000_000
        let (days, microsOfDay) = CivilCalendar.floorDivide(local, CivilCalendar.microsPerDay)
        let civil = CivilCalendar.date(days: days)
        let seconds = microsOfDay / 1_000_000
        let micros = microsOfDay % 1_000_000
        let offsetMinutes = abs(offset) / 60
        return Self.pad(civil.year, 4) + "-" + Self.pad(civil.month, 2) + "-" + Self.pad(civil.day, 2) + "T"
            + Self.pad(Int(seconds / 3600), 2) + ":" + Self.pad(Int(seconds / 60 % 60), 2) + ":"
            + Self.pad(Int(seconds % 60), 2) + "." + Self.pad(Int(micros), 6)
            + (offset < 0 ? "-" : "+") + Self.pad(Int(offsetMinutes / 60), 2) + ":"
            + Self.pad(Int(offsetMinutes % 60), 2)
    }

    /// Parses RFC 3339 text with minutes or seconds, an optional fraction and a `Z` or `±HH:MM` offset.
    ///
    /// - Parameter text: the text, e.g. `2026-01-02T00:00:00.000000+02:00`.
    /// - Returns: the instant (to the microsecond), or `nil` when the text is not of that form.
    public static func date(from text: String) -> Date? {
        FieldDateTimeParser.parseISODateTime(Array(text.unicodeScalars))
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(abs(value))
        let padded = String(repeating: "0", count: max(0, width - digits.count)) + digits
        return value < 0 ? "-" + padded : padded
    }
}
