// ContactLedger — civil time.

import Foundation

/// Proleptic Gregorian calendar arithmetic on plain integers, with no `Calendar` or formatter state.
///
/// Days are counted from 1970-01-01; times are microseconds. Used by datetime parsing and RFC 3339 formatting so
/// both are deterministic and thread-safe, and wherever a day must not move: Foundation's `.gregorian`
/// calendar switches to the Julian calendar before 1582-10-15, ten days and more away from these.
public enum CivilCalendar {
    /// Microseconds in one day.
    public static let microsPerDay: Int64 = 86_400_000_000

    /// Whether `year` is a Gregorian leap year.
    public static func isLeapYear(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    /// The number of days in `month` (1–12) of `year`.
    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: Self.isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Whether the day exists (rejects 30 February, month 13, day 0).
    public static func isValidDate(year: Int, month: Int, day: Int) -> Bool {
        month >= 1 && month <= 12 && day >= 1 && day <= Self.daysInMonth(year: year, month: month)
    }

    /// Days since 1970-01-01 of a civil date (H. Hinnant's `days_from_civil`).
    public static func days(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The civil date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
    public static func date(days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    /// Floor division that rounds toward negative infinity.
    public static func floorDivide(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        var quotient = value / divisor
        var remainder = value % divisor
        if remainder < 0 {
            quotient -= 1
            remainder += divisor
        }
        return (quotient, remainder)
    }

    /// Whole microseconds since 1970 of a date, rounded to the nearest microsecond.
    public static func micros(of date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    /// The date at a whole number of microseconds since 1970.
    public static func date(micros: Int64) -> Date {
        Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }

    /// The UTC offset of `timeZone` at `instant`, in seconds, truncated to whole minutes (RFC 3339 offsets carry
    /// no seconds, so local times are computed with the same offset that is shown).
    public static func offsetSeconds(_ timeZone: TimeZone, at instant: Date) -> Int64 {
        Int64(timeZone.secondsFromGMT(for: instant) / 60 * 60)
    }

    /// Converts a wall-clock time in `timeZone` (microseconds since 1970 as if it were UTC) to the instant.
    ///
    /// As Go's `time.Date`: the offset in force at the clock time read as UTC, unless the instant it gives has
    /// another offset, which is then applied. Which reading of a repeated hour that gives, and which way a
    /// time clocks skip moves, depends on the zone: New York reads its repeated hour's first (daylight time)
    /// and Chatham its second (standard time); New York's 02:30 in its 02:00→03:00 gap reads 01:30 standard
    /// time, an hour earlier, and Chatham's 03:00 in its 02:45→03:45 gap reads 04:00 daylight time, an hour
    /// later.
    public static func instant(localMicros: Int64, in timeZone: TimeZone) -> Date {
        let asUTC = Self.date(micros: localMicros)
        let firstOffset = Self.offsetSeconds(timeZone, at: asUTC)
        var utc = localMicros - firstOffset * 1_000_000
        let secondOffset = Self.offsetSeconds(timeZone, at: Self.date(micros: utc))
        if secondOffset != firstOffset {
            utc = localMicros - secondOffset * 1_000_000
        }
        return Self.date(micros: utc)
    }

    /// As ``instant(localMicros:in:)``, but where the wall-clock time is read twice (an hour repeated when
    /// clocks go back), the reading in the same minute as `replaced` when there is one: a value exported as
    /// its wall-clock time (to the minute, no offset) and imported again is the instant it was, not the
    /// other reading of that time (New York read the first, Chatham the second).
    public static func instant(localMicros: Int64, in timeZone: TimeZone, near replaced: Date?) -> Date {
        let chosen = Self.instant(localMicros: localMicros, in: timeZone)
        guard let replaced else { return chosen }
        let target = Self.micros(of: replaced)
        let minute: Int64 = 60_000_000
        guard abs(Self.micros(of: chosen) - target) >= minute else { return chosen }
        // The offsets in force a day either side: the two readings of a repeated hour use one each.
        let asUTC = Self.date(micros: localMicros)
        for offset in Set([-86_400.0, 86_400.0].map { Self.offsetSeconds(timeZone, at: asUTC.addingTimeInterval($0)) }) {
            let other = localMicros - offset * 1_000_000
            if Self.offsetSeconds(timeZone, at: Self.date(micros: other)) == offset, abs(other - target) < minute {
                return Self.date(micros: other)
            }
        }
        return chosen
    }
}
