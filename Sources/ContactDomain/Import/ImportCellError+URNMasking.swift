// ContactLedger — domain model.
import Foundation

extension ImportCellError {
    /// The error with every URN of `identities` it quotes masked (``URN/masked(text:)``, e.g.
    /// `tel:********`), as an anonymous workspace shows it: a deleted contact's URNs must not outlive
    /// it in an import's row errors. Row, column and the rest of the message stay.
    public func maskingURNs(_ identities: Set<String>) -> ImportCellError {
        ImportCellError(row: self.row, column: self.column, message: Self.maskingURNs(identities, in: self.message))
    }

    /// `message` with the URNs of `identities` masked. Messages quote a URN as a word of its own, bare
    /// (`URN tel:+250… already taken`), in a list (`with URNs tel:+250…, tel:+251…`) or in single quotes;
    /// only whole words are compared, so masking `tel:+2507` leaves `tel:+25078` whole rather than
    /// masking part of another contact's URN.
    public static func maskingURNs(_ identities: Set<String>, in message: String) -> String {
        guard !identities.isEmpty else { return message }
        var changed = false
        let words = message.split(separator: " ", omittingEmptySubsequences: false).map { word -> Substring in
            if identities.contains(String(word)) {
                changed = true
                return Substring(URN.masked(text: String(word)))
            }
            if word.count > 1, word.hasSuffix(","), identities.contains(String(word.dropLast())) {
                changed = true
                return Substring(URN.masked(text: String(word.dropLast())) + ",")
            }
            if word.count > 2, word.hasPrefix("'"), word.hasSuffix("'"), identities.contains(String(word.dropFirst().dropLast())) {
                changed = true
                return Substring("'" + URN.masked(text: String(word.dropFirst().dropLast())) + "'")
            }
            return word
        }
        return changed ? words.joined(separator: " ") : message
    }

    /// The error as an anonymous workspace shows it, kept from before the workspace became one: every URN
    /// its message quotes masked, in each of the forms an import's messages quote URNs (``ImportDecider``):
    /// `URN … already taken by another contact`, `Unable to find or create contact with URNs …, …`, and a
    /// URN column's cell in single quotes. Errors made while the workspace was anonymous are masked
    /// already; masking them again changes nothing.
    public func maskingEveryURN() -> ImportCellError {
        let forms: [(prefix: String, suffix: String)] = [
            ("URN ", " already taken by another contact"),
            ("Unable to find or create contact with URNs ", ""),
        ]
        for form in forms where self.message.hasPrefix(form.prefix) && self.message.hasSuffix(form.suffix) {
            let list = self.message.dropFirst(form.prefix.count).dropLast(form.suffix.count)
            guard list.count + form.prefix.count + form.suffix.count == self.message.count else { continue }
            let masked = list.components(separatedBy: ", ").map { URN.masked(text: $0) }.joined(separator: ", ")
            return ImportCellError(row: self.row, column: self.column, message: form.prefix + masked + form.suffix)
        }
        // A URN column's other messages quote its cell first (`'tel:+250…' is not valid URN`), and their
        // fixed tails hold no quote and space: the last one closes the cell, whatever quotes it held.
        if self.column?.lowercased().hasPrefix("urn") == true, self.message.hasPrefix("'"),
            let close = self.message.range(of: "' ", options: .backwards)?.lowerBound, close > self.message.startIndex
        {
            let quoted = String(self.message[self.message.index(after: self.message.startIndex)..<close])
            let masked = quoted.components(separatedBy: ", ").map { URN.masked(text: $0) }.joined(separator: ", ")
            return ImportCellError(row: self.row, column: self.column, message: "'" + masked + self.message[close...])
        }
        return self
    }
}
