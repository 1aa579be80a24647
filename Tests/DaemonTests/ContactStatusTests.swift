// ContactLedger — daemon tests: statuses and their side effects, language (behaviour reference §1.1, §1.2, §4.1).
import Foundation
import RPC
import Testing

/// A status transition.
struct StatusTransition: Sendable, CustomTestStringConvertible {
    var from: String
    var to: String
    var testDescription: String { "\(self.from) → \(self.to)" }
}

@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct ContactStatusTests {
    static let statuses = ["active", "blocked", "stopped", "archived"]
    static let transitions: [StatusTransition] = statuses.flatMap { from in
        statuses.filter { $0 != from }.map { StatusTransition(from: from, to: $0) }
    }

    /// Creates two manual groups and a contact in both, then moves it to `status` (if not active).
    static func contact(in daemon: DaemonHarness, status: String) throws -> (uuid: String, groups: [String]) {
        let first = try #require(try daemon.call("groups.create", ["name": "Customers"]).string("uuid"))
        let second = try #require(try daemon.call("groups.create", ["name": "Testers"]).string("uuid"))
        let uuid = try #require(try daemon.call("contacts.create", ["name": "S", "urns": ["ext:s"]]).string("uuid"))
        let joined = try ContactKit.modify(daemon, uuid, [ContactKit.groups("add", [first, second])])
        #expect(joined["groups"]?.arrayValue?.count == 2)
        if status != "active" { _ = try ContactKit.modify(daemon, uuid, [ContactKit.status(status)]) }
        return (uuid, [first, second])
    }

    @Test(arguments: transitions)
    func transitionEffects(_ transition: StatusTransition) throws {
        let daemon = try DaemonHarness()
        let (uuid, groups) = try Self.contact(in: daemon, status: transition.from)
        let before = try ContactKit.get(daemon, uuid)
        let beforeHistory = try ContactKit.history(daemon, uuid)
        let changed = try ContactKit.modify(daemon, uuid, [ContactKit.status(transition.to)])
        #expect(changed.string("status") == transition.to)
        #expect(try ContactKit.get(daemon, uuid).string("status") == transition.to)
        let afterHistory = try ContactKit.history(daemon, uuid)
        let new = Array(afterHistory.prefix(afterHistory.count - beforeHistory.count))
        let types = new.map { $0.string("type") ?? "?" }
        #expect(types.filter { $0 == "contact_status_changed" }.count == 1)
        #expect(new.first { $0.string("type") == "contact_status_changed" }?["data"]?.string("status") == transition.to)
        if transition.from == "active" {
            // Leaving active leaves every manual group, in one groups-changed event.
            #expect(changed["groups"] == [])
            #expect(types.filter { $0 == "contact_groups_changed" }.count == 1)
            let removed = new.first { $0.string("type") == "contact_groups_changed" }?["data"]?["groups_removed"]?.arrayValue ?? []
            #expect(Set(removed.compactMap { $0.string("uuid") }) == Set(groups))
            for group in groups {
                let members = try daemon.call("groups.members", ["uuid": .string(group)])
                #expect(ContactKit.items(members).isEmpty)
            }
            #expect(try daemon.call("groups.list")["groups"]?.arrayValue?.allSatisfy { $0.int("count") == 0 } == true)
        } else {
            // It had already left them; reactivation does not restore manual groups.
            #expect(before["groups"] == [])
            #expect(changed["groups"] == [])
            #expect(!types.contains("contact_groups_changed"))
        }
        #expect(changed.int("version") == (before.int("version") ?? 0) + Int64(new.count))
        // Adding to a group works only for active contacts.
        if transition.to == "active" {
            let rejoined = try ContactKit.modify(daemon, uuid, [ContactKit.groups("add", [groups[0]])])
            #expect(rejoined["groups"]?.arrayValue?.compactMap { $0.string("uuid") } == [groups[0]])
        } else {
            let head = try ContactKit.head(daemon)
            let refused = try ContactKit.modifyError(daemon, uuid, [ContactKit.groups("add", [groups[0]])])
            #expect(refused.code == -32003)
            #expect(refused.data("field") == "modifiers[0].groups[0]")
            #expect(refused.data("status")?.stringValue == transition.to)
            #expect(try ContactKit.head(daemon) == head)
        }
        // The same status again appends nothing.
        let head = try ContactKit.head(daemon)
        let current = try ContactKit.get(daemon, uuid)
        let same = try ContactKit.modify(daemon, uuid, [ContactKit.status(transition.to)])
        #expect(same.int("version") == current.int("version"))
        #expect(same.int("seq") == head)
        #expect(try ContactKit.head(daemon) == head)
    }

    @Test(arguments: ["blocked", "stopped", "archived"])
    func createdNonActiveContactsJoinNoGroup(_ status: String) throws {
        let daemon = try DaemonHarness()
        let group = try #require(try daemon.call("groups.create", ["name": "G"]).string("uuid"))
        let refused = try daemon.error("contacts.create", ["status": .string(status), "groups": [.string(group)]])
        #expect(refused.code == -32003)
        let created = try daemon.call("contacts.create", ["status": .string(status)])
        #expect(created.string("status") == status)
        #expect(created["groups"] == [])
    }

    @Test func statusAndGroupsInOneCommandAreAtomic() throws {
        let daemon = try DaemonHarness()
        let group = try #require(try daemon.call("groups.create", ["name": "Customers"]).string("uuid"))
        let uuid = try #require(try daemon.call("contacts.create", ["name": "A"]).string("uuid"))
        // Block then add: the add is refused, and so is the block.
        let error = try ContactKit.modifyError(daemon, uuid, [ContactKit.status("blocked"), ContactKit.groups("add", [group])])
        #expect(error.code == -32003)
        #expect(error.data("field") == "modifiers[1].groups[0]")
        #expect(try ContactKit.get(daemon, uuid).string("status") == "active")
        // Add then block: joined and left within one command; the contact ends outside the group.
        let both = try ContactKit.modify(daemon, uuid, [ContactKit.groups("add", [group]), ContactKit.status("blocked")])
        #expect(both.string("status") == "blocked")
        #expect(both["groups"] == [])
        #expect(ContactKit.items(try daemon.call("groups.members", ["uuid": .string(group)])).isEmpty)
        // Reactivated: still outside.
        #expect(try ContactKit.modify(daemon, uuid, [ContactKit.status("active")])["groups"] == [])
    }

    @Test func leavingActiveAndComingBackInOneCommandRestoresNoManualGroup() throws {
        let daemon = try DaemonHarness()
        let group = try #require(try daemon.call("groups.create", ["name": "Customers"]).string("uuid"))
        let blocked = try #require(try daemon.call("contacts.create", ["name": "B", "groups": [.string(group)]]).string("uuid"))
        let stopped = try #require(try daemon.call("contacts.create", ["name": "S", "groups": [.string(group)]]).string("uuid"))
        // Blocked and made active again in one command: out of the group, as two commands would leave it.
        let both = try ContactKit.modify(daemon, blocked, [ContactKit.status("blocked"), ContactKit.status("active")])
        #expect(both.string("status") == "active" && both["groups"] == [], "\(both)")
        // The log never shows it blocked inside the group: it left the group when it was blocked.
        let history = try ContactKit.history(daemon, blocked)
        let types = history.prefix(3).reversed().map { $0.string("type") ?? "?" }
        #expect(types == ["contact_status_changed", "contact_groups_changed", "contact_status_changed"], "\(types)")
        let blockedSeq = try #require(history.first { $0["data"]?.string("status") == "blocked" }?.int("seq"))
        // Just after the block's own group change (the command's second event).
        let then = try daemon.call("contacts.as_of", ["uuid": .string(blocked), "at": ["seq": .integer(blockedSeq + 1)]])
        #expect(then.string("status") == "blocked" && then["groups"] == [], "\(then)")
        // The same through contacts.bulk_modify.
        let bulk = try daemon.call("contacts.bulk_modify", ["uuids": [.string(stopped)], "modifiers": [ContactKit.status("stopped"), ContactKit.status("active")]])
        #expect(bulk.int("changed") == 1)
        #expect(try ContactKit.get(daemon, stopped)["groups"] == [])
        #expect(ContactKit.items(try daemon.call("groups.members", ["uuid": .string(group)])).isEmpty)
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
    }

    struct LanguageCase: Sendable, CustomTestStringConvertible {
        var input: String
        var stored: String?
        var valid: Bool
        var testDescription: String { self.input.debugDescription }
    }

    static let languages: [LanguageCase] = [
        LanguageCase(input: "eng", stored: "eng", valid: true),
        LanguageCase(input: "ENG", stored: "eng", valid: true),
        LanguageCase(input: "Fra", stored: "fra", valid: true),
        LanguageCase(input: "kin", stored: "kin", valid: true),
        LanguageCase(input: "swa", stored: "swa", valid: true),
        LanguageCase(input: "xzx", stored: nil, valid: false),
        LanguageCase(input: "en", stored: nil, valid: false),
        LanguageCase(input: "english", stored: nil, valid: false),
        LanguageCase(input: "e1g", stored: nil, valid: false),
    ]

    @Test(arguments: languages)
    func languageIsISO6393(_ item: LanguageCase) throws {
        let daemon = try DaemonHarness()
        let uuid = try #require(try daemon.call("contacts.create", ["name": "L", "language": "kin"]).string("uuid"))
        let modifier: JSONValue = ["type": "language", "language": .string(item.input)]
        if item.valid {
            let contact = try ContactKit.modify(daemon, uuid, [modifier])
            #expect(contact.string("language") == item.stored)
            let created = try daemon.call("contacts.create", ["language": .string(item.input)])
            #expect(created.string("language") == item.stored)
        } else {
            let error = try ContactKit.modifyError(daemon, uuid, [modifier])
            #expect(error.code == -32602)
            #expect(error.data("field") == "modifiers[0].language")
            #expect(try ContactKit.get(daemon, uuid).string("language") == "kin")
            let create = try daemon.error("contacts.create", ["language": .string(item.input)])
            #expect(create.code == -32602)
            #expect(create.data("field") == "language")
        }
    }

    @Test func emptyLanguageClearsAndSameIsANoOp() throws {
        let daemon = try DaemonHarness()
        let created = try daemon.call("contacts.create", ["language": "ENG"])
        let uuid = try #require(created.string("uuid"))
        let same = try ContactKit.modify(daemon, uuid, [["type": "language", "language": "eng"]])
        #expect(same.int("version") == created.int("version"))
        let cleared = try ContactKit.modify(daemon, uuid, [["type": "language", "language": ""]])
        #expect(cleared["language"] == .null)
        let events = try ContactKit.history(daemon, uuid, types: ["contact_language_changed"])
        #expect(events.count == 1)
        #expect(events.first?["data"]?.string("language") == "")
    }
}
