// ContactLedger — contact domain.

extension Timestamp {
    /// Parses exactly the text ``description`` writes for years 0 to 9999,
    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ` naming a real calendar date and time; nil for any other text,
    /// which ``init(rfc3339:)`` then judges.
    ///
    /// Replaying the log reads one per event: ``init(rfc3339:)`` copies the text and goes through
    /// `tm` and `timegm`, which cost more than the rest of a header. The days are counted here instead,
    /// in the proleptic Gregorian calendar `timegm` uses, so both give the same instant for every
    /// text this accepts.
    init?(canonical text: UnsafeBufferPointer<UInt8>) {
        guard text.count == 27, text[4] == UInt8(ascii: "-"), text[7] == UInt8(ascii: "-"), text[10] == UInt8(ascii: "T"),
            text[13] == UInt8(ascii: ":"), text[16] == UInt8(ascii: ":"), text[19] == UInt8(ascii: "."),
            text[26] == UInt8(ascii: "Z")
        else { return nil }
        func number(_ start: Int, _ digits: Int) -> Int64? {
            var value: Int64 = 0
            for byte in text[start..<start + digits] {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        // Only what `description` writes: no leap second, no 31 February (which `timegm` would carry over).
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2), let hour = number(11, 2),
            let minute = number(14, 2), let second = number(17, 2), let fraction = number(20, 6),
            (1...12).contains(month), day >= 1, day <= Self.days(inMonth: month, of: year),
            hour < 24, minute < 60, second < 60
        else { return nil }
        let days = Self.daysSinceEpoch(year: year, month: month, day: day)
        self.init(microseconds: (((days * 24 + hour) * 60 + minute) * 60 + second) * 1_000_000 + fraction)
    }

    private static func days(inMonth month: Int64, of year: Int64) -> Int64 {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
    /// `days_from_civil`: years counted from March, so the leap day ends a year, in 400-year eras).
    private static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let marchYear = month <= 2 ? year - 1 : year
        let era = (marchYear >= 0 ? marchYear : marchYear - 399) / 400
        let yearOfEra = marchYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
