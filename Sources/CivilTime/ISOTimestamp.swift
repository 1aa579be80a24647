// ContactLedger — civil time.

import Foundation

/// A full ISO 8601 date and time as text writes it: the one reader of that form, for field values (behaviour
/// reference §3.2: "taken as is"), query values (§5.5) and spreadsheets' ISO date cells, so they cannot disagree
/// on what a text names.
///
/// The form is `YYYY-MM-DD`, then `T`, `t` or one space, then `h:mm` or `h:mm:ss` (hour of one or two digits)
/// with an optional fraction after the seconds (any number of digits, kept to the microsecond), then an offset:
/// `Z`, `z`, `±hh:mm`, `±hhmm` or `±hh`. With an offset the text is an instant; without one, a wall-clock time
/// whose zone the reader decides.
///
/// Two readings ISO 8601 allows and a plain clock does not, taken only with an offset (where they name an
/// instant): `24:00:00` is the end of that day, the next day's `00:00:00`; a leap second `hh:mm:60` is read
/// as the next minute's `:00` (Foundation's instants have no leap seconds, and that is the instant after
/// the minute's last). Neither shifts the time by anything else.
public struct ISOTimestamp: Sendable, Equatable {
    /// The year as written, 0000–9999 (callers decide which years they keep).
    public var year: Int
    /// The month, 1–12.
    public var month: Int
    /// The day of the month, valid for the month.
    public var day: Int
    /// Microseconds after the day's midnight; a full day or more for `24:00` and a leap second at 23:59:60.
    public var microsOfDay: Int64
    /// The offset east of UTC in seconds, or `nil` for a wall-clock time.
    public var offsetSeconds: Int64?

    /// The wall-clock time as microseconds since 1970 read as if in UTC (the next day's for `24:00`).
    public var localMicros: Int64 {
        CivilCalendar.days(year: self.year, month: self.month, day: self.day) * CivilCalendar.microsPerDay + self.microsOfDay
    }

    /// The instant the text names, or `nil` when it has no offset.
    public var instant: Date? {
        self.offsetSeconds.map { CivilCalendar.date(micros: self.localMicros - $0 * 1_000_000) }
    }

    /// What may follow the clock time.
    public enum Tail: Sendable {
        /// An offset or nothing, then the end of the text.
        case offsetOrEnd
        /// An offset to the end of the text, or anything else, which is ignored and leaves a wall-clock time
        /// (ISO date cells have always been read so).
        case offsetOrIgnored
    }

    /// Reads `text`, which must be the whole form (no white space around it).
    public static func parse(_ text: String, tail: Tail = .offsetOrEnd) -> ISOTimestamp? {
        Self.parse(Array(text.unicodeScalars), tail: tail)
    }

    /// Reads `s`, which must be the whole form (no white space around it).
    public static func parse(_ s: [Unicode.Scalar], tail: Tail = .offsetOrEnd) -> ISOTimestamp? {
        guard let date = Self.date(s), s.count > 10, s[10] == "T" || s[10] == "t" || s[10] == " " else { return nil }
        var index = 11
        guard let hourDigits = Self.digitRun(s, from: index, max: 2), let hour = Self.number(s, index, hourDigits) else {
            return nil
        }
        index += hourDigits
        guard index < s.count, s[index] == ":", let minute = Self.number(s, index + 1, 2), minute <= 59 else { return nil }
        index += 3
        var second = 0
        var micros = 0
        var fractionIsZero = true
        if index < s.count, s[index] == ":", let value = Self.number(s, index + 1, 2) {
            second = value
            index += 3
            if index < s.count, s[index] == ".", let run = Self.digitRun(s, from: index + 1, max: Int.max) {
                micros = Self.fractionMicros(s, from: index + 1, count: run)
                fractionIsZero = s[(index + 1)..<(index + 1 + run)].allSatisfy { $0 == "0" }
                index += 1 + run
            }
        }
        let offset = Self.offset(s, from: index)
        if offset == nil {
            guard tail == .offsetOrIgnored || index == s.count else { return nil }
        }
        // 24:00 and :60 only where an offset makes them one instant; a wall-clock time keeps its reader's rules.
        let isEndOfDay = hour == 24 && minute == 0 && second == 0 && fractionIsZero && offset != nil
        guard hour <= 23 || isEndOfDay, second <= 59 || (second == 60 && offset != nil) else { return nil }
        let microsOfDay = (Int64(hour) * 3600 + Int64(minute) * 60 + Int64(second)) * 1_000_000 + Int64(micros)
        return ISOTimestamp(
            year: date.year, month: date.month, day: date.day, microsOfDay: microsOfDay, offsetSeconds: offset)
    }

    /// A strict `YYYY-MM-DD` at the start of `s` naming a real day (year 0000–9999).
    public static func date(_ s: [Unicode.Scalar]) -> (year: Int, month: Int, day: Int)? {
        guard s.count >= 10, s[4] == "-", s[7] == "-", let year = Self.number(s, 0, 4), let month = Self.number(s, 5, 2),
            let day = Self.number(s, 8, 2), CivilCalendar.isValidDate(year: year, month: month, day: day)
        else { return nil }
        return (year, month, day)
    }

    /// The offset `Z`, `z`, `±hh:mm`, `±hhmm` or `±hh` filling `s` from `from` to its end, in seconds east of UTC.
    private static func offset(_ s: [Unicode.Scalar], from index: Int) -> Int64? {
        let rest = s.count - index
        guard rest >= 1 else { return nil }
        if rest == 1, s[index] == "Z" || s[index] == "z" { return 0 }
        guard s[index] == "+" || s[index] == "-", let hours = Self.number(s, index + 1, 2), hours <= 23 else { return nil }
        let minutes: Int?
        switch rest {
        case 3: minutes = 0
        case 5: minutes = Self.number(s, index + 3, 2)
        case 6: minutes = s[index + 3] == ":" ? Self.number(s, index + 4, 2) : nil
        default: minutes = nil
        }
        guard let minutes, minutes <= 59 else { return nil }
        return Int64(hours * 3600 + minutes * 60) * (s[index] == "-" ? -1 : 1)
    }

    private static func isDigit(_ scalar: Unicode.Scalar) -> Bool {
        scalar >= "0" && scalar <= "9"
    }

    /// The length of the run of ASCII digits at `from` (capped at `max`), or `nil` when there is none.
    private static func digitRun(_ s: [Unicode.Scalar], from: Int, max: Int) -> Int? {
        var length = 0
        while length < max, from + length < s.count, Self.isDigit(s[from + length]) {
            length += 1
        }
        return length > 0 ? length : nil
    }

    /// The value of exactly `count` ASCII digits at `index`, or `nil` when they are not all digits.
    private static func number(_ s: [Unicode.Scalar], _ index: Int, _ count: Int) -> Int? {
        guard index >= 0, index + count <= s.count else { return nil }
        var value = 0
        for offset in 0..<count {
            guard Self.isDigit(s[index + offset]) else { return nil }
            value = value * 10 + Int(s[index + offset].value - 48)
        }
        return value
    }

    /// The first six digits of the `count` fraction digits at `from` as microseconds (further digits are
    /// truncated). Also the field parser's, for a time of day in free text.
    public static func fractionMicros(_ s: [Unicode.Scalar], from: Int, count: Int) -> Int {
        var micros = 0
        for offset in 0..<6 {
            micros *= 10
            if offset < count {
                micros += Int(s[from + offset].value - 48)
            }
        }
        return micros
    }
}
