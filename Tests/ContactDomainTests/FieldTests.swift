// ContactLedger — contact domain.

import ContactDomain
import Foundation
import Testing

@Suite("Field keys, names and definitions")
struct FieldTests {
    // MARK: Keys

    @Test(arguments: ["age", "first_name", "a", "x1", "a_b_c_1", String(repeating: "k", count: 36), "name", "language"])
    func acceptsValidKeys(_ raw: String) throws {
        let key = try FieldKey(raw)
        #expect(key.rawValue == raw)
    }

    @Test(arguments: [
        ("", FieldRuleError.Code.invalidKey),
        ("Age", .invalidKey),
        ("1st", .invalidKey),
        ("_age", .invalidKey),
        ("first name", .invalidKey),
        ("first-name", .invalidKey),
        ("café", .invalidKey),
        (String(repeating: "k", count: 37), .keyTooLong),
        ("has", .reservedKey),
        ("is", .reservedKey),
        ("fields", .reservedKey),
        ("urns", .reservedKey),
        ("created_on", .reservedKey),
        ("last_seen_on", .reservedKey),
    ])
    func refusesInvalidKeys(_ raw: String, _ code: FieldRuleError.Code) {
        let error = #expect(throws: FieldRuleError.self) { try FieldKey(raw) }
        #expect(error?.code == code)
        if !raw.isEmpty {
            #expect(error?.message.contains(raw) == false)
        }
    }

    @Test func tooLongKeyCarriesItsLimit() {
        let error = #expect(throws: FieldRuleError.self) { try FieldKey(String(repeating: "a", count: 40)) }
        #expect(error?.limit == 36)
    }

    @Test(arguments: [
        ("First Name", "first_name"),
        ("Second   Name  ", "second_name"),
        ("café", "caf"),
        ("Age", "age"),
        ("  Home -- District ", "home_district"),
        ("Phone #2", "phone_2"),
        ("Mother's Maiden Name", "mother_s_maiden_name"),
    ])
    func derivesKeysFromNames(_ name: String, _ expected: String) throws {
        #expect(try FieldKey.fromName(name).rawValue == expected)
    }

    @Test(arguments: ["Has", "Created On", "2nd Name", "---", "", "ééé", String(repeating: "Long ", count: 10)])
    func refusesNamesWhoseKeyIsInvalid(_ name: String) {
        let error = #expect(throws: FieldRuleError.self) { try FieldKey.fromName(name) }
        #expect(error?.code == .generatedKeyInvalid)
        #expect(error?.message == "Generated key is invalid or a reserved name.")
    }

    @Test func keysCodeAsStringsAndValidateOnDecode() throws {
        let data = try JSONEncoder().encode([try FieldKey("age")])
        #expect(String(decoding: data, as: UTF8.self) == #"["age"]"#)
        #expect(try JSONDecoder().decode([FieldKey].self, from: data) == [try FieldKey("age")])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([FieldKey].self, from: Data(#"["Has"]"#.utf8)) }
    }

    // MARK: Names

    @Test(arguments: [
        "Age", "First Name", "Home-District", "Café au lait", "Ward 12", String(repeating: "n", count: 36),
    ])
    func acceptsValidNames(_ name: String) throws {
        try FieldDefinition.validateName(name)
    }

    @Test(arguments: [
        ("", FieldRuleError.Code.invalidName),
        (" Age", .invalidName),
        ("Age ", .invalidName),
        ("Age!", .invalidName),
        ("first_name", .invalidName),
        ("Phone #2", .invalidName),
        ("a\tb", .invalidName),
        (String(repeating: "n", count: 37), .nameTooLong),
    ])
    func refusesInvalidNames(_ name: String, _ code: FieldRuleError.Code) {
        let error = #expect(throws: FieldRuleError.self) { try FieldDefinition.validateName(name) }
        #expect(error?.code == code)
    }

    @Test func errorMessagesAreConstant() {
        #expect(FieldRuleError(code: .invalidName).message == "Can only contain letters, numbers and hypens.")
        #expect(FieldRuleError(code: .reservedKey).message == "Can't be a reserved word.")
        #expect(FieldRuleError(code: .reservedKey).description == "reserved_key: Can't be a reserved word.")
    }

    // MARK: Definitions

    private func field(_ key: String, featured: Bool = false, priority: Int = 0) throws -> FieldDefinition {
        FieldDefinition(key: try FieldKey(key), name: key, type: .text, featured: featured, priority: priority)
    }

    @Test func featuredOrderIsPriorityDescendingThenCreation() throws {
        let fields = [
            try self.field("a", featured: true, priority: 1),
            try self.field("b", featured: false, priority: 9),
            try self.field("c", featured: true, priority: 3),
            try self.field("d", featured: true, priority: 1),
            try self.field("e", featured: true, priority: 3),
        ]
        #expect(FieldDefinition.featuredOrder(fields).map(\.key.rawValue) == ["c", "e", "a", "d"])
    }

    @Test func savingAFeaturedListRewritesPriorities() throws {
        let fields = [
            try self.field("a", featured: true, priority: 5),
            try self.field("b"),
            try self.field("c"),
            try self.field("d", featured: true, priority: 1),
        ]
        let keys = [try FieldKey("c"), try FieldKey("a"), try FieldKey("zz"), try FieldKey("c")]
        let updated = FieldDefinition.applyingFeaturedList(keys, to: fields)
        #expect(updated.map(\.priority) == [1, 0, 2, 0])
        #expect(updated.map(\.featured) == [true, false, true, false])
        #expect(FieldDefinition.featuredOrder(updated).map(\.key.rawValue) == ["c", "a"])
    }

    @Test func definitionsUseSnakeCaseJSON() throws {
        let definition = FieldDefinition(
            key: try FieldKey("home_ward"), name: "Home Ward", type: .ward, featured: true,
            priority: 2)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(definition), as: UTF8.self)
        #expect(json == #"{"featured":true,"key":"home_ward","name":"Home Ward","priority":2,"type":"ward"}"#)
        #expect(try JSONDecoder().decode(FieldDefinition.self, from: Data(json.utf8)) == definition)
    }

    @Test func limitsMatchTheSpec() {
        #expect(FieldDefinition.maxFieldsPerWorkspace == 250)
        #expect(FieldDefinition.maxNameLength == 36)
        #expect(FieldKey.maxLength == 36)
        #expect(FieldValue.maxTextLength == 640)
    }

    @Test(arguments: DateFormat.allCases)
    func dateFormatsUseTheWireStrings(_ format: DateFormat) throws {
        #expect(["YYYY-MM-DD", "DD-MM-YYYY", "MM-DD-YYYY"].contains(format.rawValue))
        #expect(DateFormat(rawValue: format.rawValue) == format)
    }
}
