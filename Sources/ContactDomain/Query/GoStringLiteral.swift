// ContactLedger — contact domain.

/// Go-style double-quoted string literals: decoding quoted query values and quoting canonical ones.
///
/// goflow decodes `"…"` values with `strconv.Unquote` and writes canonical values with `strconv.Quote`;
/// this mirrors both so quoted values and canonical text agree with goflow byte for byte.
public enum GoStringLiteral {
    /// Quotes `value` as Go's `strconv.Quote` does: `"` and `\` escaped, `\a \b \f \n \r \t \v` for those
    /// controls, `\xNN` for other ASCII controls, `\uNNNN` / `\UNNNNNNNN` for other non-printable
    /// characters (printable = letters, marks, numbers, punctuation, symbols and the ASCII space).
    public static func quote(_ value: String) -> String {
        var result = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\u{07}": result += "\\a"
            case "\u{08}": result += "\\b"
            case "\u{0C}": result += "\\f"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\u{0B}": result += "\\v"
            default:
                if GoStringLiteral.isPrintable(scalar) {
                    result.unicodeScalars.append(scalar)
                } else if scalar.value < 0x20 || scalar.value == 0x7F {
                    result += "\\x" + GoStringLiteral.hex(scalar.value, width: 2)
                } else if scalar.value < 0x10000 {
                    result += "\\u" + GoStringLiteral.hex(scalar.value, width: 4)
                } else {
                    result += "\\U" + GoStringLiteral.hex(scalar.value, width: 8)
                }
            }
        }
        return result + "\""
    }

    /// Decodes a double-quoted literal (quotes included) as Go's `strconv.Unquote`, or returns `nil`.
    ///
    /// Escapes: `\a \b \f \n \r \t \v \\ \"`, `\xNN`, `\NNN` (octal), `\uNNNN`, `\UNNNNNNNN`. Fails on an
    /// unescaped `"` or a newline inside, an unknown escape (including `\'`), a surrogate or out-of-range
    /// code point, and on `\x`/octal bytes above 0x7F (Go would produce a raw byte; Swift strings can't
    /// hold one), in which case the caller just strips the outer quotes.
    public static func unquote(_ literal: String) -> String? {
        let scalars = Array(literal.unicodeScalars)
        guard scalars.count >= 2, scalars.first == "\"", scalars.last == "\"" else { return nil }
        var result = String.UnicodeScalarView()
        var index = 1
        let end = scalars.count - 1
        while index < end {
            let scalar = scalars[index]
            if scalar == "\"" || scalar == "\n" { return nil }
            guard scalar == "\\" else {
                result.append(scalar)
                index += 1
                continue
            }
            guard index + 1 < end else { return nil }
            let escape = scalars[index + 1]
            index += 2
            switch escape {
            case "a": result.append("\u{07}")
            case "b": result.append("\u{08}")
            case "f": result.append("\u{0C}")
            case "n": result.append("\n")
            case "r": result.append("\r")
            case "t": result.append("\t")
            case "v": result.append("\u{0B}")
            case "\\": result.append("\\")
            case "\"": result.append("\"")
            case "x", "u", "U":
                let width = escape == "x" ? 2 : escape == "u" ? 4 : 8
                guard index + width <= end,
                    let code = GoStringLiteral.number(scalars[index..<(index + width)], radix: 16)
                else { return nil }
                index += width
                if escape == "x" && code > 0x7F { return nil }
                guard let decoded = Unicode.Scalar(code) else { return nil }
                result.append(decoded)
            case "0"..."7":
                guard index + 2 <= end, let code = GoStringLiteral.number(scalars[(index - 1)..<(index + 2)], radix: 8),
                    code <= 0x7F, let decoded = Unicode.Scalar(code)
                else { return nil }
                index += 2
                result.append(decoded)
            default:
                return nil
            }
        }
        return String(result)
    }

    private static func number(_ digits: ArraySlice<Unicode.Scalar>, radix: UInt32) -> UInt32? {
        var value: UInt32 = 0
        for scalar in digits {
            let digit: UInt32
            switch scalar {
            case "0"..."9": digit = scalar.value - 0x30
            case "a"..."f": digit = scalar.value - 0x61 + 10
            case "A"..."F": digit = scalar.value - 0x41 + 10
            default: return nil
            }
            guard digit < radix else { return nil }
            let (shifted, overflow) = value.multipliedReportingOverflow(by: radix)
            guard !overflow else { return nil }
            value = shifted + digit
        }
        return value
    }

    private static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    private static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " { return true }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .nonspacingMark, .spacingMark, .enclosingMark,
            .decimalNumber, .letterNumber, .otherNumber,
            .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation,
            .finalPunctuation, .otherPunctuation,
            .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }
}
