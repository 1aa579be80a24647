// ContactLedger — daemon tests: a contact's past through contacts.as_of and contacts.diff.
import Foundation
import RPC
import Testing

@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct ContactTimelineTests {
    /// One step of the scripted life: what `contacts.get` answered right after it, and the head then.
    struct Snapshot {
        var contact: JSONValue
        var seq: Int64
    }

    /// Runs the scripted life; returns the snapshots (index 0 is the creation) and the seq before creation.
    static func life(_ daemon: DaemonHarness) throws -> (uuid: String, before: Int64, snapshots: [Snapshot]) {
        try daemon.call("workspace.configure", ["timezone": "Africa/Kigali"])
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        try daemon.call("fields.create", ["key": "joined", "type": "datetime"])
        let group = try #require(try daemon.call("groups.create", ["name": "Club"]).string("uuid"))
        let before = try ContactKit.head(daemon)
        let uuid = try #require(try daemon.call("contacts.create", ["name": "Ann", "urns": ["ext:ann"]]).string("uuid"))
        var snapshots: [Snapshot] = []
        func snap() throws {
            snapshots.append(Snapshot(contact: try ContactKit.get(daemon, uuid), seq: try ContactKit.head(daemon)))
            usleep(2_000)
        }
        try snap()
        let steps: [[JSONValue]] = [
            [["type": "name", "name": "Ann B"]],
            [ContactKit.field("age", "30"), ContactKit.field("joined", "2026-01-02T08:00:00Z")],
            [ContactKit.urns("append", ["mailto:ann@b.example"])],
            [ContactKit.groups("add", [group])],
            [ContactKit.status("blocked")],
            [],
            [ContactKit.status("active"), ["type": "language", "language": "eng"], ContactKit.field("age", "31")],
            [ContactKit.urns("set", ["mailto:ann@b.example"]), ContactKit.field("joined", "")],
        ]
        for modifiers in steps {
            if modifiers.isEmpty {
                _ = try daemon.call("messages.receive", ["urn": "ext:ann", "text": "hi"])
            } else {
                _ = try ContactKit.modify(daemon, uuid, modifiers)
            }
            try snap()
        }
        // Another contact's events in between do not matter.
        _ = try daemon.call("contacts.create", ["name": "Noise"])
        return (uuid, before, snapshots)
    }

    @Test func asOfEachSeqEqualsWhatGetAnsweredThen() throws {
        let daemon = try DaemonHarness()
        let (uuid, before, snapshots) = try Self.life(daemon)
        #expect(snapshots.count == 9)
        #expect(Set(snapshots.map(\.seq)).count == 9)
        for (index, snapshot) in snapshots.enumerated() {
            let past = try daemon.call("contacts.as_of", ["uuid": .string(uuid), "at": ["seq": .integer(snapshot.seq)]])
            #expect(past == snapshot.contact, "step \(index)")
            // The same by timestamp: the moment of the step's last change.
            let time = try #require(snapshot.contact["modified_on"])
            let byTime = try daemon.call("contacts.as_of", ["uuid": .string(uuid), "at": time])
            #expect(byTime == snapshot.contact, "step \(index) by time")
        }
        // Inside a command of two events: the state after the first one only.
        let between = try daemon.call("contacts.as_of", ["uuid": .string(uuid), "at": ["seq": .integer(snapshots[2].seq - 1)]])
        #expect(between["fields"]?["age"]?.string("text") == "30")
        #expect(between["fields"]?["joined"] == .null)
        #expect(between.int("version") == (snapshots[2].contact.int("version") ?? 0) - 1)
        // Before creation: not found.
        let early = try daemon.error("contacts.as_of", ["uuid": .string(uuid), "at": ["seq": .integer(before)]])
        #expect(early.code == -32001)
        let beforeTime = try daemon.error("contacts.as_of", ["uuid": .string(uuid), "at": "2000-01-01T00:00:00Z"])
        #expect(beforeTime.code == -32001)
        // The present equals get.
        let now = try daemon.call("contacts.as_of", ["uuid": .string(uuid), "at": ["seq": .integer(try ContactKit.head(daemon))]])
        #expect(now == (try ContactKit.get(daemon, uuid)))
        let bad = try daemon.error("contacts.as_of", ["uuid": .string(uuid), "at": "yesterday"])
        #expect(bad.code == -32602)
        #expect(bad.data("field") == "at")
    }

    @Test func diffNamesWhatChangedBetweenTwoPoints() throws {
        let daemon = try DaemonHarness()
        let (uuid, before, snapshots) = try Self.life(daemon)
        func diff(_ from: Int64, _ to: Int64) throws -> JSONValue {
            try #require(try daemon.call("contacts.diff", ["uuid": .string(uuid), "from": ["seq": .integer(from)], "to": ["seq": .integer(to)]])["changes"])
        }
        func change(_ before: JSONValue, _ after: JSONValue) -> JSONValue { ["before": before, "after": after] }

        // Creation: `before` is null for what the contact has.
        let creation = try diff(before, snapshots[0].seq)
        #expect(creation["name"] == change(.null, "Ann"))
        #expect(creation["urns"] == change(.null, ["ext:ann"]))
        #expect(creation["status"] == change(.null, "active"))

        #expect(try diff(snapshots[0].seq, snapshots[1].seq) == ["name": change("Ann", "Ann B")])
        let fields = try diff(snapshots[1].seq, snapshots[2].seq)
        #expect(fields["fields.age"] == change(.null, snapshots[2].contact["fields"]?["age"] ?? .null))
        #expect(fields["fields.joined"]?["after"]?.string("datetime") == "2026-01-02T10:00:00.000000+02:00")
        #expect(fields["fields.joined"]?["after"]?.string("text") == "2026-01-02T08:00:00Z")
        #expect(try diff(snapshots[2].seq, snapshots[3].seq) == ["urns": change(["ext:ann"], ["ext:ann", "mailto:ann@b.example"])])
        let joined = try diff(snapshots[3].seq, snapshots[4].seq)
        #expect(joined["groups"]?["before"] == [])
        #expect(joined["groups"]?["after"]?.arrayValue?.count == 1)
        let blocked = try diff(snapshots[4].seq, snapshots[5].seq)
        #expect(blocked["status"] == change("active", "blocked"))
        #expect(blocked["groups"]?["after"] == [])
        let message = try diff(snapshots[5].seq, snapshots[6].seq)
        #expect(message["last_seen_on"]?["before"] == .null)
        #expect(message["last_seen_on"]?["after"] == snapshots[6].contact["last_seen_on"])
        let reactivated = try diff(snapshots[6].seq, snapshots[7].seq)
        #expect(reactivated["status"] == change("blocked", "active"))
        #expect(reactivated["language"] == change(.null, "eng"))
        #expect(reactivated["fields.age"]?["after"]?.string("text") == "31")
        #expect(reactivated["groups"] == nil)
        let last = try diff(snapshots[7].seq, snapshots[8].seq)
        #expect(last["urns"] == change(["ext:ann", "mailto:ann@b.example"], ["mailto:ann@b.example"]))
        #expect(last["fields.joined"]?["after"] == .null)

        // Over the whole life, only what differs at the ends.
        let whole = try diff(snapshots[0].seq, snapshots[8].seq)
        #expect(Set(whole.objectKeys) == ["name", "urns", "language", "last_seen_on", "fields.age"])
        // No change at all: empty.
        #expect(try diff(snapshots[3].seq, snapshots[3].seq) == [:])
        // Timestamps work too.
        let byTime = try daemon.call("contacts.diff", [
            "uuid": .string(uuid), "from": snapshots[0].contact["modified_on"] ?? .null, "to": snapshots[1].contact["modified_on"] ?? .null,
        ])
        #expect(byTime["changes"] == ["name": change("Ann", "Ann B")])
    }

    /// A change of the workspace's timezone is no change of a contact's datetime (the same instant shown
    /// at another offset): `contacts.diff` reported its field changed.
    @Test func aTimezoneChangeIsNoChangeOfTheContact() throws {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["timezone": "UTC"])
        try daemon.call("fields.create", ["key": "joined", "type": "datetime"])
        let uuid = try #require(try daemon.call("contacts.create", ["name": "Ann", "fields": ["joined": "2020-01-01T12:00:00Z"]]).string("uuid"))
        let before = try ContactKit.head(daemon)
        try daemon.call("workspace.configure", ["timezone": "Asia/Kolkata"])
        let after = try ContactKit.head(daemon)
        #expect(after > before)
        let diff = try daemon.call("contacts.diff", ["uuid": .string(uuid), "from": ["seq": .integer(before)], "to": ["seq": .integer(after)]])
        #expect(diff["changes"] == [:])
        // What each point shows is in its own timezone.
        let then = try daemon.call("contacts.as_of", ["uuid": .string(uuid), "at": ["seq": .integer(before)]])
        let now = try daemon.call("contacts.as_of", ["uuid": .string(uuid), "at": ["seq": .integer(after)]])
        #expect(then["fields"]?["joined"]?.string("datetime") == "2020-01-01T12:00:00.000000+00:00")
        #expect(now["fields"]?["joined"]?.string("datetime") == "2020-01-01T17:30:00.000000+05:30")
    }
}

extension JSONValue {
    /// The member names of an object (empty otherwise).
    fileprivate var objectKeys: [String] {
        if case .object(let members) = self { return Array(members.keys) }
        return []
    }
}
