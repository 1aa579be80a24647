// ContactLedger — daemon tests.
import Foundation
import RPC
import Testing

/// The query language, search and groups through the real daemon.
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct QueryAndGroupTests {
    /// A small population: name, gender, age, URN.
    static let people: [(name: String, gender: String, age: String, urn: String)] = [
        ("Ann Smithwick", "F", "23", "tel:+250788000001"),
        ("Bob Jones", "M", "41", "tel:+250788000002"),
        ("Cara Smith", "F", "17", "tel:+250722000003"),
        ("Dan Brown", "M", "18", "tel:+250788000004"),
        ("Eve Adams", "F", "65", "whatsapp:250788000005"),
    ]

    func populated() throws -> (DaemonHarness, [String: String]) {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["default_country": "RW", "timezone": "Africa/Kigali"])
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        try daemon.call("fields.create", ["key": "gender", "type": "text"])
        var uuids: [String: String] = [:]
        for person in Self.people {
            let contact = try daemon.call("contacts.create", [
                "name": .string(person.name), "urns": [.string(person.urn)],
                "fields": ["age": .string(person.age), "gender": .string(person.gender)],
            ])
            uuids[person.name] = contact.string("uuid")
        }
        return (daemon, uuids)
    }

    /// Polls `groups.list` until the group is `ready`; returns it.
    static func waitUntilReady(_ daemon: DaemonHarness, _ uuid: String) throws -> JSONValue {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let group = try daemon.call("groups.list")["groups"]?.arrayValue?.first { $0.string("uuid") == uuid }
            if let group, group.string("status") == "ready" { return group }
            usleep(20_000)
        }
        Issue.record("group \(uuid) never became ready")
        return .null
    }

    /// Polls `groups.list` until the group leaves `evaluating`; returns it.
    static func waitUntilEvaluated(_ daemon: DaemonHarness, _ uuid: String) throws -> JSONValue {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let group = try daemon.call("groups.list")["groups"]?.arrayValue?.first { $0.string("uuid") == uuid }
            if let group, group.string("status") != "evaluating" { return group }
            usleep(20_000)
        }
        Issue.record("group \(uuid) never ended its evaluation")
        return .null
    }

    /// A smart group whose query no longer parses after the date format changed shows `invalid` with no
    /// members (§4.2), and the field it reads stays its dependency: it showed `ready`, `fields.usage`
    /// named no group, and `fields.delete` dropped every value the group read. Set back, it works again.
    @Test func aSmartGroupBrokenByTheDateFormatIsInvalidAndKeepsItsField() throws {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["date_format": "DD-MM-YYYY"])
        try daemon.call("fields.create", ["key": "dob", "type": "datetime"])
        try daemon.call("contacts.create", ["name": "Early", "fields": ["dob": "01-01-2000"]])
        let group = try daemon.call("groups.create", ["name": "Born early", "query": "dob <= 15-01-2020"])
        let uuid = try #require(group.string("uuid"))
        #expect(try Self.waitUntilReady(daemon, uuid).int("count") == 1)

        try daemon.call("workspace.configure", ["date_format": "MM-DD-YYYY"])
        let broken = try Self.waitUntilEvaluated(daemon, uuid)
        #expect(broken.string("status") == "invalid")
        #expect(broken.int("count") == 0)
        let usage = try daemon.call("fields.usage", ["key": "dob"])
        #expect(usage["groups"]?.arrayValue?.compactMap { $0.string("uuid") } == [uuid])
        let refused = try daemon.error("fields.delete", ["key": "dob"])
        #expect(refused.code == -32003)
        #expect(refused.data("reason") == "field_in_use")
        #expect(refused.data("groups") == [.string(uuid)])
        let retyped = try daemon.error("fields.update", ["key": "dob", "type": "text"])
        #expect(retyped.data("reason") == "field_in_use")

        try daemon.call("workspace.configure", ["date_format": "DD-MM-YYYY"])
        let mended = try Self.waitUntilEvaluated(daemon, uuid)
        #expect(mended.string("status") == "ready")
        #expect(mended.int("count") == 1)
    }

    static func names(_ result: JSONValue) -> Set<String> {
        Set(result["contacts"]?.arrayValue?.compactMap { $0.string("name") } ?? [])
    }

    @Test(arguments: [
        ("age > 18 AND gender = \"F\"", ["Ann Smithwick", "Eve Adams"]),
        ("age >= 18", ["Ann Smithwick", "Bob Jones", "Dan Brown", "Eve Adams"]),
        ("age < 18 OR gender = m", ["Cara Smith", "Bob Jones", "Dan Brown"]),
        ("gender = F age < 30", ["Ann Smithwick", "Cara Smith"]),
        ("tel ~ 0722", ["Cara Smith"]),
        ("tel ~ 788000", ["Ann Smithwick", "Bob Jones", "Dan Brown"]),
        ("urn ~ 250788000005", ["Eve Adams"]),
        ("smith", ["Ann Smithwick", "Cara Smith"]),
        ("name ~ \"Smithwicke\"", ["Ann Smithwick"]),
        ("name = \"BOB JONES\"", ["Bob Jones"]),
        ("whatsapp = \"\"", ["Ann Smithwick", "Bob Jones", "Cara Smith", "Dan Brown"]),
        ("age != 18", ["Ann Smithwick", "Bob Jones", "Cara Smith", "Eve Adams"]),
        ("(age > 60 OR age < 18) AND gender = F", ["Cara Smith", "Eve Adams"]),
        ("status = active", ["Ann Smithwick", "Bob Jones", "Cara Smith", "Dan Brown", "Eve Adams"]),
        ("created_on > 2020-01-01", ["Ann Smithwick", "Bob Jones", "Cara Smith", "Dan Brown", "Eve Adams"]),
        ("last_seen_on = \"\"", ["Ann Smithwick", "Bob Jones", "Cara Smith", "Dan Brown", "Eve Adams"]),
    ])
    func searchMatches(query: String, expected: [String]) throws {
        let (daemon, _) = try self.populated()
        let result = try daemon.call("contacts.search", ["query": .string(query)])
        #expect(Self.names(result) == Set(expected))
        #expect(result.int("total") == Int64(expected.count))
        let count = try daemon.call("contacts.count", ["query": .string(query)])
        #expect(count.int("total") == Int64(expected.count))
    }

    @Test func searchNormalizesSortsAndPages() throws {
        let (daemon, _) = try self.populated()
        let result = try daemon.call("contacts.search", ["query": "Age IS 18 or AGE > 40", "sort": "-age", "limit": 2])
        #expect(result.string("query") == "fields.age = 18 OR fields.age > 40")
        #expect(result.int("total") == 3)
        let first = result["contacts"]?.arrayValue?.compactMap { $0.string("name") }
        #expect(first == ["Eve Adams", "Bob Jones"])
        let cursor = try #require(result.string("next_cursor"))
        // A contact added before the cursor's position does not shift the next page (keyset cursor).
        try daemon.call("contacts.create", ["name": "Old Timer", "fields": ["age": "99"]])
        let second = try daemon.call("contacts.search", ["query": "Age IS 18 or AGE > 40", "sort": "-age", "limit": 2, "cursor": .string(cursor)])
        #expect(second["contacts"]?.arrayValue?.compactMap { $0.string("name") } == ["Dan Brown"])
        #expect(second["next_cursor"] == .null)
        let byName = try daemon.call("contacts.search", ["query": "", "sort": "name"])
        #expect(byName["contacts"]?.arrayValue?.compactMap { $0.string("name") } == (Self.people.map(\.name) + ["Old Timer"]).sorted())
        // An empty sort is the default order, newest first (§5.9), as when it is left out.
        let newestFirst = try daemon.call("contacts.search", ["query": "", "sort": ""])["contacts"]?.arrayValue?.compactMap { $0.int("id") }
        #expect(newestFirst == newestFirst?.sorted(by: >))
        #expect(newestFirst == (try daemon.call("contacts.search", ["query": ""])["contacts"]?.arrayValue?.compactMap { $0.int("id") }))
        #expect(newestFirst?.count == Self.people.count + 1)
        let badSort = try daemon.error("contacts.search", ["query": "", "sort": "shoe_size"])
        #expect(badSort.code == -32602)
        #expect(badSort.data("field") == "sort")
        let badCursor = try daemon.error("contacts.search", ["query": "", "cursor": "bogus"])
        #expect(badCursor.data("field") == "cursor")
        // The same page gives the same cursor in another run of the daemon (it differed in key order).
        let page: JSONValue = ["query": "", "sort": "name", "limit": 2]
        let before = try daemon.call("contacts.search", page)["next_cursor"]
        for _ in 0..<3 {
            daemon.stop()
            try daemon.start()
            #expect(try daemon.call("contacts.search", page)["next_cursor"] == before)
        }
    }

    @Test(arguments: [
        ("age >> 3", "syntax"),
        ("shoe_size = 3", "unknown_property"),
        ("age = old", "invalid_number"),
        ("status = sleeping", "invalid_status"),
        ("group = Nope", "invalid_group"),
    ])
    func queryErrorsAnswerMinus32004(query: String, code: String) throws {
        let (daemon, _) = try self.populated()
        let error = try daemon.error("contacts.search", ["query": .string(query)])
        #expect(error.code == -32004)
        #expect(error.data("code") == .string(code))
        #expect(error.data("position")?.integerValue != nil)
        #expect(error.data("length")?.integerValue != nil)
    }

    @Test func parseQueryInspects() throws {
        let (daemon, _) = try self.populated()
        let result = try daemon.call("contacts.parse_query", ["query": "AGE > 18 AND name != \"\" OR twitter = bobby OR tel ~1234"])
        #expect(result.string("query") == "(fields.age > 18 AND name != \"\") OR urns.twitter = \"bobby\" OR urns.tel ~ 1234")
        #expect(result["attributes"] == ["name"])
        #expect(result["schemes"] == ["tel", "twitter"])
        #expect(result["fields"] == [["key": "age", "name": "Age"]])
        #expect(result["allow_as_group"] == true)
        let status = try daemon.call("contacts.parse_query", ["query": "status = active"])
        #expect(status["allow_as_group"] == false)
    }

    @Test func smartGroupsFollowTheirQuery() throws {
        let (daemon, uuids) = try self.populated()
        // Enough contacts that the evaluation takes several chunks.
        let client = try daemon.client()
        let batch: [JSONValue] = (0..<1200).map { index in
            ["jsonrpc": "2.0", "id": .integer(Int64(index)), "method": "contacts.create", "params": ["fields": ["age": "5"]]]
        }
        try client.send(raw: JSONLine.encode(JSONValue.array(batch)) + [10])
        _ = try client.readValue()
        let group = try daemon.call("groups.create", ["name": "Adult women", "query": "age >= 18 AND gender = F"])
        #expect(group.string("query") == "fields.age >= 18 AND fields.gender = \"F\"")
        #expect(group.string("status") == "evaluating")
        let groupUUID = try #require(group.string("uuid"))
        let ready = try Self.waitUntilReady(daemon, groupUUID)
        #expect(ready.int("count") == 2)
        let members = try daemon.call("groups.members", ["uuid": .string(groupUUID)])
        #expect(Set(members["items"]?.arrayValue?.compactMap { $0.string("name") } ?? []) == ["Ann Smithwick", "Eve Adams"])
        // Cara turns 18: she joins.
        let cara = try #require(uuids["Cara Smith"])
        let modified = try daemon.call("contacts.modify", ["uuid": .string(cara), "modifiers": [["type": "field", "field": "age", "value": "18"]]])
        #expect(modified["groups"]?.arrayValue?.compactMap { $0.string("name") } == ["Adult women"])
        // Blocking leaves every group; reactivating re-joins the smart group.
        let blocked = try daemon.call("contacts.modify", ["uuid": .string(cara), "modifiers": [["type": "status", "status": "blocked"]]])
        #expect(blocked["groups"]?.arrayValue?.isEmpty == true)
        let active = try daemon.call("contacts.modify", ["uuid": .string(cara), "modifiers": [["type": "status", "status": "active"]]])
        #expect(active["groups"]?.arrayValue?.compactMap { $0.string("name") } == ["Adult women"])
        // Smart groups cannot be edited by hand.
        let manual = try daemon.error("contacts.modify", ["uuid": .string(cara), "modifiers": [["type": "groups", "action": "remove", "groups": [.string(groupUUID)]]]])
        #expect(manual.code == -32003)
        #expect(manual.data("reason") == "smart_group")
        // A field a smart group uses cannot be deleted.
        let inUse = try daemon.error("fields.delete", ["key": "gender"])
        #expect(inUse.code == -32003)
        #expect(inUse.data("groups") == [.string(groupUUID)])
        #expect(try daemon.call("fields.usage", ["key": "age"])["groups"]?.arrayValue?.count == 1)
        // Changing the query re-evaluates everyone.
        let men = try daemon.call("groups.update", ["uuid": .string(groupUUID), "query": "gender = M"])
        #expect(men.string("status") == "evaluating")
        #expect(try Self.waitUntilReady(daemon, groupUUID).int("count") == 2)
        // A query on status may not define a group.
        let refused = try daemon.error("groups.create", ["name": "Actives", "query": "status = active"])
        #expect(refused.code == -32602)
        #expect(refused.data("field") == "query")
        // group = "…" queries use membership.
        let inGroup = try daemon.call("contacts.search", ["query": "group = \"adult women\""])
        #expect(Self.names(inGroup) == ["Bob Jones", "Dan Brown"])
    }

    /// `ready` is never shown beside a count that still lacks members: many chunks of matches, polled
    /// as fast as the socket answers.
    @Test func aReadySmartGroupHasAllItsMembers() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "name": "Age", "type": "number"])
        let client = try daemon.client()
        let matching = 2_400
        for start in stride(from: 0, to: matching, by: 600) {
            let batch: [JSONValue] = (start..<(start + 600)).map { index in
                ["jsonrpc": "2.0", "id": .integer(Int64(index)), "method": "contacts.create", "params": ["fields": ["age": "5"]]]
            }
            try client.send(raw: JSONLine.encode(JSONValue.array(batch)) + [10])
            _ = try client.readValue()
        }
        let group = try daemon.call("groups.create", ["name": "Fives", "query": "age = 5"])
        let uuid = try #require(group.string("uuid"))
        let deadline = Date().addingTimeInterval(120)
        var polls = 0
        while Date() < deadline {
            polls += 1
            let listed = try daemon.call("groups.list")["groups"]?.arrayValue?.first { $0.string("uuid") == uuid }
            guard let listed, listed.string("status") == "ready" else { continue }
            #expect(listed.int("count") == Int64(matching), "ready after \(polls) polls")
            return
        }
        Issue.record("the group never became ready")
    }

    /// While a smart group evaluates, its query cannot change (-32003 `group_evaluating`, as RapidPro's
    /// "You cannot update the query of a group that is populating."); once ready it can.
    @Test func aSmartGroupsQueryIsNotChangedWhileItEvaluates() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "name": "Age", "type": "number"])
        let client = try daemon.client()
        for start in stride(from: 0, to: 2_400, by: 600) {
            let batch: [JSONValue] = (start..<(start + 600)).map { index in
                ["jsonrpc": "2.0", "id": .integer(Int64(index)), "method": "contacts.create", "params": ["fields": ["age": .string("\(index % 10)")]]]
            }
            try client.send(raw: JSONLine.encode(JSONValue.array(batch)) + [10])
            _ = try client.readValue()
        }
        let group = try daemon.call("groups.create", ["name": "Fives", "query": "age = 5", "actor": "cara@example.org"])
        let uuid = try #require(group.string("uuid"))
        let refused = try daemon.error("groups.update", ["uuid": .string(uuid), "query": "age = 6"])
        #expect(refused.code == -32003)
        #expect(refused.data("reason") == "group_evaluating")
        #expect(refused.data("field") == "query")
        // A rename is not a query change.
        #expect(try daemon.call("groups.update", ["uuid": .string(uuid), "name": "Five"]).string("name") == "Five")
        #expect(try Self.waitUntilReady(daemon, uuid).int("count") == 240)
        // The evaluation's membership changes are the actor's and the peer's who created the group: they
        // named nobody, so `audit.changes {actor}` left them out.
        let joined = try daemon.call("audit.changes", ["actor": "cara@example.org", "types": ["contact_groups_changed"], "limit": 1000])
        #expect(joined["items"]?.arrayValue?.count == 240)
        #expect(joined["items"]?.arrayValue?.allSatisfy { $0["peer"]?.int("uid") != nil } == true)
        let updated = try daemon.call("groups.update", ["uuid": .string(uuid), "query": "age = 6"])
        #expect(updated.string("status") == "evaluating")
        #expect(try Self.waitUntilReady(daemon, uuid).int("count") == 240)
        #expect(try daemon.call("contacts.count", ["query": "group = Five AND age = 6"]).int("total") == 240)
    }

    /// A workspace made anonymous: a smart group on URN values can no longer parse (§4.2, §8.1), so it
    /// loses every member at once, shows `invalid`, and takes no new one; one on a field keeps its
    /// members. The members stayed until each contact was next modified.
    @Test func aWorkspaceMadeAnonymousEmptiesItsURNSmartGroups() throws {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["default_country": "RW"])
        try daemon.call("fields.create", ["key": "age", "name": "Age", "type": "number"])
        for index in 0..<12 {
            try daemon.call("contacts.create", ["urns": [.string("tel:+25078855\(1000 + index)")], "fields": ["age": "30"]])
        }
        let byPhone = try #require(try daemon.call("groups.create", ["name": "Tel", "query": "tel ~ 7885510"]).string("uuid"))
        let byAge = try #require(try daemon.call("groups.create", ["name": "Thirty", "query": "age = 30"]).string("uuid"))
        let mixed = try #require(try daemon.call("groups.create", ["name": "Either", "query": "tel ~ 7885510 OR age > 3"]).string("uuid"))
        #expect(try Self.waitUntilReady(daemon, byPhone).int("count") == 12)
        #expect(try Self.waitUntilReady(daemon, byAge).int("count") == 12)
        try daemon.call("workspace.configure", ["anonymous": true])
        let emptied = try Self.waitUntilEvaluated(daemon, byPhone)
        #expect(emptied.string("status") == "invalid")
        #expect(emptied.int("count") == 0)
        // A query that no longer parses keeps the fields it reads: `age` is still the mixed group's.
        #expect(try Self.waitUntilEvaluated(daemon, mixed).string("status") == "invalid")
        let usage = try daemon.call("fields.usage", ["key": "age"])["groups"]?.arrayValue?.compactMap { $0.string("uuid") }
        #expect(Set(usage ?? []) == [byAge, mixed])
        #expect(try daemon.error("fields.update", ["key": "age", "type": "text"]).data("reason") == "field_in_use")
        // A type that is none is invalid params, whether a group uses the field or not.
        let bogus = try daemon.error("fields.update", ["key": "age", "type": "bogus"])
        #expect(bogus.code == -32602 && bogus.data("field") == "type" && bogus.data("reason") == "unknown_type", "\(bogus)")
        #expect(try Self.waitUntilReady(daemon, byAge).int("count") == 12)
        #expect(try daemon.call("groups.members", ["uuid": .string(byPhone)])["items"]?.arrayValue?.isEmpty == true)
        let later = try daemon.call("contacts.create", ["urns": ["tel:+250788551099"], "fields": ["age": "30"]])
        let groups = later["groups"]?.arrayValue?.compactMap { $0.string("uuid") } ?? []
        #expect(groups == [byAge])
    }

    @Test func manualGroupsAndBulkModify() throws {
        let (daemon, uuids) = try self.populated()
        let customers = try daemon.call("groups.create", ["name": "Customers"])
        let groupUUID = try #require(customers.string("uuid"))
        let taken = try daemon.error("groups.create", ["name": "customers"])
        #expect(taken.code == -32002)
        let bulk = try daemon.call("contacts.bulk_modify", ["query": "gender = M", "modifiers": [["type": "groups", "action": "add", "groups": [.string(groupUUID)]]]])
        #expect(bulk.int("matched") == 2)
        #expect(bulk.int("changed") == 2)
        #expect(try daemon.call("groups.list")["groups"]?.arrayValue?.first?.int("count") == 2)
        let again = try daemon.call("contacts.bulk_modify", ["uuids": [.string(uuids["Bob Jones"] ?? "")], "modifiers": [["type": "groups", "action": "add", "groups": [.string(groupUUID)]]]])
        #expect(again.int("changed") == 0)
        // Archiving removes from manual groups; reactivating does not restore them.
        let bob = try #require(uuids["Bob Jones"])
        try daemon.call("contacts.modify", ["uuid": .string(bob), "modifiers": [["type": "status", "status": "archived"]]])
        let restored = try daemon.call("contacts.modify", ["uuid": .string(bob), "modifiers": [["type": "status", "status": "active"]]])
        #expect(restored["groups"]?.arrayValue?.isEmpty == true)
        try daemon.call("groups.delete", ["uuid": .string(groupUUID)])
        let dan = try daemon.call("contacts.get", ["uuid": .string(uuids["Dan Brown"] ?? "")])
        #expect(dan["groups"]?.arrayValue?.isEmpty == true)
    }

    /// Deleting a group, manual or smart, drops it from every member and from no one else: the deletion
    /// finds the members through the index. Members added just before the deletion count, another group's
    /// members keep theirs, a group of the same name in another workspace keeps its members; the same
    /// when the log is replayed (`projections.verify`) and after a restart.
    @Test func deletingAGroupDropsItFromEveryMemberAndNoOneElse() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        let manual = try #require(try daemon.call("groups.create", ["name": "Manual"]).string("uuid"))
        let kept = try #require(try daemon.call("groups.create", ["name": "Kept"]).string("uuid"))
        let smart = try #require(try daemon.call("groups.create", ["name": "Smart", "query": "age >= 50"]).string("uuid"))
        let elsewhere = try #require(try daemon.call("groups.create", ["name": "Manual", "workspace": "other"]).string("uuid"))
        _ = try Self.waitUntilReady(daemon, smart)
        var uuids: [String] = []
        for number in 0..<120 {
            let contact = try daemon.call("contacts.create", ["name": .string("P\(number)"), "fields": ["age": .string("\(number)")]])
            uuids.append(try #require(contact.string("uuid")))
        }
        let outsider = try #require(try daemon.call("contacts.create", ["workspace": "other", "name": "O"]).string("uuid"))
        try daemon.call("contacts.modify", ["workspace": "other", "uuid": .string(outsider), "modifiers": [ContactKit.groups("add", [elsewhere])]])
        try daemon.call("contacts.bulk_modify", ["uuids": .array(uuids.prefix(80).map { .string($0) }), "modifiers": [ContactKit.groups("add", [manual])]])
        try daemon.call("contacts.bulk_modify", ["uuids": .array(uuids.suffix(60).map { .string($0) }), "modifiers": [ContactKit.groups("add", [kept])]])
        // The last member joins just before the deletion.
        try ContactKit.modify(daemon, uuids[119], [ContactKit.groups("add", [manual])])
        #expect(try daemon.call("contacts.count", ["query": "group = Manual"]).int("total") == 81)
        #expect(try daemon.call("contacts.count", ["query": "group = Smart"]).int("total") == 70)
        try daemon.call("groups.delete", ["uuid": .string(manual)])
        try daemon.call("groups.delete", ["uuid": .string(smart)])
        func check(_ moment: String) throws {
            for (number, uuid) in uuids.enumerated() {
                let groups = Set(try ContactKit.get(daemon, uuid)["groups"]?.arrayValue?.compactMap { $0.string("uuid") } ?? [])
                let expected: Set<String> = number >= 60 ? [kept] : []
                #expect(groups == expected, "\(moment): contact \(number) is in \(groups)")
            }
            #expect(try daemon.call("contacts.count", ["query": "group = Kept"]).int("total") == 60)
            let outsiderGroups = try ContactKit.get(daemon, outsider, workspace: "other")["groups"]?.arrayValue ?? []
            #expect(outsiderGroups.map { $0.string("uuid") } == [elsewhere], "\(moment)")
        }
        try check("after the deletions")
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
        daemon.kill()
        try daemon.start()
        try check("after a restart")
    }

    @Test func searchAsOfAPastPoint() throws {
        let (daemon, uuids) = try self.populated()
        let head = try #require(try daemon.call("system.health").int("head_seq"))
        let ann = try #require(uuids["Ann Smithwick"])
        try daemon.call("contacts.modify", ["uuid": .string(ann), "modifiers": [["type": "field", "field": "age", "value": "99"]]])
        let now = try daemon.call("contacts.search", ["query": "age > 60"])
        #expect(Self.names(now) == ["Ann Smithwick", "Eve Adams"])
        let then = try daemon.call("contacts.search", ["query": "age > 60", "as_of": ["seq": .integer(head)]])
        #expect(Self.names(then) == ["Eve Adams"])
        #expect(then["contacts"]?.arrayValue?.first?["fields"]?["age"]?.string("text") == "65")
        // A query no workspace could answer is refused as without as_of (before the log is folded); one on
        // a field deleted since is answered from the fields of then.
        for query in ["age >", "(age > 60", "foo.bar = 1", "status = xxxx", "name ~ \"a\"", "language = xxxx", "name > 5", "uuid = \"\""] {
            let refused = try daemon.error("contacts.search", ["query": .string(query), "as_of": ["seq": .integer(head)]])
            let plain = try daemon.error("contacts.search", ["query": .string(query)])
            #expect(refused.code == -32004)
            #expect(refused.data == plain.data, "\(query)")
        }
        try daemon.call("fields.delete", ["key": "age"])
        #expect(try daemon.error("contacts.search", ["query": "age > 60"]).data?.string("code") == "unknown_property")
        #expect(Self.names(try daemon.call("contacts.search", ["query": "age > 60", "as_of": ["seq": .integer(head)]])) == ["Eve Adams"])
        // A field of then is checked as it was: a number then, `age ~ 6` is refused by its type of then.
        let contains = try daemon.error("contacts.search", ["query": "age ~ 6", "as_of": ["seq": .integer(head)]])
        #expect(contains.data?.string("code") == "unsupported_contains")
    }

    @Test func indexedQueriesAgreeWithTheData() throws {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["timezone": "America/New_York"])
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        try daemon.call("fields.create", ["key": "gender", "type": "text"])
        try daemon.call("fields.create", ["key": "joined", "type": "datetime"])
        let vips = try #require(try daemon.call("groups.create", ["name": "VIPs"]).string("uuid"))
        var generator = SystemRandomNumberGenerator()
        struct Person { var uuid: String; var name: String; var age: Int; var gender: String; var day: Int; var vip: Bool; var blocked: Bool }
        var people: [Person] = []
        let names = ["Ann", "Annette", "Bob", "Bobby", "Cara", "Dan", "Eve", "Evelyn"]
        for index in 0..<150 {
            let person = Person(
                uuid: "", name: "\(names[index % names.count]) X\(index)", age: Int.random(in: 0...90, using: &generator),
                gender: ["F", "M", "X"][index % 3], day: Int.random(in: 1...28, using: &generator),
                vip: index % 4 == 0, blocked: index % 7 == 0
            )
            var params: JSONValue = [
                "name": .string(person.name),
                "urns": [.string(String(format: "tel:+2507880%05d", index)), .string("mailto:p\(index)@example.org")],
                "fields": ["age": .string(String(person.age)), "gender": .string(person.gender), "joined": .string(String(format: "2026-02-%02d 10:00", person.day))],
            ]
            if person.vip, case .object(var members) = params {
                members["groups"] = [.string(vips)]
                params = .object(members)
            }
            var created = person
            created.uuid = try #require(try daemon.call("contacts.create", params).string("uuid"))
            if person.blocked {
                try daemon.call("contacts.modify", ["uuid": .string(created.uuid), "modifiers": [["type": "status", "status": "blocked"]]])
            }
            people.append(created)
        }
        // Some ages change afterwards: the index must follow.
        for index in stride(from: 0, to: 150, by: 10) {
            people[index].age = 100 + index
            try daemon.call("contacts.modify", ["uuid": .string(people[index].uuid), "modifiers": [["type": "field", "field": "age", "value": .string(String(people[index].age))]]])
        }
        func check(_ query: String, _ expected: (Person) -> Bool, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let result = try daemon.call("contacts.search", ["query": .string(query), "limit": 1000])
            let got = Set(result["contacts"]?.arrayValue?.compactMap { $0.string("uuid") } ?? [])
            #expect(got == Set(people.filter(expected).map(\.uuid)), "\(query)", sourceLocation: sourceLocation)
        }
        try check("age > 45") { $0.age > 45 }
        try check("age >= 100") { $0.age >= 100 }
        try check("age = 30") { $0.age == 30 }
        try check("age < 10 OR age > 80") { $0.age < 10 || $0.age > 80 }
        try check("gender = f AND age <= 50") { $0.gender == "F" && $0.age <= 50 }
        try check("name ~ ann") { $0.name.hasPrefix("Ann") }
        try check("name ~ bobby") { $0.name.hasPrefix("Bobby") }
        try check("joined < 2026-02-10") { $0.day < 10 }
        try check("joined = 2026-02-15") { $0.day == 15 }
        try check("joined >= 2026-02-20 AND gender = m") { $0.day >= 20 && $0.gender == "M" }
        // Blocked contacts left the group when blocked.
        try check("group = vips") { $0.vip && !$0.blocked }
        try check("status = blocked") { $0.blocked }
        try check("status = active AND age > 60") { !$0.blocked && $0.age > 60 }
        // URN contains: trigram candidates, checked exactly.
        let index = { (person: Person) in people.firstIndex { $0.uuid == person.uuid } ?? -1 }
        let tel = { (person: Person) in String(format: "+2507880%05d", index(person)) }
        try check("tel ~ 8800012") { tel($0).contains("8800012") }
        try check("tel ~ 0788001") { tel($0).contains("0788001") }
        try check("tel ~ 00014") { tel($0).contains("00014") }
        try check("urn ~ p14@") { index($0) == 14 }
        try check("mailto ~ example") { _ in true }
        try check("tel ~ 999") { _ in false }

        // URN changes and deletions move contacts between trigram posting blocks, and out of them.
        var tels = (0..<people.count).map { String(format: "+2507880%05d", $0) }
        for index in [3, 14, 140] {
            tels[index] = String(format: "+2507219%05d", index)
            try daemon.call(
                "contacts.modify",
                ["uuid": .string(people[index].uuid), "modifiers": [["type": "urns", "action": "set", "urns": [.string("tel:" + tels[index])]]]]
            )
        }
        try daemon.call("contacts.modify", ["uuid": .string(people[15].uuid), "modifiers": [["type": "status", "status": "archived"]]])
        try daemon.call("contacts.delete", ["uuid": .string(people[15].uuid)])
        let live = { (person: Person) in index(person) != 15 }
        try check("tel ~ 7219") { live($0) && tels[index($0)].contains("7219") }
        try check("tel ~ 0788001") { live($0) && tels[index($0)].contains("0788001") }
        try check("tel ~ 00014") { live($0) && tels[index($0)].contains("00014") }
        try check("urn ~ p14@") { _ in false }
        try check("tel ~ 8800015") { _ in false }
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"]?.arrayValue?.isEmpty == true)
    }

    /// An unknown sort key is goflow's error (§5.9): -32602 naming `sort`, with the text `no such field
    /// with key: foo`; the key is named only when it has a key's shape.
    @Test func anUnknownSortKeyIsNamedAsGoflowNamesIt() throws {
        let daemon = try DaemonHarness()
        for (sort, message) in [("-beers", "no such field with key: beers"), ("beers", "no such field with key: beers"), ("+250 788", "no such field with key")] {
            let refused = try daemon.error("contacts.search", ["query": "", "sort": .string(sort)])
            #expect(refused.code == -32602)
            #expect(refused.message == message, "\(sort)")
            #expect(refused.data("field") == "sort")
            #expect(refused.data("reason") == "unknown_sort_key")
        }
    }

    /// A URN equality compares paths without case (§5.5) wherever it is answered: a search whose
    /// condition an index looks up alone, a count, a bulk modification and a smart group. A WhatsApp
    /// business-scoped id and a sender id keep the case they were given.
    @Test func urnEqualityIgnoresCaseOnEveryPath() throws {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["default_country": "RW"])
        let whatsapp = try #require(try daemon.call("contacts.create", ["name": "W", "urns": ["whatsapp:BR.AbC123"]]).string("uuid"))
        let sender = try #require(try daemon.call("contacts.create", ["name": "S", "urns": ["tel:MTNRwanda"]]).string("uuid"))
        try daemon.call("contacts.create", ["name": "Other", "urns": ["whatsapp:250788000001", "tel:+250788000002"]])
        let group = try #require(try daemon.call("groups.create", ["name": "Brazil", "query": "whatsapp = br.abc123"]).string("uuid"))
        _ = try Self.waitUntilReady(daemon, group)
        let cases: [(String, String)] = [
            ("whatsapp = br.abc123", whatsapp), ("whatsapp = BR.ABC123", whatsapp), ("whatsapp = \"BR.AbC123\"", whatsapp),
            ("(whatsapp = br.abc123) AND name = w", whatsapp), ("tel = mtnrwanda", sender), ("tel = MTNRWANDA", sender),
        ]
        for (query, expected) in cases {
            let found = try daemon.call("contacts.search", ["query": .string(query)])
            #expect(found["contacts"]?.arrayValue?.compactMap { $0.string("uuid") } == [expected], "\(query)")
            #expect(try daemon.call("contacts.count", ["query": .string(query)])["total"]?.integerValue == 1, "\(query)")
        }
        // `!=` is the negation: every contact without that URN, those with no WhatsApp URN included.
        let others = try daemon.call("contacts.search", ["query": "whatsapp != br.abc123"])
        #expect(Self.names(others) == ["S", "Other"])
        let members = ContactKit.items(try daemon.call("groups.members", ["uuid": .string(group)])).compactMap { $0.string("uuid") }
        #expect(members == [whatsapp])
        let bulk = try daemon.call("contacts.bulk_modify", ["query": "whatsapp = Br.aBc123", "modifiers": [["type": "language", "language": "por"]]])
        #expect(bulk["matched"]?.integerValue == 1 && bulk["changed"]?.integerValue == 1)
    }

    /// Every error code the query parser can produce, reached through the socket: -32004 with the code,
    /// a position and a length.
    @Test(arguments: [
        ("age >> 3", "syntax", false), ("(name = bob", "syntax", false), ("xxx.age = 12", "unknown_property_type", false),
        ("beers = 12", "unknown_property", false), ("name ~ \"x\"", "invalid_partial_name", false),
        ("urn ~ \"23\"", "invalid_partial_urn", false), ("uuid ~ 234", "unsupported_contains", false),
        ("uuid > 123", "unsupported_comparison", false), ("uuid = \"\"", "unsupported_setcheck", false),
        ("age = XZ", "invalid_number", false), ("joined = AB", "invalid_date", false),
        ("group = \"Cool Kids\"", "invalid_group", false), ("flow = \"Catch All\"", "invalid_flow", false),
        ("status = \"xxxx\"", "invalid_status", false), ("language = xzx", "invalid_language", false),
        ("tel = 233", "redacted_urns", true),
        (String(repeating: "(", count: 150) + "age = 1" + String(repeating: ")", count: 150), "too_complex", false),
    ])
    func everyParserErrorReachesTheSocket(query: String, code: String, anonymous: Bool) throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        try daemon.call("fields.create", ["key": "joined", "type": "datetime"])
        if anonymous { try daemon.call("workspace.configure", ["anonymous": true]) }
        for method in ["contacts.search", "contacts.count", "contacts.parse_query"] {
            let error = try daemon.error(method, ["query": .string(query)])
            #expect(error.code == -32004, "\(method)")
            #expect(error.data("code") == .string(code), "\(method)")
            #expect((error.data("position")?.integerValue ?? -1) >= 0)
            #expect((error.data("length")?.integerValue ?? -1) >= 0)
            #expect(!error.message.isEmpty)
        }
    }
}
