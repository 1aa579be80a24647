// ContactLedger — daemon tests.
import Foundation
import RPC
import Testing

/// `contacts.bulk_modify` refuses modifiers no contact could take whatever the query matches (found by the
/// contract audit: with no match, a misspelt field key answered `{matched: 0, changed: 0}`, with one it
/// answered -32001, so a client's typo went unnoticed until data matched).
struct BulkModifyCheckTests {
    @Test func modifiersAreCheckedWhenNothingMatches() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "name": "Age", "type": "number"])
        try daemon.call("contacts.create", ["name": "Ann"])
        let smart = try #require(try daemon.call("groups.create", ["name": "Adults", "query": "age >= 18"]).string("uuid"))
        let unknownGroup = "0b7a1a5e-9a6c-4f0e-8a39-3f6f0f3c1d2e"
        let cases: [(modifier: JSONValue, code: Int, field: String?)] = [
            (ContactKit.field("no_such_key", "x"), -32001, nil),
            (ContactKit.groups("add", [unknownGroup]), -32001, nil),
            (ContactKit.groups("add", [smart]), -32003, "modifiers[0].groups[0]"),
            (ContactKit.urns("append", ["tel:"]), -32602, "modifiers[0].urns[0]"),
            (["type": "language", "language": "english"], -32602, "modifiers[0].language"),
        ]
        for (modifier, code, field) in cases {
            for selection: [String: JSONValue] in [["query": "name = Nobody"], ["uuids": []], ["query": "name = Ann"]] {
                var params = selection
                params["modifiers"] = [modifier]
                let refused = try daemon.error("contacts.bulk_modify", .object(params))
                #expect(refused.code == code, "\(modifier) \(selection): \(refused)")
                if let field { #expect(refused.data("field") == .string(field), "\(modifier) \(selection): \(refused)") }
            }
        }
        #expect(try daemon.call("contacts.bulk_modify", ["query": "name = Nobody", "modifiers": [ContactKit.field("age", "20")]])["matched"] == 0)
        // What depends on a contact waits for one: a URN another contact owns, with nobody to take it.
        try daemon.call("contacts.create", ["name": "Owner", "urns": ["tel:+250788123456"]])
        let none = try daemon.call("contacts.bulk_modify", ["uuids": [], "modifiers": [ContactKit.urns("append", ["tel:+250788123456"])]])
        #expect(none["changed"] == 0)
    }
}
