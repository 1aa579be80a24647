// ContactLedger — contact domain.

/// Splits query text into tokens as goflow's ANTLR lexer (`antlr/ContactQL.g4`) does.
///
/// At each position the longest match wins; on a tie the rule listed first does (parentheses, `AND`,
/// `OR`, comparators, string, property, text): so `and`, `or`, `is`, `has` on their own are keywords,
/// `android` is a property and `a.b.c` is text. Spaces, tabs, CR and LF separate tokens; any other
/// character that starts no token is an `error` token of one character (reported by the parser).
struct QueryLexer {
    /// The kinds of token of the grammar.
    enum Kind: Sendable, Hashable {
        case leftParen, rightParen, and, or, comparator, string, property, text, error, eof

        /// The name ANTLR uses in "expecting {…}" messages.
        var grammarName: String {
            switch self {
            case .leftParen: "'('"
            case .rightParen: "')'"
            case .and: "AND"
            case .or: "OR"
            case .comparator: "COMPARATOR"
            case .string: "STRING"
            case .property: "PROPERTY"
            case .text: "TEXT"
            case .error: "ERROR"
            case .eof: "<EOF>"
            }
        }
    }

    /// A token with its text and where it is in the original query.
    struct Token: Sendable, Hashable {
        var kind: Kind
        var text: String
        var span: QuerySpan

        /// The token as ANTLR quotes it in messages: its text, or `<EOF>`.
        var display: String {
            if self.kind == .eof { return "<EOF>" }
            return self.text.replacingControlEscapes()
        }
    }

    /// Tokenizes `scalars`, whose first element is at `offset` in the original text; ends with `eof`.
    static func tokenize(_ scalars: [Unicode.Scalar], offset: Int) -> [Token] {
        var tokens: [Token] = []
        var index = 0
        func emit(_ kind: Kind, _ length: Int) {
            let text = String(String.UnicodeScalarView(scalars[index..<(index + length)]))
            tokens.append(Token(kind: kind, text: text, span: QuerySpan(position: offset + index, length: length)))
            index += length
        }
        while index < scalars.count {
            let scalar = scalars[index]
            let next: Unicode.Scalar? = index + 1 < scalars.count ? scalars[index + 1] : nil
            switch scalar {
            case _ where scalar.isQuerySeparator:
                index += 1
            case "(":
                emit(.leftParen, 1)
            case ")":
                emit(.rightParen, 1)
            case "!":
                emit(next == "=" ? .comparator : .error, next == "=" ? 2 : 1)
            case ">", "<":
                emit(.comparator, next == "=" ? 2 : 1)
            case "=", "~":
                emit(.comparator, 1)
            case "\"":
                if let length = QueryLexer.stringLength(scalars, from: index) {
                    emit(.string, length)
                } else {
                    emit(.error, 1)
                }
            case _ where scalar.isTextCharacter:
                let (kind, length) = QueryLexer.word(scalars, from: index)
                emit(kind, length)
            default:
                emit(.error, 1)
            }
        }
        tokens.append(Token(kind: .eof, text: "", span: QuerySpan(position: offset + scalars.count, length: 0)))
        return tokens
    }

    /// The length of `STRING: '"' (~["] | '\\"')* '"'` at `start` under longest match, or `nil`.
    ///
    /// An unescaped `"` ends the string; `\"` may either end it (the backslash being an ordinary
    /// character) or continue it, so when no later quote closes it the last `\"` does.
    private static func stringLength(_ scalars: [Unicode.Scalar], from start: Int) -> Int? {
        var index = start + 1
        var fallbackEnd: Int?
        while index < scalars.count {
            if scalars[index] == "\"" { return index + 1 - start }
            if scalars[index] == "\\", index + 1 < scalars.count, scalars[index + 1] == "\"" {
                fallbackEnd = index + 2
                index += 2
                continue
            }
            index += 1
        }
        return fallbackEnd.map { $0 - start }
    }

    /// The kind and length of the keyword, property or text token starting at `start`.
    private static func word(_ scalars: [Unicode.Scalar], from start: Int) -> (Kind, Int) {
        var textEnd = start
        while textEnd < scalars.count && scalars[textEnd].isTextCharacter { textEnd += 1 }
        let textLength = textEnd - start

        // PROPERTY: (letters '.')? (letter | digit | '_')+
        var keyEnd = start
        while keyEnd < scalars.count && scalars[keyEnd].isPropertyKeyCharacter { keyEnd += 1 }
        var propertyLength = keyEnd - start
        var typeEnd = start
        while typeEnd < scalars.count && scalars[typeEnd].isQueryLetter { typeEnd += 1 }
        if typeEnd > start, typeEnd + 1 < scalars.count, scalars[typeEnd] == ".",
            scalars[typeEnd + 1].isPropertyKeyCharacter
        {
            var qualifiedEnd = typeEnd + 1
            while qualifiedEnd < scalars.count && scalars[qualifiedEnd].isPropertyKeyCharacter { qualifiedEnd += 1 }
            propertyLength = max(propertyLength, qualifiedEnd - start)
        }

        let word = String(String.UnicodeScalarView(scalars[start..<textEnd])).lowercased()
        switch word {
        case "and": return (.and, textLength)
        case "or": return (.or, textLength)
        case "is", "has": return (.comparator, textLength)
        default: break
        }
        return propertyLength == textLength ? (.property, textLength) : (.text, textLength)
    }
}

extension String {
    /// The text with CR, LF and tab written as `\r`, `\n`, `\t`, as ANTLR shows token text.
    fileprivate func replacingControlEscapes() -> String {
        var result = ""
        for scalar in self.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
