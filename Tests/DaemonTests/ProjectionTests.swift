// ContactLedger — daemon tests.
import Foundation
import LedgerStore
import Projections
import RPC
import Testing

/// Projection status, online rebuilds, dry-run verification and event upcasting.
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct ProjectionTests {
    /// Creates `count` contacts quickly, in batches of JSON-RPC requests.
    func populate(_ daemon: DaemonHarness, count: Int) throws {
        let client = try daemon.client()
        var created = 0
        while created < count {
            let size = min(200, count - created)
            let batch: [JSONValue] = (0..<size).map { index in
                ["jsonrpc": "2.0", "id": .integer(Int64(created + index)), "method": "contacts.create",
                 "params": ["name": .string("p\(created + index)"), "urns": [.string("ext:p\(created + index)")]]]
            }
            try client.send(raw: JSONLine.encode(JSONValue.array(batch)) + [10])
            _ = try client.readValue()
            created += size
        }
    }

    func waitUntilReady(_ daemon: DaemonHarness) throws -> JSONValue {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let status = try #require(try daemon.call("projections.status")["projections"]?.arrayValue?.first)
            if status.string("state") == "ready" { return status }
            usleep(50_000)
        }
        Issue.record("projection never became ready")
        return .null
    }

    @Test func statusRebuildAndVerifyWhileWritesGoOn() throws {
        let daemon = try DaemonHarness()
        try self.populate(daemon, count: 3000)
        let before = try daemon.call("contacts.get", ["urn": "ext:p1234"])
        let status = try self.waitUntilReady(daemon)
        #expect(status.string("name") == "contacts")
        #expect(status.int("position") == status.int("head_seq"))
        #expect(status["lag"]?.int("events") == 0)

        let started = try daemon.call("projections.rebuild", ["name": "contacts"])
        #expect(started["started"] == true)
        // Writers are not blocked while the rebuild runs: 16 clients keep writing.
        let written = try onThreads(16) { index in
            let client = try daemon.client()
            for number in 0..<25 { try client.call("contacts.create", ["name": .string("during\(index)-\(number)")]) }
            return 25
        }
        #expect(written.reduce(0, +) == 400)
        let after = try self.waitUntilReady(daemon)
        #expect(after.int("position") == after.int("head_seq"))
        #expect(try daemon.call("contacts.get", ["urn": "ext:p1234"]) == before)
        #expect(try daemon.call("contacts.count", ["query": "name ~ during"]).int("total") == 400)
        let verify = try daemon.call("projections.verify", ["name": "contacts"])
        #expect(verify["differences"] == [])
        let unknown = try daemon.error("projections.rebuild", ["name": "nope"])
        #expect(unknown.code == -32001)
    }

    @Test func aRebuildInterruptedByKill9ResumesOnRestart() throws {
        let daemon = try DaemonHarness()
        try self.populate(daemon, count: 8000)
        try daemon.call("projections.rebuild", ["name": "contacts"])
        usleep(30_000)
        daemon.kill()
        try daemon.start()
        _ = try self.waitUntilReady(daemon)
        #expect(try daemon.call("contacts.count", ["query": ""]).int("total") == 8000)
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
        #expect(try daemon.call("ledger.verify")["verified"] == true)
    }

    @Test func eventsInAnOldSchemaAreUpcastWhenReplayed() throws {
        let daemon = try DaemonHarness()
        let contact = try daemon.call("contacts.create", ["name": "Old", "urns": ["ext:old"]])
        let uuid = try #require(contact.string("uuid"))
        #expect(daemon.stop() == 0)
        // Append a version-1 `contact_status_changed` (RapidPro's one-letter code) straight into the log.
        do {
            let environment = try Environment(directory: daemon.directory, rebuildableSubdirectory: "readmodels")
            let log = try EventLog.open(in: environment, indexing: .ledgerHeaders)
            _ = try environment.write { txn in
                try log.append(to: "contact/\(uuid)", expectedVersion: 1, in: txn) { position in
                    let header: JSONValue = [
                        "seq": .integer(Int64(position.seq)), "id": "0b0e7c1e-0000-4000-8000-000000000001",
                        "stream": .string("contact/\(uuid)"), "version": .integer(Int64(position.version)),
                        "type": "contact_status_changed", "schema_version": 1, "workspace": "main",
                        "created_on": "2026-11-25T00:00:00.000000Z", "actor": "migration", "peer": .null,
                    ]
                    return EncodedRecord(header: JSONLine.encode(header), payload: Array(#"{"status":"B"}"#.utf8))
                }
            }
        }
        try daemon.start()
        let upcast = try daemon.call("contacts.get", ["uuid": .string(uuid)])
        #expect(upcast.string("status") == "blocked")
        #expect(upcast.int("version") == 2)
        let served = try #require(try daemon.call("events.read", ["types": ["contact_status_changed"]])["items"]?.arrayValue?.first)
        #expect(served.int("schema_version") == 2)
        #expect(served["data"]?.string("status") == "blocked")
        #expect(try daemon.call("ledger.verify")["verified"] == true)
        // A full rebuild reads it the same way.
        try daemon.call("projections.rebuild", ["name": "contacts"])
        _ = try self.waitUntilReady(daemon)
        #expect(try daemon.call("contacts.get", ["uuid": .string(uuid)]).string("status") == "blocked")
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
    }

    /// The generation a rebuild swaps out is emptied afterwards, a slice per writer command, not in the
    /// swap's transaction; a stop in between leaves the rest to the next start.
    @Test func theSwappedOutGenerationIsEmptiedTableByTableAcrossARestart() throws {
        let daemon = try DaemonHarness()
        try self.populate(daemon, count: 3_000)
        let before = try daemon.call("contacts.get", ["urn": "ext:p2999"])
        try daemon.call("projections.rebuild", ["name": "contacts"])
        _ = try self.waitUntilReady(daemon)
        #expect(daemon.stop() == 0)
        try daemon.start()
        // Whatever the stop left, the start finishes; the answering generation is untouched.
        var emptied = false
        let deadline = Date().addingTimeInterval(30)
        while !emptied, Date() < deadline {
            usleep(200_000)
            #expect(daemon.stop() == 0)
            do {
                let environment = try Environment(directory: daemon.directory + "/readmodels")
                let meta = try #require(try environment.openTables(["ledger.readmodels"])["ledger.readmodels"])
                let active = try environment.read { txn throws in
                    (try txn.get(meta, key: Array("active_generation".utf8))).flatMap { BigEndian.uint64($0) } ?? 0
                }
                let old = active == 0 ? 1 : 0
                let tables = try environment.openTables(Projector.tableNames(generation: old))
                let counts = try environment.read { txn throws in try tables.values.map { try txn.count($0) } }
                let pending = try environment.read { txn throws in try txn.get(meta, key: Array("dropping_generation".utf8)) }
                emptied = counts.allSatisfy { $0 == 0 } && pending == nil
            }
            try daemon.start()
        }
        #expect(emptied)
        #expect(try daemon.call("contacts.get", ["urn": "ext:p2999"]) == before)
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
    }

    /// The generation a rebuild swaps out leaves its pages free in the read models' file. Once it is
    /// emptied, the read models are compacted online: a copy, brought up to date from the log and swapped
    /// in between two writer batches, while clients keep writing and reading. Nothing written meanwhile
    /// is lost (read models and stream index), the file shrinks, and a restart trusts it.
    @Test func theReadModelsAreCompactedOnlineAfterARebuild() throws {
        let daemon = try DaemonHarness(arguments: ["--read-model-compaction-min-free", "1MiB"])
        try self.populate(daemon, count: 6_000)
        let before = try daemon.call("contacts.get", ["urn": "ext:p4321"])
        #expect(!daemon.log().contains("compacted online"))
        try daemon.call("projections.rebuild", ["name": "contacts"])
        // Four clients write through the rebuild, the drop and the compaction, and read back each write.
        let created = try onThreads(4) { index -> [String] in
            let client = try daemon.client()
            var uuids: [String] = []
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                let contact = try client.call("contacts.create", ["name": .string("during\(index)-\(uuids.count)"), "urns": [.string("ext:d\(index)-\(uuids.count)")]])
                let uuid = try #require(contact.string("uuid"))
                #expect(try client.call("contacts.get", ["uuid": .string(uuid)]).string("uuid") == uuid)
                uuids.append(uuid)
                if uuids.count % 20 == 0, daemon.log().contains("read models compacted online") { break }
            }
            return uuids
        }
        let log = daemon.log()
        let line = try #require(log.split(separator: "\n").first { $0.contains("read models compacted online") })
        let number = { (key: String) -> Int? in
            line.split(separator: " ").first { $0.hasPrefix(key + "=") }.flatMap { Int($0.dropFirst(key.count + 1)) }
        }
        let bytesBefore = try #require(number("bytes_before"))
        let bytesAfter = try #require(number("bytes_after"))
        #expect(bytesAfter * 4 < bytesBefore * 3, "\(line)")
        #expect(!log.contains("not compacted online"))

        let all = created.flatMap { $0 }
        #expect(try daemon.call("contacts.count", ["query": "name ~ during"]).int("total") == Int64(all.count))
        #expect(try daemon.call("contacts.get", ["urn": "ext:p4321"]) == before)
        // The stream index took what was written during the copy: each contact's history and version.
        for uuid in [all.first, all.last].compactMap({ $0 }) {
            #expect(try daemon.call("contacts.history", ["uuid": .string(uuid)])["items"]?.arrayValue?.count == 1)
            let updated = try daemon.call(
                "contacts.modify", ["uuid": .string(uuid), "modifiers": [["type": "name", "name": "renamed"]], "expected_version": 1]
            )
            #expect(updated.int("version") == 2)
        }
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
        #expect(try daemon.call("ledger.verify")["verified"] == true)

        #expect(daemon.stop() == 0)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: daemon.directory + "/readmodels/data.mdb")[.size] as? NSNumber).intValue
        #expect(size < bytesBefore)
        try daemon.start()
        #expect(!daemon.log().contains("discarded"))
        #expect(try daemon.call("contacts.count", ["query": "name ~ during OR name ~ renamed"]).int("total") == Int64(all.count))
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
    }

    @Test func aReadModelOfAnotherVersionIsRebuiltOnStart() throws {
        let daemon = try DaemonHarness()
        try self.populate(daemon, count: 500)
        let before = try daemon.call("contacts.get", ["urn": "ext:p42"])
        #expect(daemon.stop() == 0)
        // Mark the stored read model (in the data directory's rebuildable part) as written by version 1.
        do {
            let environment = try Environment(directory: daemon.directory + "/readmodels")
            let tables = try environment.openTables(["rm.meta"])
            let meta = try #require(tables["rm.meta"])
            try environment.write { txn in
                let state = try #require(try txn.get(meta, key: Array("state".utf8)))
                try txn.put(meta, key: Array("state".utf8), value: BigEndian.bytes(UInt64(1)) + Array(state[8...]))
            }
        }
        try daemon.start()
        let status = try self.waitUntilReady(daemon)
        #expect(status.int("version") == status.int("stored_version"))
        #expect(try daemon.call("contacts.get", ["urn": "ext:p42"]) == before)
    }

    @Test func anOfflineRebuildRefusesARunningDaemonAndRebuildsAStoppedOne() throws {
        let daemon = try DaemonHarness()
        try self.populate(daemon, count: 1000)
        let before = try daemon.call("contacts.get", ["urn": "ext:p77"])
        func rebuild() throws -> (Int32, String) {
            let process = Process()
            process.executableURL = DaemonHarness.productsDirectory.appendingPathComponent("contactledgerd")
            process.arguments = ["rebuild", "--data-dir", daemon.directory]
            let output = Pipe()
            process.standardOutput = output
            process.standardError = FileHandle.nullDevice
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, text)
        }
        #expect(try rebuild().0 != 0)
        #expect(daemon.stop() == 0)
        let (status, text) = try rebuild()
        #expect(status == 0)
        #expect(text.contains("1000 events"))
        try daemon.start()
        #expect(try daemon.call("contacts.get", ["urn": "ext:p77"]) == before)
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
    }
}
