// ContactLedger — contact domain.

import CivilTime
import Foundation

/// Reads the `datetime` of a field value (behaviour reference §3.2, goflow `envs/dates.go` `DateTimeFromString`
/// with time-fill).
///
/// 1. A full ISO-8601 datetime with minutes or seconds and an offset (`2020-01-01T10:45:30Z`, `2020-01-01 10:45-0800`,
///    ``ISOTimestamp``) is taken as is: that instant, whatever the workspace timezone.
/// 2. Else an ISO date prefix `YYYY-MM-DD`.
/// 3. Else a date in the workspace order anywhere in the text, separators `- . \ / _ space`; two-digit years pivot
///    on the current year; impossible dates (30 Feb) are skipped.
/// 4. An optional time in the rest of the text: `h`, `h:mm`, `hmm`, `h:mm:ss(.fff)`, optional am/pm; `24:00` is
///    midnight.
/// 5. Without a time, the current time of day in the workspace timezone is filled in.
///
/// ContactLedger differences from goflow, on purpose: a `T` right after an ISO date prefix is a separator
/// (`2020-01-01T10:30` reads 10:30, goflow ignores the time); hours past 24, `24:xx` other than `24:00`, and
/// minutes or seconds of 60 are not a time (goflow rolls them over); results are kept to whole microseconds; a
/// reading whose date in the workspace timezone is outside years 0001–9999 is no reading (RFC 3339 and the
/// daemon's own time parameters have four-digit years, and the log must read back what it was given).
///
/// The patterns mirror goflow's regular expressions (leftmost-first matching, ASCII `\b`), written as scanners.
enum FieldDateTimeParser {
    /// A time of day read from text.
    struct TimeOfDay: Equatable {
        var hour: Int
        var minute: Int
        var second: Int
        var micros: Int

        var microsOfDay: Int64 {
            (Int64(self.hour) * 3600 + Int64(self.minute) * 60 + Int64(self.second)) * 1_000_000 + Int64(self.micros)
        }
    }

    /// A civil date read from text.
    struct CivilDate: Equatable {
        var year: Int
        var month: Int
        var day: Int
    }

    typealias Scalars = [Unicode.Scalar]

    /// Parses `text` as a datetime in `timeZone` and `dateFormat`, filling in the time of day of `timeOfDay`
    /// (`now` when nil) when the text has none; a wall-clock time read twice (clocks going back) is the
    /// reading in the same minute as `timeOfDay` where there is one. Returns `nil` when no date can be found,
    /// or when the reading's date in `timeZone` has no four-digit year (``FieldDateTimeFormat/hasFourDigitYear(_:in:)``).
    static func parse(_ text: String, timeZone: TimeZone, dateFormat: DateFormat, now: Date, timeOfDay fill: Date? = nil) -> Date? {
        guard let reading = Self.reading(text, timeZone: timeZone, dateFormat: dateFormat, now: now, timeOfDay: fill),
            FieldDateTimeFormat.hasFourDigitYear(reading, in: timeZone)
        else { return nil }
        return reading
    }

    /// The reading of `text` before its year is checked.
    private static func reading(_ text: String, timeZone: TimeZone, dateFormat: DateFormat, now: Date, timeOfDay fill: Date?) -> Date? {
        let scalars = Self.trim(Array(text.unicodeScalars))
        if let instant = Self.parseISODateTime(scalars) {
            return instant
        }
        let currentYear = Self.localYear(of: now, in: timeZone)
        guard let (date, remainder) = Self.parseDate(scalars, dateFormat: dateFormat, currentYear: currentYear) else {
            return nil
        }
        let timeOfDay: Int64
        if let time = Self.parseTime(remainder) {
            timeOfDay = time.microsOfDay
        } else {
            let source = fill ?? now
            let local = CivilCalendar.micros(of: source) + CivilCalendar.offsetSeconds(timeZone, at: source) * 1_000_000
            timeOfDay = CivilCalendar.floorDivide(local, CivilCalendar.microsPerDay).remainder
        }
        let days = CivilCalendar.days(year: date.year, month: date.month, day: date.day)
        return CivilCalendar.instant(localMicros: days * CivilCalendar.microsPerDay + timeOfDay, in: timeZone, near: fill)
    }

    // MARK: - Step 1: full ISO-8601

    /// A whole text in the full ISO 8601 form with an offset (``ISOTimestamp``: `T`, `t` or a space before the
    /// time, `Z`, `z`, `±hh:mm`, `±hhmm` or `±hh` after it) as the instant it names, or `nil`.
    static func parseISODateTime(_ s: Scalars) -> Date? {
        ISOTimestamp.parse(s)?.instant
    }

    // MARK: - Steps 2 and 3: the date

    /// Finds the date and returns it with the text after it (where a time may follow).
    static func parseDate(_ s: Scalars, dateFormat: DateFormat, currentYear: Int) -> (CivilDate, Scalars)? {
        let s = Self.trim(s)
        if let date = Self.isoDate(s) {
            var remainder = Array(s[10...])
            // ContactLedger: `2020-01-01T10:30` — the `T` separates date and time.
            if remainder.count > 1, remainder[0] == "T", Self.isDigit(remainder[1]) {
                remainder.removeFirst()
            }
            return (date, remainder)
        }
        let groupLengths: [[Int]]
        let order: (year: Int, month: Int, day: Int)
        switch dateFormat {
        case .yearMonthDay:
            groupLengths = [[4, 2], [2, 1], [2, 1]]
            order = (0, 1, 2)
        case .dayMonthYear:
            groupLengths = [[2, 1], [2, 1], [4, 2]]
            order = (2, 1, 0)
        case .monthDayYear:
            groupLengths = [[2, 1], [2, 1], [4, 2]]
            order = (2, 0, 1)
        }
        var position = 0
        while let match = Self.nextDateMatch(s, from: position, groupLengths: groupLengths) {
            position = match.end
            let groups = match.groups
            guard let day = Self.number(s, groups[order.day].start, groups[order.day].count),
                let month = Self.number(s, groups[order.month].start, groups[order.month].count),
                var year = Self.number(s, groups[order.year].start, groups[order.year].count)
            else { continue }
            // does the day look believable? (goflow: day 1–31, month 1–12)
            guard day >= 1, day <= 31, month >= 1, month <= 12 else { continue }
            if groups[order.year].count == 2 {
                year += year > currentYear % 100 ? 1900 : 2000
            }
            // ContactLedger: impossible dates (30 Feb) are skipped rather than rolled over.
            guard CivilCalendar.isValidDate(year: year, month: month, day: day) else { continue }
            return (CivilDate(year: year, month: month, day: day), Array(s[match.end...]))
        }
        return nil
    }

    /// A match of `\b(N)[sep](N)[sep](N)\b` where each group's allowed digit counts are tried in order.
    private struct DateMatch {
        var groups: [(start: Int, count: Int)]
        var end: Int
    }

    /// The leftmost date-pattern match at or after `from`.
    private static func nextDateMatch(_ s: Scalars, from: Int, groupLengths: [[Int]]) -> DateMatch? {
        var start = from
        while start < s.count {
            if Self.isBoundary(s, start), let match = Self.dateMatch(s, at: start, groupLengths: groupLengths) {
                return match
            }
            start += 1
        }
        return nil
    }

    private static func dateMatch(_ s: Scalars, at start: Int, groupLengths: [[Int]]) -> DateMatch? {
        func attempt(_ group: Int, _ index: Int, _ found: [(start: Int, count: Int)]) -> DateMatch? {
            for length in groupLengths[group] where Self.hasDigits(s, index, length) {
                let end = index + length
                let captured = found + [(index, length)]
                if group == groupLengths.count - 1 {
                    if Self.isBoundary(s, end) {
                        return DateMatch(groups: captured, end: end)
                    }
                } else if end < s.count, Self.isDateSeparator(s[end]),
                    let match = attempt(group + 1, end + 1, captured)
                {
                    return match
                }
            }
            return nil
        }
        return attempt(0, start, [])
    }

    /// A strict `YYYY-MM-DD` at the start of the text naming a real day.
    private static func isoDate(_ s: Scalars) -> CivilDate? {
        ISOTimestamp.date(s).map { CivilDate(year: $0.year, month: $0.month, day: $0.day) }
    }

    // MARK: - Step 4: the time

    /// The first valid time in `s`, as goflow's
    /// `\b(\d{1,2})(?:(?:\:)?(\d{2})(?:\:(\d{2})(?:\.(\d+))?)?)?\W*([aApP][mM])?\b` finds it.
    static func parseTime(_ s: Scalars) -> TimeOfDay? {
        var position = 0
        while position < s.count {
            guard let match = Self.nextTimeMatch(s, from: position) else { return nil }
            position = match.end
            if let time = Self.validTime(s, match) {
                return time
            }
        }
        return nil
    }

    /// The captures of one time-pattern match (ranges into the scanned text).
    private struct TimeMatch {
        var hour: Range<Int>
        var minute: Range<Int>?
        var second: Range<Int>?
        var fraction: Range<Int>?
        var meridiem: Range<Int>?
        var end: Int
    }

    private static func nextTimeMatch(_ s: Scalars, from: Int) -> TimeMatch? {
        var start = from
        while start < s.count {
            if Self.isDigit(s[start]), Self.isBoundary(s, start), let match = Self.timeMatch(s, at: start) {
                return match
            }
            start += 1
        }
        return nil
    }

    /// Tries the pattern's alternatives at `start` in the order a backtracking engine would.
    private static func timeMatch(_ s: Scalars, at start: Int) -> TimeMatch? {
        for candidate in Self.timePrefixes(s, at: start) {
            if let match = Self.completeTime(s, candidate) {
                return match
            }
        }
        return nil
    }

    /// The digit part `h(:?mm(:ss(.f+)?)?)?` in priority order (greedy first).
    private static func timePrefixes(_ s: Scalars, at start: Int) -> [TimeMatch] {
        var candidates: [TimeMatch] = []
        for hourLength in [2, 1] where Self.hasDigits(s, start, hourLength) {
            let hourEnd = start + hourLength
            let hour = start..<hourEnd
            let colonOptions = hourEnd < s.count && s[hourEnd] == ":" ? [1, 0] : [0]
            for colon in colonOptions {
                let minuteStart = hourEnd + colon
                guard Self.hasDigits(s, minuteStart, 2) else { continue }
                let minute = minuteStart..<(minuteStart + 2)
                let minuteEnd = minuteStart + 2
                if minuteEnd < s.count, s[minuteEnd] == ":", Self.hasDigits(s, minuteEnd + 1, 2) {
                    let second = (minuteEnd + 1)..<(minuteEnd + 3)
                    let secondEnd = minuteEnd + 3
                    if secondEnd < s.count, s[secondEnd] == ".",
                        let run = Self.digitRun(s, from: secondEnd + 1, max: Int.max)
                    {
                        for length in stride(from: run, through: 1, by: -1) {
                            let fraction = (secondEnd + 1)..<(secondEnd + 1 + length)
                            candidates.append(
                                TimeMatch(
                                    hour: hour, minute: minute, second: second, fraction: fraction, meridiem: nil,
                                    end: fraction.upperBound))
                        }
                    }
                    candidates.append(
                        TimeMatch(
                            hour: hour, minute: minute, second: second, fraction: nil, meridiem: nil, end: secondEnd))
                }
                candidates.append(
                    TimeMatch(hour: hour, minute: minute, second: nil, fraction: nil, meridiem: nil, end: minuteEnd))
            }
            candidates.append(
                TimeMatch(hour: hour, minute: nil, second: nil, fraction: nil, meridiem: nil, end: hourEnd))
        }
        return candidates
    }

    /// Matches the tail `\W*([aApP][mM])?\b` after a digit part.
    private static func completeTime(_ s: Scalars, _ prefix: TimeMatch) -> TimeMatch? {
        var nonWord = 0
        while prefix.end + nonWord < s.count, !Self.isWordCharacter(s[prefix.end + nonWord]) {
            nonWord += 1
        }
        for skipped in stride(from: nonWord, through: 0, by: -1) {
            let index = prefix.end + skipped
            if index + 1 < s.count, "aApP".unicodeScalars.contains(s[index]),
                "mM".unicodeScalars.contains(s[index + 1]),
                Self.isBoundary(s, index + 2)
            {
                var match = prefix
                match.meridiem = index..<(index + 2)
                match.end = index + 2
                return match
            }
            if Self.isBoundary(s, index) {
                var match = prefix
                match.end = index
                return match
            }
        }
        return nil
    }

    private static func validTime(_ s: Scalars, _ match: TimeMatch) -> TimeOfDay? {
        func value(_ range: Range<Int>?) -> Int {
            guard let range else { return 0 }
            return Self.number(s, range.lowerBound, range.count) ?? 0
        }
        var hour = value(match.hour)
        let minute = value(match.minute)
        let second = value(match.second)
        let micros = match.fraction.map { ISOTimestamp.fractionMicros(s, from: $0.lowerBound, count: $0.count) } ?? 0
        let hasNanos = match.fraction.map { range in range.contains { s[$0] != "0" } } ?? false
        if let meridiem = match.meridiem {
            let isPM = s[meridiem.lowerBound] == "p" || s[meridiem.lowerBound] == "P"
            if hour < 12 && isPM {
                hour += 12
            } else if hour == 12 && !isPM {
                hour = 0
            }
        }
        // 24:00:00.000000 is midnight
        if hour == 24 && minute == 0 && second == 0 && !hasNanos {
            hour = 0
        }
        guard hour <= 23, minute <= 59, second <= 59 else { return nil }
        return TimeOfDay(hour: hour, minute: minute, second: second, micros: micros)
    }

    // MARK: - Scanning helpers

    /// Trims the characters goflow trims (`" \n\r\t"`).
    private static func trim(_ s: Scalars) -> Scalars {
        let isTrimmed: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        guard let first = s.firstIndex(where: { !isTrimmed($0) }), let last = s.lastIndex(where: { !isTrimmed($0) })
        else { return [] }
        return Array(s[first...last])
    }

    /// The year `instant` falls in, in `timeZone`.
    static func localYear(of instant: Date, in timeZone: TimeZone) -> Int {
        let local = CivilCalendar.micros(of: instant) + CivilCalendar.offsetSeconds(timeZone, at: instant) * 1_000_000
        return CivilCalendar.date(days: CivilCalendar.floorDivide(local, CivilCalendar.microsPerDay).quotient).year
    }

    private static func isDigit(_ scalar: Unicode.Scalar) -> Bool {
        scalar >= "0" && scalar <= "9"
    }

    /// ASCII `\w`: `[0-9A-Za-z_]`, as in Go's regexp.
    private static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        Self.isDigit(scalar) || (scalar >= "a" && scalar <= "z") || (scalar >= "A" && scalar <= "Z") || scalar == "_"
    }

    /// ASCII `\b` at a position between two scalars (the text's ends count as non-word).
    private static func isBoundary(_ s: Scalars, _ index: Int) -> Bool {
        let before = index > 0 && index - 1 < s.count && Self.isWordCharacter(s[index - 1])
        let after = index >= 0 && index < s.count && Self.isWordCharacter(s[index])
        return before != after
    }

    private static func isDateSeparator(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "-" || scalar == "." || scalar == "\\" || scalar == "/" || scalar == "_" || scalar == " "
    }

    /// Whether `count` ASCII digits start at `index`.
    private static func hasDigits(_ s: Scalars, _ index: Int, _ count: Int) -> Bool {
        guard index >= 0, index + count <= s.count else { return false }
        return s[index..<(index + count)].allSatisfy(Self.isDigit)
    }

    /// The length of the run of ASCII digits at `from` (capped at `max`), or `nil` when there is none.
    private static func digitRun(_ s: Scalars, from: Int, max: Int) -> Int? {
        var length = 0
        while length < max, from + length < s.count, Self.isDigit(s[from + length]) {
            length += 1
        }
        return length > 0 ? length : nil
    }

    private static func number(_ s: Scalars, _ index: Int, _ count: Int) -> Int? {
        guard count <= 9, Self.hasDigits(s, index, count) else { return nil }
        var value = 0
        for offset in 0..<count {
            value = value * 10 + Int(s[index + offset].value - 48)
        }
        return value
    }
}
