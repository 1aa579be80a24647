// ContactLedger — contact domain.

import ContactDomain
import Testing

/// A workspace for query tests: goflow's test fields, one group, one flow, DD-MM-YYYY dates, US numbers.
struct MockQueryResolver: QueryResolver {
    var isAnonymous = false
    var dateOrder: QueryDateOrder = .dayMonthYear
    var currentYear: Int { 2026 }

    static let fields: [String: FieldType] = [
        "age": .number, "gender": .text, "state": .state, "dob": .datetime, "language": .text, "joined": .datetime,
    ]

    func fieldType(forKey key: String) -> FieldType? { MockQueryResolver.fields[key] }

    func groupName(matching name: String) -> String? {
        ["U-Reporters", "Customers"].first { $0.lowercased() == name.lowercased() }
    }

    func flowName(matching name: String) -> String? {
        ["Registration"].first { $0.lowercased() == name.lowercased() }
    }

    func isValidLanguage(_ code: String) -> Bool { ["eng", "spa", "fra", "kin", "por"].contains(code.lowercased()) }

    /// US numbering: 10 digits get +1, `+` and 11–15 digits are kept.
    func phoneNumber(forQuery text: String) -> String? {
        let digits = String(text.filter(\.isWholeNumber))
        if text.hasPrefix("+") { return (11...15).contains(digits.count) ? "+" + digits : nil }
        return digits.count == 10 && !digits.hasPrefix("0") && !digits.hasPrefix("1") ? "+1" + digits : nil
    }

    static let plain = MockQueryResolver()
    static let anonymous = MockQueryResolver(isAnonymous: true)
}

@Suite("Query parsing and canonical form")
struct QueryParserTests {
    static let canonicalCases: [(String, String)] = [
        // Bare values (§5.6).
        (#""will""#, #"name ~ "will""#),
        ("Will", #"name ~ "Will""#),
        ("wi", #"name ~ "wi""#),
        ("w", #"name = "w""#),
        ("w me", #"name = "w" AND name ~ "me""#),
        ("w m", #"name = "w" AND name = "m""#),
        ("tel:+0123456566", #"urns.tel = "+0123456566""#),
        ("twitter:bobby", #"urns.twitter = "bobby""#),
        ("(202) 456-1111", #"urns.tel = "+12024561111""#),
        ("+12024561111", #"urns.tel = "+12024561111""#),
        (" 202.456.1111 ", #"urns.tel = "+12024561111""#),
        (#""+12024561111""#, #"urns.tel ~ "+12024561111""#),
        ("566", "name ~ 566"),
        ("7979", "urns.tel ~ 7979"),
        ("0788-383-383", "urns.tel ~ 0788383383"),
        ("will +123456566", #"name ~ "will" AND urns.tel ~ "+123456566""#),
        ("José", #"name ~ "José""#),
        // Name conditions and operator aliases.
        ("Name=will", #"name = "will""#),
        ("Name=O'Shea", #"name = "O'Shea""#),
        (#"Name ~ "felix""#, #"name ~ "felix""#),
        (#"Name HAS "Felix""#, #"name ~ "Felix""#),
        (#"name is """#, #"name = """#),
        (#"name != """#, #"name != """#),
        (#"name != "felix""#, #"name != "felix""#),
        // Every attribute.
        ("uuid = f81d1eb5-215d-4ae8-90fa-38b3f2d6e328", #"uuid = "f81d1eb5-215d-4ae8-90fa-38b3f2d6e328""#),
        ("id = 02352", "id = 02352"),
        ("ref = A6YWQL", #"ref = "A6YWQL""#),
        ("status = ACTIVE", #"status = "ACTIVE""#),
        ("status != blocked", #"status != "blocked""#),
        ("language = spa", #"language = "spa""#),
        (#"language = """#, #"language = """#),
        ("Group IS U-Reporters", #"group = "U-Reporters""#),
        ("group != u-reporters", #"group != "u-reporters""#),
        (#"group = """#, #"group = """#),
        ("flow = registration", #"flow = "registration""#),
        (#"flow = """#, #"flow = """#),
        ("history != Registration", #"history != "Registration""#),
        ("tickets = 0", "tickets = 0"),
        ("tickets > 0", "tickets > 0"),
        ("CREATED_ON>27-01-2020", #"created_on > "27-01-2020""#),
        ("created_on != 20-02-2020", #"created_on != "20-02-2020""#),
        ("last_seen_on >= 2026-01-02T10:00:00Z", #"last_seen_on >= "2026-01-02T10:00:00Z""#),
        (#"last_seen_on = """#, #"last_seen_on = """#),
        ("URN=ewok", #"urn = "ewok""#),
        ("urn ~ 02352", "urn ~ 02352"),
        // URN schemes.
        (#"tel="""#, #"urns.tel = """#),
        (#"tel!="""#, #"urns.tel != """#),
        ("tel IS 233", "urns.tel = 233"),
        ("tel HAS 233", "urns.tel ~ 233"),
        ("tel ~ 0788", "urns.tel ~ 0788"),
        ("mailto = user@example.com", #"urns.mailto = "user@example.com""#),
        ("MAILTO ~ user@example.com", #"urns.mailto ~ "user@example.com""#),
        ("urns.tel = 234", "urns.tel = 234"),
        ("URNS.MAILTO = user@example.com", #"urns.mailto = "user@example.com""#),
        ("whatsapp = 250788383383", "urns.whatsapp = 250788383383"),
        // Fields.
        ("Age IS 18", "fields.age = 18"),
        (#"AGE != """#, #"fields.age != """#),
        (#"FIELDS.AGE != "45""#, "fields.age != 45"),
        (#"fields.language = "EN""#, #"fields.language = "EN""#),
        ("gender = male", #"fields.gender = "male""#),
        ("state = Pichincha", #"fields.state = "Pichincha""#),
        ("age = 1.50", "fields.age = 1.50"),
        ("age > -5", #"fields.age > "-5""#),
        ("age = " + "1" + String(repeating: "0", count: 100), "fields.age = 1" + String(repeating: "0", count: 100)),
        // Comparisons.
        (#"Age > "18""#, "fields.age > 18"),
        ("Age >= 18", "fields.age >= 18"),
        ("Age < 18", "fields.age < 18"),
        ("Age <= 18", "fields.age <= 18"),
        (#"DOB > "27-01-2020""#, #"fields.dob > "27-01-2020""#),
        ("DOB >= 27-01-2020", #"fields.dob >= "27-01-2020""#),
        ("DOB < 27/01/2020", #"fields.dob < "27/01/2020""#),
        ("DOB <= 27.01.2020", #"fields.dob <= "27.01.2020""#),
        ("dob = 2020-01-27", #"fields.dob = "2020-01-27""#),
        // Quoting and escapes.
        (#"name = "O\"Leary""#, #"name = "O\"Leary""#),
        (#"name = "tab\there""#, #"name = "tab\there""#),
        (#"name = "a\u00e9b""#, #"name = "aéb""#),
        (#"name = "bad \q escape""#, #"name = "bad \\q escape""#),
        (#"name = "Bob Smith""#, #"name = "Bob Smith""#),
        (#"name = "(not) a group""#, #"name = "(not) a group""#),
        // Precedence and implicit AND.
        ("will felix", #"name ~ "will" AND name ~ "felix""#),
        ("will and felix", #"name ~ "will" AND name ~ "felix""#),
        ("will AND felix AND matt", #"name ~ "will" AND name ~ "felix" AND name ~ "matt""#),
        ("will or felix or matt", #"name ~ "will" OR name ~ "felix" OR name ~ "matt""#),
        ("name = will AND age > 18 AND tickets = 0", #"name = "will" AND fields.age > 18 AND tickets = 0"#),
        ("name = will OR age > 18 AND tickets = 0", #"name = "will" OR (fields.age > 18 AND tickets = 0)"#),
        ("name = will AND age > 18 OR tickets = 0", #"(name = "will" AND fields.age > 18) OR tickets = 0"#),
        ("(name = will AND age > 18) AND tickets = 0", #"name = "will" AND fields.age > 18 AND tickets = 0"#),
        (
            "(name = will AND age > 18) AND (tickets = 0 AND language = eng)",
            #"name = "will" AND fields.age > 18 AND tickets = 0 AND language = "eng""#
        ),
        (#"Name is will or Name has felix"#, #"name = "will" OR name ~ "felix""#),
        (#"will or Name ~ "felix""#, #"name ~ "will" OR name ~ "felix""#),
        (
            "will and felix or matt and amber",
            #"(name ~ "will" AND name ~ "felix") OR (name ~ "matt" AND name ~ "amber")"#
        ),
        ("will and felix or matt amber", #"(name ~ "will" AND name ~ "felix") OR (name ~ "matt" AND name ~ "amber")"#),
        (
            "Jim McJim or Bob McBob",
            #"(name ~ "Jim" AND name ~ "McJim") OR (name ~ "Bob" AND name ~ "McBob")"#
        ),
        (
            #"(Age < 18 and Gender = "male") or (Age > 18 and Gender = "female")"#,
            #"(fields.age < 18 AND fields.gender = "male") OR (fields.age > 18 AND fields.gender = "female")"#
        ),
        (
            "age > 10 and age < 20 and age < 40 or age < 60",
            "(fields.age > 10 AND fields.age < 20 AND fields.age < 40) OR fields.age < 60"
        ),
        (
            "age > 10 or age < 20 and age < 40 and age < 60",
            "fields.age > 10 OR (fields.age < 20 AND fields.age < 40 AND fields.age < 60)"
        ),
        ("((((name = bob))))", #"name = "bob""#),
        ("(a or b) (c or d)", #"(name = "a" OR name = "b") AND (name = "c" OR name = "d")"#),
        ("a or (b or c)", #"name = "a" OR name = "b" OR name = "c""#),
        ("\tname\n=\r\nbob  ", #"name = "bob""#),
    ]

    @Test("canonical text", arguments: QueryParserTests.canonicalCases)
    func canonical(input: String, expected: String) throws {
        let query = try ContactQuery.parse(input, resolver: MockQueryResolver.plain)
        #expect(query.normalized == expected)
    }

    @Test("canonical text parses back to itself", arguments: QueryParserTests.canonicalCases)
    func canonicalRoundTrip(input: String, expected: String) throws {
        let reparsed = try ContactQuery.parse(expected, resolver: MockQueryResolver.plain)
        #expect(reparsed.normalized == expected)
    }

    static let anonymousCases: [(String, String)] = [
        ("will", #"name ~ "will""#),
        ("tel:+0123456566", #"name ~ "tel:+0123456566""#),
        ("twitter:bobby", #"name ~ "twitter:bobby""#),
        ("A6YWQL", #"ref = "A6YWQL""#),
        ("e2e6mx", #"ref = "e2e6mx""#),
        ("0123456566", "name ~ 0123456566"),
        ("+0123456566", #"name ~ "+0123456566""#),
        ("0123-456-566", #"name ~ "0123-456-566""#),
        ("(202) 456-1111", #"name ~ 202 AND name ~ "456-1111""#),
        (#"URN="""#, #"urn = """#),
        (#"URN!="""#, #"urn != """#),
        (#"tel="""#, #"urns.tel = """#),
        (#"mailto!="""#, #"urns.mailto != """#),
        ("name ~ bob AND age > 3", #"name ~ "bob" AND fields.age > 3"#),
    ]

    @Test("anonymous workspaces", arguments: QueryParserTests.anonymousCases)
    func anonymous(input: String, expected: String) throws {
        let query = try ContactQuery.parse(input, resolver: MockQueryResolver.anonymous)
        #expect(query.normalized == expected)
    }

    @Test("AND binds tighter than OR, left to right")
    func precedenceTree() throws {
        let query = try ContactQuery.parse("name = will OR age > 18 AND tickets = 0", resolver: MockQueryResolver.plain)
        guard case .or(let children) = query.root, children.count == 2,
            case .condition(let first) = children[0], case .and(let conjunction) = children[1]
        else {
            Issue.record("unexpected tree \(query.root)")
            return
        }
        #expect(first.property == .attribute(.name))
        #expect(first.comparator == .equal)
        #expect(first.value == "will")
        #expect(conjunction.count == 2)
        #expect(query.root.conditions.map(\.property.canonicalName) == ["name", "fields.age", "tickets"])
    }

    @Test("condition spans point into the original text")
    func spans() throws {
        let query = try ContactQuery.parse("  age > 18 bob", resolver: MockQueryResolver.plain)
        let conditions = query.root.conditions
        #expect(conditions.map(\.span) == [QuerySpan(position: 2, length: 8), QuerySpan(position: 11, length: 3)])
        #expect(conditions.map(\.isImplicit) == [false, true])
    }

    @Test("the condition limit is inclusive")
    func conditionLimit() throws {
        let text = "name=x" + String(repeating: " OR name=x", count: ContactQuery.maxConditions - 1)
        let query = try ContactQuery.parse(text, resolver: MockQueryResolver.plain)
        guard case .or(let children) = query.root else {
            Issue.record("expected an OR")
            return
        }
        #expect(children.count == 250)
    }

    @Test("the length limit counts characters, not bytes")
    func lengthLimit() throws {
        let atLimit = #"name = ""# + String(repeating: "x", count: 10_000 - 9) + #"""#
        #expect(throws: Never.self) { try ContactQuery.parse(atLimit, resolver: MockQueryResolver.plain) }
        let multiByte = #"name = ""# + String(repeating: "é", count: 5000) + #"""#
        #expect(throws: Never.self) { try ContactQuery.parse(multiByte, resolver: MockQueryResolver.plain) }
        let nested = String(repeating: "(", count: 100) + "name = x" + String(repeating: ")", count: 100)
        #expect(throws: Never.self) { try ContactQuery.parse(nested, resolver: MockQueryResolver.plain) }
    }
}
