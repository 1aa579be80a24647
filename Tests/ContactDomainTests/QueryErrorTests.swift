// ContactLedger — contact domain.

import ContactDomain
import Testing

/// One expected parse failure.
struct QueryErrorCase: Sendable, CustomTestStringConvertible {
    var query: String
    var code: QueryError.Code
    var message: String
    var position: Int
    var length: Int
    var extra: [String: String] = [:]
    var anonymous = false

    var testDescription: String { self.query.count > 60 ? String(self.query.prefix(60)) + "…" : self.query }
}

@Suite("Query errors: codes, messages, positions")
struct QueryErrorTests {
    static let cases: [QueryErrorCase] = [
        // syntax
        .init(
            query: "$",
            code: .syntax,
            message: "mismatched input '$' expecting {'(', STRING, PROPERTY, TEXT}",
            position: 0,
            length: 1
        ),
        .init(
            query: "name = ",
            code: .syntax,
            message: "mismatched input '<EOF>' expecting {STRING, PROPERTY, TEXT}",
            position: 6,
            length: 0
        ),
        .init(
            query: #"name = "x"#,
            code: .syntax,
            message: #"extraneous input '"' expecting {STRING, PROPERTY, TEXT}"#,
            position: 7,
            length: 1
        ),
        .init(
            query: #"nam/e = "x""#,
            code: .syntax,
            message: "mismatched input '=' expecting <EOF>",
            position: 6,
            length: 1
        ),
        .init(
            query: #"name. = "x""#,
            code: .syntax,
            message: "mismatched input '=' expecting <EOF>",
            position: 6,
            length: 1
        ),
        .init(
            query: #".name != "x""#,
            code: .syntax,
            message: "mismatched input '!=' expecting <EOF>",
            position: 6,
            length: 2
        ),
        .init(
            query: "age >> 3",
            code: .syntax,
            message: "extraneous input '>' expecting {STRING, PROPERTY, TEXT}",
            position: 5,
            length: 1
        ),
        .init(query: "(name = bob", code: .syntax, message: "missing ')' at '<EOF>'", position: 11, length: 0),
        .init(
            query: "name = bob)",
            code: .syntax,
            message: "extraneous input ')' expecting <EOF>",
            position: 10,
            length: 1
        ),
        .init(
            query: "tickets > 1,000",
            code: .syntax,
            message: "mismatched input ',' expecting <EOF>",
            position: 11,
            length: 1
        ),
        .init(
            query: "name = and",
            code: .syntax,
            message: "mismatched input 'and' expecting {STRING, PROPERTY, TEXT}",
            position: 7,
            length: 3
        ),
        .init(
            query: "or bob",
            code: .syntax,
            message: "extraneous input 'or' expecting {'(', STRING, PROPERTY, TEXT}",
            position: 0,
            length: 2
        ),
        .init(
            query: "   ",
            code: .syntax,
            message: "mismatched input '<EOF>' expecting {'(', STRING, PROPERTY, TEXT}",
            position: 3,
            length: 0
        ),
        .init(
            query: "name ! bob",
            code: .syntax,
            message: "mismatched input '!' expecting <EOF>",
            position: 5,
            length: 1
        ),
        // unknown property type / property
        .init(
            query: "xxx.age = 12",
            code: .unknownPropertyType,
            message: "unknown property type 'xxx'",
            position: 0,
            length: 7,
            extra: ["type": "xxx"]
        ),
        .init(
            query: "beers = 12",
            code: .unknownProperty,
            message: "can't resolve 'beers' to attribute, scheme or field",
            position: 0,
            length: 5,
            extra: ["property": "beers"]
        ),
        .init(
            query: "Android != 1",
            code: .unknownProperty,
            message: "can't resolve 'android' to attribute, scheme or field",
            position: 0,
            length: 7,
            extra: ["property": "android"]
        ),
        .init(
            query: #"xyz != """#,
            code: .unknownProperty,
            message: "can't resolve 'xyz' to attribute, scheme or field",
            position: 0,
            length: 3,
            extra: ["property": "xyz"]
        ),
        // contains
        .init(
            query: #"name ~ "x""#,
            code: .invalidPartialName,
            message: "contains operator on name requires token of minimum length 2",
            position: 7,
            length: 3,
            extra: ["min_token_length": "2"]
        ),
        .init(
            query: #"Name ~ """#,
            code: .invalidPartialName,
            message: "contains operator on name requires token of minimum length 2",
            position: 7,
            length: 2,
            extra: ["min_token_length": "2"]
        ),
        .init(
            query: #"urn ~ "23""#,
            code: .invalidPartialURN,
            message: "contains operator on URN requires value of minimum length 3",
            position: 6,
            length: 4,
            extra: ["min_value_length": "3"]
        ),
        .init(
            query: "  tel ~ 23",
            code: .invalidPartialURN,
            message: "contains operator on URN requires value of minimum length 3",
            position: 8,
            length: 2,
            extra: ["min_value_length": "3"]
        ),
        .init(
            query: "uuid ~ 234",
            code: .unsupportedContains,
            message: "contains conditions can only be used with name or URN values",
            position: 5,
            length: 1,
            extra: ["property": "uuid"]
        ),
        .init(
            query: "age has 34",
            code: .unsupportedContains,
            message: "contains conditions can only be used with name or URN values",
            position: 4,
            length: 3,
            extra: ["property": "age"]
        ),
        .init(
            query: "group ~ porters",
            code: .unsupportedContains,
            message: "contains conditions can only be used with name or URN values",
            position: 6,
            length: 1,
            extra: ["property": "group"]
        ),
        // ordering comparisons
        .init(
            query: "uuid > 123",
            code: .unsupportedComparison,
            message: "comparisons with > can only be used with date and number fields",
            position: 5,
            length: 1,
            extra: ["property": "uuid", "operator": ">"]
        ),
        .init(
            query: "tel <= 23425",
            code: .unsupportedComparison,
            message: "comparisons with <= can only be used with date and number fields",
            position: 4,
            length: 2,
            extra: ["property": "tel", "operator": "<="]
        ),
        .init(
            query: "gender < male",
            code: .unsupportedComparison,
            message: "comparisons with < can only be used with date and number fields",
            position: 7,
            length: 1,
            extra: ["property": "gender", "operator": "<"]
        ),
        // set checks
        .init(
            query: #"uuid = """#,
            code: .unsupportedSetCheck,
            message: "can't check whether 'uuid' is set or not set",
            position: 0,
            length: 9,
            extra: ["property": "uuid", "operator": "="]
        ),
        .init(
            query: #"uuid != """#,
            code: .unsupportedSetCheck,
            message: "can't check whether 'uuid' is set or not set",
            position: 0,
            length: 10,
            extra: ["property": "uuid", "operator": "!="]
        ),
        .init(
            query: #"tickets is """#,
            code: .unsupportedSetCheck,
            message: "can't check whether 'tickets' is set or not set",
            position: 0,
            length: 13,
            extra: ["property": "tickets", "operator": "="]
        ),
        .init(
            query: #"created_on = """#,
            code: .unsupportedSetCheck,
            message: "can't check whether 'created_on' is set or not set",
            position: 0,
            length: 15,
            extra: ["property": "created_on", "operator": "="]
        ),
        // values
        .init(
            query: "age = XZ",
            code: .invalidNumber,
            message: "can't convert 'XZ' to a number",
            position: 6,
            length: 2,
            extra: ["value": "XZ"]
        ),
        .init(
            query: "age = 1e200",
            code: .invalidNumber,
            message: "can't convert '1e200' to a number",
            position: 6,
            length: 5,
            extra: ["value": "1e200"]
        ),
        .init(
            query: #"tickets > "1,000""#,
            code: .invalidNumber,
            message: "can't convert '1,000' to a number",
            position: 10,
            length: 7,
            extra: ["value": "1,000"]
        ),
        .init(
            query: "tickets = " + String(repeating: "9", count: 37),
            code: .invalidNumber,
            message: "can't convert '\(String(repeating: "9", count: 37))' to a number",
            position: 10,
            length: 37,
            extra: ["value": String(repeating: "9", count: 37)]
        ),
        .init(
            query: "age = 1" + String(repeating: "0", count: 101),
            code: .invalidNumber,
            message: "can't convert '1\(String(repeating: "0", count: 101))' to a number",
            position: 6,
            length: 102,
            extra: ["value": "1" + String(repeating: "0", count: 101)]
        ),
        .init(
            query: "dob = AB",
            code: .invalidDate,
            message: "can't convert 'AB' to a date",
            position: 6,
            length: 2,
            extra: ["value": "AB"]
        ),
        .init(
            query: "created_on = AB",
            code: .invalidDate,
            message: "can't convert 'AB' to a date",
            position: 13,
            length: 2,
            extra: ["value": "AB"]
        ),
        .init(
            query: "last_seen_on < 2020-13-45",
            code: .invalidDate,
            message: "can't convert '2020-13-45' to a date",
            position: 15,
            length: 10,
            extra: ["value": "2020-13-45"]
        ),
        .init(
            query: "dob = 30-02-2020",
            code: .invalidDate,
            message: "can't convert '30-02-2020' to a date",
            position: 6,
            length: 10,
            extra: ["value": "30-02-2020"]
        ),
        .init(
            query: #"group = "Cool Kids""#,
            code: .invalidGroup,
            message: "'Cool Kids' is not a valid group name",
            position: 8,
            length: 11,
            extra: ["value": "Cool Kids"]
        ),
        .init(
            query: #"flow = "Catch All""#,
            code: .invalidFlow,
            message: "'Catch All' is not a valid flow name",
            position: 7,
            length: 11,
            extra: ["value": "Catch All"]
        ),
        .init(
            query: "history = nope",
            code: .invalidFlow,
            message: "'nope' is not a valid flow name",
            position: 10,
            length: 4,
            extra: ["value": "nope"]
        ),
        .init(
            query: #"status = "xxxx""#,
            code: .invalidStatus,
            message: "'xxxx' is not a valid contact status",
            position: 9,
            length: 6,
            extra: ["value": "xxxx"]
        ),
        .init(
            query: #"language = "zzzzzz""#,
            code: .invalidLanguage,
            message: "'zzzzzz' is not a valid language code",
            position: 11,
            length: 8,
            extra: ["value": "zzzzzz"]
        ),
        .init(
            query: "language = xzx",
            code: .invalidLanguage,
            message: "'xzx' is not a valid language code",
            position: 11,
            length: 3,
            extra: ["value": "xzx"]
        ),
        // redacted URNs
        .init(
            query: "tel = 233",
            code: .redactedURNs,
            message: "cannot query on redacted URNs",
            position: 0,
            length: 9,
            anonymous: true
        ),
        .init(
            query: "URN=ewok",
            code: .redactedURNs,
            message: "cannot query on redacted URNs",
            position: 0,
            length: 8,
            anonymous: true
        ),
        .init(
            query: "URN!=ewok",
            code: .redactedURNs,
            message: "cannot query on redacted URNs",
            position: 0,
            length: 9,
            anonymous: true
        ),
        .init(
            query: "bob OR MAILTO ~ user@example.com",
            code: .redactedURNs,
            message: "cannot query on redacted URNs",
            position: 7,
            length: 25,
            anonymous: true
        ),
        .init(
            query: "urns.tel ~ 123",
            code: .redactedURNs,
            message: "cannot query on redacted URNs",
            position: 0,
            length: 14,
            anonymous: true
        ),
        // first error wins, left to right; positions in characters
        .init(
            query: "age = XZ AND beers = 1",
            code: .invalidNumber,
            message: "can't convert 'XZ' to a number",
            position: 6,
            length: 2,
            extra: ["value": "XZ"]
        ),
        .init(
            query: "beers = 1 AND xxx.a = 1",
            code: .unknownPropertyType,
            message: "unknown property type 'xxx'",
            position: 14,
            length: 5,
            extra: ["type": "xxx"]
        ),
        .init(
            query: #"name = "日本" AND beers = 1"#,
            code: .unknownProperty,
            message: "can't resolve 'beers' to attribute, scheme or field",
            position: 16,
            length: 5,
            extra: ["property": "beers"]
        ),
        .init(
            query: "👍🏽 = 1",
            code: .syntax,
            message: "mismatched input '👍' expecting {'(', STRING, PROPERTY, TEXT}",
            position: 0,
            length: 1
        ),
    ]

    @Test("each error", arguments: QueryErrorTests.cases)
    func fails(_ testCase: QueryErrorCase) {
        let resolver = testCase.anonymous ? MockQueryResolver.anonymous : MockQueryResolver.plain
        do {
            let query = try ContactQuery.parse(testCase.query, resolver: resolver)
            Issue.record("expected \(testCase.code), parsed as \(query.normalized)")
        } catch {
            #expect(error.code == testCase.code)
            #expect(error.message == testCase.message)
            #expect(error.position == testCase.position)
            #expect(error.length == testCase.length)
            #expect(error.extra == testCase.extra)
            #expect(error.description == testCase.message)
        }
    }

    static let tooComplexQueries: [String] = [
        String(repeating: "(", count: 101) + "name = x" + String(repeating: ")", count: 101),
        String(repeating: "(", count: 100_000) + "name = x" + String(repeating: ")", count: 100_000),
        #"name = ""# + String(repeating: "[", count: 101) + #"""#,
        #"name = ""# + String(repeating: "x", count: 10_000) + #"""#,
        "name=x" + String(repeating: " OR name=x", count: 250),
        String(repeating: "bob ", count: 251),
    ]

    @Test("too complex: whole text, constant message", arguments: QueryErrorTests.tooComplexQueries)
    func tooComplex(_ query: String) {
        let padded = "  " + query
        do {
            _ = try ContactQuery.parse(padded, resolver: MockQueryResolver.plain)
            Issue.record("expected too_complex")
        } catch {
            #expect(error.code == .tooComplex)
            #expect(error.message == "query is too complex")
            #expect(error.position == 0)
            #expect(error.length == padded.unicodeScalars.count)
            #expect(error.extra.isEmpty)
        }
    }

    @Test("every code §5.4 lists exists with goflow's spelling")
    func codes() {
        #expect(
            Set(QueryError.Code.allCases.map(\.rawValue)) == [
                "syntax", "invalid_number", "invalid_date", "invalid_status", "invalid_language", "invalid_group",
                "invalid_flow", "invalid_partial_name", "invalid_partial_urn", "unsupported_contains",
                "unsupported_comparison", "unsupported_setcheck", "unknown_property_type", "unknown_property",
                "redacted_urns", "too_complex",
            ]
        )
    }
}
