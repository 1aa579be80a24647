// ContactLedger — spreadsheets.
import Foundation

extension Cell {
    /// The number `text` writes in decimal, or nil when it writes none: an optional sign, digits with an
    /// optional fraction (`12`, `-2.5`, `.5`, `7.`), an optional exponent (`1E+16`), the form a number cell's
    /// `<v>` holds (`xsd:double`'s, without its `INF` and `NaN`).
    ///
    /// Nil for anything else, and for a number a double cannot hold: `NaN`, `inf`, `0x10` (Swift's
    /// `Double(String)` also reads hexadecimal, `nan` and `inf`), `45063,5`, `1e309` (infinite) and `1e-400`
    /// (which would read as 0). No white space is taken: the caller trims.
    public static func decimalNumber(_ text: String) -> Double? {
        let isDigit = { (byte: UInt8) in byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        let bytes = text.utf8
        var index = bytes.startIndex
        /// Skips a run of digits; how many there were, and whether one was not zero.
        func digits() -> (count: Int, nonZero: Bool) {
            var count = 0
            var nonZero = false
            while index < bytes.endIndex, isDigit(bytes[index]) {
                nonZero = nonZero || bytes[index] != UInt8(ascii: "0")
                count += 1
                index = bytes.index(after: index)
            }
            return (count, nonZero)
        }
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            index = bytes.index(after: index)
        }
        var mantissa = digits()
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: ".") {
            index = bytes.index(after: index)
            let fraction = digits()
            mantissa = (mantissa.count + fraction.count, mantissa.nonZero || fraction.nonZero)
        }
        guard mantissa.count > 0 else { return nil }
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index = bytes.index(after: index)
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index = bytes.index(after: index)
            }
            guard digits().count > 0 else { return nil }
        }
        guard index == bytes.endIndex, let number = Double(text), number.isFinite, number != 0 || !mantissa.nonZero else {
            return nil
        }
        return number
    }

    /// The most significant digits a whole number may have and still be read exactly as a `Double`.
    static let exactWholeDigits = 15

    /// `text`'s digits when it writes a whole number (an optional sign, then digits only) longer than a
    /// double holds exactly (over ``exactWholeDigits`` significant digits), without the `+` and the leading
    /// zeros, as Python's `int` reads it (openpyxl, hence RapidPro); nil for anything else.
    ///
    /// A spreadsheet program rounds such a number to 15–17 digits when it saves it, but generators that
    /// write 64-bit integers as numbers (SIM ICCIDs, national ids, external ids) do not: read as a
    /// `Double`, `8925012345678901234` became `8925012345678901000`, another URN or value without a word.
    public static func longWholeNumber(_ text: String) -> String? {
        var digits = Substring(text)
        var sign = ""
        if let first = digits.first, first == "+" || first == "-" {
            sign = first == "-" ? "-" : ""
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        let significant = digits.drop(while: { $0 == "0" })
        guard significant.count > Self.exactWholeDigits else { return nil }
        return sign + significant
    }
}
