// ContactLedger — contact domain.

import ContactDomain
import Foundation
import Testing

/// A small Rwanda hierarchy: names shared across levels (Kigali: a state alias and a ward; Ngoma: a district
/// and a ward) exercise the level and parent rules.
enum RwandaFixture {
    static let root = LocationNode(
        name: "Rwanda",
        children: [
            LocationNode(
                name: "Kigali City", aliases: ["Kigali", "Umujyi wa Kigali"],
                children: [
                    LocationNode(
                        name: "Gasabo",
                        children: [
                            LocationNode(name: "Kimironko"), LocationNode(name: "Remera"),
                            LocationNode(name: "Kacyiru"),
                        ]),
                    LocationNode(
                        name: "Nyarugenge",
                        children: [
                            LocationNode(name: "Nyamirambo"), LocationNode(name: "Kigali"),
                            LocationNode(name: "Muhima"),
                        ]),
                ]),
            LocationNode(
                name: "Eastern Province", aliases: ["Iburasirazuba"],
                children: [
                    LocationNode(
                        name: "Rwamagana", children: [LocationNode(name: "Muhazi"), LocationNode(name: "Kigabiro")]),
                    LocationNode(name: "Ngoma", children: [LocationNode(name: "Kibungo")]),
                ]),
            LocationNode(
                name: "Southern Province",
                children: [
                    LocationNode(
                        name: "Huye", aliases: ["Butare"],
                        children: [LocationNode(name: "Ngoma"), LocationNode(name: "Tumba")])
                ]),
        ])

    static func hierarchy() throws -> LocationHierarchy {
        try LocationHierarchy(root: Self.root)
    }
}

/// One row of a fuzzy-match table: the text, the field type, the contact's current parents, the expected path.
struct LocationCase: Sendable, CustomTestStringConvertible {
    let text: String
    let type: FieldType
    let state: String?
    let district: String?
    let expected: String?

    init(_ text: String, _ type: FieldType, state: String? = nil, district: String? = nil, _ expected: String?) {
        self.text = text
        self.type = type
        self.state = state
        self.district = district
        self.expected = expected
    }

    var testDescription: String { "\(self.text.debugDescription) as \(self.type.rawValue)" }
}

@Suite("Location hierarchy and matching")
struct LocationTests {
    static let kigali = "Rwanda > Kigali City"
    static let eastern = "Rwanda > Eastern Province"
    static let gasabo = "Rwanda > Kigali City > Gasabo"
    static let nyarugenge = "Rwanda > Kigali City > Nyarugenge"

    static let cases: [LocationCase] = [
        // states: exact name or alias, case-insensitive
        LocationCase("kigali city", .state, "Rwanda > Kigali City"),
        LocationCase("Kigali", .state, "Rwanda > Kigali City"),
        LocationCase("KIGALI", .state, "Rwanda > Kigali City"),
        LocationCase("umujyi wa kigali", .state, "Rwanda > Kigali City"),
        LocationCase("Iburasirazuba", .state, "Rwanda > Eastern Province"),
        // punctuation removed
        LocationCase("Kigali!!", .state, "Rwanda > Kigali City"),
        LocationCase("Iburasira-zuba.", .state, "Rwanda > Eastern Province"),
        // each word, then each word pair
        LocationCase("I live in Kigali", .state, "Rwanda > Kigali City"),
        LocationCase("near the eastern province border", .state, "Rwanda > Eastern Province"),
        LocationCase("southern  province", .state, "Rwanda > Southern Province"),
        LocationCase("Southern Province", .state, "Rwanda > Southern Province"),
        LocationCase("x", .state, nil),
        LocationCase("Gasabo", .state, nil),
        // districts only inside the current state
        LocationCase("gasabo", .district, state: Self.kigali, "Rwanda > Kigali City > Gasabo"),
        LocationCase("Gasabo District", .district, state: Self.kigali, "Rwanda > Kigali City > Gasabo"),
        LocationCase("gasabo", .district, state: Self.eastern, nil),
        LocationCase("gasabo", .district, nil),
        LocationCase("Ngoma", .district, state: Self.eastern, "Rwanda > Eastern Province > Ngoma"),
        LocationCase("Ngoma", .district, state: "Rwanda > Southern Province", nil),
        LocationCase("butare", .district, state: "rwanda > southern province", "Rwanda > Southern Province > Huye"),
        LocationCase("gasabo", .district, state: "Rwanda > Nowhere", nil),
        // wards only inside the current district
        LocationCase("Remera", .ward, district: Self.gasabo, "Rwanda > Kigali City > Gasabo > Remera"),
        LocationCase("Kigali", .ward, district: Self.nyarugenge, "Rwanda > Kigali City > Nyarugenge > Kigali"),
        LocationCase("Kigali", .ward, district: Self.gasabo, nil),
        LocationCase("Remera", .ward, nil),
        LocationCase(
            "Ngoma", .ward, district: "Rwanda > Southern Province > Huye", "Rwanda > Southern Province > Huye > Ngoma"),
        // text and other types never fuzzy-match
        LocationCase("Kigali", .text, nil),
        LocationCase("Kigali", .number, nil),
        // a path is looked up at any level, whatever the type, ignoring case and spacing
        LocationCase("Rwanda > Kigali City", .text, "Rwanda > Kigali City"),
        LocationCase("rwanda>KIGALI   city.", .state, "Rwanda > Kigali City"),
        LocationCase("Rwanda > Kigali City > Gasabo > Remera", .state, "Rwanda > Kigali City > Gasabo > Remera"),
        LocationCase("Rwanda > Kigali", .state, nil),
        LocationCase("Kigali City > Gasabo", .district, state: Self.kigali, nil),
    ]

    @Test(arguments: Self.cases)
    func resolves(_ row: LocationCase) throws {
        let hierarchy = try RwandaFixture.hierarchy()
        let match = hierarchy.resolve(row.text, for: row.type, currentState: row.state, currentDistrict: row.district)
        #expect(match?.path == row.expected)
    }

    @Test func aMatchCarriesItsParents() throws {
        let hierarchy = try RwandaFixture.hierarchy()
        let ward = try #require(hierarchy.location(atPath: "rwanda > kigali city > gasabo > remera"))
        #expect(ward.name == "Remera")
        #expect(ward.level == .ward)
        #expect(ward.statePath == "Rwanda > Kigali City")
        #expect(ward.districtPath == "Rwanda > Kigali City > Gasabo")
        #expect(ward.wardPath == "Rwanda > Kigali City > Gasabo > Remera")

        let country = try #require(hierarchy.location(atPath: "Rwanda"))
        #expect(country.level == .country)
        #expect(country.statePath == nil)
    }

    @Test func findsByNameAtOneLevel() throws {
        let hierarchy = try RwandaFixture.hierarchy()
        #expect(
            hierarchy.locations(named: "ngoma", level: .district, parentPath: nil).map(\.path)
                == ["Rwanda > Eastern Province > Ngoma"])
        #expect(
            hierarchy.locations(named: "ngoma", level: .ward, parentPath: nil).map(\.path)
                == ["Rwanda > Southern Province > Huye > Ngoma"])
        #expect(hierarchy.locations(named: " ngoma", level: .district, parentPath: nil).isEmpty)
    }

    @Test(arguments: [
        ("Rwanda > Kigali City", "Kigali City"),
        ("Rwanda >  Kigali City > Gasabo ", "Gasabo"),
        ("Rwanda", "Rwanda"),
    ])
    func namesAPath(_ path: String, _ name: String) {
        #expect(LocationHierarchy.name(ofPath: path) == name)
    }

    // MARK: Field values

    @Test func fieldValuesStoreFullPaths() throws {
        let hierarchy = try RwandaFixture.hierarchy()
        let now = Date(timeIntervalSince1970: 1_773_567_045)
        let state = FieldValue.parse(
            "kigali city", environment: FieldParsingEnvironment(fieldType: .state, now: now, locations: hierarchy))
        #expect(state.state == "Rwanda > Kigali City")
        #expect(state.district == nil)
        #expect(state.reading(for: .state) == .location("Rwanda > Kigali City"))

        let ward = FieldValue.parse(
            "Nyamirambo",
            environment: FieldParsingEnvironment(
                fieldType: .ward, now: now, locations: hierarchy, currentState: Self.kigali,
                currentDistrict: Self.nyarugenge))
        #expect(ward.state == "Rwanda > Kigali City")
        #expect(ward.district == "Rwanda > Kigali City > Nyarugenge")
        #expect(ward.ward == "Rwanda > Kigali City > Nyarugenge > Nyamirambo")

        let nothing = FieldValue.parse(
            "x", environment: FieldParsingEnvironment(fieldType: .state, now: now, locations: hierarchy))
        #expect(nothing == FieldValue(text: "x"))
        #expect(nothing.isSet(for: .state, in: .gmt) == false)

        let noHierarchy = FieldValue.parse("Kigali", environment: FieldParsingEnvironment(fieldType: .state, now: now))
        #expect(noHierarchy.state == nil)
    }

    // MARK: Validation and coding

    @Test(arguments: [
        (LocationNode(name: " "), LocationRuleError.Code.emptyName, 0),
        (LocationNode(name: "R", children: [LocationNode(name: "")]), .emptyName, 1),
        (LocationNode(name: "R", children: [LocationNode(name: "A", aliases: [" "])]), .emptyAlias, 1),
        (LocationNode(name: "R", children: [LocationNode(name: "A > B")]), .nameContainsSeparator, 1),
        (LocationNode(name: "R", children: [LocationNode(name: "A"), LocationNode(name: " a ")]), .duplicateName, 1),
        (
            LocationNode(
                name: "R",
                children: [
                    LocationNode(
                        name: "S",
                        children: [
                            LocationNode(
                                name: "D", children: [LocationNode(name: "W", children: [LocationNode(name: "X")])])
                        ])
                ]), .tooDeep, 4
        ),
    ])
    func refusesInvalidTrees(_ root: LocationNode, _ code: LocationRuleError.Code, _ level: Int) {
        let error = #expect(throws: LocationRuleError.self) { try LocationHierarchy(root: root) }
        #expect(error?.code == code)
        #expect(error?.level == level)
    }

    @Test func sameNamesUnderDifferentParentsAreFine() throws {
        let hierarchy = try RwandaFixture.hierarchy()
        #expect(hierarchy.location(atPath: "Rwanda > Southern Province > Huye > Ngoma") != nil)
        #expect(hierarchy.location(atPath: "Rwanda > Eastern Province > Ngoma") != nil)
    }

    @Test func codesAsTheWireTree() throws {
        let json = #"""
            {"name":"Rwanda","children":[{"name":"Kigali City","aliases":["Kigali"],"children":[{"name":"Gasabo"}]}]}
            """#
        let hierarchy = try JSONDecoder().decode(LocationHierarchy.self, from: Data(json.utf8))
        #expect(
            hierarchy.resolve("kigali", for: .state, currentState: nil, currentDistrict: nil)?.path
                == "Rwanda > Kigali City")
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let encoded = String(decoding: try encoder.encode(hierarchy), as: UTF8.self)
        #expect(
            encoded
                == #"{"children":[{"aliases":["Kigali"],"children":[{"name":"Gasabo"}],"name":"Kigali City"}],"name":"Rwanda"}"#
        )
        #expect(try JSONDecoder().decode(LocationHierarchy.self, from: Data(encoded.utf8)) == hierarchy)

        let fixture = try RwandaFixture.hierarchy()
        #expect(try JSONDecoder().decode(LocationHierarchy.self, from: try encoder.encode(fixture)) == fixture)
    }

    @Test func decodingValidates() {
        let json = #"{"name":"Rwanda","children":[{"name":""}]}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(LocationHierarchy.self, from: Data(json.utf8)) }
    }
}
