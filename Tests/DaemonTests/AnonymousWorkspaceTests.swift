// ContactLedger — daemon tests: anonymous workspaces (behaviour reference §0, §8).
import Foundation
import RPC
import Testing

@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct AnonymousWorkspaceTests {
    static let alphabet = Set("ABCDEFGHJKLMNPQRSTUVWXYZ23456789")
    static let phone = "+250788123123"
    static let workspace: JSONValue = "anon"

    static func isRef(_ text: String?) -> Bool {
        guard let text else { return false }
        return (6...7).contains(text.count) && text.allSatisfy { Self.alphabet.contains($0) }
    }

    static func daemon() throws -> DaemonHarness {
        let daemon = try DaemonHarness()
        let settings = try daemon.call("workspace.configure", ["workspace": workspace, "default_country": "RW", "anonymous": true])
        #expect(settings["anonymous"] == true)
        return daemon
    }

    @Test func contactsShowRefsAndMaskedURNs() throws {
        let daemon = try Self.daemon()
        let created = try daemon.call("contacts.create", ["workspace": Self.workspace, "name": "Real Name", "urns": ["tel:0788 123 123", "mailto:real@example.com"]])
        #expect(ContactKit.strings(created["urns"]) == ["tel:********", "mailto:********"])
        let ref = try #require(created.string("ref"))
        #expect(Self.isRef(ref), "\(ref)")
        #expect(created.string("name") == ref)
        let uuid = try #require(created.string("uuid"))
        let fetched = try ContactKit.get(daemon, uuid, workspace: "anon")
        #expect(fetched.string("ref") == ref)
        #expect(fetched.string("name") == ref)
        #expect(ContactKit.strings(fetched["urns"]) == ["tel:********", "mailto:********"])
        // A lookup by URN (if the daemon answers it at all) never reveals the value.
        if let byURN = try? daemon.call("contacts.get", ["workspace": Self.workspace, "urn": "tel:0788123123"]) {
            #expect(byURN.string("uuid") == uuid)
            #expect(!ContactKit.mentions(byURN, "788123123"))
        }
        // Refs are distinct per contact and stable.
        var refs: Set<String> = [ref]
        for index in 0..<20 {
            let other = try daemon.call("contacts.create", ["workspace": Self.workspace, "urns": [.string("ext:anon\(index)")]])
            let otherRef = try #require(other.string("ref"))
            #expect(Self.isRef(otherRef), "\(otherRef)")
            #expect(other.string("name") == otherRef)
            refs.insert(otherRef)
        }
        #expect(refs.count == 21)
        #expect(try ContactKit.get(daemon, uuid, workspace: "anon").string("ref") == ref)
        // A normal workspace shows neither refs nor masks.
        let plain = try daemon.call("contacts.create", ["name": "Plain", "urns": ["ext:plain"]])
        #expect(plain["ref"] == nil)
        #expect(plain.string("name") == "Plain")
        #expect(ContactKit.strings(plain["urns"]) == ["ext:plain"])
    }

    @Test func noAnswerRevealsTheURNs() throws {
        let daemon = try Self.daemon()
        let uuid = try #require(try daemon.call("contacts.create", ["workspace": Self.workspace, "urns": ["tel:0788123123"]]).string("uuid"))
        let received = try daemon.call("messages.receive", ["workspace": Self.workspace, "urn": "tel:+250788123123", "text": "hello"])
        #expect(received["contact"]?.string("uuid") == uuid)
        #expect(received["message"]?.string("urn") == "tel:********")
        #expect(ContactKit.strings(received["contact"]?["urns"]) == ["tel:********"])
        let unknown = try daemon.call("messages.receive", ["workspace": Self.workspace, "urn": "mailto:new@example.com", "text": "hi"])
        #expect(unknown["created_contact"] == true)
        #expect(Self.isRef(unknown["contact"]?.string("name")))
        #expect(unknown["message"]?.string("urn") == "mailto:********")
        let sent = try daemon.call("messages.send", ["workspace": Self.workspace, "uuid": .string(uuid), "text": "reply"])
        #expect(sent["message"]?.string("urn") == "tel:********")
        let group = try #require(try daemon.call("groups.create", ["workspace": Self.workspace, "name": "G"]).string("uuid"))
        _ = try ContactKit.modify(daemon, uuid, [ContactKit.groups("add", [group])], workspace: "anon")

        let answers: [JSONValue] = [
            received, unknown, sent,
            .array(try ContactKit.allEvents(daemon, workspace: "anon")),
            .array(try ContactKit.history(daemon, uuid, workspace: "anon")),
            try daemon.call("contacts.messages", ["workspace": Self.workspace, "uuid": .string(uuid)]),
            try daemon.call("contacts.as_of", ["workspace": Self.workspace, "uuid": .string(uuid), "at": ["seq": 2]]),
            try daemon.call("contacts.diff", ["workspace": Self.workspace, "uuid": .string(uuid), "from": ["seq": 0], "to": ["seq": 2]]),
            try daemon.call("groups.members", ["workspace": Self.workspace, "uuid": .string(group)]),
        ]
        for (index, answer) in answers.enumerated() {
            for secret in ["788123123", "new@example.com", "example.com"] {
                #expect(!ContactKit.mentions(answer, secret), "answer \(index) reveals \(secret)")
            }
        }
        // The URN lists inside events are masked, not dropped.
        let urnEvents = ContactKit.items(try daemon.call("events.read", ["workspace": Self.workspace, "types": ["contact_created"]]))
        #expect(urnEvents.contains { ContactKit.strings($0["data"]?["urns"]) == ["tel:********"] })
        let messages = ContactKit.items(try daemon.call("contacts.messages", ["workspace": Self.workspace, "uuid": .string(uuid)]))
        #expect(messages.count == 2)
        #expect(messages.allSatisfy { $0.string("urn") == "tel:********" })
    }

    /// A contact's name shows as its `ref` in events as in contact objects, wherever events are answered;
    /// the workspace's own field and group names are not personal data and stay.
    @Test func contactNamesShowAsRefsInEventsAndFieldAndGroupNamesStay() throws {
        let daemon = try Self.daemon()
        _ = try daemon.call("fields.create", ["workspace": Self.workspace, "key": "age", "name": "Age", "type": "number"])
        let group = try #require(try daemon.call("groups.create", ["workspace": Self.workspace, "name": "Adults"]).string("uuid"))
        let subscriber = try daemon.client()
        try subscriber.call("events.subscribe", ["workspace": Self.workspace, "types": ["contact_created", "contact_name_changed"]])
        let created = try daemon.call("contacts.create", ["workspace": Self.workspace, "name": "Hidden First", "urns": ["ext:h"]])
        let uuid = try #require(created.string("uuid"))
        let ref = try #require(created.string("ref"))
        _ = try ContactKit.modify(daemon, uuid, [["type": "name", "name": "Hidden Second"], ContactKit.groups("add", [group])], workspace: "anon")
        let unnamed = try daemon.call("contacts.create", ["workspace": Self.workspace, "urns": ["ext:unnamed"]])

        let events = try ContactKit.allEvents(daemon, workspace: "anon")
        let history = try ContactKit.history(daemon, uuid, workspace: "anon")
        let audit = try ContactKit.allPages(daemon, "audit.changes", ["workspace": Self.workspace])
        let notifications = try (0..<3).map { _ in try subscriber.readValue()["params"]?["event"] ?? .null }
        for (label, items) in [("events.read", events), ("contacts.history", history), ("audit.changes", audit), ("events.subscribe", notifications)] {
            let names = items.filter { Set(["contact_created", "contact_name_changed"]).contains($0.string("type") ?? "") && $0["data"]?["uuid"] != unnamed["uuid"] }
            #expect(names.count == 2, "\(label)")
            #expect(names.allSatisfy { $0["data"]?.string("name") == ref }, "\(label): \(names)")
            #expect(!ContactKit.mentions(.array(items), "Hidden"), "\(label)")
        }
        // A contact created without a name has none to hide.
        let unnamedCreated = events.first { $0.string("type") == "contact_created" && $0["data"]?["uuid"] == unnamed["uuid"] }
        #expect(unnamedCreated?["data"]?["name"] == .null)
        #expect(events.first { $0.string("type") == "field_created" }?["data"]?.string("name") == "Age")
        #expect(events.first { $0.string("type") == "group_created" }?["data"]?.string("name") == "Adults")
        #expect(try ContactKit.get(daemon, uuid, workspace: "anon").string("name") == ref)
    }

    /// A change hidden behind the mask is still a change: `contacts.diff` compares the values the ledger
    /// holds and shows them masked (a renamed contact shows its ref before and after; a replaced number
    /// `tel:********` twice). It said "no changes" when it compared the masked values. A name cleared shows
    /// as cleared in the events, not as the ref.
    @Test func diffShowsMaskedChangesAndAClearedNameStaysCleared() throws {
        // URNs change only before the workspace turns anonymous.
        let daemon = try DaemonHarness()
        _ = try daemon.call("workspace.configure", ["workspace": Self.workspace, "default_country": "RW"])
        let created = try daemon.call("contacts.create", ["workspace": Self.workspace, "name": "Zorro", "urns": ["tel:0788123123"]])
        let uuid = try #require(created.string("uuid"))
        _ = try ContactKit.modify(daemon, uuid, [["type": "name", "name": "Diego"]], workspace: "anon")
        _ = try ContactKit.modify(daemon, uuid, [ContactKit.urns("set", ["tel:0788999888"])], workspace: "anon")
        let renamedAndRenumbered = try ContactKit.head(daemon)
        _ = try daemon.call("workspace.configure", ["workspace": Self.workspace, "anonymous": true])
        let ref = try #require(try ContactKit.get(daemon, uuid, workspace: "anon").string("name"))
        #expect(Self.isRef(ref))
        _ = try ContactKit.modify(daemon, uuid, [["type": "name", "name": ""]], workspace: "anon")
        let created1 = ["seq": JSONValue.integer(Int64(try #require(created.int("seq"))))] as JSONValue

        let diff = try daemon.call("contacts.diff", ["workspace": Self.workspace, "uuid": .string(uuid), "from": created1, "to": ["seq": .integer(renamedAndRenumbered)]])
        guard case .object(let changes)? = diff["changes"] else {
            Issue.record("no changes object: \(diff)")
            return
        }
        #expect(Set(changes.keys) == ["name", "urns"], "\(diff)")
        #expect(changes["name"] == ["before": .string(ref), "after": .string(ref)])
        #expect(changes["urns"] == ["before": ["tel:********"], "after": ["tel:********"]])
        #expect(!ContactKit.mentions(diff, "Zorro") && !ContactKit.mentions(diff, "Diego") && !ContactKit.mentions(diff, "0788"))
        // Nothing changed between a point and itself, masked or not.
        #expect(try daemon.call("contacts.diff", ["workspace": Self.workspace, "uuid": .string(uuid), "from": created1, "to": created1])["changes"] == [:])

        let cleared = try ContactKit.history(daemon, uuid, types: ["contact_name_changed"], workspace: "anon")
        #expect(cleared.map { $0["data"]?.string("name") } == ["", ref])
    }

    /// `contacts.search` with `as_of` looks at the contacts as they were, but masks them as the workspace
    /// is now: anonymity turned on later hides their past names and URNs and refuses URN-value queries.
    @Test func searchingThePastOfAWorkspaceMadeAnonymousMasksIt() throws {
        let daemon = try DaemonHarness()
        let created = try daemon.call("contacts.create", ["workspace": "later", "name": "Visible Past", "urns": ["tel:+250788111222"]])
        let before = try #require(created.int("seq"))
        _ = try daemon.call("workspace.configure", ["workspace": "later", "anonymous": true])
        let found = try daemon.call("contacts.search", ["workspace": "later", "query": "", "as_of": ["seq": .integer(before)]])
        let contacts = found["contacts"]?.arrayValue ?? []
        #expect(contacts.count == 1)
        #expect(Self.isRef(contacts.first?.string("name")))
        #expect(ContactKit.strings(contacts.first?["urns"]) == ["tel:********"])
        #expect(!ContactKit.mentions(found, "Visible") && !ContactKit.mentions(found, "788111222"))
        let refused = try daemon.error("contacts.search", ["workspace": "later", "query": "tel = +250788111222", "as_of": ["seq": .integer(before)]])
        #expect(refused.code == -32004)
        #expect(refused.data("code") == "redacted_urns")
    }

    @Test func urnsOfExistingContactsCannotBeChanged() throws {
        let daemon = try Self.daemon()
        let created = try daemon.call("contacts.create", ["workspace": Self.workspace, "name": "N", "urns": ["tel:0788123123"]])
        let uuid = try #require(created.string("uuid"))
        let head = try ContactKit.head(daemon)
        for action in ["append", "remove", "set"] {
            let error = try ContactKit.modifyError(daemon, uuid, [["type": "name", "name": "Other"], ContactKit.urns(action, ["ext:new"])], workspace: "anon")
            #expect(error.code == -32003, "\(action)")
            #expect(error.data("reason") == "anonymous_workspace", "\(action)")
        }
        #expect(try ContactKit.head(daemon) == head)
        #expect(try ContactKit.get(daemon, uuid, workspace: "anon").int("version") == created.int("version"))
        // Other modifiers still work.
        let renamed = try ContactKit.modify(daemon, uuid, [["type": "name", "name": "Other"], ContactKit.status("blocked")], workspace: "anon")
        #expect(renamed.string("status") == "blocked")
        // The URN is still the contact's: another contact cannot take it.
        let taken = try daemon.error("contacts.create", ["workspace": Self.workspace, "urns": ["tel:0788123123"]])
        #expect(taken.code == -32002)
        #expect(!ContactKit.mentions(taken.data ?? .null, "788123123"))
    }

    @Test func turningAnonymityOnMasksExistingContacts() throws {
        let daemon = try DaemonHarness()
        let created = try daemon.call("contacts.create", ["workspace": "later", "name": "Visible", "urns": ["ext:visible-id"]])
        let uuid = try #require(created.string("uuid"))
        #expect(ContactKit.strings(created["urns"]) == ["ext:visible-id"])
        _ = try daemon.call("workspace.configure", ["workspace": "later", "anonymous": true])
        let masked = try ContactKit.get(daemon, uuid, workspace: "later")
        #expect(ContactKit.strings(masked["urns"]) == ["ext:********"])
        #expect(Self.isRef(masked.string("ref")))
        #expect(!ContactKit.mentions(.array(try ContactKit.allEvents(daemon, workspace: "later")), "visible-id"))
        // And off again: values are back (the ledger kept them).
        _ = try daemon.call("workspace.configure", ["workspace": "later", "anonymous": false])
        let plain = try ContactKit.get(daemon, uuid, workspace: "later")
        #expect(ContactKit.strings(plain["urns"]) == ["ext:visible-id"])
        #expect(plain.string("name") == "Visible")
    }

    /// Answers kept with an idempotency key before the workspace became anonymous are replayed masked,
    /// as every answer is now; the ids and `seq` stay those first answered.
    @Test func answersKeptBeforeTheSwitchReplayMasked() throws {
        let daemon = try DaemonHarness()
        let workspace: JSONValue = "later"
        let create: JSONValue = [
            "workspace": workspace, "name": "Visible Name", "urns": ["tel:+250788123123"], "idempotency_key": "create",
        ]
        let created = try daemon.call("contacts.create", create)
        let uuid = try #require(created.string("uuid"))
        let commands: [(method: String, params: JSONValue)] = [
            ("contacts.create", create),
            ("messages.send", ["workspace": workspace, "uuid": .string(uuid), "text": "out", "idempotency_key": "send"]),
            ("messages.receive", ["workspace": workspace, "urn": "tel:+250788123123", "text": "in", "idempotency_key": "receive"]),
            ("contacts.modify", [
                "workspace": workspace, "uuid": .string(uuid), "modifiers": [["type": "language", "language": "fra"]], "idempotency_key": "modify",
            ]),
        ]
        var first: [JSONValue] = [created]
        for command in commands.dropFirst() { first.append(try daemon.call(command.method, command.params)) }
        #expect(ContactKit.mentions(.array(first), "788123123"))
        _ = try daemon.call("workspace.configure", ["workspace": workspace, "anonymous": true])
        let ref = try #require(try ContactKit.get(daemon, uuid, workspace: "later").string("ref"))
        for (command, answer) in zip(commands, first) {
            let replayed = try daemon.call(command.method, command.params)
            #expect(!ContactKit.mentions(replayed, "788123123"), "\(command.method): \(replayed)")
            #expect(!ContactKit.mentions(replayed, "Visible Name"), "\(command.method): \(replayed)")
            #expect(replayed.int("seq") == answer.int("seq"), "\(command.method)")
            let contact = command.method == "messages.receive" ? replayed["contact"] : replayed
            if command.method != "messages.send" {
                #expect(contact?.string("name") == ref, "\(command.method)")
                #expect(contact?.string("ref") == ref, "\(command.method)")
                #expect(ContactKit.strings(contact?["urns"]) == ["tel:********"], "\(command.method)")
            }
            if let message = replayed["message"] {
                #expect(message.string("urn") == "tel:********", "\(command.method)")
                #expect(message.string("uuid") == answer["message"]?.string("uuid"), "\(command.method)")
            }
        }
    }

    /// An import's row errors kept from before the workspace became anonymous quote URNs: `imports.status`
    /// shows them masked, as every answer is now (also after a restart), and as they were once it is no
    /// longer anonymous. Found by a workspaces audit: they showed whole.
    @Test func importErrorsKeptBeforeTheSwitchShowMasked() throws {
        let daemon = try DaemonHarness()
        let workspace: JSONValue = "later"
        var uuids: [String] = []
        for number in ["+250788515151", "+250788525252", "+250788535353"] {
            uuids.append(try #require(try daemon.call("contacts.create", ["workspace": workspace, "urns": [.string("tel:" + number)]]).string("uuid")))
        }
        let csv = """
            UUID,URN:Tel,URN:Tel,URN:Mailto
            \(uuids[1]),+250788515151,,
            ,+250788535353,+250788525252,
            \(uuids[0]),,+25078854x54,
            \(uuids[2]),,,"secret, person@x.example"

            """
        let params: JSONValue = ["workspace": workspace, "content_base64": .string(Data(csv.utf8).base64EncodedString()), "format": "csv"]
        let id = try #require(try daemon.call("imports.start", params).string("import"))
        let status: JSONValue = ["workspace": workspace, "import": .string(id)]
        let imported = try ImportExportTests.wait(daemon, "imports.status", status)
        let plain = ImportExportTests.errors(imported)
        #expect(plain == [
            "2|URN:Tel|URN tel:+250788515151 already taken by another contact",
            "3|-|Unable to find or create contact with URNs tel:+250788535353, tel:+250788525252",
            "4|URN:Tel|'tel:+25078854x54' is not valid URN",
            "5|URN:Mailto|'mailto:secret, person@x.example' is not valid URN",
        ])
        _ = try daemon.call("workspace.configure", ["workspace": workspace, "anonymous": true])
        // A URN holding `, ` is masked whole, not cut in two at it (a recheck: `mailto:********, person@x.example:********`).
        let masked = [
            "2|URN:Tel|URN tel:******** already taken by another contact",
            "3|-|Unable to find or create contact with URNs tel:********, tel:********",
            "4|URN:Tel|'tel:********' is not valid URN",
            "5|URN:Mailto|'mailto:********' is not valid URN",
        ]
        #expect(ImportExportTests.errors(try daemon.call("imports.status", status)) == masked)
        #expect(daemon.stop() == 0)
        try daemon.start()
        #expect(ImportExportTests.errors(try daemon.call("imports.status", status)) == masked)
        // One made while it is anonymous shows as plainly once it is no longer (a recheck: masked for good).
        let whileAnonymous = try #require(try daemon.call("imports.start", [
            "workspace": workspace, "format": "csv",
            "content_base64": .string(Data("UUID,URN:Tel\n\(uuids[2]),+250788515151\n".utf8).base64EncodedString()),
        ]).string("import"))
        let laterStatus: JSONValue = ["workspace": workspace, "import": .string(whileAnonymous)]
        let later = try ImportExportTests.wait(daemon, "imports.status", laterStatus)
        #expect(ImportExportTests.errors(later) == ["2|URN:Tel|URN tel:******** already taken by another contact"])
        _ = try daemon.call("workspace.configure", ["workspace": workspace, "anonymous": false])
        #expect(ImportExportTests.errors(try daemon.call("imports.status", status)) == plain)
        #expect(ImportExportTests.errors(try daemon.call("imports.status", laterStatus)) == ["2|URN:Tel|URN tel:+250788515151 already taken by another contact"])
    }
}

extension AnonymousWorkspaceTests {
    /// Polls `groups.list` of `workspace` until the group is `ready`; returns it.
    static func readyGroup(_ daemon: DaemonHarness, _ uuid: String, workspace: JSONValue) throws -> JSONValue {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let group = try daemon.call("groups.list", ["workspace": workspace])["groups"]?.arrayValue?.first { $0.string("uuid") == uuid }
            if let group, group.string("status") == "ready" { return group }
            usleep(20_000)
        }
        Issue.record("group \(uuid) never became ready")
        return .null
    }

    /// A smart group made before the workspace became anonymous keeps the number its query names, and
    /// every answer showing the query shows it with its URN values masked and the rest of its canonical
    /// text as it is: `groups.list`, the groups.* answers (live and replayed), the group events in
    /// `events.read`, `audit.changes` and an `events.subscribe` catch-up; `contacts.history` never carries
    /// a query. A workspace that is not anonymous shows the number. Found by a black-box audit:
    /// `groups.list` and the `group_created` event showed `urns.tel = "+250788500002"`.
    @Test func groupQueriesShowNoURNValues() throws {
        let daemon = try DaemonHarness()
        let secret = "788500002"
        let plainQuery = #"urns.tel = "+250788500002" OR fields.age > 18"#
        var groups: [String: String] = [:]
        var member: [String: String] = [:]
        var replays: [(method: String, params: JSONValue)] = []
        for workspace in ["later", "plain"] {
            let name = JSONValue.string(workspace)
            _ = try daemon.call("workspace.configure", ["workspace": name, "default_country": "RW"])
            _ = try daemon.call("fields.create", ["workspace": name, "key": "age", "type": "number"])
            let contact = try #require(try daemon.call("contacts.create", ["workspace": name, "urns": ["tel:0788500002"]]).string("uuid"))
            member[workspace] = contact
            let create: JSONValue = ["workspace": name, "name": "TelGroup", "query": "tel = +250788500002", "idempotency_key": "create"]
            let created = try daemon.call("groups.create", create)
            #expect(created.string("query") == #"urns.tel = "+250788500002""#)
            let uuid = try #require(created.string("uuid"))
            groups[workspace] = uuid
            _ = try Self.readyGroup(daemon, uuid, workspace: name)
            let update: JSONValue = ["workspace": name, "uuid": .string(uuid), "query": "tel = +250788500002 OR age > 18", "idempotency_key": "update"]
            #expect(try daemon.call("groups.update", update).string("query") == plainQuery)
            let ready = try Self.readyGroup(daemon, uuid, workspace: name)
            #expect(ready["count"] == 1)
            if workspace == "later" { replays = [("groups.create", create), ("groups.update", update)] }
        }
        _ = try daemon.call("workspace.configure", ["workspace": "later", "anonymous": true])
        let later: JSONValue = "later"
        let uuid = try #require(groups["later"])
        let masked = #"urns.tel = "********" OR fields.age > 18"#

        let listed = try daemon.call("groups.list", ["workspace": later])
        #expect(listed["groups"]?.arrayValue?.first?.string("query") == masked, "\(listed)")
        let renamed = try daemon.call("groups.update", ["workspace": later, "uuid": .string(uuid), "name": "Renamed"])
        #expect(renamed.string("query") == masked, "\(renamed)")
        var answers: [(String, JSONValue)] = [("groups.list", listed), ("groups.update", renamed)]
        for replay in replays {
            let again = try daemon.call(replay.method, replay.params)
            #expect(again.string("uuid") == uuid, "\(replay.method) replayed")
            answers.append(("\(replay.method) replayed", again))
        }
        let events = try ContactKit.allEvents(daemon, workspace: "later")
        let queries = events.filter { ["group_created", "group_updated"].contains($0.string("type") ?? "") && $0["data"]?["query"] != nil }
        #expect(queries.map { $0["data"]?.string("query") } == [#"urns.tel = "********""#, masked], "\(queries)")
        answers.append(("events.read", .array(events)))
        answers.append(("audit.changes", .array(try ContactKit.allPages(daemon, "audit.changes", ["workspace": later]))))
        answers.append(("contacts.history", .array(try ContactKit.history(daemon, try #require(member["later"]), workspace: "later"))))
        let subscriber = try daemon.client()
        try subscriber.call("events.subscribe", ["workspace": later, "after_seq": 0, "types": ["group_created", "group_updated"]])
        let caughtUp = try (0..<3).map { _ in try subscriber.readValue()["params"]?["event"] ?? .null }
        #expect(caughtUp.map { $0["data"]?["query"]?.stringValue } == [#"urns.tel = "********""#, masked, nil], "\(caughtUp)")
        answers.append(("events.subscribe", .array(caughtUp)))
        for (label, answer) in answers {
            #expect(!ContactKit.mentions(answer, secret), "\(label) reveals the number: \(answer)")
        }

        // A workspace that is not anonymous shows its group's query whole.
        let plain = try daemon.call("groups.list", ["workspace": "plain"])
        #expect(plain["groups"]?.arrayValue?.first?.string("query") == plainQuery)
        let plainEvents = try ContactKit.allEvents(daemon, workspace: "plain")
        #expect(plainEvents.contains { $0.string("type") == "group_created" && $0["data"]?.string("query") == #"urns.tel = "+250788500002""# })
    }
}
