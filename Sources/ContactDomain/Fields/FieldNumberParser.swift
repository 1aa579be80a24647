// ContactLedger — contact domain.

import Foundation

/// Reads the `number` of a field value (behaviour reference §3.2, goflow `excellent/types/number.go`).
///
/// Grammar after trimming white space: `-?` then digits, digits `.` digits, or `.` digits. No thousands
/// separators, exponents or leading `+`. At most ``maxSignificantDigits`` significant digits (trailing zeros of
/// the coefficient don't count) and an adjusted exponent within ±``maxAdjustedExponent``.
enum FieldNumberParser {
    /// The most significant digits a number may have.
    static let maxSignificantDigits = 36
    /// The largest magnitude of the adjusted exponent (position of the leading digit).
    static let maxAdjustedExponent = 100
    /// The smallest exponent Foundation's `Decimal` can hold.
    private static let minDecimalExponent = -128

    /// Parses `text`, or returns `nil` when it is not a number under the rules above.
    static func parse(_ text: String) -> Decimal? {
        let trimmed = text.trimmingWhitespaceAndNewlines()
        var scalars = Substring(trimmed).unicodeScalars[...]
        var isNegative = false
        if scalars.first == "-" {
            isNegative = true
            scalars = scalars.dropFirst()
        }
        var integerDigits: [UInt8] = []
        var fractionDigits: [UInt8] = []
        var seenPoint = false
        for scalar in scalars {
            if scalar == "." {
                guard !seenPoint else { return nil }
                seenPoint = true
            } else if scalar >= "0" && scalar <= "9" {
                let digit = UInt8(scalar.value - 48)
                if seenPoint {
                    fractionDigits.append(digit)
                } else {
                    integerDigits.append(digit)
                }
            } else {
                return nil
            }
        }
        // digits | digits.digits | .digits
        if seenPoint {
            guard !fractionDigits.isEmpty else { return nil }
        } else {
            guard !integerDigits.isEmpty else { return nil }
        }

        var coefficient = integerDigits + fractionDigits
        var exponent = -fractionDigits.count
        if let firstNonZero = coefficient.firstIndex(where: { $0 != 0 }) {
            coefficient.removeFirst(firstNonZero)
        } else {
            return Decimal.zero
        }
        while coefficient.last == 0 {
            coefficient.removeLast()
            exponent += 1
        }
        guard coefficient.count <= Self.maxSignificantDigits else { return nil }
        let adjustedExponent = exponent + coefficient.count - 1
        guard abs(adjustedExponent) <= Self.maxAdjustedExponent else { return nil }

        // Decimal's exponent stops at -128: round away the few digits below it (only reachable with 29+
        // significant digits and a leading digit near 10^-100).
        if exponent < Self.minDecimalExponent {
            let drop = Self.minDecimalExponent - exponent
            let roundUp = coefficient[coefficient.count - drop] >= 5
            coefficient.removeLast(drop)
            exponent = Self.minDecimalExponent
            if roundUp {
                var index = coefficient.count - 1
                while index >= 0 {
                    if coefficient[index] == 9 {
                        coefficient[index] = 0
                        index -= 1
                    } else {
                        coefficient[index] += 1
                        break
                    }
                }
                if index < 0 {
                    coefficient.insert(1, at: 0)
                }
            }
        }

        var significand = Decimal.zero
        for digit in coefficient {
            significand = significand * 10 + Decimal(Int(digit))
        }
        return Decimal(sign: isNegative ? .minus : .plus, exponent: exponent, significand: significand)
    }
}
