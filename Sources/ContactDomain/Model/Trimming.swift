// ContactLedger — contact domain.

extension String {
    /// The text without Unicode white space (the `White_Space` property, newlines included) at either end,
    /// as Go's `strings.TrimSpace` trims, which the reference uses for names, values and URNs.
    ///
    /// Not Foundation's `.whitespacesAndNewlines`: it also trims a zero-width space (U+200B), which is no
    /// white space, so a group name starting with one was refused as surrounding white space while one
    /// starting with U+FEFF was not. One trim for every text: URNs, locations and values had three.
    public func trimmingWhitespaceAndNewlines() -> String {
        // Printable ASCII at both ends (most values): nothing to trim.
        if let first = self.utf8.first, let last = self.utf8.last, first > 0x20, first < 0x7F, last > 0x20, last < 0x7F {
            return self
        }
        let scalars = self.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
