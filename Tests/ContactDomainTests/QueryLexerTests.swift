// ContactLedger — contact domain.

import Testing

@testable import ContactDomain

@Suite("Query lexer")
struct QueryLexerTests {
    private func kinds(_ text: String) -> [String] {
        QueryLexer.tokenize(Array(text.unicodeScalars), offset: 0).map { "\($0.kind):\($0.text)" }
    }

    static let cases: [(String, [String])] = [
        ("name = bob", ["property:name", "comparator:=", "property:bob", "eof:"]),
        ("AND and Or has IS", ["and:AND", "and:and", "or:Or", "comparator:has", "comparator:IS", "eof:"]),
        (
            "android order hasty island",
            ["property:android", "property:order", "property:hasty", "property:island", "eof:"]
        ),
        (
            "fields.age urns.tel a.b.c name.",
            ["property:fields.age", "property:urns.tel", "text:a.b.c", "text:name.", "eof:"]
        ),
        (
            "27-01-2020 user@example.com O'Shea +250788 tel:+1",
            [
                "text:27-01-2020", "text:user@example.com", "text:O'Shea", "text:+250788", "text:tel:+1", "eof:",
            ]
        ),
        (
            "a!=b c>=1 d<=2 e>3 f<4 g~h",
            [
                "property:a", "comparator:!=", "property:b", "property:c", "comparator:>=", "property:1", "property:d",
                "comparator:<=", "property:2", "property:e", "comparator:>", "property:3", "property:f", "comparator:<",
                "property:4", "property:g", "comparator:~", "property:h", "eof:",
            ]
        ),
        (#"("a b") "x\"y" "#, ["leftParen:(", #"string:"a b""#, "rightParen:)", #"string:"x\"y""#, "eof:"]),
        (#""unterminated \" tail"#, [#"string:"unterminated \""#, "property:tail", "eof:"]),
        (#""open"#, [#"error:""#, "property:open", "eof:"]),
        ("$ ! ; 👍", ["error:$", "error:!", "error:;", "error:👍", "eof:"]),
        ("名前 = Ñandú_2", ["property:名前", "comparator:=", "property:Ñandú_2", "eof:"]),
    ]

    @Test("tokens", arguments: QueryLexerTests.cases)
    func tokens(text: String, expected: [String]) {
        #expect(self.kinds(text) == expected)
    }

    @Test("token spans count Unicode scalars from the offset")
    func spans() {
        let tokens = QueryLexer.tokenize(Array("日本 = x".unicodeScalars), offset: 3)
        #expect(
            tokens.map(\.span) == [
                QuerySpan(position: 3, length: 2), QuerySpan(position: 6, length: 1), QuerySpan(position: 8, length: 1),
                QuerySpan(position: 9, length: 0),
            ]
        )
    }
}
