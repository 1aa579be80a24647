// ContactLedger — daemon tests.
import Foundation
import LedgerStore
import Projections
import RPC
import Testing

/// Queries answered by an older generation of read models while an upgrade rebuilds them online.
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct UpgradeReadsTests {
    /// The queries whose indexes changed format across read-model versions: `audit.changes` by actor,
    /// field or type (the audit index, version 11) and URN `~` (trigrams, version 10). The audits cover
    /// the first events and those from `recent` on, so that scanning the log in their place stays well
    /// within the rebuild.
    static func queries(recent: Int64) -> [(method: String, params: JSONValue)] {
        [
            ("audit.changes", ["actor": "editor@example.org", "to": ["seq": 100], "limit": 200]),
            ("audit.changes", ["field": "age", "to": ["seq": 100], "limit": 200]),
            ("audit.changes", ["types": ["contact_field_changed"], "to": ["seq": 100], "limit": 200]),
            ("audit.changes", ["actor": "editor@example.org", "from": ["seq": .integer(recent)], "limit": 200]),
            ("contacts.count", ["query": "mailto ~ example"]),
            ("contacts.count", ["query": "urn ~ user1"]),
            ("contacts.search", ["query": "mailto ~ user3", "limit": 100]),
            ("contacts.count", ["query": "mailto = user4@example.org"]),
        ]
    }

    /// Marks the answering generation (0) as written by read-model version 9 and takes out its URN
    /// trigram and audit entries: it stands in for a generation whose indexes are in a format this code
    /// does not read, where reading them in the current format finds nothing (what an upgrade audit saw).
    static func makeOlderGeneration(_ directory: String) throws {
        let environment = try Environment(directory: directory + "/readmodels")
        let tables = try environment.openTables(["rm.meta", "rm.index", "rm.audit"])
        let meta = try #require(tables["rm.meta"])
        let index = try #require(tables["rm.index"])
        let audit = try #require(tables["rm.audit"])
        try environment.write { txn in
            let state = try #require(try txn.get(meta, key: Array("state".utf8)))
            try txn.put(meta, key: Array("state".utf8), value: BigEndian.bytes(UInt64(9)) + Array(state[8...]))
            try txn.clear(audit)
            // Trigram keys are `workspace NUL u NUL scheme NUL trigram NUL block`.
            var trigramKeys: [[UInt8]] = []
            try txn.withCursor(index) { cursor in
                try cursor.forEach(from: []) { entry in
                    let key = Array(entry.key)
                    if let end = key.firstIndex(of: 0), key.count > end + 2, key[end + 1] == UInt8(ascii: "u"), key[end + 2] == 0 {
                        trigramKeys.append(key)
                    }
                    return true
                }
            }
            #expect(!trigramKeys.isEmpty)
            for key in trigramKeys { _ = try txn.delete(index, key: key) }
        }
    }

    /// While the rebuild runs, the older generation answers what the rebuilt one answers after the swap,
    /// writes made meanwhile included. It answered no audit entries and no URN `~` matches: the code read
    /// the older generation's indexes in the current format (and a write made it claim the current version).
    @Test func anOlderGenerationAnswersAsTheRebuiltOneDuringTheRebuild() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "age", "type": "number"])
        let client = try daemon.client()
        for index in 0..<40 {
            let created = try client.call("contacts.create", ["name": .string("m\(index)"), "urns": [.string("mailto:user\(index)@example.org")]])
            let uuid = try #require(created.string("uuid"))
            try client.call("contacts.modify", [
                "uuid": .string(uuid), "modifiers": [ContactKit.field("age", "\(index)")], "actor": "editor@example.org",
            ])
        }
        try daemon.populate(count: 16_000)
        #expect(daemon.stop() == 0)
        try Self.makeOlderGeneration(daemon.directory)

        try daemon.start()
        func rebuilding() throws -> Bool {
            try daemon.call("projections.status")["projections"]?.arrayValue?.first?.string("state") == "rebuilding"
        }
        try #require(try rebuilding(), "the start rebuilds a generation of another version")
        // A write while the older generation answers: it is projected into that generation too.
        let recent = try ContactKit.head(daemon)
        let late = try daemon.call("contacts.create", ["name": "late", "urns": ["mailto:user300@example.org"]])
        try daemon.call("contacts.modify", [
            "uuid": .string(try #require(late.string("uuid"))), "modifiers": [ContactKit.field("age", "300")], "actor": "editor@example.org",
        ])
        let queries = Self.queries(recent: recent)
        let during = try queries.map { try daemon.call($0.method, $0.params) }
        try #require(try rebuilding(), "the queries were answered before the swap")

        _ = try daemon.waitUntilReady()
        let after = try queries.map { try daemon.call($0.method, $0.params) }
        #expect(after[0]["items"]?.arrayValue?.count == 40)
        #expect(after[3]["items"]?.arrayValue?.count == 1)
        #expect(after[4].int("total") == 41)
        for (query, (answered, expected)) in zip(queries, zip(during, after)) {
            #expect(answered == expected, "\(query.method) \(query.params)")
        }
    }
}
