// ContactLedger — daemon tests: damaged, lost or mismatched storage files.
import Foundation
import LedgerStore
import RPC
import TestSupport
import Testing

/// A data directory whose files were lost, cut short, replaced or damaged while the daemon was stopped:
/// the daemon refuses to start with one line naming the file and the ways out, or rebuilds what is
/// rebuildable (the read models), and never dies of a signal with a backtrace alone, nor serves read
/// models that the log does not back.
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct DamagedStorageTests {
    /// Starts `contactledgerd` on `directory` (under `timeout`, so a start that hangs cannot hold the
    /// suite up): its exit status and stderr.
    static func start(_ directory: String, _ arguments: [String] = []) throws -> Operations.Run {
        try Operations.run(
            "/usr/bin/timeout", ["20", DaemonHarness.productsDirectory.appendingPathComponent("contactledgerd").path] + arguments + ["--data-dir", directory]
        )
    }

    /// The log's stored record at `seq`, or nil (the daemon stopped).
    static func record(_ directory: String, _ seq: UInt64) throws -> [UInt8]? {
        let environment = try Environment(directory: directory)
        let events = try #require(try environment.openTables(["log.events"])["log.events"])
        return try environment.read { try $0.get(events, key: BigEndian.bytes(seq)) }
    }

    /// A log that is not the one the read models were built from, whether it was cut short, lost or
    /// replaced by another ledger's, is refused at start (exit status 1) with a line naming data.mdb,
    /// its head, the read models' position and the two ways out; one of them, moving the read models
    /// away, then serves the log as it is. The read models' checkpoint held a seq alone before: each of
    /// these logs was served under the old read models, `ready`, handing out ids and seqs again.
    @Test func aLogThatIsNotTheReadModelsOneIsRefused() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 30)
        #expect(daemon.stop() == 0)
        let log = daemon.directory + "/data.mdb"
        let readModels = daemon.directory + "/readmodels"

        // Cut short consistently: the last five records gone and the head moved back, the chain intact.
        do {
            let environment = try Environment(directory: daemon.directory)
            let tables = try environment.openTables(["log.events", Table.rootName])
            let events = try #require(tables["log.events"])
            let root = try #require(tables[Table.rootName])
            try environment.write { txn throws in
                let kept = try #require(try txn.get(events, key: BigEndian.bytes(UInt64(25))))
                for seq in UInt64(26)...30 { try txn.delete(events, key: BigEndian.bytes(seq)) }
                // Record layout: format, prev_hash, hash, …; the head: seq and hash.
                try txn.put(root, key: [0] + Array("log.head".utf8), value: BigEndian.bytes(UInt64(25)) + Array(kept[33..<65]))
            }
        }
        var refused = try Self.start(daemon.directory)
        #expect(refused.status == 1, "\(refused.error)")
        for text in [
            "\(readModels) was built from a log up to seq 30", "the log \(log) ends at seq 25", "restore data.mdb from a backup",
            "move \(readModels) away",
        ] {
            #expect(refused.error.contains(text), "\(text): \(refused.error)")
        }

        // Lost: the log's files deleted, the read models kept.
        try FileManager.default.removeItem(atPath: log)
        try? FileManager.default.removeItem(atPath: daemon.directory + "/lock.mdb")
        refused = try Self.start(daemon.directory)
        #expect(refused.status == 1, "\(refused.error)")
        #expect(refused.error.contains("\(readModels) holds read models, but the log \(log) is missing or empty"), "\(refused.error)")
        #expect(!FileManager.default.fileExists(atPath: log), "the refusal made a log")
        // Whatever the read models' ownership says: one the machine went down with (or none, as a backup
        // stopped before its log leaves) discarded them first, and an empty ledger was served.
        for marker in [nil, "open 00000000-earlier-boot"] {
            let ownership = readModels + "/ownership"
            if let marker { try (marker + "\n").write(toFile: ownership, atomically: true, encoding: .utf8) } else { try FileManager.default.removeItem(atPath: ownership) }
            refused = try Self.start(daemon.directory)
            #expect(refused.status == 1, "\(marker ?? "no marker"): \(refused.error)")
            #expect(refused.error.contains("the log \(log) is missing or empty"), "\(refused.error)")
            #expect(FileManager.default.fileExists(atPath: readModels + "/data.mdb"), "the read models were discarded")
        }
        try "closed\n".write(toFile: readModels + "/ownership", atomically: true, encoding: .utf8)
        // An emptied log file is missing too.
        #expect(FileManager.default.createFile(atPath: log, contents: nil))
        refused = try Self.start(daemon.directory)
        #expect(refused.status == 1, "\(refused.error)")
        #expect(refused.error.contains("the log \(log) is missing or empty"), "\(refused.error)")

        // Replaced by another ledger's longer log.
        let other = try DaemonHarness()
        try other.populate(count: 40)
        #expect(other.stop() == 0)
        try FileManager.default.removeItem(atPath: log)
        try FileManager.default.copyItem(atPath: other.directory + "/data.mdb", toPath: log)
        refused = try Self.start(daemon.directory)
        #expect(refused.status == 1, "\(refused.error)")
        #expect(refused.error.contains("(head seq 40) holds another record at seq 30: it was replaced"), "\(refused.error)")

        // The way out that keeps this log: the read models moved away are rebuilt from it.
        try FileManager.default.moveItem(atPath: readModels, toPath: daemon.directory + "/readmodels.old")
        try daemon.start()
        try daemon.waitUntilReady()
        #expect(try daemon.call("contacts.count", ["query": ""]).int("total") == 40)
        #expect(try daemon.call("contacts.get", ["urn": "ext:p35"]).string("name") == "p35")
        #expect(try daemon.call("contacts.create", ["name": "next"]).int("id") == 41)
        #expect(daemon.stop() == 0)
        // A clean restart over the read models built from this log is not refused.
        try daemon.start()
        #expect(try daemon.call("system.health").int("head_seq") == 41)
    }

    /// After the machine went down with the daemon running, the read models are discarded unread (they
    /// were committed without a sync), so their own anchor in the log cannot be checked: a log replaced
    /// by another ledger's was served. The position and hash of the log's head at the last start, kept
    /// beside them, are checked instead; the refusal holds at the next start too, and the ledger's own
    /// log is served again as ever.
    @Test func aReplacedLogIsRefusedAfterThePowerWentDownToo() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 30)
        #expect(daemon.stop() == 0)
        try daemon.start()
        daemon.kill()
        let log = daemon.directory + "/data.mdb"
        let ownership = daemon.directory + "/readmodels/ownership"
        let marker = try String(contentsOfFile: ownership, encoding: .utf8)
        #expect(marker.hasPrefix("open ") && marker.contains(" anchor 30 "), "\(marker)")
        // The power went down: the marker names an earlier boot.
        func powerLoss() throws {
            let kept = try String(contentsOfFile: ownership, encoding: .utf8)
            let anchor = try #require(kept.range(of: " anchor "))
            try ("open 00000000-earlier-boot" + kept[anchor.lowerBound...]).write(toFile: ownership, atomically: true, encoding: .utf8)
        }
        try powerLoss()
        let own = daemon.directory + "/data.mdb.own"
        try FileManager.default.copyItem(atPath: log, toPath: own)

        let other = try DaemonHarness()
        try other.populate(count: 40)
        #expect(other.stop() == 0)
        try FileManager.default.removeItem(atPath: log)
        try FileManager.default.copyItem(atPath: other.directory + "/data.mdb", toPath: log)
        for attempt in 1...2 {
            let refused = try Self.start(daemon.directory)
            #expect(refused.status == 1, "attempt \(attempt): \(refused.error)")
            #expect(refused.error.contains("(head seq 40) holds another record at seq 30: it was replaced"), "attempt \(attempt): \(refused.error)")
            // A refused start records no clean close of the read models it emptied.
            let after = try String(contentsOfFile: ownership, encoding: .utf8)
            #expect(after.hasPrefix("open ") && after.contains(" anchor 30 "), "attempt \(attempt): \(after)")
        }

        // The ledger's own log back: served, the read models rebuilt from it.
        try FileManager.default.removeItem(atPath: log)
        try FileManager.default.moveItem(atPath: own, toPath: log)
        try powerLoss()
        try daemon.start()
        try daemon.waitUntilReady()
        #expect(daemon.log().contains("read models discarded: the machine went down while they were open"))
        #expect(try daemon.call("contacts.count", ["query": ""]).int("total") == 30)
        #expect(try daemon.call("contacts.create", ["name": "next"]).int("id") == 31)
        #expect(try daemon.call("ledger.verify")["verified"] == true)
    }

    /// A log file cut short is refused at start naming the file (exit status 1), where LMDB faulted on
    /// a page past the file's end (SIGBUS) and left a backtrace naming none.
    @Test func aTruncatedLogIsRefusedNamingItsFile() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 300)
        #expect(daemon.stop() == 0)
        let log = daemon.directory + "/data.mdb"
        #expect(truncate(log, 8192) == 0)
        let refused = try Self.start(daemon.directory)
        #expect(refused.status == 1, "\(refused.error)")
        #expect(refused.error.contains("the log \(log) is damaged: it is 8192 bytes, shorter than"), "\(refused.error)")
        #expect(refused.error.contains("Restore it from a backup"), "\(refused.error)")
        // Cut under its two meta pages, or its meta pages zeroed: LMDB's MDB_INVALID named the directory
        // alone, and no way out.
        for (label, damage) in [("cut to 1000 bytes", { truncate(log, 1000) == 0 }), ("meta pages zeroed", { Self.zero(log, bytes: 8192) })] {
            #expect(damage(), "\(label)")
            let invalid = try Self.start(daemon.directory)
            #expect(invalid.status == 1, "\(label): \(invalid.error)")
            #expect(invalid.error.contains("the log \(log) is damaged: ") && invalid.error.contains("MDB_INVALID"), "\(label): \(invalid.error)")
            #expect(invalid.error.contains("Restore it from a backup"), "\(label): \(invalid.error)")
        }
    }

    /// Overwrites the first `bytes` bytes of `file` with zeros.
    static func zero(_ file: String, bytes: Int) -> Bool {
        guard let handle = FileHandle(forWritingAtPath: file) else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data(repeating: 0, count: bytes))) != nil
    }

    /// A read models' file cut short, or whose pages are not LMDB's, is rebuildable: the daemon
    /// discards it with a warning naming it, rebuilds the read models from the log and answers as
    /// before. It died of SIGBUS at start on the first, and refused to start on the second
    /// (`mdb_get: MDB_BAD_TXN`, naming no file).
    @Test func damagedReadModelsAreRebuiltFromTheLog() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 300)
        let before = try daemon.call("contacts.get", ["urn": "ext:p123"])
        #expect(daemon.stop() == 0)
        let file = daemon.directory + "/readmodels/data.mdb"
        #expect(truncate(file, 8192) == 0)
        try daemon.start()
        #expect(daemon.log().contains("read models discarded: their file was damaged"), "\(daemon.log())")
        #expect(daemon.log().contains("\(file) is 8192 bytes"), "\(daemon.log())")
        try daemon.waitUntilReady()
        #expect(try daemon.call("contacts.get", ["urn": "ext:p123"]) == before)
        #expect(try daemon.call("contacts.count", ["query": ""]).int("total") == 300)
        #expect(try daemon.call("projections.verify", ["name": "contacts"])["differences"] == [])
        #expect(daemon.stop() == 0)

        // Every page past the two meta pages overwritten.
        let size = try #require(try FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        let handle = try #require(FileHandle(forWritingAtPath: file))
        try handle.seek(toOffset: 8192)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: size - 8192))
        try handle.close()
        try daemon.start()
        let warning = daemon.log().split(separator: "\n").last { $0.contains("read models discarded: their file was damaged") }
        #expect(warning?.contains("MDB_BAD_TXN") == true && warning?.contains("file=\(file)") == true, "\(daemon.log())")
        try daemon.waitUntilReady()
        #expect(try daemon.call("contacts.get", ["urn": "ext:p123"]) == before)

        // Emptied: LMDB opened it as a new file, and the read models were rebuilt without a word.
        #expect(daemon.stop() == 0)
        #expect(truncate(file, 0) == 0)
        try daemon.start()
        let emptied = daemon.log().split(separator: "\n").last { $0.contains("read models discarded: their file was damaged") }
        #expect(emptied?.contains("\(file) is empty (0 bytes)") == true, "\(daemon.log())")
        try daemon.waitUntilReady()
        #expect(try daemon.call("contacts.get", ["urn": "ext:p123"]) == before)
    }

    /// A damaged page in the middle of the log is met only when a read reaches it, by an assertion of
    /// LMDB, which then aborts the process: the daemon logs one critical line first, naming the store,
    /// its file and the way out (the abort left a backtrace alone).
    @Test func aDamagedPageMetMidReadIsReportedBeforeLMDBAborts() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 300)
        #expect(daemon.stop() == 0)
        // Compacted, the log's file holds live pages only, so every leaf page holding records is one of
        // the log's: one in the middle is zeroed (LMDB's page header: the flags at byte 10, leaf = 2).
        try Environment.compactDurablePart(directory: daemon.directory)
        let log = daemon.directory + "/data.mdb"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: log))
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let marker = Data("contact_created".utf8)
        let leaves = stride(from: 2 * page, to: bytes.count, by: page).filter { start in
            bytes[start + 10] & 0x02 != 0 && bytes[start..<(start + page)].range(of: marker) != nil
        }
        #expect(leaves.count > 4, "\(leaves.count) leaf pages")
        let zeroed = leaves[leaves.count / 2]
        bytes.replaceSubrange(zeroed..<(zeroed + page), with: Data(count: page))
        try bytes.write(to: URL(fileURLWithPath: log))
        try daemon.start()
        #expect(throws: (any Error).self) { try daemon.call("ledger.verify") }
        daemon.process?.waitUntilExit()
        #expect(daemon.process?.terminationReason == .uncaughtSignal)
        let line = daemon.log().split(separator: "\n").first { $0.contains("storage damaged: LMDB stops the process") }
        for text in ["level=critical", "store=log", "file=\(log)", "lmdb.assertion=", "restore the log from a backup"] {
            #expect(line?.contains(text) == true, "\(text): \(daemon.log())")
        }
    }

    /// A failed offline rebuild (a record of the log that cannot be decoded) says which record and why,
    /// and leaves the read models that answered as they were: the daemon starts and answers as before.
    /// It emptied them first, and every start afterwards failed on the same record.
    @Test func aFailedOfflineRebuildLeavesTheReadModelsAsTheyWere() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 50)
        let before = try daemon.call("contacts.get", ["urn": "ext:p30"])
        #expect(daemon.stop() == 0)
        // The header of the record at seq 20 is no longer JSON (it starts after format, three hashes
        // and its length).
        do {
            var bytes = try #require(try Self.record(daemon.directory, 20))
            bytes[1 + 3 * 32 + 4] = UInt8(ascii: "X")
            let environment = try Environment(directory: daemon.directory)
            let events = try #require(try environment.openTables(["log.events"])["log.events"])
            try environment.write { try $0.put(events, key: BigEndian.bytes(UInt64(20)), value: bytes) }
        }
        let rebuild = try Operations.run("/usr/bin/timeout", ["60", DaemonHarness.productsDirectory.appendingPathComponent("contactledgerd").path, "rebuild", "--data-dir", daemon.directory])
        #expect(rebuild.status == 1, "\(rebuild.error)")
        #expect(rebuild.error.contains("the log is damaged at seq 20 (undecodable)"), "\(rebuild.error)")
        #expect(rebuild.error.contains("the read models are as they were"), "\(rebuild.error)")
        try daemon.start()
        #expect(try daemon.call("contacts.get", ["urn": "ext:p30"]) == before)
        #expect(try daemon.call("contacts.count", ["query": ""]).int("total") == 50)
        #expect(try daemon.call("contacts.create", ["name": "after"]).int("seq") == 51)
        #expect(daemon.stop() == 0)
        // And so does the next start.
        try daemon.start()
        #expect(try daemon.call("contacts.count", ["query": ""]).int("total") == 51)
    }
}
