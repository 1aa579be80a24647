// ContactLedger — civil time.

import Foundation

extension CivilCalendar {
    /// The local microseconds since 1970 (as if UTC) of `instant` in `timeZone`, with the offset ``offsetSeconds(_:at:)``
    /// shows there.
    public static func localMicros(of instant: Date, in timeZone: TimeZone) -> Int64 {
        Self.micros(of: instant) + Self.offsetSeconds(timeZone, at: instant) * 1_000_000
    }

    /// The day count since 1970-01-01 of the civil date `instant` has in `timeZone`.
    public static func localDays(of instant: Date, in timeZone: TimeZone) -> Int64 {
        Self.floorDivide(Self.localMicros(of: instant, in: timeZone), Self.microsPerDay).quotient
    }

    /// The first instant of the civil day `days` (since 1970-01-01) in `timeZone`: its local midnight, the first
    /// of the two where midnight is read twice (clocks going back across it), or the moment clocks jump past
    /// midnight where it does not exist (Santiago, Beirut, Havana begin such a day at 01:00; Apia skipped
    /// 2011-12-30, which begins and ends at the same instant).
    ///
    /// The day's end is the next day's start, computed the same way, so consecutive days never overlap.
    public static func startOfDay(days: Int64, in timeZone: TimeZone) -> Date {
        let midnight = days * Self.microsPerDay
        let asUTC = Self.date(micros: midnight)
        // The offsets in force around that day: a midnight that exists is read with one of them.
        let offsets = Set([-86_400.0, 0, 86_400.0].map { Self.offsetSeconds(timeZone, at: asUTC.addingTimeInterval($0)) })
        let readings = offsets.map { midnight - $0 * 1_000_000 }.filter { utc in
            Self.offsetSeconds(timeZone, at: Self.date(micros: utc)) * 1_000_000 == midnight - utc
        }
        if let first = readings.min() {
            return Self.date(micros: first)
        }
        // No reading: midnight falls in a gap. The day begins at the transition, which lies between midnight
        // read with the offset after it (an earlier instant, still before it) and with the one before it.
        let before = Self.offsetSeconds(timeZone, at: asUTC.addingTimeInterval(-86_400))
        let after = Self.offsetSeconds(timeZone, at: asUTC.addingTimeInterval(86_400))
        var low = Self.floorDivide(midnight - max(before, after) * 1_000_000, 1_000_000).quotient
        var high = Self.floorDivide(midnight - min(before, after) * 1_000_000, 1_000_000).quotient
        // Transitions fall on whole seconds: find the first second whose local date is the day.
        while low < high {
            let middle = low + (high - low) / 2
            if Self.localDays(of: Date(timeIntervalSince1970: TimeInterval(middle)), in: timeZone) >= days {
                high = middle
            } else {
                low = middle + 1
            }
        }
        return Date(timeIntervalSince1970: TimeInterval(low))
    }
}
