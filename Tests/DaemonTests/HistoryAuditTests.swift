// ContactLedger — daemon tests.
import Foundation
import RPC
import Testing

/// History replay for audits: timelines, time travel, diffs and who-changed-what.
@Suite(.timeLimit(.minutes(3)))
struct HistoryAuditTests {
    @Test func asOfEveryPointEqualsWhatGetShowedThen() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        try daemon.call("fields.create", ["key": "town", "type": "text"])
        let created = try daemon.call("contacts.create", ["name": "Life", "urns": ["ext:life"], "actor": "ana@example.org"])
        let uuid = try #require(created.string("uuid"))
        var snapshots: [(seq: Int64, time: String, contact: JSONValue)] = []
        func record(_ answer: JSONValue) throws {
            var contact = answer
            if case .object(var members) = contact {
                members.removeValue(forKey: "seq")
                contact = .object(members)
            }
            let seq = try #require(answer.int("seq"))
            let event = try #require(try daemon.call("events.read", ["after_seq": .integer(seq - 1), "limit": 1])["items"]?.arrayValue?.first)
            snapshots.append((seq, try #require(event.string("created_on")), contact))
        }
        try record(created)
        let changes: [JSONValue] = [
            [["type": "field", "field": "age", "value": "30"]],
            [["type": "name", "name": "Life Two"], ["type": "field", "field": "town", "value": "Kigali"]],
            [["type": "urns", "action": "append", "urns": ["ext:second"]]],
            [["type": "status", "status": "stopped"]],
            [["type": "status", "status": "active"], ["type": "field", "field": "age", "value": ""]],
            [["type": "language", "language": "kin"]],
        ]
        for (index, modifiers) in changes.enumerated() {
            usleep(2000)
            let actor: JSONValue = index % 2 == 0 ? "ana@example.org" : "bob@example.org"
            try record(try daemon.call("contacts.modify", ["uuid": .string(uuid), "modifiers": modifiers, "actor": actor]))
        }
        for snapshot in snapshots {
            #expect(try daemon.call("contacts.as_of", ["uuid": .string(uuid), "at": ["seq": .integer(snapshot.seq)]]) == snapshot.contact)
            #expect(try daemon.call("contacts.as_of", ["uuid": .string(uuid), "at": .string(snapshot.time)]) == snapshot.contact)
        }
        let before = try daemon.error("contacts.as_of", ["uuid": .string(uuid), "at": "2001-01-01T00:00:00Z"])
        #expect(before.code == -32001)

        // Diff between the first and the third state.
        let diff = try daemon.call("contacts.diff", ["uuid": .string(uuid), "from": ["seq": .integer(snapshots[0].seq)], "to": ["seq": .integer(snapshots[2].seq)]])
        #expect(diff["changes"]?["name"]?["before"] == "Life")
        #expect(diff["changes"]?["name"]?["after"] == "Life Two")
        #expect(diff["changes"]?["fields.age"]?["before"] == .null)
        #expect(diff["changes"]?["fields.age"]?["after"]?.string("text") == "30")
        #expect(diff["changes"]?["status"] == nil)

        // The timeline, newest first, filtered and paged.
        let history = try daemon.call("contacts.history", ["uuid": .string(uuid), "types": ["contact_field_changed"]])
        let items = try #require(history["items"]?.arrayValue)
        #expect(items.count == 3)
        #expect(items.first?["data"]?["value"] == .null)
        let page = try daemon.call("contacts.history", ["uuid": .string(uuid), "limit": 2])
        let cursor = try #require(page.string("next_cursor"))
        let rest = try daemon.call("contacts.history", ["uuid": .string(uuid), "limit": 100, "cursor": .string(cursor)])
        let allSeqs = (page["items"]?.arrayValue ?? []) + (rest["items"]?.arrayValue ?? [])
        #expect(allSeqs.compactMap { $0.int("seq") } == allSeqs.compactMap { $0.int("seq") }.sorted(by: >))
        // Oldest first, paged forward.
        let firstPage = try daemon.call("contacts.history", ["uuid": .string(uuid), "order": "asc", "limit": 3])
        let forwardCursor = try #require(firstPage.string("next_cursor"))
        let nextPage = try daemon.call("contacts.history", ["uuid": .string(uuid), "order": "asc", "limit": 100, "cursor": .string(forwardCursor)])
        let forward = ((firstPage["items"]?.arrayValue ?? []) + (nextPage["items"]?.arrayValue ?? [])).compactMap { $0.int("seq") }
        #expect(forward == allSeqs.compactMap { $0.int("seq") }.reversed())
        let after = try daemon.call("contacts.history", ["uuid": .string(uuid), "after": ["seq": .integer(snapshots[4].seq)]])
        #expect(after["items"]?.arrayValue?.allSatisfy { ($0.int("seq") ?? 0) > snapshots[4].seq } == true)

        // Who changed what: by actor, by field, by time.
        let byBob = try daemon.call("audit.changes", ["actor": "bob@example.org"])
        #expect(byBob["items"]?.arrayValue?.allSatisfy { $0.string("actor") == "bob@example.org" } == true)
        #expect(byBob["items"]?.arrayValue?.count == 4)
        let ageChanges = try daemon.call("audit.changes", ["field": "age"])
        #expect(ageChanges["items"]?.arrayValue?.count == 2)
        let sinceThird = try daemon.call("audit.changes", ["from": .string(snapshots[3].time), "types": ["contact_status_changed"]])
        #expect(sinceThird["items"]?.arrayValue?.count == 2)
        let byUID = try daemon.call("audit.changes", ["peer_uid": .integer(Int64(getuid())), "limit": 3])
        #expect(byUID["items"]?.arrayValue?.count == 3)
        #expect(byUID.string("next_cursor") != nil)
    }

    @Test func asOfOnALongStreamUsesSnapshotsAndStaysExact() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "counter", "type": "number"])
        let created = try daemon.call("contacts.create", ["name": "Long"])
        let uuid = try #require(created.string("uuid"))
        var answers: [(seq: Int64, contact: JSONValue)] = []
        let client = try daemon.client()
        for round in 0..<3 {
            // One modification per request, 100 per batch, each depending on nothing but its index.
            let batch: [JSONValue] = (0..<100).map { index in
                ["jsonrpc": "2.0", "id": .integer(Int64(index)), "method": "contacts.modify",
                 "params": ["uuid": .string(uuid), "modifiers": [["type": "field", "field": "counter", "value": .string("\(round * 100 + index)")]]]]
            }
            // Sent one by one so versions follow the values.
            for request in batch {
                try client.send(raw: JSONLine.encode(request) + [10])
                let answer = try client.readValue()
                let result = try #require(answer["result"])
                var contact = result
                if case .object(var members) = contact {
                    members.removeValue(forKey: "seq")
                    contact = .object(members)
                }
                answers.append((try #require(result.int("seq")), contact))
            }
        }
        #expect(answers.last?.contact.int("version") == 301)
        for index in [0, 61, 62, 63, 64, 126, 127, 200, 299] {
            let expected = answers[index]
            let asOf = try daemon.call("contacts.as_of", ["uuid": .string(uuid), "at": ["seq": .integer(expected.seq)]])
            #expect(asOf == expected.contact, "as_of at answer \(index)")
        }
    }
}
