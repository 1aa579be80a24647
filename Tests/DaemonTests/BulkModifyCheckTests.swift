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

    /// A group addition refused for contacts' status names them all (RapidPro: "Non-active contacts cannot
    /// be added to groups: <uuids>"); before, the refusal named the modifier alone, whichever of the matched
    /// contacts stood in the way. A refusal about one contact names it the same way.
    @Test func refusalsNameTheContactsInTheWay() throws {
        let daemon = try DaemonHarness()
        let group = try #require(try daemon.call("groups.create", ["name": "Club"]).string("uuid"))
        var uuids: [String] = []
        for index in 0..<6 {
            uuids.append(try #require(try daemon.call("contacts.create", ["name": .string("C\(index)")]).string("uuid")))
        }
        try daemon.call("contacts.modify", ["uuid": .string(uuids[1]), "modifiers": [ContactKit.status("blocked")]])
        try daemon.call("contacts.modify", ["uuid": .string(uuids[4]), "modifiers": [ContactKit.status("stopped")]])
        let inTheWay = [uuids[1], uuids[4]].sorted()
        let head = try daemon.call("system.health")["head_seq"]
        for selection: [String: JSONValue] in [["query": ""], ["uuids": .array(uuids.map { .string($0) })]] {
            var params = selection
            params["modifiers"] = [ContactKit.groups("add", [group])]
            let refused = try daemon.error("contacts.bulk_modify", .object(params))
            #expect(refused.code == -32003, "\(selection): \(refused)")
            #expect(refused.data("reason") == "contact_not_active")
            #expect(refused.data("field") == "modifiers[0].groups[0]")
            #expect(refused.data("contacts") == .array(inTheWay.map { .string($0) }), "\(selection): \(refused)")
            #expect(refused.data("count") == 2)
        }
        // Nothing was applied: the command is one commit.
        #expect(try daemon.call("system.health")["head_seq"] == head)
        #expect(try daemon.call("groups.members", ["uuid": .string(group)])["items"] == [])
        // One contact in the way: named alone.
        try daemon.call("contacts.create", ["name": "Owner", "urns": ["tel:+250788123456"]])
        let active = [uuids[0], uuids[2], uuids[3], uuids[5]].sorted()
        let taken = try daemon.error("contacts.bulk_modify", [
            "uuids": .array(active.map { .string($0) }), "modifiers": [ContactKit.urns("append", ["tel:+250788123456"])],
        ])
        #expect(taken.code == -32002, "\(taken)")
        #expect(taken.data("contacts") == [.string(active[0])], "\(taken)")
        #expect(taken.data("count") == 1)
        // A deleted contact among the UUIDs: named the same way (and by its `id`, as a not-found is).
        try daemon.call("contacts.delete", ["uuid": .string(uuids[4])])
        let deleted = try daemon.error("contacts.bulk_modify", [
            "uuids": .array(uuids.map { .string($0) }), "modifiers": [["type": "name", "name": "Renamed"]],
        ])
        #expect(deleted.code == -32001, "\(deleted)")
        #expect(deleted.data("reason") == "deleted", "\(deleted)")
        #expect(deleted.data("contacts") == [.string(uuids[4])], "\(deleted)")
    }
}
