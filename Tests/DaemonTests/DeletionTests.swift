// ContactLedger — daemon tests: contact deletion and erasure (behaviour reference §0, §1.3).
import Foundation
import LedgerStore
import RPC
import TestSupport
import Testing

@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct DeletionTests {
    /// Personal data of the contact under test; none of it may come back once it is deleted.
    static let name = "Zebulon Quixote"
    static let oldName = "Zeb Original"
    static let phone = "+250788555444"
    static let email = "zebulon@quixote.example"
    static let mailto = "mailto:" + email
    static let nickname = "Zebby-Secret-Nick"
    static let amount = "4711.25"
    static let inbound = "SECRET-INBOUND-TEXT"
    static let outbound = "SECRET-OUTBOUND-TEXT"
    static let secrets = [name, oldName, "Zebulon", phone, "788555444", email, nickname, amount, inbound, outbound]

    /// A contact with a name history, URNs, field values, a group and messages in both directions.
    static func populate(_ daemon: DaemonHarness) throws -> (uuid: String, group: String) {
        try daemon.call("workspace.configure", ["default_country": "RW"])
        try daemon.call("fields.create", ["key": "nickname", "type": "text"])
        try daemon.call("fields.create", ["key": "amount", "type": "number"])
        let group = try #require(try daemon.call("groups.create", ["name": "Customers"]).string("uuid"))
        let contact = try daemon.call("contacts.create", [
            "name": .string(oldName), "language": "fra", "urns": ["tel:0788 555 444", .string(mailto)],
            "fields": ["nickname": .string(nickname)], "groups": [.string(group)],
        ])
        let uuid = try #require(contact.string("uuid"))
        _ = try ContactKit.modify(daemon, uuid, [["type": "name", "name": .string(name)], ContactKit.field("amount", amount)])
        _ = try daemon.call("messages.receive", ["urn": .string("tel:" + phone), "text": .string(inbound)])
        _ = try daemon.call("messages.send", ["uuid": .string(uuid), "text": .string(outbound)])
        // A bystander whose data must survive.
        _ = try daemon.call("contacts.create", ["name": "Bystander", "urns": ["ext:bystander"], "fields": ["nickname": "Bee"]])
        return (uuid, group)
    }

    /// Everything any read method answers about the contact (results, or errors with their data).
    static func everything(_ daemon: DaemonHarness, _ uuid: String, group: String) throws -> JSONValue {
        func answer(_ method: String, _ params: JSONValue) -> JSONValue {
            do {
                return try daemon.call(method, params)
            } catch let error as RPCError {
                return ["error": ["code": .integer(Int64(error.code)), "message": .string(error.message), "data": error.data ?? .null]]
            } catch {
                return ["error": .string("\(error)")]
            }
        }
        let id: JSONValue = .string(uuid)
        var answers: [JSONValue] = [
            .array(try ContactKit.allEvents(daemon)),
            answer("contacts.get", ["uuid": id]),
            answer("contacts.history", ["uuid": id, "limit": 1000]),
            answer("contacts.history", ["uuid": id, "limit": 1000, "include_deleted": true]),
            answer("contacts.messages", ["uuid": id, "limit": 1000]),
            answer("contacts.as_of", ["uuid": id, "at": ["seq": 3]]),
            answer("contacts.as_of", ["uuid": id, "at": ["seq": 8]]),
            answer("contacts.diff", ["uuid": id, "from": ["seq": 0], "to": ["seq": 8]]),
            answer("groups.members", ["uuid": .string(group)]),
            answer("workspace.get", [:]),
        ]
        for urn in ["tel:" + phone, "tel:0788555444", mailto] {
            answers.append(answer("contacts.get", ["urn": .string(urn)]))
        }
        return .array(answers)
    }

    /// The checks that hold once the contact is deleted, before and after a restart.
    static func expectErased(_ daemon: DaemonHarness, _ uuid: String, group: String) throws {
        let gone = try daemon.error("contacts.get", ["uuid": .string(uuid)])
        #expect(gone.code == -32001)
        #expect(gone.data("reason") == "deleted")
        #expect(gone.data("kind") == "contact")
        #expect(gone.data("id")?.stringValue == uuid)
        for urn in ["tel:" + phone, "tel:0788 555 444", mailto] {
            #expect(try daemon.error("contacts.get", ["urn": .string(urn)]).code == -32001, "\(urn)")
        }
        // Its history too, as the contract says of every call about it; an audit asks for the erased
        // timeline: each event's type, time and actor, and for an erased one the payload hash the chain keeps.
        let history = try daemon.error("contacts.history", ["uuid": .string(uuid)])
        #expect(history.code == -32001 && history.data("reason") == "deleted" && history.data("id")?.stringValue == uuid)
        let audited = try ContactKit.allPages(daemon, "contacts.history", ["uuid": .string(uuid), "include_deleted": true])
        #expect(audited.first?.string("type") == "contact_deleted")
        #expect(audited.last?.string("type") == "contact_created")
        let erased = audited.filter { $0["erased"] == true }
        #expect(erased.count >= 5)
        #expect(erased.allSatisfy { $0["data"] == .null && ($0.string("payload_hash") ?? "").count == 64 && $0.string("created_on") != nil })
        #expect(Set(erased.compactMap { $0.string("payload_hash") }).count == erased.count)
        #expect(audited.filter { $0["erased"] == nil }.allSatisfy { $0["payload_hash"] == nil && $0["data"] != .null })
        let everything = try Self.everything(daemon, uuid, group: group)
        for secret in Self.secrets {
            let leaks = ContactKit.allStrings(everything).filter { $0.contains(secret) }
            #expect(leaks.isEmpty, "\(secret) still answered: \(leaks.prefix(3))")
        }
        // The bystander is untouched.
        let bystander = try daemon.call("contacts.get", ["urn": "ext:bystander"])
        #expect(bystander.string("name") == "Bystander")
        #expect(bystander["fields"]?["nickname"]?.string("text") == "Bee")
        #expect(ContactKit.items(try daemon.call("groups.members", ["uuid": .string(group)])).isEmpty)
        #expect(try daemon.call("workspace.get")["counts"]?.int("contacts") == 1)
        // system.stats counts live contacts as workspace.get does.
        #expect(try daemon.call("system.stats")["counts"]?.int("contacts") == 1)
        // The chain still verifies.
        let verify = try daemon.call("ledger.verify")
        #expect(verify["verified"] == true)
        #expect(verify.int("head_seq") == (try ContactKit.head(daemon)))
        // A tombstone cannot be changed, deleted again or messaged.
        #expect(try ContactKit.modifyError(daemon, uuid, [["type": "name", "name": "Back"]]).code == -32001)
        #expect(try daemon.error("contacts.delete", ["uuid": .string(uuid)]).code == -32001)
        #expect(try daemon.error("messages.send", ["uuid": .string(uuid), "text": "x"]).code == -32001)
    }

    @Test func anActiveContactIsRefused() throws {
        let daemon = try DaemonHarness()
        let (uuid, _) = try Self.populate(daemon)
        let head = try ContactKit.head(daemon)
        let error = try daemon.error("contacts.delete", ["uuid": .string(uuid)])
        #expect(error.code == -32003)
        #expect(error.data("reason") == "contact_active")
        #expect(try ContactKit.head(daemon) == head)
        #expect(try ContactKit.get(daemon, uuid).string("name") == Self.name)
        #expect(try daemon.error("contacts.delete", ["uuid": "7b9a3c1e-1111-4222-8333-944445555666"]).code == -32001)
    }

    @Test(arguments: ["archived", "blocked", "stopped"])
    func deletionErasesEverythingAndSurvivesARestart(_ status: String) throws {
        let daemon = try DaemonHarness()
        let (uuid, group) = try Self.populate(daemon)
        _ = try ContactKit.modify(daemon, uuid, [ContactKit.status(status)])
        let deleted = try daemon.call("contacts.delete", ["uuid": .string(uuid)])
        #expect(deleted.string("uuid") == uuid)
        #expect(deleted.int("seq") == (try ContactKit.head(daemon)))
        let deletedEvents = try daemon.call("events.read", ["types": ["contact_deleted"]])
        #expect(ContactKit.items(deletedEvents).count == 1)
        #expect(ContactKit.items(deletedEvents).first?.string("stream") == "contact/\(uuid)")
        try Self.expectErased(daemon, uuid, group: group)

        // After a crash and restart the read models answer the same.
        daemon.kill()
        try daemon.start()
        try Self.expectErased(daemon, uuid, group: group)

        // The URNs are free for new contacts, by create and by an incoming message.
        let reuse = try daemon.call("contacts.create", ["name": "New Owner", "urns": ["tel:0788555444"]])
        #expect(ContactKit.strings(reuse["urns"]) == ["tel:" + Self.phone])
        #expect(try daemon.call("contacts.get", ["urn": .string("tel:" + Self.phone)]).string("uuid") == reuse.string("uuid"))
        let received = try daemon.call("messages.receive", ["urn": .string(Self.mailto), "text": "hi"])
        #expect(received["created_contact"] == true)
        #expect(received["contact"]?.string("uuid") != uuid)
        #expect(try daemon.call("ledger.verify")["verified"] == true)

        // And once more after a clean restart.
        #expect(daemon.stop() == 0)
        try daemon.start()
        #expect(try daemon.error("contacts.get", ["uuid": .string(uuid)]).data("reason") == "deleted")
        #expect(try daemon.call("contacts.get", ["urn": .string(Self.mailto)]).string("uuid") == received["contact"]?.string("uuid"))
        #expect(try daemon.call("ledger.verify")["verified"] == true)
    }

    /// Every command whose stored answer shows the contact (its object, or one of its messages, which
    /// names it only by URN and text) answers a retry after the deletion with -32001 `deleted`, and
    /// the stored answers are gone from the data directory, not only from the answers.
    @Test func idempotentRetriesAfterDeletionRevealNothing() throws {
        let daemon = try DaemonHarness()
        let create: JSONValue = ["name": .string(Self.name), "urns": [.string(Self.mailto)], "idempotency_key": "create-zeb"]
        let uuid = try #require(try daemon.call("contacts.create", create).string("uuid"))
        let receive: JSONValue = ["urn": .string(Self.mailto), "text": .string(Self.inbound), "idempotency_key": "receive-zeb"]
        _ = try daemon.call("messages.receive", receive)
        let send: JSONValue = ["uuid": .string(uuid), "text": .string(Self.outbound), "idempotency_key": "send-zeb"]
        _ = try daemon.call("messages.send", send)
        let modify: JSONValue = ["uuid": .string(uuid), "modifiers": [ContactKit.status("archived")], "idempotency_key": "archive-zeb"]
        _ = try daemon.call("contacts.modify", modify)
        _ = try daemon.call("contacts.delete", ["uuid": .string(uuid)])
        for (method, params) in [("contacts.create", create), ("messages.receive", receive), ("messages.send", send), ("contacts.modify", modify)] {
            let error = try daemon.error(method, params)
            #expect(error.code == -32001, "\(method)")
            #expect(error.data("reason") == "deleted", "\(method)")
            #expect(error.data("id")?.stringValue == uuid, "\(method)")
        }
        // A compacted backup holds live pages only: what it holds is still stored.
        let backup = daemon.directory + "-backup"
        defer { try? FileManager.default.removeItem(atPath: backup) }
        _ = try daemon.call("ledger.backup", ["path": .string(backup)])
        let log = try Data(contentsOf: URL(fileURLWithPath: backup + "/data.mdb"))
        for secret in [Self.name, Self.email, Self.inbound, Self.outbound] {
            #expect(log.range(of: Data(secret.utf8)) == nil, "the log's live pages hold \(secret)")
        }
    }

    /// A data directory of a version before the index of stored answers by contact gets that index at
    /// its first start, answers of the version before named-contact lists included (found by their
    /// text): a deletion then replaces the answers that name the contact, and no other. Four answers
    /// are stored: all of them with their lists, or all of them without.
    @Test(arguments: [0, 4]) func answersStoredBeforeTheirIndexAreStillErased(legacyRecords: Int) throws {
        let daemon = try DaemonHarness()
        let deleted = try #require(try daemon.call("contacts.create", ["name": "Gone", "idempotency_key": "create-gone"]).string("uuid"))
        let kept = try #require(try daemon.call("contacts.create", ["name": "Kept", "idempotency_key": "create-kept"]).string("uuid"))
        let archive: JSONValue = ["uuid": .string(deleted), "modifiers": [ContactKit.status("archived")], "idempotency_key": "archive-gone"]
        try daemon.call("contacts.modify", archive)
        let rename: JSONValue = ["uuid": .string(kept), "modifiers": [["type": "name", "name": "Kept2"]], "idempotency_key": "rename-kept"]
        try daemon.call("contacts.modify", rename)
        #expect(daemon.stop() == 0)
        try Self.makeIndexlessDataDirectory(daemon.directory, legacyRecords: legacyRecords)

        try daemon.start()
        try daemon.call("contacts.delete", ["uuid": .string(deleted)])
        for (method, params) in [("contacts.create", ["name": "Gone", "idempotency_key": "create-gone"] as JSONValue), ("contacts.modify", archive)] {
            let error = try daemon.error(method, params)
            #expect(error.code == -32001, "\(method)")
            #expect(error.data("reason") == "deleted", "\(method)")
        }
        #expect(try daemon.call("contacts.create", ["name": "Kept", "idempotency_key": "create-kept"]).string("uuid") == kept)
        #expect(try daemon.call("contacts.modify", rename).string("uuid") == kept)
        // Indexed once, at that start: a later start and deletion go by the index alone (without it, a
        // deletion reads every stored answer).
        #expect(daemon.stop() == 0)
        do {  // closed before the daemon opens it again
            let environment = try Environment(directory: daemon.directory)
            let tables = try environment.openTables(["ledger.meta", "ledger.idempotency_by_contact"])
            try environment.read { txn in
                #expect(try txn.get(try #require(tables["ledger.meta"]), key: Array("idempotency_index_built".utf8)) != nil)
                var entries = 0
                try txn.withCursor(try #require(tables["ledger.idempotency_by_contact"])) { cursor in
                    try cursor.forEach(from: []) { _ in
                        entries += 1
                        return true
                    }
                }
                // The kept contact's two answers; the deleted one's went with its deletion.
                #expect(entries == 2)
            }
        }
        try daemon.start()
        try daemon.call("contacts.modify", ["uuid": .string(kept), "modifiers": [ContactKit.status("archived")]])
        try daemon.call("contacts.delete", ["uuid": .string(kept)])
        #expect(try daemon.error("contacts.modify", rename).data("reason") == "deleted")
    }

    /// An earlier version started on a data directory this one has indexed stores answers without
    /// indexing them: the next start finds the index behind (its mark counts fewer answers than are
    /// stored) and brings it up to date, so a deletion still erases them. (The recheck found a retry
    /// answering a deleted contact's name and URN after an older build had stored it.)
    @Test func answersAnEarlierVersionStoredSinceAreIndexedAtTheNextStart() throws {
        let daemon = try DaemonHarness()
        try daemon.call("contacts.create", ["name": "Indexed", "idempotency_key": "create-indexed"])
        let create: JSONValue = ["name": "Unindexed", "status": "archived", "idempotency_key": "create-unindexed"]
        let uuid = try #require(try daemon.call("contacts.create", create).string("uuid"))
        #expect(daemon.stop() == 0)
        do {  // as an earlier version leaves it: the answer stored, not indexed, the mark as it was
            let environment = try Environment(directory: daemon.directory)
            let tables = try environment.openTables(["ledger.meta", "ledger.idempotency_by_contact"])
            let meta = try #require(tables["ledger.meta"])
            let index = try #require(tables["ledger.idempotency_by_contact"])
            try environment.write { txn in
                var entries: [[UInt8]] = []
                try txn.withCursor(index) { cursor in
                    try cursor.forEach(from: []) { entry in
                        if entry.key.firstRange(of: Array(uuid.utf8)) != nil { entries.append(Array(entry.key)) }
                        return true
                    }
                }
                #expect(entries.count == 1)
                for entry in entries { _ = try txn.delete(index, key: entry) }
                let mark = try #require(try txn.get(meta, key: Array("idempotency_index_built".utf8)))
                #expect(BigEndian.uint64(mark) == 2)
                try txn.put(meta, key: Array("idempotency_index_built".utf8), value: BigEndian.bytes(UInt64(1)))
            }
        }
        try daemon.start()
        try daemon.call("contacts.delete", ["uuid": .string(uuid)])
        #expect(try daemon.error("contacts.create", create).data("reason") == "deleted")
        #expect(try daemon.call("contacts.create", ["name": "Indexed", "idempotency_key": "create-indexed"]).string("name") == "Indexed")
    }

    /// Takes the index of stored answers out of a stopped daemon's data directory, as a version before
    /// it wrote none, and rewrites the first `legacyRecords` answers in the format before named-contact
    /// lists (the params hash, then the answer alone).
    static func makeIndexlessDataDirectory(_ directory: String, legacyRecords: Int) throws {
        let environment = try Environment(directory: directory)
        let tables = try environment.openTables(["ledger.meta", "ledger.idempotency"])
        let meta = try #require(tables["ledger.meta"])
        let answers = try #require(tables["ledger.idempotency"])
        #expect(try environment.dropTables(["ledger.idempotency_by_contact"]) == 1)
        try environment.write { txn in
            #expect(try txn.delete(meta, key: Array("idempotency_index_built".utf8)))
            var rewritten: [([UInt8], [UInt8])] = []
            try txn.withCursor(answers) { cursor in
                try cursor.forEach(from: []) { entry in
                    guard rewritten.count < legacyRecords else { return false }
                    let value = Array(entry.value)
                    // `hash(32) 0x01 count(2) (length uuid)* answer`
                    guard value.count > 35, value[32] == 1 else { return true }
                    var index = 35
                    for _ in 0..<(Int(value[33]) << 8 | Int(value[34])) { index += 1 + Int(value[index]) }
                    rewritten.append((Array(entry.key), Array(value[..<32]) + Array(value[index...])))
                    return true
                }
            }
            #expect(rewritten.count == legacyRecords)
            for (key, value) in rewritten { try txn.put(answers, key: key, value: value) }
        }
    }

    /// An import's row error quoting a URN of a contact since deleted (`URN tel:+250… already taken by
    /// another contact`) shows it masked, in memory and from storage after a restart, and the stored
    /// errors and idempotent batch answers no longer hold it: a backup taken after the deletion does not.
    /// A URN the contact had given up before the deletion is masked too; another contact's stays; so is
    /// one in a list (`with URNs tel:+250…, tel:+250…`), where a comma follows it.
    @Test func importErrorsQuotingADeletedContactsURNsAreMasked() throws {
        let daemon = try DaemonHarness()
        let (current, earlier, bystander) = ("tel:+250788680001", "tel:+250788680003", "tel:+250788680002")
        let owner = try #require(try daemon.call("contacts.create", ["name": "Zqf4owner", "urns": [.string(current), .string(earlier)]]).string("uuid"))
        _ = try daemon.call("contacts.create", ["urns": [.string(bystander)]])
        // Rows name other contacts by UUID, so each URN is refused rather than matching its owner.
        let targets = try (0..<3).map { _ in try #require(try daemon.call("contacts.create", [:]).string("uuid")) }
        let csv = "UUID,URN:Tel\n\(targets[0]),+250788680001\n\(targets[1]),+250788680003\n\(targets[2]),+250788680002\n"
        let imported = try ImportExportTests.runImport(daemon, ImportExportTests.csvParams(csv))
        let id = try #require(imported.string("import"))
        #expect(ImportExportTests.errors(imported) == [
            "2|URN:Tel|URN \(current) already taken by another contact",
            "3|URN:Tel|URN \(earlier) already taken by another contact",
            "4|URN:Tel|URN \(bystander) already taken by another contact",
        ])
        let listed = try ImportExportTests.runImport(daemon, ImportExportTests.csvParams("URN:Tel,URN:Tel\n+250788680001,+250788680002\n"))
        let listedID = try #require(listed.string("import"))
        #expect(ImportExportTests.errors(listed) == ["2|-|Unable to find or create contact with URNs \(current), \(bystander)"])
        _ = try ContactKit.modify(daemon, owner, [["type": "urns", "action": "set", "urns": [.string(current)]], ContactKit.status("archived")])
        _ = try daemon.call("contacts.delete", ["uuid": .string(owner)])

        let masked = [
            "2|URN:Tel|URN tel:******** already taken by another contact",
            "3|URN:Tel|URN tel:******** already taken by another contact",
            "4|URN:Tel|URN \(bystander) already taken by another contact",
        ]
        let listedMasked = ["2|-|Unable to find or create contact with URNs tel:********, \(bystander)"]
        #expect(ImportExportTests.errors(try daemon.call("imports.status", ["import": .string(id)])) == masked)
        #expect(ImportExportTests.errors(try daemon.call("imports.status", ["import": .string(listedID)])) == listedMasked)
        let backup = daemon.directory + "-backup"
        defer { try? FileManager.default.removeItem(atPath: backup) }
        _ = try daemon.call("ledger.backup", ["path": .string(backup)])
        let log = try Data(contentsOf: URL(fileURLWithPath: backup + "/data.mdb"))
        for number in ["250788680001", "250788680003"] {
            #expect(log.range(of: Data(number.utf8)) == nil, "the backup's log holds \(number)")
        }
        #expect(daemon.stop() == 0)
        try daemon.start()
        #expect(ImportExportTests.errors(try daemon.call("imports.status", ["import": .string(id)])) == masked)
        #expect(ImportExportTests.errors(try daemon.call("imports.status", ["import": .string(listedID)])) == listedMasked)
    }

    /// Found by a race audit: deleting a workspace's last live contact left a stored count of 0 that a
    /// rebuild from the log does not write, so `projections.verify` reported a difference in a healthy
    /// ledger. The counts stay right whether a workspace was emptied or never had a contact.
    @Test func deletingAWorkspacesLastContactLeavesNoDifference() throws {
        let daemon = try DaemonHarness()
        for workspace in ["main", "w2"] {
            let uuid = try #require(try daemon.call("contacts.create", ["workspace": .string(workspace), "status": "archived"]).string("uuid"))
            try daemon.call("contacts.delete", ["workspace": .string(workspace), "uuid": .string(uuid)])
        }
        try daemon.call("contacts.create", ["workspace": "w3", "name": "Stays"])
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
        #expect(try daemon.call("contacts.count", ["query": ""]).int("total") == 0)
        #expect(try daemon.call("contacts.count", ["workspace": "w3", "query": ""]).int("total") == 1)
        #expect(try daemon.call("system.stats")["counts"]?.int("contacts") == 1)
        // And after one more live contact and its deletion, and a rebuild.
        let again = try #require(try daemon.call("contacts.create", ["status": "archived"]).string("uuid"))
        #expect(try daemon.call("contacts.count", ["query": ""]).int("total") == 1)
        try daemon.call("contacts.delete", ["uuid": .string(again)])
        try daemon.call("projections.rebuild", ["name": "contacts"])
        try daemon.waitUntilReady()
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
        #expect(try daemon.call("system.stats")["counts"]?.int("contacts") == 1)
    }

    /// A backup holds none of the URNs, field values and names of contacts deleted before it. The live
    /// read models may: LMDB keeps a deleted key as a branch page's separator (the first key its child
    /// page had when it split) until that part of the tree is split or merged again, and the backup's
    /// page copy of the read models carried such separators along (index keys of deleted contacts' URNs
    /// and a field value, in three backups of a black-box audit). 3,000 contacts with two URNs, a text
    /// value and a name each make indexes of several levels; every 25th is deleted. The backup starts,
    /// answers as the ledger does, and its read models verify.
    @Test func aBackupHoldsNothingOfContactsDeletedBeforeIt() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "tmpf", "type": "text"])
        let count = 3_000
        func padded(_ n: Int) -> String { String(repeating: "0", count: 5 - String(n).count) + String(n) }
        func personalData(_ n: Int) -> [String] {
            ["+2507821" + padded(n), "zqxdel-\(padded(n))@example.com", "zqxdeltmp" + padded(n), "Zqxname \(padded(n))"]
        }
        let deleted = Set(stride(from: 12, to: count, by: 25))
        let client = try daemon.client()
        var uuids: [Int: String] = [:]
        for start in stride(from: 0, to: count, by: 200) {
            let batch: [JSONValue] = (start..<min(start + 200, count)).map { n in
                let data = personalData(n)
                return [
                    "jsonrpc": "2.0", "id": .integer(Int64(n)), "method": "contacts.create",
                    "params": [
                        "name": .string(data[3]), "urns": [.string("tel:" + data[0]), .string("mailto:" + data[1])],
                        "fields": ["tmpf": .string(data[2])], "status": deleted.contains(n) ? "archived" : "active",
                    ],
                ]
            }
            try client.send(raw: JSONLine.encode(JSONValue.array(batch)) + [10])
            for answer in try #require(try client.readValue().arrayValue) {
                let id = try #require(answer["id"]?.integerValue)
                uuids[Int(id)] = try #require(answer["result"]?.string("uuid"), "\(answer)")
            }
        }
        let deletions: [JSONValue] = deleted.sorted().map { n in
            ["jsonrpc": "2.0", "id": .integer(Int64(n)), "method": "contacts.delete", "params": ["uuid": .string(uuids[n] ?? "")]]
        }
        try client.send(raw: JSONLine.encode(JSONValue.array(deletions)) + [10])
        let answers = try #require(try client.readValue().arrayValue)
        #expect(answers.count == deleted.count && answers.allSatisfy { $0["result"] != nil }, "\(answers.first { $0["result"] == nil } ?? .null)")

        let backup = daemon.directory + "-backup"
        defer { try? FileManager.default.removeItem(atPath: backup) }
        _ = try daemon.call("ledger.backup", ["path": .string(backup)])
        let files = try FileManager.default.subpathsOfDirectory(atPath: backup)
        #expect(files.contains("data.mdb") && files.contains("readmodels/data.mdb"))
        for file in files {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: backup + "/" + file, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let bytes = try Data(contentsOf: URL(fileURLWithPath: backup + "/" + file))
            // Each value is its prefix and the contact's number: the numbers after each prefix.
            for (index, prefix) in ["+2507821", "zqxdel-", "zqxdeltmp", "Zqxname "].enumerated() {
                let held = NumberedBytes.numbers(after: prefix, digits: 5, in: bytes).intersection(deleted).sorted()
                #expect(held.isEmpty, "\(file) holds \(held.count) values of deleted contacts: \(held.prefix(4).map { personalData($0)[index] })")
            }
        }

        let restored = try DaemonHarness(directory: backup)
        #expect(try restored.call("projections.verify", ["name": "contacts"])["differences"] == [])
        let everyone = try ContactKit.allPages(restored, "contacts.search", ["query": ""], itemsKey: "contacts")
        #expect(everyone.count == count - deleted.count)
        #expect(everyone == (try ContactKit.allPages(daemon, "contacts.search", ["query": ""], itemsKey: "contacts")))
        for n in [0, 12, 13, 1_512, 2_999] {
            let data = personalData(n)
            for query in ["tel = \(data[0])", "mailto = \(data[1])", "tmpf = \"\(data[2])\"", "name = \"\(data[3])\""] {
                let found = try restored.call("contacts.search", ["query": .string(query)])
                #expect(found == (try daemon.call("contacts.search", ["query": .string(query)])), "\(query)")
                #expect(found["contacts"]?.arrayValue?.count == (deleted.contains(n) ? 0 : 1), "\(query)")
            }
            let urn: JSONValue = .string("tel:" + data[0])
            if deleted.contains(n) {
                #expect(try restored.error("contacts.get", ["urn": urn]).code == -32001)
                #expect(try restored.error("contacts.get", ["uuid": .string(uuids[n] ?? "")]).data("reason") == "deleted")
            } else {
                #expect(try restored.call("contacts.get", ["urn": urn]) == (try daemon.call("contacts.get", ["urn": urn])))
            }
        }
    }
}
