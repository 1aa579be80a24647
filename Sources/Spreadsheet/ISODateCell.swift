// ContactLedger — spreadsheets.
import Foundation

/// The text of an ISO date cell (`<c t="d">`, as SheetJS and LibreOffice write dates) and back.
///
/// `2020-09-18` and `2020-09-18T15:45:30(.fff)` are wall-clock times, a ``Cell/date(_:)``; the same with
/// an offset (`Z`, `±hh:mm`, `±hhmm`, `±hh`) is a ``Cell/instant(_:)``: the sheet said which moment it
/// meant, and reading its clock time in the workspace's zone moved it by the difference (behaviour
/// reference §3.2: a full ISO-8601 time with an offset is taken as is, as the same text in a CSV is).
public enum ISODateCell {
    /// The cell `text` is, or nil (the cell is read as text) unless it is a date Excel can show (years
    /// 1900–9999) with a time of day and offset in range. Text after the clock time that is no offset is
    /// ignored, as it always was: the cell is then a wall-clock time.
    public static func cell(_ text: String) -> Cell? {
        let parts = text.split(separator: "T", maxSplits: 1)
        let day = parts.first.map { $0.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) } } ?? []
        guard day.count == 3, let year = day[0], let month = day[1], let dayOfMonth = day[2],
            (1900...9999).contains(year), (1...12).contains(month), (1...31).contains(dayOfMonth)
        else { return nil }
        var components = DateComponents(year: year, month: month, day: dayOfMonth, hour: 0, minute: 0, second: 0)
        var offsetSeconds: Int?
        if parts.count == 2 {
            let clock = parts[1].prefix { $0.isASCII && ($0.isNumber || $0 == ":" || $0 == ".") }
            let fields = clock.split(separator: ":")
            let hour = fields.count > 0 ? Int(fields[0]) : 0
            let minute = fields.count > 1 ? Int(fields[1]) : 0
            guard let hour, let minute, (0...23).contains(hour), (0...59).contains(minute) else { return nil }
            components.hour = hour
            components.minute = minute
            if fields.count > 2 {
                guard let seconds = Double(fields[2]), seconds >= 0, seconds < 61 else { return nil }
                components.second = Int(seconds)
                components.nanosecond = Int((seconds - Double(Int(seconds))) * 1e9)
            }
            offsetSeconds = Self.offset(parts[1][clock.endIndex...])
        }
        guard let wallClock = Self.utc.date(from: components) else { return nil }
        guard let offsetSeconds else { return .date(wallClock) }
        return .instant(wallClock.addingTimeInterval(TimeInterval(-offsetSeconds)))
    }

    /// `2023-05-17T05:30:00Z`, `…:00.125Z`: the ISO text of a moment in UTC, its fraction of a second to
    /// the microsecond when it has one, which ``cell(_:)`` reads back as the same instant.
    public static func text(instant: Date) -> String {
        let (seconds, micros) = Self.split(instant)
        let parts = Self.utc.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: TimeInterval(seconds)))
        return Self.text(parts, micros: micros) + "Z"
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

    /// The offset east of UTC, in seconds, that `zone` names (`Z`, `+05:00`, `+0500`, `+05`, `-03:30`), or
    /// nil when it names none.
    private static func offset(_ zone: Substring) -> Int? {
        if zone == "Z" || zone == "z" { return 0 }
        guard let sign = zone.first, sign == "+" || sign == "-" else { return nil }
        let digits = zone.dropFirst().filter { $0 != ":" }
        let hasColon = zone.dropFirst().contains(":")
        // `+05:00` or `+0500` or `+05`; a colon only between hours and minutes.
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), digits.count == 2 || digits.count == 4,
            !hasColon || (digits.count == 4 && zone.dropFirst(3).first == ":")
        else { return nil }
        guard let hours = Int(digits.prefix(2)), let minutes = digits.count == 4 ? Int(digits.suffix(2)) : 0, hours <= 23, minutes <= 59
        else { return nil }
        return (hours * 3600 + minutes * 60) * (sign == "-" ? -1 : 1)
    }

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        return calendar
    }()
}
