// ContactLedger — contact domain.

import Foundation

/// Builds the syntax tree of a query from its tokens (goflow `ContactQL.g4` + `parse/visitor.go`).
///
/// Grammar, lowest precedence first: `or := and (OR and)*`, `and := primary ((AND)? primary)*`,
/// `primary := '(' or ')' | PROPERTY COMPARATOR literal | literal`, `literal := STRING | PROPERTY | TEXT`.
/// Explicit and implicit AND bind tighter than OR; both are left-associative. Recursion depth is bounded by
/// the bracket-nesting limit checked before parsing. The result is not yet validated against the
/// workspace (see ``QueryValidator``).
struct QueryParser {
    /// A property as written, resolved as far as the text allows (behaviour reference §5.3).
    enum RawProperty: Sendable, Hashable {
        case attribute(QueryAttribute)
        case scheme(String)
        case field(String)
        /// `type.key` whose type is neither `fields` nor `urns`.
        case unknownType(String)
    }

    /// A condition before validation.
    struct RawCondition: Sendable, Hashable {
        var property: RawProperty
        /// The lowercased key, as error messages name it.
        var key: String
        var comparator: QueryComparator
        var value: String
        var isImplicit: Bool
        var propertySpan: QuerySpan
        var comparatorSpan: QuerySpan
        var valueSpan: QuerySpan

        var span: QuerySpan { self.propertySpan.union(self.valueSpan) }
    }

    /// A syntax tree node before validation, flattened like ``QueryNode``.
    indirect enum RawNode: Sendable, Hashable {
        case condition(RawCondition)
        case and([RawNode])
        case or([RawNode])

        func forEachCondition(_ body: (RawCondition) -> Void) {
            switch self {
            case .condition(let condition): body(condition)
            case .and(let children), .or(let children):
                for child in children { child.forEachCondition(body) }
            }
        }
    }

    private let tokens: [QueryLexer.Token]
    private let isAnonymous: Bool
    private var index = 0

    private static let primaryStart: Set<QueryLexer.Kind> = [.leftParen, .string, .property, .text]
    private static let literalKinds: Set<QueryLexer.Kind> = [.string, .property, .text]

    init(tokens: [QueryLexer.Token], isAnonymous: Bool) {
        self.tokens = tokens
        self.isAnonymous = isAnonymous
    }

    /// Parses the whole token stream.
    ///
    /// - Throws: ``QueryError`` with code `syntax` at the first token that doesn't fit the grammar.
    mutating func parse() throws(QueryError) -> RawNode {
        let root = try self.parseOr()
        guard self.current.kind == .eof else {
            throw self.unexpected(expected: [.eof], described: "<EOF>")
        }
        return root
    }

    private var current: QueryLexer.Token { self.tokens[min(self.index, self.tokens.count - 1)] }
    private var following: QueryLexer.Token { self.tokens[min(self.index + 1, self.tokens.count - 1)] }

    private mutating func advance() -> QueryLexer.Token {
        let token = self.current
        self.index = min(self.index + 1, self.tokens.count - 1)
        return token
    }

    private mutating func parseOr() throws(QueryError) -> RawNode {
        var node = try self.parseAnd()
        while self.current.kind == .or {
            _ = self.advance()
            let rhs = try self.parseAnd()
            node = .or(QueryParser.children(of: node, or: true) + QueryParser.children(of: rhs, or: true))
        }
        return node
    }

    private mutating func parseAnd() throws(QueryError) -> RawNode {
        var node = try self.parsePrimary()
        while true {
            if self.current.kind == .and {
                _ = self.advance()
            } else if !QueryParser.primaryStart.contains(self.current.kind) {
                break
            }
            let rhs = try self.parsePrimary()
            node = .and(QueryParser.children(of: node, or: false) + QueryParser.children(of: rhs, or: false))
        }
        return node
    }

    private mutating func parsePrimary() throws(QueryError) -> RawNode {
        let token = self.current
        switch token.kind {
        case .leftParen:
            _ = self.advance()
            let inner = try self.parseOr()
            guard self.current.kind == .rightParen else {
                if self.current.kind == .eof {
                    throw QueryError.syntax("missing ')' at '<EOF>'", at: self.current.span)
                }
                throw self.unexpected(
                    expected: [.leftParen, .rightParen, .and, .or, .string, .property, .text],
                    described: "{'(', ')', AND, OR, STRING, PROPERTY, TEXT}"
                )
            }
            _ = self.advance()
            return inner
        case .property where self.following.kind == .comparator:
            let property = self.advance()
            let comparatorToken = self.advance()
            guard QueryParser.literalKinds.contains(self.current.kind) else {
                throw self.unexpected(expected: QueryParser.literalKinds, described: "{STRING, PROPERTY, TEXT}")
            }
            let literal = self.advance()
            guard let comparator = QueryComparator(token: comparatorToken.text) else {
                throw QueryError.syntax(
                    "token recognition error at: '\(comparatorToken.display)'",
                    at: comparatorToken.span
                )
            }
            return .condition(
                QueryParser.condition(
                    property: property,
                    comparator: comparator,
                    comparatorSpan: comparatorToken.span,
                    literal: literal
                )
            )
        case .string, .property, .text:
            let literal = self.advance()
            return .condition(QueryParser.implicitCondition(literal: literal, isAnonymous: self.isAnonymous))
        default:
            throw self.unexpected(expected: QueryParser.primaryStart, described: "{'(', STRING, PROPERTY, TEXT}")
        }
    }

    /// ANTLR's two reports: "extraneous input" when deleting the current token would let parsing go on,
    /// else "mismatched input".
    private func unexpected(expected: Set<QueryLexer.Kind>, described: String) -> QueryError {
        let token = self.current
        if token.kind != .eof && expected.contains(self.following.kind) {
            return QueryError.syntax("extraneous input '\(token.display)' expecting \(described)", at: token.span)
        }
        return QueryError.syntax("mismatched input '\(token.display)' expecting \(described)", at: token.span)
    }

    private static func children(of node: RawNode, or: Bool) -> [RawNode] {
        switch node {
        case .and(let children) where !or: children
        case .or(let children) where or: children
        default: [node]
        }
    }

    /// The value of a literal token: strings are unquoted as Go's `strconv.Unquote`, or just stripped of
    /// their outer quotes when that fails.
    static func literalValue(_ token: QueryLexer.Token) -> String {
        guard token.kind == .string else { return token.text }
        if let decoded = GoStringLiteral.unquote(token.text) { return decoded }
        let scalars = token.text.unicodeScalars
        return String(String.UnicodeScalarView(scalars.dropFirst().dropLast()))
    }

    private static func condition(
        property: QueryLexer.Token,
        comparator: QueryComparator,
        comparatorSpan: QuerySpan,
        literal: QueryLexer.Token
    ) -> RawCondition {
        let text = property.text.lowercased()
        let rawProperty: RawProperty
        let key: String
        if let dot = text.firstIndex(of: ".") {
            let type = String(text[..<dot])
            key = String(text[text.index(after: dot)...])
            switch type {
            case "fields": rawProperty = .field(key)
            case "urns": rawProperty = .scheme(key)
            default: rawProperty = .unknownType(type)
            }
        } else if let attribute = QueryAttribute(rawValue: text) {
            key = text
            rawProperty = .attribute(attribute)
        } else if QueryProperty.knownSchemes.contains(text) {
            key = text
            rawProperty = .scheme(text)
        } else {
            key = text
            rawProperty = .field(text)
        }
        return RawCondition(
            property: rawProperty,
            key: key,
            comparator: comparator,
            value: QueryParser.literalValue(literal),
            isImplicit: false,
            propertySpan: property.span,
            comparatorSpan: comparatorSpan,
            valueSpan: literal.span
        )
    }

    /// Interprets a bare value (goflow `NewImplicitCondition`, behaviour reference §5.6): a ref when URNs
    /// are redacted, else a `scheme:path` URN, else a phone-like value as `tel ~ digits`, else a name search.
    static func implicitCondition(literal: QueryLexer.Token, isAnonymous: Bool) -> RawCondition {
        let value = QueryParser.literalValue(literal)
        func make(
            _ property: RawProperty,
            _ key: String,
            _ comparator: QueryComparator,
            _ value: String
        ) -> RawCondition {
            RawCondition(
                property: property,
                key: key,
                comparator: comparator,
                value: value,
                isImplicit: true,
                propertySpan: literal.span,
                comparatorSpan: literal.span,
                valueSpan: literal.span
            )
        }
        if isAnonymous {
            if QueryParser.looksLikeRef(value) {
                return make(.attribute(.ref), "ref", .equal, value)
            }
        } else if let (scheme, path) = QueryParser.structuralURN(value) {
            return make(.scheme(scheme), scheme, .equal, path)
        } else if QueryParser.looksLikePhoneFragment(value) {
            let digits = String(String.UnicodeScalarView(value.unicodeScalars.filter { $0 == "+" || $0.isASCIIDigit }))
            return make(.scheme("tel"), "tel", .contains, digits)
        }
        let comparator: QueryComparator = QueryNameTokenizer.tokens(in: value).isEmpty ? .equal : .contains
        return make(.attribute(.name), "name", comparator, value)
    }

    /// 6 or 7 characters of the ref alphabet `ABCDEFGHJKLMNPQRSTUVWXYZ23456789`, any case (goflow `WasID`).
    static func looksLikeRef(_ value: String) -> Bool {
        let alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789".unicodeScalars
        let scalars = value.uppercased().unicodeScalars
        return (scalars.count == 6 || scalars.count == 7) && scalars.allSatisfy { alphabet.contains($0) }
    }

    /// `^\+?[-\d]{4,}$` with ASCII digits.
    private static func looksLikePhoneFragment(_ value: String) -> Bool {
        var scalars = Substring(value).unicodeScalars
        if scalars.first == "+" { scalars.removeFirst() }
        return scalars.count >= 4 && scalars.allSatisfy { $0 == "-" || $0.isASCIIDigit }
    }

    /// Splits `scheme:path[?query][#display]` as gocommon's structural URN parser does (no validation of
    /// the scheme or path), returning the lowercased scheme and the unescaped path. The scheme must also be
    /// a property key (letters, digits, `_`) so the condition can be written back as `urns.<scheme>`.
    static func structuralURN(_ value: String) -> (scheme: String, path: String)? {
        enum State { case scheme, path, query, fragment }
        var state = State.scheme
        var scheme = String.UnicodeScalarView()
        var path = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            switch scalar {
            case ":" where state == .scheme:
                state = .path
                continue
            case "?":
                guard state == .path else { return nil }
                state = .query
                continue
            case "#":
                guard state == .path || state == .query else { return nil }
                state = .fragment
                continue
            default:
                break
            }
            switch state {
            case .scheme: scheme.append(scalar)
            case .path: path.append(scalar)
            case .query, .fragment: break
            }
        }
        guard !scheme.isEmpty, !path.isEmpty, scheme.allSatisfy(\.isPropertyKeyCharacter) else { return nil }
        let unescaped = String(path)
            .replacingOccurrences(of: "%23", with: "#")
            .replacingOccurrences(of: "%3F", with: "?")
            .replacingOccurrences(of: "%25", with: "%")
        return (String(scheme).lowercased(), unescaped)
    }
}
