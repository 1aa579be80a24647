// ContactLedger — daemon tests.
import Foundation
import RPC
import Testing

/// History replay for audits: timelines, time travel, diffs and who-changed-what.
// Five minutes: the posting-block test writes 9,000 contacts, 82 s of its own beside three other tests
// on 2 cores.
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct HistoryAuditTests {
    /// A cursor at or past the log's end, up to UInt64.max, gets an answer on every paged method (or its
    /// -32602 naming the cursor); those that page forward in the log answer an empty page. `audit.changes`
    /// added one to it, and UInt64.max trapped, which any client could send to stop the daemon (messages
    /// and history audit of stop 53). Newest-first pages (history, messages) start before the cursor.
    @Test func cursorsPastTheEndAnswerAnEmptyPage() throws {
        let daemon = try DaemonHarness()
        let uuid = try #require(try daemon.call("contacts.create", ["name": "Paged", "urns": ["ext:paged"]]).string("uuid"))
        try daemon.call("messages.receive", ["urn": "ext:paged", "text": "hi"])
        let head = try ContactKit.head(daemon)
        let client = try daemon.client()
        let methods: [(String, [String: JSONValue])] = [
            ("audit.changes", [:]), ("contacts.history", ["uuid": .string(uuid)]), ("contacts.messages", ["uuid": .string(uuid)]),
            ("events.read", [:]), ("contacts.search", ["query": ""]),
        ]
        for (method, params) in methods {
            for cursor in ["18446744073709551615", "18446744073709551614", "\(head)", "\(head + 1)"] {
                var sent = params
                sent["cursor"] = .string(cursor)
                let request: JSONValue = ["jsonrpc": "2.0", "id": 1, "method": .string(method), "params": .object(sent)]
                try client.send(raw: JSONLine.encode(request) + [10])
                let answer = try client.readValue()
                if let error = answer["error"] {
                    #expect(error.int("code") == -32602 && error["data"]?.string("field") == "cursor", "\(method) \(cursor): \(answer)")
                } else if ["audit.changes", "events.read"].contains(method) {
                    #expect(answer["result"]?["items"] == [], "\(method) \(cursor): \(answer)")
                } else {
                    #expect(answer["result"] != nil, "\(method) \(cursor): \(answer)")
                }
            }
        }
        #expect(try daemon.call("system.health").string("status") != nil)
    }

    /// `audit.changes` refuses a `from` or `to` seq, and a cursor, past the head, as `contacts.diff` refuses
    /// its points and `events.read` its cursor (README audit): its `to` was taken up to the head, so a page
    /// after writes took the events written between pages, and a `from` past it answered an empty page.
    @Test func auditChangesRefusesPointsPastTheHead() throws {
        let daemon = try DaemonHarness()
        for index in 0..<3 { try daemon.call("contacts.create", ["name": .string("a\(index)")]) }
        let head = try ContactKit.head(daemon)
        let cases: [(params: JSONValue, field: String)] = [
            (["to": ["seq": .integer(head + 3)]], "to"), (["from": ["seq": .integer(head + 5)]], "from"),
            (["cursor": .string("\(head + 1)")], "cursor"),
        ]
        for (params, field) in cases {
            let refused = try daemon.error("audit.changes", params)
            #expect(refused.code == -32602, "\(params): \(refused)")
            #expect(refused.data("field") == .string(field), "\(params): \(refused)")
            #expect(refused.data("reason") == "past_head")
            #expect(refused.data("head_seq") == .integer(head))
        }
        // Up to the head, and a cursor at it, answer as before.
        #expect(try daemon.call("audit.changes", ["to": ["seq": .integer(head)]])["items"]?.arrayValue?.count == Int(head))
        #expect(try daemon.call("audit.changes", ["cursor": .string("\(head)")])["items"] == [])
    }

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
        // Between two seqs (after excludes its own, before includes it), both ways, paged.
        let descending = allSeqs.compactMap { $0.int("seq") }
        let (low, high) = (descending[descending.count - 2], descending[1])
        for order in ["desc", "asc"] {
            var seen: [Int64] = []
            var cursor: JSONValue = .null
            repeat {
                var params: [String: JSONValue] = [
                    "uuid": .string(uuid), "after": ["seq": .integer(low)], "before": ["seq": .integer(high)], "order": .string(order), "limit": 2,
                ]
                if cursor != .null { params["cursor"] = cursor }
                let page = try daemon.call("contacts.history", .object(params))
                seen += page["items"]?.arrayValue?.compactMap { $0.int("seq") } ?? []
                cursor = page["next_cursor"] ?? .null
            } while cursor != .null
            let expected = descending.filter { $0 > low && $0 <= high }
            #expect(seen == (order == "desc" ? expected : expected.reversed()), "\(order)")
        }

        // Who changed what: by actor, by field, by time.
        let byBob = try daemon.call("audit.changes", ["actor": "bob@example.org"])
        #expect(byBob["items"]?.arrayValue?.allSatisfy { $0.string("actor") == "bob@example.org" } == true)
        #expect(byBob["items"]?.arrayValue?.count == 4)
        let ageChanges = try daemon.call("audit.changes", ["field": "age"])
        #expect(ageChanges["items"]?.arrayValue?.count == 2)
        // Each entry names its contact (a workspace event names none); a key that cannot be one is refused,
        // where an empty answer said nobody had changed it (a field's name given for its key).
        #expect(ageChanges["items"]?.arrayValue?.allSatisfy { $0.string("contact") == uuid } == true)
        let workspaceEvents = try daemon.call("audit.changes", ["types": ["field_created"]])
        if case .object(let entry)? = workspaceEvents["items"]?.arrayValue?.first {
            #expect(entry.keys.contains("contact") && entry["contact"] == .null, "\(entry)")
        } else {
            Issue.record("no field_created entry: \(workspaceEvents)")
        }
        for (key, reason) in [("Age", "invalid_key"), ("has", "reserved_key"), ("", "invalid_key"), (String(repeating: "a", count: 40), "key_too_long")] {
            let refused = try daemon.error("audit.changes", ["field": .string(key)])
            #expect(refused.code == -32602, "\(key)")
            #expect(refused.data("field") == "field")
            #expect(refused.data("reason")?.stringValue == reason, "\(key): \(refused)")
        }
        let sinceThird = try daemon.call("audit.changes", ["from": .string(snapshots[3].time), "types": ["contact_status_changed"]])
        #expect(sinceThird["items"]?.arrayValue?.count == 2)
        // `from` and `to` are points, as for contacts.diff: the changes that lead from the state at `from`
        // (which already holds event `from`) to the state at `to`.
        let between = try ContactKit.allPages(
            daemon, "audit.changes", ["from": ["seq": .integer(snapshots[1].seq)], "to": ["seq": .integer(snapshots[3].seq)]]
        )
        #expect(between.compactMap { $0.int("seq") } == Array((snapshots[1].seq + 1)...snapshots[3].seq))
        let sinceTime = try ContactKit.allPages(daemon, "audit.changes", ["from": .string(snapshots[1].time), "to": ["seq": .integer(snapshots[3].seq)]])
        #expect(sinceTime.compactMap { $0.int("seq") } == Array((snapshots[1].seq + 1)...snapshots[3].seq))
        let byUID = try daemon.call("audit.changes", ["peer_uid": .integer(Int64(getuid())), "limit": 3])
        #expect(byUID["items"]?.arrayValue?.count == 3)
        #expect(byUID.string("next_cursor") != nil)
    }

    /// A contact's past shows its workspace as it was then: the fields and groups it had, under their
    /// names then. A field or group deleted since does not erase the contact's past; a deletion takes
    /// the value or membership away from then on, and a field created again with the same key starts
    /// empty, in the past as in the present.
    /// A field's or a group's deletion that took a value or a membership from a contact is in its
    /// timeline (one workspace event, shown to each contact it changed): the value or the group vanished
    /// from `contacts.as_of` with no item saying who removed it, or when. Contacts it took nothing from
    /// do not show it; type filters, points and cursors treat it as any other item.
    @Test func fieldAndGroupDeletionsAreInTheTimelinesTheyChanged() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        try daemon.call("fields.create", ["key": "unused", "type": "text"])
        let club = try #require(try daemon.call("groups.create", ["name": "Club"]).string("uuid"))
        let holder = try #require(try daemon.call("contacts.create", [
            "name": "Holder", "fields": ["age": "30"], "groups": [.string(club)],
        ]).string("uuid"))
        let other = try #require(try daemon.call("contacts.create", ["name": "Other"]).string("uuid"))
        let fieldGone = try #require(try daemon.call("fields.delete", ["key": "age", "actor": "ana@example.org"]).int("seq"))
        let unusedGone = try #require(try daemon.call("fields.delete", ["key": "unused"]).int("seq"))
        let groupGone = try #require(try daemon.call("groups.delete", ["uuid": .string(club), "actor": "bob@example.org"]).int("seq"))
        #expect(unusedGone > fieldGone)

        let items = try #require(try daemon.call("contacts.history", ["uuid": .string(holder)])["items"]?.arrayValue)
        #expect(items.compactMap { $0.string("type") } == ["group_deleted", "field_deleted", "contact_groups_changed", "contact_field_changed", "contact_created"])
        #expect(items.compactMap { $0.int("seq") }.prefix(2) == [groupGone, fieldGone])
        #expect(items[0].string("actor") == "bob@example.org")
        #expect(items[0]["data"]?.string("uuid") == club)
        #expect(items[1].string("actor") == "ana@example.org")
        #expect(items[1]["data"]?.string("key") == "age")
        let otherTypes = try daemon.call("contacts.history", ["uuid": .string(other)])["items"]?.arrayValue?.compactMap { $0.string("type") }
        #expect(otherTypes == ["contact_created"])

        let fieldsOnly = try daemon.call("contacts.history", ["uuid": .string(holder), "types": ["field_deleted"]])["items"]?.arrayValue
        #expect(fieldsOnly?.compactMap { $0.int("seq") } == [fieldGone])
        let beforeGroup = try daemon.call("contacts.history", ["uuid": .string(holder), "before": ["seq": .integer(groupGone - 1)]])["items"]?.arrayValue
        #expect(beforeGroup?.compactMap { $0.string("type") } == ["field_deleted", "contact_groups_changed", "contact_field_changed", "contact_created"])
        var paged: [String] = []
        var cursor: JSONValue = .null
        repeat {
            var params: [String: JSONValue] = ["uuid": .string(holder), "limit": 1, "order": "asc"]
            if cursor != .null { params["cursor"] = cursor }
            let page = try daemon.call("contacts.history", .object(params))
            paged += page["items"]?.arrayValue?.compactMap { $0.string("type") } ?? []
            cursor = page["next_cursor"] ?? .null
        } while cursor != .null && paged.count < 10
        #expect(paged == ["contact_created", "contact_field_changed", "contact_groups_changed", "field_deleted", "group_deleted"])
    }

    @Test func asOfAndDiffShowTheWorkspaceAsItWasThen() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "tier", "type": "text"])
        let club = try #require(try daemon.call("groups.create", ["name": "Old Club"]).string("uuid"))
        let created = try daemon.call("contacts.create", ["name": "Past", "fields": ["tier": "gold"], "groups": [.string(club)]])
        let uuid = try #require(created.string("uuid"))
        let atCreation = try #require(created.int("seq"))
        let renamed = try #require(try daemon.call("groups.update", ["uuid": .string(club), "name": "New Club"]).int("seq"))
        let groupDeleted = try #require(try daemon.call("groups.delete", ["uuid": .string(club)]).int("seq"))
        let fieldDeleted = try #require(try daemon.call("fields.delete", ["key": "tier"]).int("seq"))
        let fieldRecreated = try #require(try daemon.call("fields.create", ["key": "tier", "type": "text"]).int("seq"))

        func asOf(_ seq: Int64) throws -> JSONValue {
            try daemon.call("contacts.as_of", ["uuid": .string(uuid), "at": ["seq": .integer(seq)]])
        }
        let first = try asOf(atCreation)
        #expect(first["fields"]?["tier"]?.string("text") == "gold")
        #expect(first["groups"] == [["uuid": .string(club), "name": "Old Club"]])
        #expect(try asOf(renamed)["groups"] == [["uuid": .string(club), "name": "New Club"]])
        let afterGroupDeleted = try asOf(groupDeleted)
        #expect(afterGroupDeleted["groups"] == [])
        #expect(afterGroupDeleted["fields"]?["tier"]?.string("text") == "gold")
        #expect(try asOf(fieldDeleted)["fields"] == [:])
        // Re-created: the key is back, empty; the present agrees.
        let now = try asOf(fieldRecreated)
        #expect(now["fields"] == ["tier": .null])
        let current = try ContactKit.get(daemon, uuid)
        #expect(now == current)
        #expect(try daemon.call("contacts.as_of", ["uuid": .string(uuid), "at": "2100-01-01T00:00:00Z"]) == current)

        let diff = try daemon.call("contacts.diff", ["uuid": .string(uuid), "from": ["seq": .integer(atCreation)], "to": ["seq": .integer(fieldRecreated)]])
        #expect(diff["changes"]?["fields.tier"] == ["before": ["text": "gold"], "after": .null])
        #expect(diff["changes"]?["groups"] == ["before": [["uuid": .string(club), "name": "Old Club"]], "after": []])
        // Another workspace never had the contact: not found, as contacts.get says, not "not yet created".
        for (method, params) in [
            ("contacts.as_of", ["uuid": .string(uuid), "at": ["seq": .integer(fieldRecreated)], "workspace": "other"]),
            ("contacts.diff", ["uuid": .string(uuid), "from": ["seq": 0], "to": ["seq": .integer(fieldRecreated)], "workspace": "other"]),
        ] as [(String, JSONValue)] {
            let missing = try daemon.error(method, params)
            #expect(missing.code == -32001)
            #expect(missing.data("reason") == "not_found", "\(method)")
        }
    }

    /// A point in time is any RFC 3339 timestamp: digits past the microsecond are dropped (an event at
    /// that microsecond is still included); a day the month does not have is refused.
    @Test func pointsInTimeTakeAnyFractionAndRefuseDaysThatDoNotExist() throws {
        let daemon = try DaemonHarness()
        let created = try daemon.call("contacts.create", ["name": "Precise"])
        let uuid = try #require(created.string("uuid"))
        let event = try #require(try daemon.call("events.read", ["limit": 1])["items"]?.arrayValue?.first)
        let time = try #require(event.string("created_on"))  // 2026-12-05T05:06:49.123456Z
        for extra in ["0", "999", "000000000000000"] {
            let precise = String(time.dropLast()) + extra + "Z"
            var expected = created
            if case .object(var members) = expected {
                members.removeValue(forKey: "seq")
                expected = .object(members)
            }
            #expect(try daemon.call("contacts.as_of", ["uuid": .string(uuid), "at": .string(precise)]) == expected, "\(precise)")
            for (method, params) in [
                ("contacts.history", ["uuid": .string(uuid), "before": .string(precise)]),
                ("contacts.diff", ["uuid": .string(uuid), "from": .string(precise), "to": .string(precise)]),
                ("audit.changes", ["from": .string(precise)]),
                ("contacts.search", ["query": "", "as_of": .string(precise)]),
            ] as [(String, JSONValue)] {
                _ = try daemon.call(method, params)
            }
        }
        for impossible in ["2026-02-30T00:00:00Z", "2025-02-29T12:00:00Z", "2026-04-31T00:00:00Z", "2026-12-05T00:00:00+24:00", "2026-12-05T00:00:00-01:60"] {
            let refused = try daemon.error("contacts.as_of", ["uuid": .string(uuid), "at": .string(impossible)])
            #expect(refused.code == -32602, "\(impossible)")
            #expect(refused.data("field") == "at")
        }
        // `{"seq": n}` holds a seq and nothing else.
        let stray = try daemon.error("contacts.as_of", ["uuid": .string(uuid), "at": ["seq": 1, "x": 1]])
        #expect(stray.data("field") == "at.x")
        #expect(stray.data("reason") == "unknown_member")
        let client = try daemon.client()
        try client.send(raw: Array(#"{"jsonrpc":"2.0","id":3,"method":"contacts.as_of","params":{"uuid":"\#(uuid)","at":{"seq":9223372036854775808}}}"#.utf8) + [10])
        let beyond = try client.readValue()["error"]
        #expect(beyond?.int("code") == -32602)
        #expect(beyond?["data"]?.string("field") == "at.seq")
        #expect(try daemon.call("system.health").string("status") == "ok")
    }

    /// A state "after event n" is fixed only once n is written: a search paged "as of" a seq past the head
    /// took the contacts created between its pages, and `total` moved (history audit). Such a seq is
    /// refused as `events.subscribe` refuses an `after_seq` past the head; the head itself is a state.
    @Test func statesAfterASeqNotYetWrittenAreRefused() throws {
        let daemon = try DaemonHarness()
        let uuid = try #require(try daemon.call("contacts.create", ["name": "Written"]).string("uuid"))
        let head = try #require(try daemon.call("system.health").int("head_seq"))
        let beyond: JSONValue = ["seq": .integer(head + 1)]
        for (method, params, field) in [
            ("contacts.search", ["query": "", "as_of": beyond], "as_of"),
            ("contacts.as_of", ["uuid": .string(uuid), "at": beyond], "at"),
            ("contacts.diff", ["uuid": .string(uuid), "from": ["seq": 1], "to": beyond], "to"),
            ("contacts.diff", ["uuid": .string(uuid), "from": beyond, "to": ["seq": 1]], "from"),
        ] as [(String, JSONValue, String)] {
            let refused = try daemon.error(method, params)
            #expect(refused.code == -32602, "\(method) \(field)")
            #expect(refused.data("field") == .string(field), "\(method)")
            #expect(refused.data("reason") == "past_head", "\(method)")
            #expect(refused.data("head_seq") == .integer(head), "\(method)")
        }
        let atHead: JSONValue = ["seq": .integer(head)]
        #expect(try daemon.call("contacts.search", ["query": "", "as_of": atHead]).int("total") == 1)
        #expect(try daemon.call("contacts.as_of", ["uuid": .string(uuid), "at": atHead]).string("name") == "Written")
        // A filter is no state: a history bounded past the head answers what there is. (`audit.changes`
        // takes points, as `contacts.diff` does: ``auditChangesRefusesPointsPastTheHead()``.)
        #expect(try daemon.call("contacts.history", ["uuid": .string(uuid), "before": beyond])["items"]?.arrayValue?.count == 1)
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

    /// The audit index keeps positions in blocks of 4,096: filters paged across several blocks find
    /// exactly the events the log holds, an erased field change leaves its block, and the index equals
    /// a rebuilt one.
    @Test func auditFiltersPageAcrossPostingBlocks() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        let client = try daemon.client()
        // 9,000 creates, in batches: every 7th by an auditor, every 3rd with an age (a second event).
        for start in stride(from: 0, to: 9_000, by: 500) {
            let batch: [JSONValue] = (start..<start + 500).map { index in
                var params: [String: JSONValue] = ["name": .string("Audited \(index)")]
                if index % 7 == 0 { params["actor"] = "auditor@example.org" }
                if index % 3 == 0 { params["fields"] = ["age": .string(String(index % 90))] }
                return ["jsonrpc": "2.0", "id": .integer(Int64(index)), "method": "contacts.create", "params": .object(params)]
            }
            try client.send(raw: JSONLine.encode(.array(batch)) + [10])
            let answers = try client.readValue()
            #expect(answers.arrayValue?.allSatisfy { $0["result"] != nil } == true)
        }
        // The log itself, the ground truth.
        var log: [JSONValue] = []
        while true {
            let page = try daemon.call("events.read", ["after_seq": .integer(log.last?.int("seq") ?? 0), "limit": 1_000])
            guard let items = page["items"]?.arrayValue, !items.isEmpty else { break }
            log += items
        }
        #expect(log.count > 12_000)
        func seqs(_ filter: [String: JSONValue]) throws -> [Int64] {
            var found: [Int64] = []
            var cursor: JSONValue = .null
            repeat {
                var params = filter
                params["limit"] = 700
                if cursor != .null { params["cursor"] = cursor }
                let page = try daemon.call("audit.changes", .object(params))
                found += page["items"]?.arrayValue?.compactMap { $0.int("seq") } ?? []
                cursor = page["next_cursor"] ?? .null
            } while cursor != .null
            return found
        }
        let byAuditor = log.filter { $0.string("actor") == "auditor@example.org" }.compactMap { $0.int("seq") }
        #expect(byAuditor.count > 1_500)
        #expect(try seqs(["actor": "auditor@example.org"]) == byAuditor)
        let ageChanges = log.filter { $0.string("type") == "contact_field_changed" }.compactMap { $0.int("seq") }
        #expect(ageChanges.count == 3_000)
        #expect(try seqs(["field": "age"]) == ageChanges)
        #expect(try seqs(["types": ["contact_field_changed"]]) == ageChanges)
        let creates = log.filter { $0.string("type") == "contact_created" }.compactMap { $0.int("seq") }
        #expect(try seqs(["types": ["contact_created"]]) == creates)
        // Filters together are met in the index: the auditor's age changes (one filter's index read, the
        // other checked per event, gave pages of nothing), and five types or more (the whole log was read).
        let auditorsAges = log.filter { $0.string("actor") == "auditor@example.org" && $0.string("type") == "contact_field_changed" }
            .compactMap { $0.int("seq") }
        #expect(!auditorsAges.isEmpty)
        #expect(try seqs(["actor": "auditor@example.org", "field": "age"]) == auditorsAges)
        #expect(try seqs(["actor": "auditor@example.org", "types": ["contact_field_changed", "group_deleted"]]) == auditorsAges)
        let sixTypes = ["contact_created", "contact_field_changed", "field_created", "contact_deleted", "group_created", "locations_set"]
        let ofSixTypes = log.filter { sixTypes.contains($0.string("type") ?? "") }.compactMap { $0.int("seq") }
        #expect(try seqs(["types": .array(sixTypes.map { .string($0) })]) == ofSixTypes)
        // A rare change among an actor's thousands is on the first page, alone, with no page to follow.
        try daemon.call("fields.create", ["key": "rare", "type": "text", "actor": "auditor@example.org"])
        let rare = try daemon.call("audit.changes", ["actor": "auditor@example.org", "types": ["field_created"], "limit": 10])
        #expect(rare["items"]?.arrayValue?.compactMap { $0["data"]?["key"]?.stringValue } == ["rare"] && rare["next_cursor"] == .null, "\(rare)")

        // Deleting a contact erases its field change: it leaves the field's index, not the type's.
        let erased = try #require(log.first { $0.string("type") == "contact_field_changed" && ($0.int("seq") ?? 0) > 5_000 })
        let uuid = String(try #require(erased.string("stream")).dropFirst("contact/".count))
        try daemon.call("contacts.modify", ["uuid": .string(uuid), "modifiers": [["type": "status", "status": "archived"]]])
        try daemon.call("contacts.delete", ["uuid": .string(uuid)])
        let erasedSeq = try #require(erased.int("seq"))
        #expect(try seqs(["field": "age"]) == ageChanges.filter { $0 != erasedSeq })
        #expect(try seqs(["types": ["contact_field_changed"]]).contains(erasedSeq))
        let verify = try daemon.call("projections.verify", ["name": "contacts"])
        #expect(verify["differences"]?.arrayValue?.isEmpty == true)
    }
}
