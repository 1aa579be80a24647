// ContactLedger — contact domain.

import ContactDomain
import Testing

/// One expected inspection.
struct QueryInspectionCase: Sendable, CustomTestStringConvertible {
    var query: String
    var attributes: [String]
    var schemes: [String] = []
    var fields: [String] = []
    var groups: [String] = []
    var allowAsGroup: Bool

    var testDescription: String { self.query }
}

@Suite("Query inspection and allow_as_group")
struct QueryInspectionTests {
    static let cases: [QueryInspectionCase] = [
        .init(query: "bob", attributes: ["name"], allowAsGroup: true),
        .init(
            query: #"AGE > 18 AND name != "" OR twitter = bobby OR tel ~1234 AND tickets > 0"#,
            attributes: ["name", "tickets"],
            schemes: ["tel", "twitter"],
            fields: ["age"],
            allowAsGroup: true
        ),
        .init(query: "id = 123", attributes: ["id"], allowAsGroup: false),
        .init(query: "ref = A6YWQL", attributes: ["ref"], allowAsGroup: false),
        .init(query: "status = active", attributes: ["status"], allowAsGroup: false),
        .init(query: "group = u-reporters", attributes: ["group"], groups: ["U-Reporters"], allowAsGroup: false),
        .init(query: #"group = """#, attributes: ["group"], allowAsGroup: false),
        .init(
            query: "group = customers OR group != U-REPORTERS OR group = Customers",
            attributes: ["group"],
            groups: ["Customers", "U-Reporters"],
            allowAsGroup: false
        ),
        .init(query: "flow = registration", attributes: ["flow"], allowAsGroup: false),
        .init(query: #"history != "Registration""#, attributes: ["history"], allowAsGroup: false),
        .init(query: "uuid = abc", attributes: ["uuid"], allowAsGroup: true),
        .init(
            query: "created_on > 2020-01-01 AND last_seen_on < 2021-01-01",
            attributes: ["created_on", "last_seen_on"],
            allowAsGroup: true
        ),
        .init(query: "language = eng", attributes: ["language"], allowAsGroup: true),
        .init(query: "urn ~ 123", attributes: ["urn"], allowAsGroup: true),
        .init(query: "0788383383", attributes: [], schemes: ["tel"], allowAsGroup: true),
        .init(
            query: "whatsapp:250788 mailto:a@b.c",
            attributes: [],
            schemes: ["mailto", "whatsapp"],
            allowAsGroup: true
        ),
        .init(
            query: "gender = m OR age > 1 AND gender = f AND fields.dob = 2020-01-01",
            attributes: [],
            fields: ["gender", "age", "dob"],
            allowAsGroup: true
        ),
        .init(query: "tickets > 0 status = active", attributes: ["status", "tickets"], allowAsGroup: false),
    ]

    @Test("inspection", arguments: QueryInspectionTests.cases)
    func inspect(_ testCase: QueryInspectionCase) throws {
        let inspection = try ContactQuery.parse(testCase.query, resolver: MockQueryResolver.plain).inspection
        #expect(inspection.attributeNames == testCase.attributes)
        #expect(inspection.schemes == testCase.schemes)
        #expect(inspection.fields == testCase.fields)
        #expect(inspection.groups == testCase.groups)
        #expect(inspection.allowAsGroup == testCase.allowAsGroup)
    }

    @Test("attributes that prevent smart groups", arguments: QueryAttribute.allCases)
    func preventsSmartGroup(_ attribute: QueryAttribute) {
        let expected: Set<QueryAttribute> = [.id, .ref, .status, .group, .flow, .history]
        #expect(attribute.preventsSmartGroup == expected.contains(attribute))
    }
}
