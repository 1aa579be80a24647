// ContactLedger — contact domain.

import Foundation

/// The value of a condition, read and checked at parse time for the property's type.
///
/// Evaluation can rely on it: a number is a valid decimal, a date a real day, a status one of the four,
/// a group one that exists (named as the workspace spells it).
public enum QueryValue: Sendable, Hashable {
    /// `""` with `=` or `!=`: an existence check (`prop = ""` is true iff the property has no value).
    case empty
    /// Text compared case-insensitively after trimming (names, URN paths, text fields, locations, uuid…).
    case text(String)
    /// A plain decimal (number fields, `tickets`).
    case number(Decimal)
    /// A day (datetime fields, `created_on`, `last_seen_on`).
    case date(QueryDate)
    /// A contact status (`status`), whatever case it was written in.
    case status(ContactStatus)
    /// A lowercase ISO-639-3 code (`language`).
    case language(String)
    /// The canonical name of an existing group (`group`).
    case group(String)
    /// The canonical name of an existing flow (`flow`, `history`).
    case flow(String)

    /// The most significant digits a number value may have (goflow `MaxNumberDigits`).
    public static let maxNumberDigits = 36

    /// Reads a number as goflow does: after trimming, `-?` then digits, digits`.`digits or `.`digits; no
    /// exponent, no thousands separator, no `+`; at most 36 significant digits (trailing zeros of the
    /// coefficient don't count) and a magnitude within 10^±100.
    ///
    /// - Returns: The number, or `nil` if the text isn't a plain decimal in range.
    public static func parseNumber(_ text: String) -> Decimal? {
        var scalars = Array(text.unicodeScalars.trimmingQueryWhitespace())
        var isNegative = false
        if scalars.first == "-" {
            isNegative = true
            scalars.removeFirst()
        }
        let parts = scalars.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2 else { return nil }
        let integer = parts[0]
        let fraction = parts.count == 2 ? parts[1] : []
        if parts.count == 2 && fraction.isEmpty { return nil }
        if integer.isEmpty && fraction.isEmpty { return nil }
        guard integer.allSatisfy(\.isASCIIDigit), fraction.allSatisfy(\.isASCIIDigit) else { return nil }

        var digits = Array(integer) + Array(fraction)
        var exponent = -fraction.count
        while let first = digits.first, first == "0" { digits.removeFirst() }
        while let last = digits.last, last == "0" {
            digits.removeLast()
            exponent += 1
        }
        if digits.isEmpty { return Decimal.zero }
        guard digits.count <= QueryValue.maxNumberDigits else { return nil }
        let adjustedExponent = exponent + digits.count - 1
        guard adjustedExponent <= 100 && adjustedExponent >= -100 else { return nil }
        let significandText = String(String.UnicodeScalarView(digits))
        guard let significand = Decimal(string: significandText, locale: nil) else { return nil }
        return Decimal(sign: isNegative ? .minus : .plus, exponent: exponent, significand: significand)
    }
}
