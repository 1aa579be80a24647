// ContactLedger — JSON text.

extension String {
    /// The length of the text in Unicode code points: what JSON Schema's `maxLength` counts, and what the
    /// reference implementations' limits count (Go runes, Python `len`).
    ///
    /// Not `count`: Swift counts grapheme clusters, so a flag, a letter with a combining accent or a
    /// CRLF pair counts as one character there, and limits measured that way let text past the
    /// documented lengths.
    public var codePointCount: Int { self.unicodeScalars.count }

    /// Whether `other` is this text code point for code point, as the reference implementations compare
    /// text. Not `==`: Swift compares by canonical equivalence, so a precomposed é equals e and a combining
    /// accent, and a change from one form to the other was taken for no change.
    public func isCodePointEqual(to other: String) -> Bool { self.unicodeScalars.elementsEqual(other.unicodeScalars) }

    /// The text cut to at most `limit` code points (see ``codePointCount``).
    public func prefix(codePoints limit: Int) -> String {
        guard self.unicodeScalars.count > limit else { return self }
        return String(String.UnicodeScalarView(self.unicodeScalars.prefix(limit)))
    }
}
