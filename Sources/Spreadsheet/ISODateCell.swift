// ContactLedger — spreadsheets.
import CivilTime
import Foundation

/// The text of an ISO date cell (`<c t="d">`, as SheetJS and LibreOffice write dates) and back.
///
/// `2020-09-18` and `2020-09-18T15:45:30(.fff)` are wall-clock times, a ``Cell/date(_:)``; the same with
/// an offset (`Z`, `±hh:mm`, `±hhmm`, `±hh`) is a ``Cell/instant(_:)``: the sheet said which moment it
/// meant, and reading its clock time in the workspace's zone moved it by the difference (behaviour
/// reference §3.2: a full ISO-8601 time with an offset is taken as is, as the same text in a CSV is).
/// The date and time are read by ``ISOTimestamp``, the reader field values use, so a cell and the same
/// text in a CSV name the same moment; days are proleptic Gregorian (``CivilCalendar``), as stored values are.
public enum ISODateCell {
    /// The cell `text` is, or nil (the cell is read as text) unless it is a date of years 0001–9999 with
    /// a time of day and offset in range. Text after the clock time that is no offset is ignored, as it
    /// always was: the cell is then a wall-clock time.
    ///
    /// A moment within two days of either end (outside ``CivilCalendar/safelyInsideFourDigitYears``) is nil
    /// too: a zone can move its day out of those years (`9999-12-31T23:59:59Z` is 10000-01-01 in Kolkata), and
    /// the cell's text is then the only text that reads back, so such a cell is the text cell it is and the
    /// field's parser reads it as it reads the same text in a CSV. So is a wall-clock time whose fraction of a
    /// second rounds to 10000-01-01 (a `Date` holds about 30 µs there).
    public static func cell(_ text: String) -> Cell? {
        let scalars = Array(text.unicodeScalars)
        if let stamp = ISOTimestamp.parse(scalars, tail: .offsetOrIgnored) {
            guard (1...9999).contains(stamp.year) else { return nil }
            if let instant = stamp.instant {
                return CivilCalendar.safelyInsideFourDigitYears.contains(instant) ? .instant(instant) : nil
            }
            let date = CivilCalendar.date(micros: stamp.localMicros)
            return CivilCalendar.fourDigitYears.contains(date) ? .date(date) : nil
        }
        guard scalars.count == 10, let day = ISOTimestamp.date(scalars), (1...9999).contains(day.year) else { return nil }
        return .date(CivilCalendar.date(micros: CivilCalendar.days(year: day.year, month: day.month, day: day.day) * CivilCalendar.microsPerDay))
    }

    /// `2023-05-17T05:30:00Z`, `…:00.125Z`: the ISO text of a moment in UTC, its fraction of a second to
    /// the microsecond when it has one, which ``cell(_:)`` reads back as the same instant.
    public static func text(instant: Date) -> String {
        let (seconds, micros) = Self.split(instant)
        return Self.text(Self.components(seconds: seconds), micros: micros) + "Z"
    }

    /// The date and time of day, proleptic Gregorian, `seconds` after 1970-01-01T00:00:00 (a wall-clock time
    /// or a UTC one).
    public static func components(seconds: Int64) -> DateComponents {
        let (days, secondOfDay) = CivilCalendar.floorDivide(seconds, 86_400)
        let date = CivilCalendar.date(days: days)
        return DateComponents(
            year: date.year, month: date.month, day: date.day, hour: Int(secondOfDay / 3600), minute: Int(secondOfDay / 60 % 60),
            second: Int(secondOfDay % 60))
    }

    /// A moment as whole seconds since 1970 and the microseconds after them, rounded once so that a
    /// fraction just under a second carries into the second instead of printing as `.1000000`.
    public static func split(_ instant: Date) -> (seconds: Int64, micros: Int64) {
        let total = Int64((instant.timeIntervalSince1970 * 1_000_000).rounded())
        let micros = ((total % 1_000_000) + 1_000_000) % 1_000_000
        return ((total - micros) / 1_000_000, micros)
    }

    /// `2020-09-18T15:45:30` with `.fff` (trailing zeros dropped) when `micros` is not zero.
    public static func text(_ parts: DateComponents, micros: Int64) -> String {
        func padded(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        var text = "\(padded(parts.year ?? 1970, 4))-\(padded(parts.month ?? 1, 2))-\(padded(parts.day ?? 1, 2))"
        text += "T\(padded(parts.hour ?? 0, 2)):\(padded(parts.minute ?? 0, 2)):\(padded(parts.second ?? 0, 2))"
        if micros != 0 {
            var fraction = Substring(padded(Int(micros), 6))
            while fraction.last == "0" { fraction = fraction.dropLast() }
            text += "." + fraction
        }
        return text
    }
}
