// ContactLedger — contact domain.

import ContactDomain
import Foundation
import TestSupport
import Testing

/// One row of the normalization table: raw input and default country, and the expected encoded URN.
struct URNCase: Sendable, CustomTestStringConvertible {
    let raw: String
    let country: String?
    let expected: String

    init(_ raw: String, _ country: String?, _ expected: String) {
        self.raw = raw
        self.country = country
        self.expected = expected
    }

    init(_ raw: String, _ expected: String) {
        self.init(raw, nil, expected)
    }

    var testDescription: String { "\(self.raw) [\(self.country ?? "-")] → \(self.expected)" }
}

/// One row of the refusal table: raw input and default country, and the expected error.
struct URNErrorCase: Sendable, CustomTestStringConvertible {
    let raw: String
    let country: String?
    let error: URNError

    init(_ raw: String, _ country: String?, _ error: URNError) {
        self.raw = raw
        self.country = country
        self.error = error
    }

    init(_ raw: String, _ error: URNError) {
        self.init(raw, nil, error)
    }

    var testDescription: String { "\(self.raw.prefix(60)) [\(self.country ?? "-")] → \(self.error.code)" }
}

@Suite struct URNTests {
    static let validCases: [URNCase] = [
        // tel: re-parsed as phone numbers, no default country (gocommon urns_test TestNormalize)
        URNCase("tel:+250788383383", "tel:+250788383383"),
        URNCase("tel:250788383383", "tel:+250788383383"),
        // a number a spreadsheet wrote as a float (RapidPro's normalize_number)
        URNCase("tel:2.50788383383E+11", "RW", "tel:+250788383383"),
        URNCase("tel:2.50788383383e+11", "tel:+250788383383"),
        URNCase("tel:2.50788383383E+12", "RW", "tel:+250788383383"),
        URNCase("tel:2.50788e+11", "RW", "tel:250788"),
        URNCase("tel:1(800)CABBAGE", "tel:+18002222243"),
        URNCase("tel:+62877747666", "tel:+62877747666"),
        URNCase("tel:+2203693333", "tel:+2203693333"),
        URNCase("tel:000", "tel:000"),
        URNCase("tel:mtn", "tel:mtn"),
        URNCase("tel:+82011290", "tel:+8211290"),
        URNCase("tel:PRIZES", "tel:prizes"),
        URNCase("tel:0788123123", "tel:0788123123"),
        URNCase("tel:+250 788 123-123", "tel:+250788123123"),
        URNCase("tel:1234", "tel:1234"),
        // tel with a default country (gocommon phone_test)
        URNCase("tel:0788 123 123", "RW", "tel:+250788123123"),
        URNCase("tel:(206) 555-1212", "US", "tel:+12065551212"),
        URNCase("tel:250788123123", "US", "tel:+250788123123"),
        URNCase("tel:1234", "US", "tel:1234"),
        URNCase("tel:800-CABBAGE", "US", "tel:+18002222243"),
        URNCase("tel: 0788383383 ", "RW", "tel:+250788383383"),
        URNCase("tel:0788383383", "rw", "tel:+250788383383"),
        URNCase("tel:+250788383383 ", "KE", "tel:+250788383383"),
        URNCase("tel:250788383383", "RW", "tel:+250788383383"),
        URNCase("tel:(917)992-5253", "US", "tel:+19179925253"),
        URNCase("tel:+62877747666", "ID", "tel:+62877747666"),
        URNCase("tel:812111005611", "ID", "tel:+62812111005611"),
        URNCase("tel:0877747666", "ID", "tel:+62877747666"),
        URNCase("tel:07531669965", "GB", "tel:+447531669965"),
        URNCase("tel:263780821000", "ZW", "tel:+263780821000"),
        URNCase("tel:254791541111", "US", "tel:+254791541111"),
        URNCase("tel:123456", "US", "tel:123456"),
        URNCase("tel:12345", "US", "tel:12345"),
        URNCase("tel:123", "RW", "tel:123"),
        URNCase("tel:8080", "EC", "tel:8080"),
        URNCase("tel:880003147120", "US", "tel:+8803147120"),
        URNCase("tel:087043843093", "KR", "tel:+8243843093"),
        URNCase("tel:090883344803", "BR", "tel:+55883344803"),
        URNCase("tel:PRIZES", "RW", "tel:prizes"),
        URNCase("tel:567-1234", "US", "tel:5671234"),
        URNCase("tel:+250788383383#my-phone", "tel:+250788383383#my-phone"),
        URNCase("tel:+250788123123?channel=8a7b6c5d", "tel:+250788123123?channel=8a7b6c5d"),
        URNCase("TEL:+250788383383", "tel:+250788383383"),
        URNCase("  tel:+250788383383 \n", "tel:+250788383383"),
        // twitter, twitterid
        URNCase("twitter: @jimmyJO", "twitter:jimmyjo"),
        URNCase("twitter:billy_bob", "twitter:billy_bob"),
        URNCase("twitter:1234#bob", "twitter:1234#bob"),
        URNCase("twitterid:12345#jimmyJO", "twitterid:12345#jimmyJO"),
        URNCase("twitterid:85114# billy_bob ", "twitterid:85114#billy_bob"),
        // mailto
        URNCase("mailto: nAme@domAIN.cOm ", "mailto:name@domain.com"),
        URNCase("mailto:BoB@NYARUKA.com", "mailto:bob@nyaruka.com"),
        URNCase("mailto:abcd+label@x.y.z.com", "mailto:abcd+label@x.y.z.com"),
        // ext, fcm, rocketchat, slack, vk, wechat: anything, case kept
        URNCase("ext: eXterNAL123 ", "ext:eXterNAL123"),
        URNCase("ext:12345?id=2#cool", "ext:12345?id=2#cool"),
        URNCase("ext:a%23b", "ext:a%23b"),
        URNCase("ext:100%25", "ext:100%25"),
        URNCase("fcm:dKrx3:APA91bH-9R_x", "fcm:dKrx3:APA91bH-9R_x"),
        URNCase("rocketchat:3a7bDC9e", "rocketchat:3a7bDC9e"),
        URNCase("slack:U0123ABCD", "slack:U0123ABCD"),
        URNCase("vk:12345", "vk:12345"),
        URNCase("wechat:o6_bmjrPTlm6_2sgVt7hMZOPfL2M", "wechat:o6_bmjrPTlm6_2sgVt7hMZOPfL2M"),
        // whatsapp, bsuid
        URNCase("whatsapp:12345", "whatsapp:12345"),
        URNCase("whatsapp:br.ABC123", "whatsapp:BR.ABC123"),
        URNCase("whatsapp:BR.ABC123", "whatsapp:BR.ABC123"),
        URNCase("bsuid:br.ABC123", "bsuid:BR.ABC123"),
        URNCase("bsuid:US.ABC123DEF", "bsuid:US.ABC123DEF"),
        // numeric ids and the rest
        URNCase("facebook:12345678901234567", "facebook:12345678901234567"),
        URNCase("facebook:ref:facebookRef", "facebook:ref:facebookRef"),
        URNCase("instagram:12345678901234567", "instagram:12345678901234567"),
        URNCase("instagram:22114?foo=bar#foobar", "instagram:22114?foo=bar#foobar"),
        URNCase("telegram:12345#Jane", "telegram:12345#Jane"),
        URNCase("jiochat:12345", "jiochat:12345"),
        URNCase("line:Uasd224", "line:Uasd224"),
        URNCase("viber:xy5/5y6O81+/kbWHpLhBoA==", "viber:xy5/5y6O81+/kbWHpLhBoA=="),
        URNCase("webchat:123456789012345678901234", "webchat:123456789012345678901234"),
        URNCase("webchat:123456789012345678901234:bob@nyaruka.com", "webchat:123456789012345678901234:bob@nyaruka.com"),
        URNCase(
            "freshchat:c0534f78-b6e9-4f79-8853-11cedfc1f35b/C0534F78-B6E9-4F79-8853-11CEDFC1F35B",
            "freshchat:c0534f78-b6e9-4f79-8853-11cedfc1f35b/C0534F78-B6E9-4F79-8853-11CEDFC1F35B"
        ),
        // limits: exactly at the edge
        URNCase("ext:" + String(repeating: "a", count: 200), "ext:" + String(repeating: "a", count: 200)),
        URNCase("ext:x#" + String(repeating: "d", count: 255), "ext:x#" + String(repeating: "d", count: 255)),
    ]

    static let invalidCases: [URNErrorCase] = [
        // structure
        URNErrorCase("xyz:abc", .unknownScheme),
        URNErrorCase("discord:1234567", .unknownScheme),
        URNErrorCase("deleted:4f1c9b2e", .unknownScheme),
        URNErrorCase("xxxx", .empty),
        URNErrorCase("tel:", .empty),
        URNErrorCase("tel: ", .empty),
        URNErrorCase(":xxxx", .empty),
        URNErrorCase("", .empty),
        URNErrorCase("tel:46362#rrh#gege", .malformed),
        URNErrorCase("tel:123?a?b", .malformed),
        URNErrorCase("te?l:123", .malformed),
        // tel
        URNErrorCase("tel:1", "RW", .notAPossibleNumber),
        URNErrorCase("tel:99", "EC", .notAPossibleNumber),
        URNErrorCase("tel:+123", .notAPossibleNumber),
        URNErrorCase("tel:+prizes", .notAPossibleNumber),
        URNErrorCase("tel:+12345678901234567890", .notAPossibleNumber),
        URNErrorCase("tel:" + String(repeating: "1234567890", count: 8), "RW", .notAPossibleNumber),
        URNErrorCase("tel:0788383383", "ZZ", .invalidCountryCode),
        URNErrorCase("tel:+999123456789", .invalidCountryCode),
        URNErrorCase("tel:+999123456789", "RW", .invalidCountryCode),
        URNErrorCase("tel:--", .notAPossibleNumber),
        // twitter, twitterid
        URNErrorCase("twitter:jimmyjo!@", .invalidPath),
        URNErrorCase("twitter:billy bob", .invalidPath),
        URNErrorCase("twitter:abcdefghijklmnop", .invalidPath),
        URNErrorCase("twitterid:jimmyjo#1234567", .invalidPath),
        // mailto
        URNErrorCase("mailto:@@@", .invalidPath),
        URNErrorCase("mailto:bob", .invalidPath),
        URNErrorCase("mailto:bob @x.com", .invalidPath),
        URNErrorCase("mailto:bob@", .invalidPath),
        // numeric ids
        URNErrorCase("telegram:abcdef", .invalidPath),
        URNErrorCase("facebook:abcdef", .invalidPath),
        URNErrorCase("instagram:abcdef", .invalidPath),
        URNErrorCase("jiochat:123de", .invalidPath),
        // line, viber, webchat, freshchat
        URNErrorCase("line:Uqw!123", .invalidPath),
        URNErrorCase("line:" + String(repeating: "a", count: 37), .invalidPath),
        URNErrorCase("viber:1234567890123456789012345", .invalidPath),
        URNErrorCase("viber:abc-def", .invalidPath),
        URNErrorCase("webchat:12345", .invalidPath),
        URNErrorCase("webchat:123456789012345678901234:bob", .invalidPath),
        URNErrorCase("freshchat:1234/5678", .invalidPath),
        URNErrorCase("freshchat:c0534f78-b6e9-4f79-8853-11cedfc1f35b", .invalidPath),
        // whatsapp, bsuid
        URNErrorCase("whatsapp:+12065551212", .invalidPath),
        URNErrorCase("whatsapp:b.ABC123", .invalidPath),
        URNErrorCase("whatsapp:BR.", .invalidPath),
        URNErrorCase("bsuid:12345", .invalidPath),
        URNErrorCase("bsuid:BR.ABC-123", .invalidPath),
        // limits
        URNErrorCase("ext:" + String(repeating: "a", count: 201), .pathTooLong),
        URNErrorCase("ext:" + String(repeating: "%23", count: 67), .pathTooLong),
        URNErrorCase("ext:x#" + String(repeating: "d", count: 256), .displayTooLong),
    ]

    @Test("normalizes valid URNs", arguments: Self.validCases)
    func normalizesValid(_ testCase: URNCase) throws {
        let urn = try URN.normalized(testCase.raw, defaultCountry: testCase.country)
        #expect(urn.description == testCase.expected)

        // Normalization is idempotent, and the encoded form reads back unchanged.
        let again = try URN.normalized(urn.description, defaultCountry: testCase.country)
        #expect(again == urn)
        #expect(try URN(validating: urn.description) == urn)
    }

    @Test("refuses invalid URNs", arguments: Self.invalidCases)
    func refusesInvalid(_ testCase: URNErrorCase) {
        #expect(throws: testCase.error) {
            try URN.normalized(testCase.raw, defaultCountry: testCase.country)
        }
    }

    @Test("tables cover every user scheme and at least 70 cases")
    func coverage() {
        #expect(Self.validCases.count + Self.invalidCases.count >= 70)
        let schemes = Set(Self.validCases.compactMap { URNScheme(rawValue: String($0.expected.prefix { $0 != ":" })) })
        #expect(schemes == Set(URNScheme.userSchemes))
        #expect(URNScheme(rawValue: "discord") == nil)
    }

    @Test func partsAndIdentity() throws {
        let urn = try URN.normalized("tel:+250788123123?channel=8a7b6c5d#Home", defaultCountry: nil)
        #expect(urn.scheme == .tel)
        #expect(urn.path == "+250788123123")
        #expect(urn.query == "channel=8a7b6c5d")
        #expect(urn.display == "Home")
        #expect(urn.identity == "tel:+250788123123")
        #expect(urn.identityURN.description == "tel:+250788123123")
        #expect(urn.channel == "8a7b6c5d")
        #expect(urn.withChannel(nil).description == "tel:+250788123123#Home")
        #expect(urn.withChannel("c1").description == "tel:+250788123123?channel=c1#Home")
        #expect(try urn.withDisplay("  ").description == "tel:+250788123123?channel=8a7b6c5d")
        #expect(throws: URNError.displayTooLong) { try urn.withDisplay(String(repeating: "x", count: 256)) }
    }

    @Test func escapesComponents() throws {
        let urn = try URN(scheme: .ext, path: "a#b?c%d", query: "x=1", display: "50% #1?")
        #expect(urn.description == "ext:a%23b%3Fc%25d?x=1#50%25 %231%3F")
        #expect(urn.identity == "ext:a%23b%3Fc%25d")
        #expect(try URN(validating: urn.description) == urn)
        // Other percent sequences are left alone.
        #expect(try URN(validating: "ext:a%20b").path == "a%20b")
    }

    /// A contact's URN identities drop each stored URN's query and display and keep its escapes, as
    /// `URN.identity` does, whether or not the stored text has anything to drop.
    @Test func contactURNIdentitiesAreTheIdentitiesOfItsStoredURNs() throws {
        let stored = [
            "tel:+250788123123", "tel:+250788123124?channel=8a7b6c5d#Home", "twitterid:85114#billy_bob",
            "ext:a%23b%3Fc%25d?x=1#50%25", "ext:a%20b", "mailto:ann@example.org",
        ]
        let contact = Contact(
            created: ContactCreated(uuid: ContactUUID.random(), id: 1, name: nil, language: nil, status: .active, urns: stored),
            workspace: "main", at: .now, version: 1
        )
        #expect(contact.urnIdentities == stored.map { (try? URN(stored: $0))?.identity ?? $0 })
        #expect(contact.urnIdentities == [
            "tel:+250788123123", "tel:+250788123124", "twitterid:85114", "ext:a%23b%3Fc%25d", "ext:a%2520b", "mailto:ann@example.org",
        ])
    }

    @Test func partsInitializerNormalizesAndValidates() throws {
        #expect(try URN(scheme: .tel, path: " 0788 123 123 ", defaultCountry: "RW").description == "tel:+250788123123")
        #expect(try URN(scheme: .twitter, path: "@Bob", display: " ").description == "twitter:bob")
        #expect(try URN(scheme: .deleted, path: "4f1c9b2e").description == "deleted:4f1c9b2e")
        #expect(throws: URNError.empty) { try URN(scheme: .viber, path: "") }
        #expect(throws: URNError.invalidPath) { try URN(scheme: .telegram, path: "abc") }
    }

    @Test func validatingDoesNotNormalize() throws {
        #expect(throws: URNError.invalidPath) { try URN(validating: "tel:PRIZES") }
        #expect(throws: URNError.invalidPath) { try URN(validating: "tel:07883 83383") }
        #expect(throws: URNError.invalidPath) { try URN(validating: "whatsapp:br.ABC123") }
        #expect(throws: URNError.unknownScheme) { try URN(validating: "TEL:+250788383383") }
        #expect(try URN(validating: "tel:1").path == "1")
        #expect(try URN(validating: "deleted:4f1c9b2e").scheme == .deleted)
    }

    @Test(arguments: [
        ("tel:+250788383383", "tel:********"),
        ("twitterid:85114#billy_bob", "twitterid:********"),
        ("mailto:bob@example.com", "mailto:********"),
        ("whatsapp:250788383383?channel=c1", "whatsapp:********"),
    ])
    func masking(raw: String, masked: String) throws {
        let urn = try URN.normalized(raw, defaultCountry: nil)
        #expect(urn.masked == masked)
        #expect(!urn.masked.contains(urn.path))
    }

    @Test(arguments: [
        ("tel:+250788383383", "0788 383 383", "+250 788 383 383"),
        ("tel:+250768383383", "0768 383 383", "+250 768 383 383"),
        ("tel:+12065551212", "(206) 555-1212", "+1 206-555-1212"),
        ("tel:+250788383383#my-phone", "my-phone", "my-phone"),
        ("tel:1234", "1234", "1234"),
        ("tel:prizes", "prizes", "prizes"),
        ("whatsapp:250788383383", "0788 383 383", "+250 788 383 383"),
        ("whatsapp:BR.ABC123", "BR.ABC123", "BR.ABC123"),
        ("twitterid:85114#billy_bob", "billy_bob", "billy_bob"),
        ("twitter:billy_bob", "billy_bob", "billy_bob"),
        ("instagram:22114?foo=bar#foobar", "foobar", "foobar"),
        ("facebook:ref:12345?foo=bar&foo=zap", "ref:12345", "ref:12345"),
        ("webchat:123456789012345678901234", "123456789012345678901234", "123456789012345678901234"),
    ])
    func formatting(raw: String, national: String, international: String) throws {
        let urn = try URN.normalized(raw, defaultCountry: nil)
        #expect(urn.formatted == national)
        #expect(urn.formatted(international: true) == international)
    }

    @Test(arguments: URNError.allCases)
    func errorsCarryCodesNotValues(_ error: URNError) {
        #expect(!error.code.isEmpty)
        #expect(error.code.allSatisfy { $0.isLowercase || $0 == "_" })
        #expect(error.description == error.message)
        #expect(!error.message.contains(":"))
    }

    @Test func errorMessagesAreTheReferenceTexts() {
        #expect(URNError.unknownScheme.message == "unknown URN scheme")
        #expect(URNError.empty.message == "scheme or path cannot be empty")
        #expect(URNError.invalidPath.message == "invalid path component")
        #expect(URNError.pathTooLong.message == "path component too long")
        #expect(URNError.notAPossibleNumber.message == "not a possible number")
        #expect(URNError.invalidCountryCode.message == "invalid country code")
        #expect(Set(URNError.allCases.map(\.code)).count == URNError.allCases.count)
    }

    @Test func codableUsesTheEncodedForm() throws {
        let urn = try URN.normalized("telegram:12345#Jane", defaultCountry: nil)
        let data = try JSONEncoder().encode([urn])
        #expect(String(decoding: data, as: UTF8.self) == #"["telegram:12345#Jane"]"#)
        #expect(try JSONDecoder().decode([URN].self, from: data) == [urn])

        let secret = Data(#"["tel:+250 788"]"#.utf8)
        do {
            _ = try JSONDecoder().decode([URN].self, from: secret)
            Issue.record("expected a decoding error")
        } catch {
            #expect(!String(describing: error).contains("788"))
        }
    }

    @Test func schemes() {
        #expect(URNScheme.allCases.count == 21)
        #expect(URNScheme.userSchemes.count == 20)
        #expect(!URNScheme.userSchemes.contains(.deleted))
        #expect(URNScheme.tel.displayName == "Phone")
        #expect(URNScheme.mailto.displayName == "Email")
    }

    @Test func phoneNumberHelpers() throws {
        #expect(PhoneNumbers.country(ofNumber: "+250788383383") == "RW")
        #expect(PhoneNumbers.country(ofNumber: "+12065551212") == "US")
        #expect(PhoneNumbers.country(ofNumber: "+80012345678") == nil)
        #expect(PhoneNumbers.country(ofNumber: "prizes") == nil)
        #expect(PhoneNumbers.isSupportedRegion("rw"))
        #expect(!PhoneNumbers.isSupportedRegion("ZZ"))
        #expect(PhoneNumbers.format("0788383383", style: .e164, region: "RW") == "+250788383383")
        #expect(throws: URNError.notAPossibleNumber) {
            try PhoneNumbers.parse("1234", defaultCountry: "US", allowShortCodes: false)
        }
        #expect(throws: URNError.notAPossibleNumber) { try PhoneNumbers.parse("PRIZES", defaultCountry: "RW") }
        #expect(throws: URNError.notAPossibleNumber) { try PhoneNumbers.parse("1234", defaultCountry: nil) }
        #expect(try PhoneNumbers.parse("PRIZES", defaultCountry: "RW", allowSenderIDs: true) == "prizes")
    }

    /// A number written with its country code parses to the same E.164 form under any default country,
    /// and what it parses to parses to itself: the ground for skipping the stability re-parse of such
    /// numbers.
    @Test func numbersWithACountryCodeParseAlikeUnderEveryRegionAndStayStable() throws {
        var generator = SeededGenerator(seed: 20261202)
        let codes = ["1", "7", "33", "44", "49", "82", "86", "91", "234", "250", "254", "255", "256", "260", "263", "27", "55", "593", "880", "971"]
        var parsed = 0
        for _ in 0..<3_000 {
            let code = codes[Int.random(in: 0..<codes.count, using: &generator)]
            let digits = (0..<Int.random(in: 6...12, using: &generator)).map { _ in String(Int.random(in: 0...9, using: &generator)) }.joined()
            let number = "+" + code + digits
            // Short codes (a fallback only with a default country) aside, every result is the same.
            let results = [nil, "RW", "US", "KR", "GB"].map { country in
                (try? PhoneNumbers.parse(number, defaultCountry: country)).flatMap { $0.hasPrefix("+") ? $0 : nil }
            }
            for result in results.dropFirst() { #expect(result == results[0], "\(number)") }
            guard let e164 = results[0] else { continue }
            parsed += 1
            #expect(try PhoneNumbers.parse(e164, defaultCountry: nil) == e164, "\(number)")
        }
        #expect(parsed > 1_000)
    }
}

/// A decision context normalizes each URN once and answers as ``URN/normalized(_:defaultCountry:)`` does.
struct MemoizedURNNormalizationTests {
    struct NoOwners: ContactLookup {
        func owner(ofURN identity: String) throws -> ContactUUID? { nil }
    }

    @Test func theContextAnswersAsTheNormalizerForValidAndInvalidURNs() throws {
        var workspace = Workspace(name: "main")
        workspace.defaultCountry = "RW"
        var context = DecisionContext(workspace: workspace, now: Timestamp(microseconds: 0), lookup: NoOwners())
        let inputs = ["tel:0788 123 123", "tel:0788 123 123", "whatsapp:250788123123", "tel:12", "bogus:x", "", "twitter: @JimmyJo"]
        for _ in 0..<2 {
            for input in inputs {
                let expected = Result { () throws(URNError) in try URN.normalized(input, defaultCountry: "RW") }
                let memoized = Result { () throws(URNError) in try context.normalizedURN(input) }
                #expect(memoized == expected, "\(input)")
            }
        }
        // The memo is keyed by the default country too.
        context.workspace.defaultCountry = "US"
        #expect(try context.normalizedURN("tel:(206) 555-1212").identity == "tel:+12065551212")
        context.workspace.defaultCountry = "RW"
        #expect(try context.normalizedURN("tel:0788 123 123").identity == "tel:+250788123123")
    }
}

/// A table normalized ahead (an import's plan, spread over the cores) holds what the normalizer answers,
/// and a decision context given it answers the same, under its own default country only.
struct URNNormalizationTableTests {
    @Test func aTableMadeOnEveryCoreHoldsTheNormalizersAnswers() {
        // Past the size where the work is split, with repeats, refusals and other schemes mixed in.
        var texts: [String] = []
        for number in 0..<6_000 {
            texts.append("tel:0788 \(100_000 + number)")
            if number % 7 == 0 { texts.append("tel:\(number % 50)") }
            if number % 11 == 0 { texts.append("twitter: @user\(number)") }
        }
        texts += texts.prefix(500)
        let table = URNNormalizationTable.normalizing(texts, defaultCountry: "RW")
        #expect(table.count == Set(texts).count)
        for text in texts {
            let expected = Result { () throws(URNError) in try URN.normalized(text, defaultCountry: "RW") }
            #expect(table.result(text, defaultCountry: "RW") == expected, "\(text)")
            #expect(table.result(text, defaultCountry: "US") == nil)
        }
    }

    @Test func aContextUsesTheTableOnlyUnderTheDefaultCountryItWasMadeWith() throws {
        var workspace = Workspace(name: "main")
        workspace.defaultCountry = "RW"
        let table = URNNormalizationTable.normalizing(["tel:0788 123 123", "tel:12"], defaultCountry: "RW")
        var context = DecisionContext(
            workspace: workspace, now: Timestamp(microseconds: 0), lookup: MemoizedURNNormalizationTests.NoOwners(), normalizedURNs: table
        )
        #expect(try context.normalizedURN("tel:0788 123 123").identity == "tel:+250788123123")
        #expect(throws: URNError.notAPossibleNumber) { try context.normalizedURN("tel:12") }
        // Under another default country the text is normalized afresh.
        context.workspace.defaultCountry = "US"
        let underUS = try URN.normalized("tel:0788 123 123", defaultCountry: "US")
        #expect(underUS.identity != "tel:+250788123123")
        #expect(try context.normalizedURN("tel:0788 123 123") == underUS)
    }
}
