// ContactLedger — contact domain.

import ContactDomain
import Testing

/// ``ContactQuery/textMaskingURNValues(_:)``: a stored query as an anonymous workspace shows it.
@Suite("Query text with URN values masked")
struct QueryMaskedTextTests {
    static let cases: [(stored: String, shown: String)] = [
        (#"urns.tel = "+250788500002""#, #"urns.tel = "********""#),
        (#"urns.tel = "+250788500002" OR fields.age > 18"#, #"urns.tel = "********" OR fields.age > 18"#),
        (
            #"(urns.mailto = "a@b.example" OR urn ~ "0788") AND name ~ "ben""#,
            #"(urns.mailto = "********" OR urn ~ "********") AND name ~ "ben""#
        ),
        // Not canonical: bare schemes and values are read as the grammar reads them, and masked.
        ("tel = 0788500002 and age >= 18", #"urns.tel = "********" AND fields.age >= 18"#),
        ("+250788500002", #"urns.tel ~ "********""#),
        // Bare digits too short to read as a phone fragment are a name search, but still a piece of a number.
        ("0788 500 002", #"urns.tel ~ "********" AND name ~ "********" AND name ~ "********""#),
        // Set checks show nobody's number; other conditions are untouched.
        (#"urns.tel = """#, #"urns.tel = """#),
        (#"fields.age > 18 AND group = "Customers""#, #"fields.age > 18 AND group = "Customers""#),
        // What cannot be read is masked whole.
        (#"(urns.tel = "+250788500002""#, "********"),
        (#"urns.tel = "+250788500002" AND misc.x = 1"#, "********"),
        ("", "********"),
    ]

    @Test(arguments: QueryMaskedTextTests.cases)
    func masksEveryURNValue(_ example: (stored: String, shown: String)) {
        #expect(ContactQuery.textMaskingURNValues(example.stored) == example.shown)
    }

    @Test func maskingTwiceChangesNothing() {
        for example in Self.cases {
            let once = ContactQuery.textMaskingURNValues(example.stored)
            #expect(ContactQuery.textMaskingURNValues(once) == once, "\(example.stored)")
        }
    }

    @Test func aQueryNestedTooDeepIsMaskedWhole() {
        let deep = String(repeating: "(", count: ContactQuery.maxNestingDepth + 1) + "urns.tel = 1234"
        #expect(ContactQuery.textMaskingURNValues(deep) == "********")
    }
}
