// ContactLedger — civil time.

import Foundation

extension CivilCalendar {
    /// 0001-01-01T00:00:00 to 10000-01-01T00:00:00, read as UTC: the wall-clock times (or UTC instants) whose
    /// date has a four-digit year, the years RFC 3339 text writes.
    public static let fourDigitYears: Range<Date> =
        Self.date(micros: Self.days(year: 1, month: 1, day: 1) * Self.microsPerDay)
        ..< Self.date(micros: Self.days(year: 10_000, month: 1, day: 1) * Self.microsPerDay)

    /// 0001-01-03T00:00:00Z to 9999-12-30T00:00:00Z: instants whose date is in years 0001–9999 in every zone.
    ///
    /// Two days from either end no zone's offset (under a day, local mean times included) reaches past them, so
    /// an instant inside needs no zone to tell; nearer the ends only the zone can (`9999-12-31T23:59:59Z` is
    /// 10000-01-01 in Kolkata).
    public static let safelyInsideFourDigitYears: Range<Date> =
        Self.date(micros: Self.days(year: 1, month: 1, day: 3) * Self.microsPerDay)
        ..< Self.date(micros: Self.days(year: 9999, month: 12, day: 30) * Self.microsPerDay)
}
