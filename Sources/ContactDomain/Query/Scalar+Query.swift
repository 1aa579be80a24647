// ContactLedger — contact domain.

extension Unicode.Scalar {
    /// A Unicode letter (categories L*) or a combining mark following one (M*), as the lexer reads letters.
    var isQueryLetter: Bool {
        switch self.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .nonspacingMark, .spacingMark, .enclosingMark:
            true
        default:
            false
        }
    }

    /// A Unicode decimal digit (category Nd).
    var isQueryDigit: Bool { self.properties.generalCategory == .decimalNumber }

    /// A character that may appear in a property key: letter, digit or `_`.
    var isPropertyKeyCharacter: Bool { self.isQueryLetter || self.isQueryDigit || self == "_" }

    /// A character that may appear in an unquoted value: letter, digit or one of `_ . - + / ' @ :`.
    var isTextCharacter: Bool { self.isPropertyKeyCharacter || "._-+/'@:".unicodeScalars.contains(self) }

    /// Whitespace the lexer skips between tokens.
    var isQuerySeparator: Bool { self == " " || self == "\t" || self == "\n" || self == "\r" }

    /// `[0-9]`.
    var isASCIIDigit: Bool { self.value >= 0x30 && self.value <= 0x39 }

    /// The value of an ASCII digit.
    var asciiDigitValue: Int? { self.isASCIIDigit ? Int(self.value - 0x30) : nil }

    /// `[0-9A-Za-z_]`, the word characters of Go's `\b`.
    var isASCIIWordCharacter: Bool {
        self.isASCIIDigit || (self.value >= 0x41 && self.value <= 0x5A) || (self.value >= 0x61 && self.value <= 0x7A)
            || self == "_"
    }
}

extension String.UnicodeScalarView {
    /// The scalars without leading and trailing Unicode whitespace (Go's `strings.TrimSpace`).
    func trimmingQueryWhitespace() -> Substring.UnicodeScalarView {
        var view = self[...]
        while let first = view.first, first.properties.isWhitespace { view.removeFirst() }
        while let last = view.last, last.properties.isWhitespace { view.removeLast() }
        return view
    }
}
