// ContactLedger — contact domain.

import CivilTime
import Foundation

/// A calendar day named by a query value, without a time or a timezone.
///
/// Conditions on dates compare by day in the workspace timezone (behaviour reference §5.5): the evaluator
/// turns this day into the interval [local midnight, next local midnight). Days are proleptic Gregorian,
/// as stored values are, also before 1582.
public struct QueryDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// The year, e.g. 2020.
    public var year: Int
    /// The month, 1–12.
    public var month: Int
    /// The day of the month, 1–31.
    public var day: Int

    /// Creates a date if the day exists in the proleptic Gregorian calendar (no 30 February).
    public init?(year: Int, month: Int, day: Int) {
        guard CivilCalendar.isValidDate(year: year, month: month, day: day) else {
            return nil
        }
        self.year = year
        self.month = month
        self.day = day
    }

    /// The ISO form, `YYYY-MM-DD`.
    public var description: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(self.year, 4))-\(pad(self.month, 2))-\(pad(self.day, 2))"
    }

    /// Orders dates chronologically.
    public static func < (lhs: QueryDate, rhs: QueryDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    /// Reads the day a query value names, as goflow's `DateTimeFromString` does without time-fill.
    ///
    /// Accepted, after trimming whitespace:
    /// 1. an ISO date prefix `YYYY-MM-DD` (anything after it, such as `T10:45:30Z`, is ignored), whatever
    ///    the workspace date format;
    /// 2. otherwise the first believable date in the workspace `order` found anywhere in the text: day and
    ///    month of 1–2 digits, a year of 4 or 2 digits, separated by any of `- . \ / _` or a space, on ASCII
    ///    word boundaries (`27-01-2020`, `27.01.2020`, `27/1/20` with ``QueryDateOrder/dayMonthYear``).
    ///    A two-digit year greater than the last two digits of `currentYear` is 19xx, otherwise 20xx.
    ///    Impossible dates (30 February) are skipped.
    ///
    /// A time of day after the date is irrelevant to day comparisons and is not read, except in a full ISO
    /// timestamp with an offset (``ISOTimestamp``: `2026-12-07T23:00:00Z`), which names an instant as the same
    /// text in a field value does: its day is the one that instant falls on in `timeZone` (the workspace's;
    /// 2026-12-08 in Kiritimati). Without `timeZone`, or without an offset, the day written is used.
    ///
    /// - Parameters:
    ///   - text: The query value.
    ///   - order: The workspace's date order.
    ///   - currentYear: The year used to pivot two-digit years.
    ///   - timeZone: The workspace timezone, for timestamps with an offset.
    /// - Returns: The day, or `nil` if no date can be read.
    public static func parse(_ text: String, order: QueryDateOrder, currentYear: Int, timeZone: TimeZone? = nil) -> QueryDate? {
        let scalars = Array(text.unicodeScalars.trimmingQueryWhitespace())
        if let timeZone, let instant = ISOTimestamp.parse(scalars)?.instant {
            let day = CivilCalendar.date(days: CivilCalendar.localDays(of: instant, in: timeZone))
            return QueryDate(year: day.year, month: day.month, day: day.day)
        }
        if let iso = QueryDate.isoPrefix(scalars) {
            return iso
        }
        let groups: [[Int]]
        let positions: (day: Int, month: Int, year: Int)
        switch order {
        case .yearMonthDay:
            groups = [[4, 2], [2, 1], [2, 1]]
            positions = (day: 2, month: 1, year: 0)
        case .dayMonthYear:
            groups = [[2, 1], [2, 1], [4, 2]]
            positions = (day: 0, month: 1, year: 2)
        case .monthDayYear:
            groups = [[2, 1], [2, 1], [4, 2]]
            positions = (day: 1, month: 0, year: 2)
        }
        var start = 0
        while start < scalars.count {
            let atBoundary = start == 0 || !scalars[start - 1].isASCIIWordCharacter
            guard atBoundary, scalars[start].isASCIIDigit,
                let match = QueryDate.match(scalars, from: start, groups: groups)
            else {
                start += 1
                continue
            }
            start = match.end
            var year = match.numbers[positions.year]
            if match.lengths[positions.year] == 2 {
                year += year > currentYear % 100 ? 1900 : 2000
            }
            let day = match.numbers[positions.day]
            let month = match.numbers[positions.month]
            guard day >= 1, day <= 31, month >= 1, month <= 12 else { continue }
            if let date = QueryDate(year: year, month: month, day: day) {
                return date
            }
        }
        return nil
    }

    private static func isoPrefix(_ scalars: [Unicode.Scalar]) -> QueryDate? {
        guard scalars.count >= 10, scalars[4] == "-", scalars[7] == "-" else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                guard let digit = scalars[index].asciiDigitValue else { return nil }
                value = value * 10 + digit
            }
            return value
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10) else { return nil }
        return QueryDate(year: year, month: month, day: day)
    }

    private struct Match {
        var numbers: [Int]
        var lengths: [Int]
        var end: Int
    }

    /// Matches `group (sep group)*` at `start` with leftmost-first (greedy, backtracking) semantics and an
    /// ASCII word boundary after the last group. Each group lists its allowed digit counts by preference.
    private static func match(_ scalars: [Unicode.Scalar], from start: Int, groups: [[Int]]) -> Match? {
        func attempt(_ groupIndex: Int, _ position: Int, _ numbers: [Int], _ lengths: [Int]) -> Match? {
            if groupIndex == groups.count {
                if position < scalars.count && scalars[position].isASCIIWordCharacter { return nil }
                return Match(numbers: numbers, lengths: lengths, end: position)
            }
            var cursor = position
            if groupIndex > 0 {
                guard cursor < scalars.count, "-.\\/_ ".unicodeScalars.contains(scalars[cursor]) else { return nil }
                cursor += 1
            }
            for length in groups[groupIndex] {
                guard cursor + length <= scalars.count else { continue }
                var value = 0
                var allDigits = true
                for index in cursor..<(cursor + length) {
                    guard let digit = scalars[index].asciiDigitValue else {
                        allDigits = false
                        break
                    }
                    value = value * 10 + digit
                }
                guard allDigits else { continue }
                if let found = attempt(groupIndex + 1, cursor + length, numbers + [value], lengths + [length]) {
                    return found
                }
            }
            return nil
        }
        return attempt(0, start, [], [])
    }
}
