// ContactLedger — contact domain.

import ContactDomain
import Foundation
import Testing

@Suite("Query values: typed readings, numbers, dates, names, quoting")
struct QueryValueTests {
    static let typedCases: [(String, QueryValue)] = [
        ("age = 18", .number(18)),
        ("age != -2.5", .number(Decimal(string: "-2.5") ?? 0)),
        ("tickets > .5", .number(Decimal(string: "0.5") ?? 0)),
        ("status = ACTIVE", .status(.active)),
        ("status != Archived", .status(.archived)),
        ("language = ENG", .language("eng")),
        ("group = u-reporters", .group("U-Reporters")),
        ("flow = REGISTRATION", .flow("Registration")),
        ("dob = 27-01-2020", .date(QueryDate(year: 2020, month: 1, day: 27)!)),
        ("dob = 2020-01-27", .date(QueryDate(year: 2020, month: 1, day: 27)!)),
        ("joined < 27/1/20", .date(QueryDate(year: 2020, month: 1, day: 27)!)),
        ("joined < 1.1.99", .date(QueryDate(year: 1999, month: 1, day: 1)!)),
        ("created_on >= 2026-01-02T10:00:00+02:00", .date(QueryDate(year: 2026, month: 1, day: 2)!)),
        (#"name = """#, .empty),
        (#"age = """#, .empty),
        ("name ~ Bob", .text("Bob")),
        ("tel = 0788", .text("0788")),
        ("state = Kigali", .text("Kigali")),
    ]

    @Test("values are read for the property's type", arguments: QueryValueTests.typedCases)
    func typedValue(query: String, expected: QueryValue) throws {
        let parsed = try ContactQuery.parse(query, resolver: MockQueryResolver.plain)
        #expect(parsed.root.conditions.map(\.typedValue) == [expected])
    }

    @Test(
        "valid numbers",
        arguments: [
            "0", "-5", "1.5", ".5", "-.5", " 12 ", "007", "1" + String(repeating: "0", count: 100),
            "0." + String(repeating: "0", count: 99) + "1", String(repeating: "9", count: 36),
            String(repeating: "9", count: 36) + "000",
        ]
    )
    func validNumber(_ text: String) {
        #expect(QueryValue.parseNumber(text) != nil)
    }

    @Test(
        "invalid numbers",
        arguments: [
            "", "-", "1e10", "1,000", "+5", "5.", "1.2.3", "XZ", "١٢", String(repeating: "9", count: 37),
            "1" + String(repeating: "0", count: 101), "0." + String(repeating: "0", count: 100) + "1",
        ]
    )
    func invalidNumber(_ text: String) {
        #expect(QueryValue.parseNumber(text) == nil)
    }

    static let dateCases: [(String, QueryDateOrder, String?)] = [
        ("2020-01-27", .dayMonthYear, "2020-01-27"),
        ("2020-01-27T23:59:00Z", .monthDayYear, "2020-01-27"),
        ("27-01-2020", .dayMonthYear, "2020-01-27"),
        ("01-27-2020", .monthDayYear, "2020-01-27"),
        ("2020/1/27", .yearMonthDay, "2020-01-27"),
        ("27 01 2020", .dayMonthYear, "2020-01-27"),
        ("27_01_2020 10:30", .dayMonthYear, "2020-01-27"),
        ("born on 5.6.27", .dayMonthYear, "1927-06-05"),
        ("5.6.26", .dayMonthYear, "2026-06-05"),
        ("29-02-2024", .dayMonthYear, "2024-02-29"),
        ("29-02-2023", .dayMonthYear, nil),
        ("27-01-2020", .monthDayYear, nil),
        ("AB", .dayMonthYear, nil),
        ("2020", .yearMonthDay, nil),
    ]

    @Test("dates", arguments: QueryValueTests.dateCases)
    func date(text: String, order: QueryDateOrder, expected: String?) {
        #expect(QueryDate.parse(text, order: order, currentYear: 2026)?.description == expected)
    }

    static let tokenCases: [(String, [String])] = [
        ("Bob Smithwick", ["Bob", "Smithwick"]),
        ("O'Shea", ["O'Shea"]),
        ("w me", ["me"]),
        ("é", ["é"]),
        ("日本", ["日", "本"]),
        ("pi is 3.14", ["pi", "is", "3.14"]),
        ("hello, world!", ["hello", "world"]),
        ("tel:+0123456566", ["tel", "0123456566"]),
        ("👍 x", []),
        // The same text through the ASCII path and (with a trailing é) through the Unicode path.
        ("a_b c:d 1,000 x;y 2;3 _q", ["a_b", "c:d", "1,000", "2;3", "_q"]),
        ("a_b c:d 1,000 x;y 2;3 _q é", ["a_b", "c:d", "1,000", "2;3", "_q", "é"]),
    ]

    @Test("name tokens", arguments: QueryValueTests.tokenCases)
    func tokens(text: String, expected: [String]) {
        #expect(QueryNameTokenizer.tokens(in: text) == expected)
    }

    @Test("name match keys are lowercased and cut to 8 characters")
    func matchKeys() {
        #expect(QueryNameTokenizer.matchKeys(in: "Bob Smithwicke") == ["bob", "smithwic"])
        #expect(QueryNameTokenizer.matchKeys(in: "ÉCOLE Straße BOB") == ["école", "straße", "bob"])
    }

    static let quoteCases: [(String, String)] = [
        ("O\"Leary", #""O\"Leary""#),
        ("back\\slash", #""back\\slash""#),
        ("tab\there\n", #""tab\there\n""#),
        ("bell\u{07}\u{01}\u{7F}", #""bell\a\x01\x7f""#),
        ("nbsp\u{A0}zw\u{200B}", #""nbsp\u00a0zw\u200b""#),
        ("José 日本 👍", #""José 日本 👍""#),
    ]

    @Test("Go quoting round-trips", arguments: QueryValueTests.quoteCases)
    func quoting(value: String, quoted: String) {
        #expect(GoStringLiteral.quote(value) == quoted)
        #expect(GoStringLiteral.unquote(quoted) == value)
    }

    @Test(
        "Go unquoting",
        arguments: [
            (#""\x41\101\u00e9\U0001F44D""#, "AAé👍"),
            (#""it\'s""#, nil),
            (#""a"b""#, nil),
            (#""\xff""#, nil),
            (#""\ud800""#, nil),
            ("\"a\nb\"", nil),
        ] as [(String, String?)]
    )
    func unquoting(literal: String, expected: String?) {
        #expect(GoStringLiteral.unquote(literal) == expected)
    }

    @Test(
        "escapeValue quotes all but plain unsigned decimals",
        arguments: [
            ("18", "18"), ("1.5", "1.5"), ("-1", #""-1""#), (".5", #"".5""#), ("1e3", #""1e3""#), ("", #""""#),
        ]
    )
    func escapeValue(value: String, expected: String) {
        #expect(QueryNormalizer.escapeValue(value) == expected)
    }
}
