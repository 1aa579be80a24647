// ContactLedger — spreadsheets.

/// The `_xHHHH_` escape of OOXML strings (ECMA-376 `ST_Xstring`): a character XML 1.0 cannot hold, such
/// as a control character, is written as its code in hex between `_x` and `_`, and an underscore that
/// would start such a sequence is itself written `_x005F_`. Excel and openpyxl read and write it; without
/// it a name holding `\u{1}` lost the character in an export, and re-importing the file changed it.
enum XStringEscape {
    /// Whether XML 1.0 can hold `scalar` as a character.
    static func isXMLCharacter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x9, 0xA, 0xD: true
        case 0..<0x20, 0xFFFE, 0xFFFF: false
        default: true
        }
    }

    /// `text` with every character XML cannot hold, and every underscore starting what reads as an
    /// escape, escaped; the result still needs markup escaping.
    static func encode(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { !Self.isXMLCharacter($0) || $0 == "_" }) else { return text }
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        for (index, scalar) in scalars.enumerated() {
            if !Self.isXMLCharacter(scalar) || (scalar == "_" && Self.escapedValue(scalars, at: index) != nil) {
                out.append(contentsOf: Self.escaped(scalar.value).unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// `text` with its escapes replaced by the characters they stand for.
    static func decode(_ text: String) -> String {
        guard text.contains("_x") else { return text }
        let scalars = Array(text.unicodeScalars)
        var out = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            if let value = Self.escapedValue(scalars, at: index), let scalar = Unicode.Scalar(value) {
                out.append(scalar)
                index += 7
            } else {
                out.append(scalars[index])
                index += 1
            }
        }
        return String(out)
    }

    private static func escaped(_ value: UInt32) -> String {
        let hex = String(value, radix: 16, uppercase: true)
        return "_x" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex + "_"
    }

    /// The code of the escape `_xHHHH_` starting at `index`, if one does.
    private static func escapedValue(_ scalars: [Unicode.Scalar], at index: Int) -> UInt32? {
        guard index + 6 < scalars.count, scalars[index] == "_", scalars[index + 1] == "x", scalars[index + 6] == "_" else { return nil }
        var value: UInt32 = 0
        for scalar in scalars[(index + 2)..<(index + 6)] {
            guard let digit = Int(String(scalar), radix: 16) else { return nil }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}
