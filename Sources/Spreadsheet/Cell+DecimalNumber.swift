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
}
