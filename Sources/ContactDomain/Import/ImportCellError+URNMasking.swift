// ContactLedger — domain model.

extension ImportCellError {
    /// The error with every URN of `identities` it quotes masked (``URN/masked(text:)``, e.g.
    /// `tel:********`), as an anonymous workspace shows it: a deleted contact's URNs must not outlive
    /// it in an import's row errors. Row, column and the rest of the message stay.
    public func maskingURNs(_ identities: Set<String>) -> ImportCellError {
        ImportCellError(row: self.row, column: self.column, message: Self.maskingURNs(identities, in: self.message))
    }

    /// `message` with the URNs of `identities` masked. Messages quote a URN as a word of its own, bare
    /// (`URN tel:+250… already taken`) or in single quotes; only whole words are compared, so masking
    /// `tel:+2507` leaves `tel:+25078` whole rather than masking part of another contact's URN.
    public static func maskingURNs(_ identities: Set<String>, in message: String) -> String {
        guard !identities.isEmpty else { return message }
        var changed = false
        let words = message.split(separator: " ", omittingEmptySubsequences: false).map { word -> Substring in
            if identities.contains(String(word)) {
                changed = true
                return Substring(URN.masked(text: String(word)))
            }
            if word.count > 2, word.hasPrefix("'"), word.hasSuffix("'"), identities.contains(String(word.dropFirst().dropLast())) {
                changed = true
                return Substring("'" + URN.masked(text: String(word.dropFirst().dropLast())) + "'")
            }
            return word
        }
        return changed ? words.joined(separator: " ") : message
    }
}
