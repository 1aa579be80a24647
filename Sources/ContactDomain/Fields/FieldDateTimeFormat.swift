// ContactLedger — contact domain.

import CivilTime
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
    /// Only meant for dates with a four-digit year there (``hasFourDigitYear(_:in:)``); callers showing
    /// stored values check it first.
    public static func string(from date: Date, in timeZone: TimeZone) -> String {
        let local = Self.local(date, in: timeZone)
        let seconds = local.microsOfDay / 1_000_000
        let micros = local.microsOfDay % 1_000_000
        let offsetMinutes = abs(local.offset) / 60
        return Self.pad(local.year, 4) + "-" + Self.pad(local.month, 2) + "-" + Self.pad(local.day, 2) + "T"
            + Self.pad(Int(seconds / 3600), 2) + ":" + Self.pad(Int(seconds / 60 % 60), 2) + ":"
            + Self.pad(Int(seconds % 60), 2) + "." + Self.pad(Int(micros), 6)
            + (local.offset < 0 ? "-" : "+") + Self.pad(Int(offsetMinutes / 60), 2) + ":"
            + Self.pad(Int(offsetMinutes % 60), 2)
    }

    /// Formats an instant as a workspace displays it (behaviour reference §3.2 "Display"): the date in the
    /// workspace's order and the time to the minute, in the workspace timezone, e.g. `20-12-2015 08:30`.
    ///
    /// The text reads back as the same minute when parsed with the same timezone and order
    /// (``FieldValue/parse(_:environment:)``); the seconds are not shown.
    ///
    /// - Parameters:
    ///   - date: the instant.
    ///   - timeZone: the workspace timezone whose offset (at that instant) is used.
    ///   - order: the workspace's date format.
    /// - Returns: e.g. `20-12-2015 08:30` (`DD-MM-YYYY`), `12-20-2015 08:30`, `2015-12-20 08:30`.
    public static func displayString(from date: Date, in timeZone: TimeZone, order: DateFormat) -> String {
        let local = Self.local(date, in: timeZone)
        let year = Self.pad(local.year, 4)
        let month = Self.pad(local.month, 2)
        let day = Self.pad(local.day, 2)
        let minutes = Int(local.microsOfDay / 60_000_000)
        let time = Self.pad(minutes / 60, 2) + ":" + Self.pad(minutes % 60, 2)
        switch order {
        case .yearMonthDay: return year + "-" + month + "-" + day + " " + time
        case .dayMonthYear: return day + "-" + month + "-" + year + " " + time
        case .monthDayYear: return month + "-" + day + "-" + year + " " + time
        }
    }

    /// The civil date and time of day an instant has in a timezone, with the offset (whole minutes) used.
    private static func local(
        _ date: Date, in timeZone: TimeZone
    ) -> (year: Int, month: Int, day: Int, microsOfDay: Int64, offset: Int64) {
        let offset = CivilCalendar.offsetSeconds(timeZone, at: date)
        let local = CivilCalendar.micros(of: date) + offset * 1_000_000
        let (days, microsOfDay) = CivilCalendar.floorDivide(local, CivilCalendar.microsPerDay)
        let civil = CivilCalendar.date(days: days)
        return (civil.year, civil.month, civil.day, microsOfDay, offset)
    }

    /// Parses RFC 3339 text with minutes or seconds, an optional fraction and an offset (the full ISO form
    /// ``ISOTimestamp`` reads, which RFC 3339 text is).
    ///
    /// - Parameter text: the text, e.g. `2026-01-02T00:00:00.000000+02:00`.
    /// - Returns: the instant (to the microsecond), or `nil` when the text is not of that form.
    public static func date(from text: String) -> Date? {
        FieldDateTimeParser.parseISODateTime(Array(text.unicodeScalars))
    }

    /// Whether `date`'s civil date in `timeZone` falls in years 0001–9999, the years RFC 3339 text writes in
    /// four digits. A datetime reading is only made, shown or stored when it does: `9999-12-31T23:59:59Z` has
    /// no reading in Kolkata (10000-01-01 there), and a value kept from a workspace in another zone shows none.
    public static func hasFourDigitYear(_ date: Date, in timeZone: @autoclosure () -> TimeZone) -> Bool {
        // The zone is only made and asked near the ends (queries and answers ask for every value).
        if CivilCalendar.safelyInsideFourDigitYears.contains(date) { return true }
        let days = CivilCalendar.localDays(of: date, in: timeZone())
        return (1...9999).contains(CivilCalendar.date(days: days).year)
    }

    /// A stored `datetime` as a log holds it: the instant, or `.dropped` for a reading written before readings
    /// were held to four-digit years (`10000-01-01T05:29:59.000000+05:30`, `-0001-12-31T…`, `0000-…`), which
    /// the code of today would not have made: the value keeps its text, as one that never parsed does, so
    /// such a log still replays.
    public enum StoredDatetime: Equatable, Sendable {
        /// The reading, an instant.
        case instant(Date)
        /// A reading with a year outside 0001–9999: the value has none.
        case dropped
    }

    /// Reads a stored `datetime` (``StoredDatetime``), or `nil` when the text is neither RFC 3339 nor a
    /// reading with a year outside 0001–9999 (a damaged value).
    public static func stored(from text: String) -> StoredDatetime? {
        let scalars = Array(text.unicodeScalars)
        // The year as written: an optional sign and the digits before the first `-` after them.
        let signed = scalars.first == "-" || scalars.first == "+"
        let digits = scalars.dropFirst(signed ? 1 : 0).prefix { $0 >= "0" && $0 <= "9" }
        let year = digits.count <= 9 ? Int(String(String.UnicodeScalarView(digits))) : nil
        if digits.count >= 4, signed || digits.count > 4 || year == 0 {
            // Only the shape RFC 3339 writes after the year: `-MM-DDT`.
            let rest = Array(scalars.dropFirst((signed ? 1 : 0) + digits.count).prefix(7))
            guard rest.count == 7, rest[0] == "-", rest[3] == "-", rest[6] == "T" else { return nil }
            return .dropped
        }
        return Self.date(from: text).map(StoredDatetime.instant)
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(abs(value))
        let padded = String(repeating: "0", count: max(0, width - digits.count)) + digits
        return value < 0 ? "-" + padded : padded
    }
}
