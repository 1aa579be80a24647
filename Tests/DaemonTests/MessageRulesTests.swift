// ContactLedger — daemon tests: incoming and outgoing messages (behaviour reference §1.1, §1.2, §2.4, §2.5).
import Foundation
import RPC
import Testing

@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct MessageRulesTests {
    @Test func unknownURNCreatesANamelessActiveContact() throws {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["default_country": "RW"])
        let first = try daemon.call("messages.receive", ["urn": "tel:0788 123 123", "text": "hello", "channel": "chan-1", "external_id": "ext-1"])
        #expect(first["created_contact"] == true)
        let contact = try #require(first["contact"])
        #expect(contact["name"] == .null)
        #expect(contact.string("status") == "active")
        // The URN keeps the channel the message came through (affinity, §2.4).
        #expect(ContactKit.strings(contact["urns"]) == ["tel:+250788123123?channel=chan-1"])
        let seen = try #require(contact.string("last_seen_on"))
        #expect(first["message"]?.string("text") == "hello")
        #expect(first["message"]?.string("direction") == "in")
        #expect(first["message"]?.string("urn") == "tel:+250788123123")
        #expect(first["message"]?.string("external_id") == "ext-1")
        let uuid = try #require(contact.string("uuid"))
        #expect(try ContactKit.get(daemon, uuid).string("last_seen_on") == seen)

        // The same number typed another way reaches the same contact; last_seen_on moves forward.
        usleep(5_000)
        let second = try daemon.call("messages.receive", ["urn": "tel:+250 788 123 123", "text": "again"])
        #expect(second["created_contact"] == false)
        #expect(second["contact"]?.string("uuid") == uuid)
        let later = try #require(second["contact"]?.string("last_seen_on"))
        #expect(later > seen)
        #expect(try daemon.call("workspace.get")["counts"]?.int("contacts") == 1)

        // Sending does not touch last_seen_on.
        _ = try daemon.call("messages.send", ["uuid": .string(uuid), "text": "reply"])
        #expect(try ContactKit.get(daemon, uuid).string("last_seen_on") == later)

        // The events: created, then the received messages.
        let types = try ContactKit.history(daemon, uuid).reversed().compactMap { $0.string("type") }
        #expect(types == ["contact_created", "msg_received", "msg_received", "msg_created"])

        // An invalid URN is -32602 naming `urn`, and creates nothing.
        let head = try ContactKit.head(daemon)
        let bad = try daemon.error("messages.receive", ["urn": "bogus:1", "text": "x"])
        #expect(bad.code == -32602)
        #expect(bad.data("field") == "urn")
        #expect(try ContactKit.head(daemon) == head)
    }

    @Test func concurrentMessagesFromAnUnknownURNCreateOneContact() throws {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["default_country": "RW"])
        let answers = try onThreads(12) { index in
            try daemon.call("messages.receive", ["urn": index % 2 == 0 ? "tel:0788 999 000" : "tel:+250788999000", "text": .string("m\(index)")])
        }
        #expect(answers.filter { $0["created_contact"] == true }.count == 1)
        #expect(Set(answers.compactMap { $0["contact"]?.string("uuid") }).count == 1)
        let uuid = try #require(answers.first?["contact"]?.string("uuid"))
        #expect(ContactKit.items(try daemon.call("contacts.messages", ["uuid": .string(uuid), "limit": 100])).count == 12)
        #expect(try daemon.call("workspace.get")["counts"]?.int("contacts") == 1)
    }

    @Test func aStoppedContactBecomesActiveOnAMessage() throws {
        let daemon = try DaemonHarness()
        let uuid = try #require(try daemon.call("contacts.create", ["urns": ["ext:stopper"], "status": "stopped"]).string("uuid"))
        let answer = try daemon.call("messages.receive", ["urn": "ext:stopper", "text": "START"])
        #expect(answer["created_contact"] == false)
        #expect(answer["contact"]?.string("status") == "active")
        #expect(answer["message"]?.string("visibility") != "archived")
        let newest = try ContactKit.history(daemon, uuid).prefix(2).compactMap { $0.string("type") }
        #expect(newest == ["msg_received", "contact_status_changed"])
        #expect(try ContactKit.get(daemon, uuid).string("status") == "active")
    }

    @Test func aBlockedContactsMessageIsRecordedArchived() throws {
        let daemon = try DaemonHarness()
        let uuid = try #require(try daemon.call("contacts.create", ["urns": ["ext:first", "ext:blocked"]]).string("uuid"))
        _ = try ContactKit.modify(daemon, uuid, [ContactKit.status("blocked")])
        let answer = try daemon.call("messages.receive", ["urn": "ext:blocked", "text": "let me in", "channel": "ch-1"])
        #expect(answer["message"]?.string("visibility") == "archived")
        #expect(answer["contact"]?.string("status") == "blocked")
        // Only archived (mailroom stops there): its URN does not move to the front or take the channel.
        #expect(ContactKit.strings(answer["contact"]?["urns"]) == ["ext:first", "ext:blocked"])
        #expect(answer["contact"]?["last_seen_on"] != .null)
        let messages = ContactKit.items(try daemon.call("contacts.messages", ["uuid": .string(uuid)]))
        #expect(messages.count == 1)
        #expect(messages.first?.string("text") == "let me in")
        #expect(messages.first?.string("visibility") == "archived")
        let event = try ContactKit.history(daemon, uuid, types: ["msg_received"]).first
        #expect(event?["data"]?["msg"]?.string("text") == "let me in")
        // An archived contact's message does not change its status and is not archived.
        let archived = try #require(try daemon.call("contacts.create", ["urns": ["ext:arch"], "status": "archived"]).string("uuid"))
        let other = try daemon.call("messages.receive", ["urn": "ext:arch", "text": "hi"])
        #expect(other["contact"]?.string("uuid") == archived)
        #expect(other["contact"]?.string("status") == "archived")
        #expect(other["message"]?.string("visibility") != "archived")
    }

    @Test(arguments: ["blocked", "stopped", "archived"])
    func sendingIsRefusedForNonActiveContacts(_ status: String) throws {
        let daemon = try DaemonHarness()
        let uuid = try #require(try daemon.call("contacts.create", ["urns": ["ext:x"]]).string("uuid"))
        _ = try daemon.call("messages.send", ["uuid": .string(uuid), "text": "before"])
        _ = try ContactKit.modify(daemon, uuid, [ContactKit.status(status)])
        let messages = try daemon.call("contacts.messages", ["uuid": .string(uuid)])
        let head = try ContactKit.head(daemon)
        let version = try ContactKit.get(daemon, uuid).int("version")
        let error = try daemon.error("messages.send", ["uuid": .string(uuid), "text": "not for you"])
        #expect(error.code == -32003)
        #expect(error.data("reason")?.stringValue == "contact_\(status)")
        // Nothing recorded.
        #expect(try daemon.call("contacts.messages", ["uuid": .string(uuid)]) == messages)
        #expect(try ContactKit.head(daemon) == head)
        #expect(try ContactKit.get(daemon, uuid).int("version") == version)
        #expect(!ContactKit.mentions(.array(try ContactKit.allEvents(daemon)), "not for you"))
        // Reactivated, it can be sent to again.
        _ = try ContactKit.modify(daemon, uuid, [ContactKit.status("active")])
        let sent = try daemon.call("messages.send", ["uuid": .string(uuid), "text": "welcome back"])
        #expect(sent["message"]?.string("text") == "welcome back")
        #expect(sent["message"]?.string("direction") == "out")
    }

    @Test func sendingPicksThePreferredOrAnOwnedURN() throws {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["default_country": "RW"])
        let uuid = try #require(try daemon.call("contacts.create", ["urns": ["tel:0788123123", "mailto:a@b.c"]]).string("uuid"))
        #expect(try daemon.call("messages.send", ["uuid": .string(uuid), "text": "a"])["message"]?.string("urn") == "tel:+250788123123")
        #expect(try daemon.call("messages.send", ["uuid": .string(uuid), "text": "b", "urn": "MAILTO:A@B.C"])["message"]?.string("urn") == "mailto:a@b.c")
        let notOwned = try daemon.error("messages.send", ["uuid": .string(uuid), "text": "c", "urn": "mailto:z@b.c"])
        #expect(notOwned.code == -32602)
        #expect(notOwned.data("field") == "urn")
        let missing = try daemon.error("messages.send", ["uuid": "7b9a3c1e-1111-4222-8333-944445555666", "text": "d"])
        #expect(missing.code == -32001)
        // A command on one contact: a stale expected_version is refused with the actual one, and nothing is sent.
        let version = try #require(try ContactKit.get(daemon, uuid).int("version"))
        let stale = try daemon.error("messages.send", ["uuid": .string(uuid), "text": "e", "expected_version": .integer(version - 1)])
        #expect(stale.code == -32002)
        #expect(stale.data("actual_version") == .integer(version))
        let sent = try daemon.call("messages.send", ["uuid": .string(uuid), "text": "f", "expected_version": .integer(version)])
        #expect(sent["message"]?.string("text") == "f")
        #expect(try ContactKit.get(daemon, uuid).int("version") == version + 1)
        let empty = try daemon.error("messages.send", ["uuid": .string(uuid), "text": ""])
        #expect(empty.code == -32602)
        #expect(empty.data("field") == "text")
        #expect(ContactKit.items(try daemon.call("contacts.messages", ["uuid": .string(uuid)])).count == 3)
    }

    /// Behaviour §9: a message with no route is recorded with its unsendable reason (goflow's `no_route`).
    @Test func aMessageToAContactWithoutURNIsRecordedAsUnsendable() throws {
        let daemon = try DaemonHarness()
        let uuid = try #require(try daemon.call("contacts.create", ["name": "Nobody"]).string("uuid"))
        let unsendable = try #require(try daemon.call("messages.send", ["uuid": .string(uuid), "text": "hello?"])["message"])
        #expect(unsendable["urn"] == .null)
        #expect(unsendable.string("unsendable_reason") == "no_route")
        #expect(unsendable.string("direction") == "out")
        _ = try ContactKit.modify(daemon, uuid, [ContactKit.urns("append", ["ext:reachable"])])
        let sent = try #require(try daemon.call("messages.send", ["uuid": .string(uuid), "text": "now"])["message"])
        #expect(sent.string("urn") == "ext:reachable")
        #expect(sent["unsendable_reason"] == nil)
        // The stored message, its event and the rebuilt read model say the same.
        let listed = ContactKit.items(try daemon.call("contacts.messages", ["uuid": .string(uuid)]))
        #expect(listed.map { $0.string("unsendable_reason") } == [nil, "no_route"])
        #expect(listed.last == unsendable)
        let events = try ContactKit.history(daemon, uuid, types: ["msg_created"])
        #expect(events.map { $0["data"]?["msg"]?.string("unsendable_reason") } == [nil, "no_route"])
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
    }

    @Test func aMessageMovesItsURNToTheFront() throws {
        let daemon = try DaemonHarness()
        let uuid = try #require(try daemon.call("contacts.create", ["urns": ["ext:first", "mailto:second@x.y"]]).string("uuid"))
        let answer = try daemon.call("messages.receive", ["urn": "mailto:SECOND@x.y", "text": "via mail"])
        #expect(ContactKit.strings(answer["contact"]?["urns"]) == ["mailto:second@x.y", "ext:first"])
        #expect(ContactKit.strings(try ContactKit.get(daemon, uuid)["urns"]) == ["mailto:second@x.y", "ext:first"])
        #expect(try daemon.call("messages.send", ["uuid": .string(uuid), "text": "r"])["message"]?.string("urn") == "mailto:second@x.y")
    }

    /// A message's channel stays on its URN (goflow's `SetAffinity`), and a `set` of the URNs keeps the
    /// affinity of those that stay (§2.4); both were dropped.
    @Test func channelAffinityIsKeptOnTheURN() throws {
        let daemon = try DaemonHarness()
        let uuid = try #require(try daemon.call("contacts.create", ["urns": ["ext:first", "ext:second"]]).string("uuid"))
        let received = try daemon.call("messages.receive", ["urn": "ext:second", "text": "hi", "channel": "5f1c9b2e-0c3a-4e1b-9d2a-7b4c8e6f1a20"])
        #expect(ContactKit.strings(received["contact"]?["urns"]) == ["ext:second?channel=5f1c9b2e-0c3a-4e1b-9d2a-7b4c8e6f1a20", "ext:first"])
        // Another channel replaces it; one a URN query cannot hold as it is leaves the URN as it was.
        let moved = try daemon.call("messages.receive", ["urn": "ext:second", "text": "again", "channel": "ch-2"])
        #expect(ContactKit.strings(moved["contact"]?["urns"]) == ["ext:second?channel=ch-2", "ext:first"])
        let odd = try daemon.call("messages.receive", ["urn": "ext:second", "text": "odd", "channel": "a&b=c"])
        #expect(ContactKit.strings(odd["contact"]?["urns"]) == ["ext:second?channel=ch-2", "ext:first"])
        #expect(odd["message"]?.string("channel") == "a&b=c")
        let set = try ContactKit.modify(daemon, uuid, [ContactKit.urns("set", ["ext:first", "ext:second", "ext:third"])])
        #expect(ContactKit.strings(set["urns"]) == ["ext:first", "ext:second?channel=ch-2", "ext:third"])
        let retargeted = try ContactKit.modify(daemon, uuid, [ContactKit.urns("set", ["ext:second?channel=ch-3"])])
        #expect(ContactKit.strings(retargeted["urns"]) == ["ext:second?channel=ch-3"])
    }

    @Test func contactMessagesAreNewestFirstAndPaged() throws {
        let daemon = try DaemonHarness()
        let uuid = try #require(try daemon.call("contacts.create", ["urns": ["ext:pager"]]).string("uuid"))
        var texts: [String] = []
        for index in 0..<7 {
            let text = "message \(index)"
            if index % 2 == 0 {
                _ = try daemon.call("messages.receive", ["urn": "ext:pager", "text": .string(text)])
            } else {
                _ = try daemon.call("messages.send", ["uuid": .string(uuid), "text": .string(text)])
            }
            texts.append(text)
        }
        // Another contact's messages never show.
        _ = try daemon.call("messages.receive", ["urn": "ext:someone-else", "text": "noise"])
        var seen: [JSONValue] = []
        var cursor: JSONValue = .null
        var pages = 0
        repeat {
            var params: [String: JSONValue] = ["uuid": .string(uuid), "limit": 3]
            if cursor != .null { params["cursor"] = cursor }
            let page = try daemon.call("contacts.messages", .object(params))
            let items = ContactKit.items(page)
            #expect(items.count <= 3)
            seen += items
            cursor = page["next_cursor"] ?? .null
            pages += 1
        } while cursor != .null && pages < 10
        #expect(pages == 3)
        #expect(seen.compactMap { $0.string("text") } == texts.reversed())
        #expect(seen.compactMap { $0.string("direction") } == ["in", "out", "in", "out", "in", "out", "in"])
        #expect(Set(seen.compactMap { $0.string("uuid") }).count == 7)
        // Default page holds all of them.
        let all = try daemon.call("contacts.messages", ["uuid": .string(uuid)])
        #expect(ContactKit.items(all).count == 7)
        #expect(all["next_cursor"] == .null)
    }
}
