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

    /// The error as an anonymous workspace shows it. Row errors are kept with their URNs whole (the ledger
    /// holds them anyway), so that they show as the workspace is when asked, before, while and after it is
    /// anonymous: every URN the message quotes masked, in each of the forms an import's messages quote URNs
    /// (``ImportDecider``):
    /// `URN … already taken by another contact`, `Unable to find or create contact with URNs …, …`, and a
    /// URN column's cell in single quotes. A URN masked already (at a deletion) stays as it is.
    public func maskingEveryURN() -> ImportCellError {
        let forms: [(prefix: String, suffix: String)] = [
            ("URN ", " already taken by another contact"),
            ("Unable to find or create contact with URNs ", ""),
        ]
        for form in forms where self.message.hasPrefix(form.prefix) && self.message.hasSuffix(form.suffix) {
            let list = self.message.dropFirst(form.prefix.count).dropLast(form.suffix.count)
            guard list.count + form.prefix.count + form.suffix.count == self.message.count else { continue }
            return ImportCellError(row: self.row, column: self.column, message: form.prefix + Self.maskingList(list) + form.suffix)
        }
        // A URN column's other messages quote its cell first (`'tel:+250…' is not valid URN`), and their
        // fixed tails hold no quote and space: the last one closes the cell, whatever quotes it held.
        if self.column?.lowercased().hasPrefix("urn") == true, self.message.hasPrefix("'"),
            let close = self.message.range(of: "' ", options: .backwards)?.lowerBound, close > self.message.startIndex
        {
            let quoted = self.message[self.message.index(after: self.message.startIndex)..<close]
            return ImportCellError(row: self.row, column: self.column, message: "'" + Self.maskingList(quoted) + self.message[close...])
        }
        return self
    }

    /// The URNs of a list as the import writes one (joined by `, `), each masked. A URN's own text may hold
    /// `, ` (`twitter:jane doe, 555`, `mailto:a, b@x.example`): the list is cut only where a user scheme
    /// and its colon follow, so no part of a URN is taken for another and left whole.
    static func maskingList(_ list: Substring) -> String {
        var urns: [Substring] = []
        var start = list.startIndex
        var search = list.startIndex
        while let comma = list[search...].range(of: ", ") {
            let rest = list[comma.upperBound...]
            if let colon = rest.firstIndex(of: ":"), URNScheme(rawValue: String(rest[..<colon]).lowercased()).map({ !$0.isInternal }) == true {
                urns.append(list[start..<comma.lowerBound])
                start = comma.upperBound
            }
            search = comma.upperBound
        }
        urns.append(list[start...])
        return urns.map { URN.masked(text: String($0)) }.joined(separator: ", ")
    }
}
