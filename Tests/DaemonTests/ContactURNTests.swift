// ContactLedger — daemon tests: URN normalization, uniqueness, order and limits (behaviour reference §2).
import Foundation
import RPC
import Testing

/// One URN as typed, the workspace country it is typed in, and what the daemon must make of it.
struct URNCase: Sendable, CustomTestStringConvertible {
    var input: String
    /// `RW`, `US` or nil (a workspace with no default country).
    var country: String?
    /// The encoded URN the contact shows, or nil when the input is invalid.
    var expected: String?
    /// The identity to look the contact up by (defaults to `expected`).
    var identity: String?
    /// For invalid input, the expected `data.reason` where it is certain.
    var reason: String?
    /// For a path or display too long, the `data.limit` of the -32006 it gets (other invalid input: -32602).
    var limit: Int64?

    static func valid(_ input: String, _ country: String?, _ expected: String, identity: String? = nil) -> URNCase {
        URNCase(input: input, country: country, expected: expected, identity: identity ?? expected)
    }

    static func invalid(_ input: String, _ country: String? = "RW", reason: String? = nil, limit: Int64? = nil) -> URNCase {
        URNCase(input: input, country: country, expected: nil, reason: reason, limit: limit)
    }

    var testDescription: String { "\(self.input) [\(self.country ?? "no country")] → \(self.expected ?? "invalid")" }

    /// The workspace configured for this case's country.
    var workspace: String {
        switch self.country {
        case "RW": "rw"
        case "US": "us"
        default: "nocountry"
        }
    }
}

@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct ContactURNTests {
    static let freshchat = "c0534f78-b6e9-4f79-8853-11cedfc1f35b/a0534f78-b6e9-4f79-8853-11cedfc1f35c"

    static let cases: [URNCase] = [
        // tel: E.164, national numbers with the workspace country, trimming, vanity, short codes, sender ids.
        .valid("tel:+250788123123", nil, "tel:+250788123123"),
        .valid("tel:+250788123123", "US", "tel:+250788123123"),
        .valid("tel:0788 123 123", "RW", "tel:+250788123123"),
        .valid("tel:0788-123-123", "RW", "tel:+250788123123"),
        .valid("tel:(0788) 123.123", "RW", "tel:+250788123123"),
        .valid("tel:  +250 788 123 123  ", nil, "tel:+250788123123"),
        .valid("TEL:+250788123123", nil, "tel:+250788123123"),
        .valid("tel:250788123123", "US", "tel:+250788123123"),
        .valid("tel:250788123123", nil, "tel:+250788123123"),
        .valid("tel:(206) 555-1212", "US", "tel:+12065551212"),
        .valid("tel:206.555.1212", "US", "tel:+12065551212"),
        .valid("tel:+1 206 555 1212", "RW", "tel:+12065551212"),
        .valid("tel:12065551212", "RW", "tel:+12065551212"),
        .valid("tel:(917) 992-5253", "US", "tel:+19179925253"),
        .valid("tel:+44 7531 669965", "US", "tel:+447531669965"),
        .valid("tel:800-CABBAGE", "US", "tel:+18002222243"),
        .valid("tel:1234", "US", "tel:1234"),
        .valid("tel:PRIZES", "RW", "tel:prizes"),
        .valid("tel:0788123123", nil, "tel:0788123123"),
        .valid("tel:+250788123123#Home", "RW", "tel:+250788123123#Home", identity: "tel:+250788123123"),
        .invalid("tel:", reason: "empty"),
        .invalid("tel:+", reason: "not_a_possible_number"),
        .invalid("tel:12", "US", reason: "not_a_possible_number"),
        .invalid("tel:!!!", reason: "not_a_possible_number"),
        .invalid("tel:+1234567890123456789", nil, reason: "not_a_possible_number"),
        .invalid("tel:" + String(repeating: "a", count: 65), "US"),
        // whatsapp and bsuid.
        .valid("whatsapp:250788123123", "RW", "whatsapp:250788123123"),
        .valid("WhatsApp: 250788123123 ", "RW", "whatsapp:250788123123"),
        .valid("whatsapp:br.ABC123", "RW", "whatsapp:BR.ABC123"),
        .invalid("whatsapp:+250788123123", reason: "invalid_path"),
        .invalid("whatsapp:BR.ABC-123", reason: "invalid_path"),
        .valid("bsuid:us.12345abc", "US", "bsuid:US.12345abc"),
        .invalid("bsuid:250788123123", reason: "invalid_path"),
        // mailto.
        .valid("mailto: nAme@domAIN.cOm ", "RW", "mailto:name@domain.com"),
        .invalid("mailto:bob", reason: "invalid_path"),
        .invalid("mailto:a b@c.com", reason: "invalid_path"),
        .invalid("mailto:@c.com", reason: "invalid_path"),
        // twitter, twitterid.
        .valid("twitter: @jimmyJO", "RW", "twitter:jimmyjo"),
        .valid("twitter:Bob_99", "US", "twitter:bob_99"),
        .invalid("twitter:jimmy_jo_123456789", reason: "invalid_path"),
        .invalid("twitter:jim-my", reason: "invalid_path"),
        .valid("twitterid:85114#billy_bob", "RW", "twitterid:85114#billy_bob", identity: "twitterid:85114"),
        .invalid("twitterid:abc", reason: "invalid_path"),
        // facebook, instagram, telegram, jiochat.
        .valid("facebook:12345678901234567", "RW", "facebook:12345678901234567"),
        .valid("facebook:ref:AdvertisingWebsite", "RW", "facebook:ref:AdvertisingWebsite"),
        .invalid("facebook:abc", reason: "invalid_path"),
        .valid("instagram:1234567890", "RW", "instagram:1234567890"),
        .invalid("instagram:@bob", reason: "invalid_path"),
        .valid("telegram:12345#Jane", "RW", "telegram:12345#Jane", identity: "telegram:12345"),
        .invalid("telegram:12a", reason: "invalid_path"),
        .valid("jiochat:123456", "RW", "jiochat:123456"),
        .invalid("jiochat:abc", reason: "invalid_path"),
        // line, viber, webchat, freshchat.
        .valid("line:Uabc123_XYZ", "RW", "line:Uabc123_XYZ"),
        .invalid("line:" + String(repeating: "a", count: 37), reason: "invalid_path"),
        .invalid("line:a.b", reason: "invalid_path"),
        .valid("viber:xy5/5y6O81+/kbWHpLhBoA==", "RW", "viber:xy5/5y6O81+/kbWHpLhBoA=="),
        .invalid("viber:abc-def", reason: "invalid_path"),
        .valid("webchat:65vbbDAQCdPdEWlEhDGy4utO", "RW", "webchat:65vbbDAQCdPdEWlEhDGy4utO"),
        .valid("webchat:65vbbDAQCdPdEWlEhDGy4utO:bob@example.com", "RW", "webchat:65vbbDAQCdPdEWlEhDGy4utO:bob@example.com"),
        .invalid("webchat:short", reason: "invalid_path"),
        .valid("freshchat:" + freshchat, "RW", "freshchat:" + freshchat),
        .invalid("freshchat:c0534f78", reason: "invalid_path"),
        // The free-form schemes keep case.
        .valid("ext: eXterNAL123 ", "RW", "ext:eXterNAL123"),
        .valid("fcm:cfa1e2:APA91b_xyz", "RW", "fcm:cfa1e2:APA91b_xyz"),
        .valid("rocketchat:Abc123", "RW", "rocketchat:Abc123"),
        .valid("slack:U0123ABC", "US", "slack:U0123ABC"),
        .valid("vk:12345", "US", "vk:12345"),
        .valid("wechat:oXyz-123", "US", "wechat:oXyz-123"),
        .valid("ext:abc%23def", "RW", "ext:abc%23def"),
        // Shape errors.
        .invalid("discord:12345", reason: "unknown_scheme"),
        .invalid("deleted:abc", reason: "unknown_scheme"),
        .invalid("bogus"),
        .invalid(":12345"),
        .invalid("ext:", reason: "empty"),
        .invalid("ext:a?b?c", reason: "malformed"),
        // Too long: a value too long, -32006 with the limit (UTF-8 bytes, as gocommon counts).
        .invalid("ext:" + String(repeating: "x", count: 201), reason: "path_too_long", limit: 200),
        .invalid("ext:" + String(repeating: "\u{E9}", count: 101), reason: "path_too_long", limit: 200),
        .invalid("telegram:1#" + String(repeating: "a", count: 256), reason: "display_too_long", limit: 255),
    ]

    /// Starts a daemon with the three workspaces: `rw` (RW), `us` (US), `nocountry`.
    static func daemon() throws -> DaemonHarness {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["workspace": "rw", "default_country": "RW"])
        try daemon.call("workspace.configure", ["workspace": "us", "default_country": "US"])
        try daemon.call("workspace.configure", ["workspace": "nocountry", "timezone": "UTC"])
        return daemon
    }

    @Test(arguments: cases)
    func normalization(_ item: URNCase) throws {
        let daemon = try Self.daemon()
        let workspace = JSONValue.string(item.workspace)
        if let expected = item.expected {
            let contact = try daemon.call("contacts.create", ["workspace": workspace, "urns": [.string(item.input)]])
            #expect(ContactKit.strings(contact["urns"]) == [expected])
            let uuid = try #require(contact.string("uuid"))
            // Looked up by what was typed and by the normalized identity.
            #expect(try daemon.call("contacts.get", ["workspace": workspace, "urn": .string(item.input)]).string("uuid") == uuid)
            let identity = try #require(item.identity)
            #expect(try daemon.call("contacts.get", ["workspace": workspace, "urn": .string(identity)]).string("uuid") == uuid)
            // The event records the normalized form.
            let created = try daemon.call("events.read", ["workspace": workspace, "types": ["contact_created"]])
            #expect(ContactKit.strings(ContactKit.items(created).first?["data"]?["urns"]) == [expected])
        } else {
            let error = try daemon.error("contacts.create", ["workspace": workspace, "urns": ["ext:fine-one", .string(item.input)]])
            let code = item.limit == nil ? -32602 : -32006
            #expect(error.code == code)
            #expect(error.data("field") == "urns[1]")
            if let reason = item.reason { #expect(error.data("reason")?.stringValue == reason) }
            if let limit = item.limit { #expect(error.data("limit")?.integerValue == limit, "\(error)") }
            // Nothing was recorded, and the same input is refused as a lookup key and as a modifier.
            #expect(try daemon.call("events.read", ["workspace": workspace, "types": ["contact_created"]])["items"] == [])
            let lookup = try daemon.error("contacts.get", ["workspace": workspace, "urn": .string(item.input)])
            #expect(lookup.code == code)
            #expect(lookup.data("field") == "urn")
            let contact = try daemon.call("contacts.create", ["workspace": workspace, "name": "Ok"])
            let uuid = try #require(contact.string("uuid"))
            let modify = try ContactKit.modifyError(
                daemon, uuid, [["type": "name", "name": "X"], ContactKit.urns("append", ["ext:also-fine", item.input])], workspace: item.workspace)
            #expect(modify.code == code)
            #expect(modify.data("field") == "modifiers[1].urns[1]")
            #expect(try ContactKit.get(daemon, uuid, workspace: item.workspace).string("name") == "Ok")
        }
    }

    @Test func uniquenessAfterNormalizationIsPerWorkspace() throws {
        let daemon = try Self.daemon()
        let owner = try daemon.call("contacts.create", ["workspace": "rw", "name": "Owner", "urns": ["tel:0788 123 123"]])
        #expect(ContactKit.strings(owner["urns"]) == ["tel:+250788123123"])
        let ownerUUID = try #require(owner.string("uuid"))
        // The same number typed another way is the same identity.
        for typed in ["tel:+250788123123", "tel:250788123123", "tel:0788-123-123", "tel:+250788123123#Other"] {
            let taken = try daemon.error("contacts.create", ["workspace": "rw", "urns": ["mailto:x@y.z", .string(typed)]])
            #expect(taken.code == -32002, "\(typed)")
            #expect(taken.data("reason") == "urn_taken", "\(typed)")
            #expect(taken.data("field") == "urns[1]", "\(typed)")
        }
        // The refused creates recorded nothing: mailto:x@y.z is still free.
        #expect(try daemon.error("contacts.get", ["workspace": "rw", "urn": "mailto:x@y.z"]).code == -32001)
        // Another workspace may hold the same number.
        let elsewhere = try daemon.call("contacts.create", ["workspace": "us", "urns": ["tel:+250788123123"]])
        #expect(elsewhere.string("uuid") != ownerUUID)
        #expect(try daemon.call("contacts.get", ["workspace": "us", "urn": "tel:+250788123123"]).string("uuid") == elsewhere.string("uuid"))
        #expect(try daemon.call("contacts.get", ["workspace": "rw", "urn": "tel:+250788123123"]).string("uuid") == ownerUUID)
        // Case-insensitive schemes collide after normalization too.
        _ = try daemon.call("contacts.create", ["workspace": "rw", "urns": ["mailto:Ann@Example.com"]])
        let mail = try daemon.error("contacts.create", ["workspace": "rw", "urns": ["mailto:ann@example.COM"]])
        #expect(mail.data("reason") == "urn_taken")
        _ = try daemon.call("contacts.create", ["workspace": "rw", "urns": ["twitter:@Bob"]])
        #expect(try daemon.error("contacts.create", ["workspace": "rw", "urns": ["twitter:bob"]]).code == -32002)
        // ext is case-sensitive: a different identity.
        _ = try daemon.call("contacts.create", ["workspace": "rw", "urns": ["ext:Abc"]])
        _ = try daemon.call("contacts.create", ["workspace": "rw", "urns": ["ext:abc"]])
    }

    @Test func concurrentClaimsOfOneURNHaveOneWinner() throws {
        let daemon = try Self.daemon()
        let spellings = ["tel:0788 123 123", "tel:+250788123123", "tel:250788123123", "tel:0788-123-123"]
        let outcomes = try onThreads(16) { index -> String in
            do {
                let contact = try daemon.call("contacts.create", ["workspace": "rw", "urns": [.string(spellings[index % spellings.count])]])
                return contact.string("uuid") ?? "?"
            } catch let error as RPCError {
                return error.code == -32002 && error.data("reason") == "urn_taken" ? "taken" : "unexpected \(error)"
            }
        }
        let winners = outcomes.filter { $0 != "taken" }
        #expect(winners.count == 1, "\(outcomes)")
        #expect(try daemon.call("contacts.get", ["workspace": "rw", "urn": "tel:+250788123123"]).string("uuid") == winners.first)
        #expect(try daemon.call("workspace.get", ["workspace": "rw"])["counts"]?.int("contacts") == 1)
        // Existing contacts racing to append it: still one owner.
        let contenders = try (0..<8).map { _ in try #require(try daemon.call("contacts.create", ["workspace": "rw"]).string("uuid")) }
        _ = try ContactKit.modify(daemon, try #require(winners.first), [ContactKit.urns("remove", ["tel:+250788123123"])], workspace: "rw")
        let appends = try onThreads(8) { index -> Bool in
            (try? ContactKit.modify(daemon, contenders[index], [ContactKit.urns("append", ["tel:0788123123"])], workspace: "rw")) != nil
        }
        #expect(appends.filter { $0 }.count == 1)
        let owner = try daemon.call("contacts.get", ["workspace": "rw", "urn": "tel:+250788123123"]).string("uuid")
        #expect(owner == contenders[appends.firstIndex(of: true) ?? 0])
    }

    @Test func duplicatesCollapseAndNoOpsAppendNothing() throws {
        let daemon = try Self.daemon()
        let contact = try daemon.call("contacts.create", ["workspace": "rw", "urns": ["tel:0788123123", "tel:+250788123123", "ext:a"]])
        #expect(ContactKit.strings(contact["urns"]) == ["tel:+250788123123", "ext:a"])
        let uuid = try #require(contact.string("uuid"))
        let head = try ContactKit.head(daemon)
        let removeMissing = try ContactKit.modify(daemon, uuid, [ContactKit.urns("remove", ["ext:never-held"])], workspace: "rw")
        #expect(removeMissing.int("version") == contact.int("version"))
        #expect(removeMissing.int("seq") == head)
        #expect(try ContactKit.head(daemon) == head)
    }

    /// The limit of 50 is on the URNs a contact holds: a list naming three URNs twenty times each makes a
    /// contact of three (it was refused); a request lists at most 100 (§10).
    @Test func theURNLimitCountsWhatTheContactHolds() throws {
        let daemon = try Self.daemon()
        let repeated: [JSONValue] = (0..<60).map { .string("ext:r\($0 % 3)") }
        let contact = try daemon.call("contacts.create", ["urns": .array(repeated)])
        #expect(ContactKit.strings(contact["urns"]) == ["ext:r0", "ext:r1", "ext:r2"])
        let fiftyOne = try daemon.error("contacts.create", ["urns": .array((0..<51).map { .string("ext:d\($0)") })])
        #expect(fiftyOne.code == -32006)
        #expect(fiftyOne.data("limit") == 50)
        let tooLong = try daemon.error("contacts.create", ["urns": .array((0..<101).map { _ in "ext:same" })])
        #expect(tooLong.code == -32006)
        #expect(tooLong.data("limit") == 100)
        #expect(tooLong.data("field") == "urns")
        let uuid = try #require(contact.string("uuid"))
        let set = try daemon.error("contacts.modify", ["uuid": .string(uuid), "modifiers": [["type": "urns", "action": "set", "urns": .array((0..<101).map { _ in "ext:same" })]]])
        #expect(set.data("limit") == 100)
    }

    @Test func urnsAreNeverStolenByModification() throws {
        let daemon = try Self.daemon()
        let owner = try #require(try daemon.call("contacts.create", ["workspace": "rw", "urns": ["tel:+250788123123"]]).string("uuid"))
        let other = try daemon.call("contacts.create", ["workspace": "rw", "name": "Thief", "urns": ["ext:thief"]])
        let otherUUID = try #require(other.string("uuid"))
        let version = try #require(other.int("version"))
        let head = try ContactKit.head(daemon)
        for action in ["append", "set"] {
            let error = try ContactKit.modifyError(
                daemon, otherUUID, [["type": "name", "name": "Changed"], ContactKit.urns(action, ["ext:new", "tel:0788 123 123"])], workspace: "rw")
            #expect(error.code == -32002)
            #expect(error.data("reason") == "urn_taken")
            #expect(error.data("field") == "modifiers[1].urns[1]")
        }
        // Atomic: nothing of the refused commands applied.
        let after = try ContactKit.get(daemon, otherUUID, workspace: "rw")
        #expect(after.string("name") == "Thief")
        #expect(ContactKit.strings(after["urns"]) == ["ext:thief"])
        #expect(after.int("version") == version)
        #expect(try ContactKit.head(daemon) == head)
        #expect(try daemon.call("contacts.get", ["workspace": "rw", "urn": "tel:+250788123123"]).string("uuid") == owner)
        // Re-asserting a URN the contact already owns is fine and changes nothing.
        let same = try ContactKit.modify(daemon, owner, [ContactKit.urns("append", ["tel:0788123123"])], workspace: "rw")
        #expect(ContactKit.strings(same["urns"]) == ["tel:+250788123123"])
        #expect(same.int("seq") == head)
    }

    @Test func removedURNsAreFreeForAnotherContact() throws {
        let daemon = try Self.daemon()
        let first = try #require(try daemon.call("contacts.create", ["workspace": "rw", "urns": ["tel:+250788123123", "ext:one"]]).string("uuid"))
        let removed = try ContactKit.modify(daemon, first, [ContactKit.urns("remove", ["tel:0788 123 123"])], workspace: "rw")
        #expect(ContactKit.strings(removed["urns"]) == ["ext:one"])
        #expect(try daemon.error("contacts.get", ["workspace": "rw", "urn": "tel:+250788123123"]).code == -32001)
        // A new contact may take it, and so may an existing one (by append).
        let second = try #require(try daemon.call("contacts.create", ["workspace": "rw", "urns": ["tel:0788123123"]]).string("uuid"))
        #expect(try daemon.call("contacts.get", ["workspace": "rw", "urn": "tel:+250788123123"]).string("uuid") == second)
        _ = try ContactKit.modify(daemon, second, [ContactKit.urns("set", ["ext:two"])], workspace: "rw")
        let third = try #require(try daemon.call("contacts.create", ["workspace": "rw", "name": "Third"]).string("uuid"))
        let appended = try ContactKit.modify(daemon, third, [ContactKit.urns("append", ["tel:+250788123123"])], workspace: "rw")
        #expect(ContactKit.strings(appended["urns"]) == ["tel:+250788123123"])
        #expect(try daemon.call("contacts.get", ["workspace": "rw", "urn": "tel:+250788123123"]).string("uuid") == third)
        // The first contact cannot take it back now.
        let back = try ContactKit.modifyError(daemon, first, [ContactKit.urns("append", ["tel:+250788123123"])], workspace: "rw")
        #expect(back.data("reason") == "urn_taken")
    }

    /// URNs are normalized ahead of the writer with the country a workspace had when last seen there: a
    /// change of default country must still apply at once, to creates and to modifications.
    @Test func aChangedDefaultCountryAppliesAtOnce() throws {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["workspace": "w", "default_country": "RW"])
        let rwandan = try daemon.call("contacts.create", ["workspace": "w", "urns": ["tel:0788 123 456"]])
        #expect(ContactKit.strings(rwandan["urns"]) == ["tel:+250788123456"])
        try daemon.call("workspace.configure", ["workspace": "w", "default_country": "KE"])
        let kenyan = try daemon.call("contacts.create", ["workspace": "w", "urns": ["tel:0712 345 678"]])
        #expect(ContactKit.strings(kenyan["urns"]) == ["tel:+254712345678"])
        let uuid = try #require(rwandan.string("uuid"))
        let modified = try ContactKit.modify(daemon, uuid, [ContactKit.urns("append", ["tel:0722 000 111"])], workspace: "w")
        #expect(ContactKit.strings(modified["urns"]) == ["tel:+250788123456", "tel:+254722000111"])
        try daemon.call("workspace.configure", ["workspace": "w", "default_country": "RW"])
        let again = try ContactKit.modify(daemon, uuid, [ContactKit.urns("append", ["tel:0788 999 000"])], workspace: "w")
        #expect(ContactKit.strings(again["urns"]) == ["tel:+250788123456", "tel:+254722000111", "tel:+250788999000"])
        // A message from an unknown local number creates its contact under the current country.
        let received = try daemon.call("messages.receive", ["workspace": "w", "urn": "tel:0788 555 444", "text": "hi"])
        #expect(received["created_contact"] == true)
        #expect(ContactKit.strings(received["contact"]?["urns"]) == ["tel:+250788555444"])
        try daemon.call("workspace.configure", ["workspace": "w", "default_country": "KE"])
        let fromKenya = try daemon.call("messages.receive", ["workspace": "w", "urn": "tel:0788 555 444", "text": "hi"])
        #expect(ContactKit.strings(fromKenya["contact"]?["urns"]) == ["tel:+254788555444"])
        #expect(try daemon.error("messages.receive", ["workspace": "w", "urn": "tel:12", "text": "hi"]).data("field") == "urn")
        // Bad URNs are still refused naming the field, whichever thread normalized them.
        let bad = try daemon.error("contacts.create", ["workspace": "w", "urns": ["tel:12"]])
        #expect(bad.data("field") == "urns[0]")
    }

    /// URN searches follow the URNs through modifications: a change of name keeps the contact found
    /// by its URN's digits (its trigrams are not recomputed then), a change of URNs moves it.
    @Test func urnSearchesFollowModifications() throws {
        let daemon = try Self.daemon()
        let uuid = try #require(try daemon.call("contacts.create", ["workspace": "rw", "name": "Kim", "urns": ["tel:+250788456456"]]).string("uuid"))
        func found(_ query: String) throws -> [String] {
            let page = try daemon.call("contacts.search", ["workspace": "rw", "query": .string(query), "limit": 10])
            return page["contacts"]?.arrayValue?.compactMap { $0.string("uuid") } ?? []
        }
        #expect(try found("tel ~ 788456") == [uuid])
        _ = try ContactKit.modify(daemon, uuid, [["type": "name", "name": "Kim Lee"]], workspace: "rw")
        #expect(try found("tel ~ 788456") == [uuid])
        #expect(try found("name ~ lee") == [uuid])
        _ = try ContactKit.modify(daemon, uuid, [ContactKit.urns("set", ["tel:+250788999111"])], workspace: "rw")
        #expect(try found("tel ~ 788456") == [])
        #expect(try found("tel ~ 999111") == [uuid])
        _ = try daemon.call("contacts.modify", ["workspace": "rw", "uuid": .string(uuid), "modifiers": [["type": "status", "status": "blocked"]]])
        #expect(try found("tel ~ 999111") == [uuid])
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
    }

    @Test func orderIsPriorityThroughAppendRemoveAndSet() throws {
        let daemon = try Self.daemon()
        let contact = try daemon.call("contacts.create", ["workspace": "rw", "urns": ["tel:0788123123", "mailto:A@B.C", "ext:x"]])
        #expect(ContactKit.strings(contact["urns"]) == ["tel:+250788123123", "mailto:a@b.c", "ext:x"])
        let uuid = try #require(contact.string("uuid"))
        // Append adds missing ones at the end, in order, skipping ones already held.
        let appended = try ContactKit.modify(daemon, uuid, [ContactKit.urns("append", ["whatsapp:250788123123", "mailto:a@b.c", "twitter:@Zed"])], workspace: "rw")
        #expect(ContactKit.strings(appended["urns"]) == ["tel:+250788123123", "mailto:a@b.c", "ext:x", "whatsapp:250788123123", "twitter:zed"])
        // Remove keeps the relative order of the rest.
        let removed = try ContactKit.modify(daemon, uuid, [ContactKit.urns("remove", ["mailto:a@b.c", "ext:x"])], workspace: "rw")
        #expect(ContactKit.strings(removed["urns"]) == ["tel:+250788123123", "whatsapp:250788123123", "twitter:zed"])
        // Set replaces the list in the given order; the first is the preferred one.
        let set = try ContactKit.modify(daemon, uuid, [ContactKit.urns("set", ["twitter:zed", "ext:y", "tel:+250788123123"])], workspace: "rw")
        #expect(ContactKit.strings(set["urns"]) == ["twitter:zed", "ext:y", "tel:+250788123123"])
        // The urns event carries the complete new list.
        let events = try ContactKit.history(daemon, uuid, types: ["contact_urns_changed"], workspace: "rw")
        #expect(events.count == 3)
        #expect(ContactKit.strings(events.first?["data"]?["urns"]) == ["twitter:zed", "ext:y", "tel:+250788123123"])
        // A message sent without a URN goes to the preferred one.
        let sent = try daemon.call("messages.send", ["workspace": "rw", "uuid": .string(uuid), "text": "hi"])
        #expect(sent["message"]?.string("urn") == "twitter:zed")
        // Set with the same list is a no-op.
        let before = try ContactKit.get(daemon, uuid, workspace: "rw")
        let again = try ContactKit.modify(daemon, uuid, [ContactKit.urns("set", ["twitter:@ZED", "ext:y", "tel:0788123123"])], workspace: "rw")
        #expect(again.int("version") == before.int("version"))
        #expect(ContactKit.strings(again["urns"]) == ["twitter:zed", "ext:y", "tel:+250788123123"])
    }

    @Test func atMostFiftyURNs() throws {
        let daemon = try Self.daemon()
        let fifty: [JSONValue] = (0..<50).map { .string("ext:u\($0)") }
        let contact = try daemon.call("contacts.create", ["workspace": "rw", "urns": .array(fifty)])
        #expect(contact["urns"]?.arrayValue?.count == 50)
        let uuid = try #require(contact.string("uuid"))
        let append = try ContactKit.modifyError(daemon, uuid, [ContactKit.urns("append", ["ext:u50"])], workspace: "rw")
        #expect(append.code == -32006)
        #expect(append.data("limit") == 50)
        let set = try ContactKit.modifyError(daemon, uuid, [ContactKit.urns("set", (0..<51).map { "ext:v\($0)" })], workspace: "rw")
        #expect(set.code == -32006)
        let create = try daemon.error("contacts.create", ["workspace": "rw", "urns": .array((0..<51).map { .string("ext:w\($0)") })])
        #expect(create.code == -32006)
        #expect(create.data("limit") == 50)
        // Appending one already held keeps it at 50 and is allowed.
        let same = try ContactKit.modify(daemon, uuid, [ContactKit.urns("append", ["ext:u0"])], workspace: "rw")
        #expect(same["urns"]?.arrayValue?.count == 50)
        // Room after a removal.
        _ = try ContactKit.modify(daemon, uuid, [ContactKit.urns("remove", ["ext:u0"])], workspace: "rw")
        let appended = try ContactKit.modify(daemon, uuid, [ContactKit.urns("append", ["ext:u50"])], workspace: "rw")
        #expect(ContactKit.strings(appended["urns"]).last == "ext:u50")
    }
}
