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

    /// Whether `other` occurs in this text code point for code point (see ``isCodePointEqual(to:)``).
    public func containsCodePoints(of other: String) -> Bool {
        Array(self.unicodeScalars).firstRange(of: Array(other.unicodeScalars)) != nil
    }

    /// Whether this text starts with `prefix` code point for code point (see ``isCodePointEqual(to:)``).
    public func hasCodePointPrefix(_ prefix: String) -> Bool { self.unicodeScalars.starts(with: prefix.unicodeScalars) }

    /// The text with each code point lowercased by its simple mapping, as the reference implementations
    /// lowercase (Go's `strings.ToLower`). Not `lowercased()` alone: Swift applies the full mapping, which
    /// turns a Turkish capital İ into i and a combining dot, so `İzmir` never matched `izmir`. İ is the one
    /// code point whose full lowercase mapping is not its simple one.
    public func simpleLowercased() -> String {
        guard self.unicodeScalars.contains("\u{130}") else { return self.lowercased() }
        return String(String.UnicodeScalarView(self.unicodeScalars.map { $0 == "\u{130}" ? "i" : $0 })).lowercased()
    }

    /// The text cut to at most `limit` code points (see ``codePointCount``).
    public func prefix(codePoints limit: Int) -> String {
        guard self.unicodeScalars.count > limit else { return self }
        return String(String.UnicodeScalarView(self.unicodeScalars.prefix(limit)))
    }
}
