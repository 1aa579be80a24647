// ContactLedger — spreadsheets.

/// Keeps spreadsheet programs from running CSV values as formulas (CSV injection, CWE-1236).
///
/// Excel and LibreOffice read a CSV field starting with `=`, `+`, `-`, `@`, a tab or a carriage return
/// as a formula, so a contact named `=HYPERLINK(…)` would run when the file is opened. Such a value is
/// written with a single quote in front (OWASP's advice), unless it is a plain number (`-5`, `+2507…`,
/// `-0.5`), which a program reads as that number and runs nothing. A value whose leading quotes are
/// followed by one of those characters (`'=x`, `''-5`) gets one more quote, so that reading, which removes
/// one quote from such a value, gives every value back as it was. XLSX needs none of this: its cells are
/// typed strings.
enum CSVFormulaGuard {
    /// The first characters that make a spreadsheet program read a field as a formula.
    static let formulaStarts: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r"]

    /// `text` as written to a CSV file: with a quote in front when a program would run it, or when it
    /// would otherwise lose a quote when read back.
    static func guarded(_ text: String) -> String {
        guard let first = text.unicodeScalars.first else { return text }
        if Self.formulaStarts.contains(first) { return Self.isPlainNumber(text) ? text : "'" + text }
        return Self.isGuarded(text) ? "'" + text : text
    }

    /// A field read from a CSV file, with the quote ``guarded(_:)`` put in front removed.
    static func unguarded(_ text: String) -> String {
        guard Self.isGuarded(text) else { return text }
        return String(text.unicodeScalars.dropFirst())
    }

    /// Whether `text` starts with one or more quotes followed by a character that starts a formula.
    private static func isGuarded(_ text: String) -> Bool {
        let scalars = text.unicodeScalars
        guard scalars.first == "'", let next = scalars.first(where: { $0 != "'" }) else { return false }
        return Self.formulaStarts.contains(next)
    }

    /// Whether `text` is a signed decimal number and nothing else: a sign, digits with at most one
    /// point, at least one digit (`-5`, `+250788123123`, `-.5`); no spaces, exponent or separators.
    private static func isPlainNumber(_ text: String) -> Bool {
        var digits = 0
        var points = 0
        for (index, scalar) in text.unicodeScalars.enumerated() {
            switch scalar {
            case "+" where index == 0, "-" where index == 0: continue
            case "0"..."9": digits += 1
            case ".": points += 1
            default: return false
            }
        }
        return digits > 0 && points <= 1
    }
}
