// ContactLedger — daemon tests.
import Foundation
import LedgerStore
import RPC
import Testing

/// A log changed behind the daemon's back, in LMDB directly: `ledger.verify` names the first broken seq
/// and why, reads serve what comes before the damage and refuse it with -32005 `log_damaged` (never
/// -32603), rebuilds refuse records whose links are broken, and a head that disagrees with the records
/// refuses appends and the start.
@Suite(.ownThreads, .timeLimit(.minutes(5)))
struct LogDamageTests {
    /// The root table's key of the log's head (seq(8) + hash(32)).
    static let headKey = [0] + Array("log.head".utf8)

    static func key(_ seq: Int64) -> [UInt8] { BigEndian.bytes(UInt64(seq)) }

    /// Edits the log's records and root table in the daemon's data directory (stopped, or running: LMDB
    /// serializes the two processes' writers).
    static func editLog(_ daemon: DaemonHarness, _ edit: (Transaction, _ events: Table, _ root: Table) throws -> Void) throws {
        let environment = try Environment(directory: daemon.directory)
        let tables = try environment.openTables(["log.events", Table.rootName])
        let events = try #require(tables["log.events"])
        let root = try #require(tables[Table.rootName])
        try environment.write { txn in try edit(txn, events, root) }
    }

    /// Swaps the stored records at seqs `first` and `second` (the daemon stopped): both links break.
    static func swapRecords(_ daemon: DaemonHarness, _ first: Int64, _ second: Int64) throws {
        try Self.editLog(daemon) { txn, events, _ in
            let firstRecord = try #require(try txn.get(events, key: Self.key(first)))
            try txn.put(events, key: Self.key(first), value: try #require(try txn.get(events, key: Self.key(second))))
            try txn.put(events, key: Self.key(second), value: firstRecord)
        }
    }

    /// A daemon whose log holds `count` contacts' creations; its head seq.
    static func daemon(contacts count: Int) throws -> (DaemonHarness, Int64) {
        let daemon = try DaemonHarness()
        for index in 0..<count { try daemon.call("contacts.create", ["name": .string("d\(index)")]) }
        return (daemon, try #require(try daemon.call("system.health").int("head_seq")))
    }

    /// The seqs of every event `events.read` (or `audit.changes`) pages through from `cursor`, and the
    /// error that ended them, if any.
    static func readAll(_ daemon: DaemonHarness, method: String = "events.read", limit: Int = 1_000) throws -> (seqs: [Int64], error: RPCError?) {
        var seqs: [Int64] = []
        var cursor: JSONValue = .null
        while true {
            let page: JSONValue
            var params: [String: JSONValue] = ["limit": .integer(Int64(limit))]
            if cursor != .null { params["cursor"] = cursor }
            do {
                page = try daemon.call(method, .object(params))
            } catch let error as RPCError {
                return (seqs, error)
            }
            seqs += (page["items"]?.arrayValue ?? []).compactMap { $0.int("seq") }
            cursor = page["next_cursor"] ?? .null
            if cursor == .null { return (seqs, nil) }
        }
    }

    static func expectLogDamaged(_ error: RPCError?, seq: Int64, damage: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(error?.code == -32005, sourceLocation: sourceLocation)
        #expect(error?.data?.string("reason") == "log_damaged", sourceLocation: sourceLocation)
        #expect(error?.data?.int("seq") == seq, sourceLocation: sourceLocation)
        #expect(error?.data?.string("damage") == damage, sourceLocation: sourceLocation)
    }

    /// An empty log's head has no hash (the schema's null); a verified range names the hash where it
    /// ends; a record whose header names the next seq, in a chain recomputed after the edit (the chain
    /// alone verified), is refused at start: first as a log the read models were not built from, then,
    /// with the read models moved away, by its seq (`seq_mismatch`).
    @Test func aHeaderNamingAnotherSeqIsFound() throws {
        let empty = try DaemonHarness()
        let verified = try empty.call("ledger.verify")
        #expect(verified["verified"] == true && verified["head_hash"] == .null && verified.int("head_seq") == 0)
        #expect(verified["reason"] == nil)
        let (daemon, head) = try Self.daemon(contacts: 6)
        // A range names the hash where it ends, to compare with an anchor; at the head, the head's.
        let whole = try daemon.call("ledger.verify", ["to_seq": .integer(head)])
        #expect(whole.int("last_seq") == head && whole["last_hash"] == whole["head_hash"])
        let prefix = try daemon.call("ledger.verify", ["to_seq": 2])
        #expect(prefix.int("last_seq") == 2 && prefix["last_hash"] != whole["head_hash"])
        #expect(daemon.stop() == 0)
        // Record 3's header says 4; the records from 3 on are appended again, so every hash holds.
        do {
            let environment = try Environment(directory: daemon.directory)
            let tables = try environment.openTables(EventLog.tableNames)
            let log = try EventLog(tables: tables)
            let events = try #require(tables["log.events"])
            let root = try #require(tables[Table.rootName])
            try environment.write { txn in
                var saved: [StoredEvent] = []
                try log.forEach(after: 2, in: txn) { record in
                    saved.append(record)
                    return true
                }
                let two = try #require(try log.record(at: 2, in: txn))
                for record in saved { try txn.delete(events, key: BigEndian.bytes(record.seq)) }
                try txn.put(root, key: Self.headKey, value: BigEndian.bytes(UInt64(2)) + two.hash)
                for record in saved {
                    var header = String(decoding: record.header, as: UTF8.self)
                    if record.seq == 3 { header = header.replacingOccurrences(of: "\"seq\":3,", with: "\"seq\":4,") }
                    try log.append(to: "rechained", in: txn) { _ in EncodedRecord(header: Array(header.utf8), payload: record.payload ?? []) }
                }
            }
        }
        // Records rewritten under the read models' position: the start refuses them (their anchor's hash
        // is not the log's). Moved away, the read models are rebuilt from this log at start, and the
        // replay refuses the record whose header names another seq: the daemon names it and stops.
        // (EventLogDamageTests checks what ledger.verify answers for it.)
        let daemonPath = DaemonHarness.productsDirectory.appendingPathComponent("contactledgerd").path
        let start = ["20", daemonPath, "--data-dir", daemon.directory, "--socket", daemon.directory + "/refused.sock"]
        let refused = try Operations.run("/usr/bin/timeout", start)
        #expect(refused.status == 1 && refused.error.contains("holds another record at seq \(head)"), "\(refused.error)")
        try FileManager.default.removeItem(atPath: daemon.directory + "/readmodels")
        let replayed = try Operations.run("/usr/bin/timeout", start)
        #expect(replayed.status == 1 && replayed.error.contains("the log is damaged at seq 3 (seq_mismatch)"), "\(replayed.error)")
    }

    /// A record that cannot be decoded: verify answers `undecodable` at its seq (it answered -32603),
    /// `events.read` serves the events before it (it failed as a whole) and refuses it with its seq.
    @Test(arguments: ["garbage", "empty", "header length", "payload flag"])
    func anUndecodableRecordIsReportedByItsSeq(_ damage: String) throws {
        let (daemon, head) = try Self.daemon(contacts: 8)
        #expect(daemon.stop() == 0)
        try Self.editLog(daemon) { txn, events, _ in
            var bytes = try #require(try txn.get(events, key: Self.key(5)))
            switch damage {
            case "garbage": bytes = Array("\u{1}garbage".utf8)
            case "empty": bytes = []
            case "header length": bytes.replaceSubrange(97..<101, with: [0xFF, 0xFF, 0xFF, 0xF0])
            default:
                // The payload's flag says erased while a payload follows.
                let headerLength = Int(try #require(BigEndian.uint32(bytes, at: 97)))
                bytes[101 + headerLength] = 0
            }
            try txn.put(events, key: Self.key(5), value: bytes)
        }
        try daemon.start()
        let verify = try daemon.call("ledger.verify")
        #expect(verify["verified"] == false)
        #expect(verify.int("broken_seq") == 5)
        #expect(verify.string("reason") == "undecodable")
        #expect(verify.int("head_seq") == head)
        let read = try Self.readAll(daemon, limit: 3)
        #expect(read.seqs == [1, 2, 3, 4])
        Self.expectLogDamaged(read.error, seq: 5, damage: "undecodable")
        // audit.changes reads its records as events.read does (it answered -32603).
        let audited = try Self.readAll(daemon, method: "audit.changes", limit: 3)
        #expect(audited.seqs == [1, 2, 3, 4])
        Self.expectLogDamaged(audited.error, seq: 5, damage: "undecodable")
    }

    /// A damaged record of a contact met by the methods that fold or page its past (history, as of, diff,
    /// search as of, audit from a time): each answers -32005 `log_damaged` with its seq, as `events.read`
    /// does (they answered -32603: they decoded records without saying where they failed).
    @Test(arguments: ["header", "payload"])
    func theHistoryMethodsNameADamagedRecordsSeq(_ part: String) throws {
        let daemon = try DaemonHarness()
        var uuids: [String] = []
        for index in 0..<8 { uuids.append(try #require(try daemon.call("contacts.create", ["name": .string("d\(index)")]).string("uuid"))) }
        let time = try #require(ContactKit.allEvents(daemon).first?.string("created_on"))
        #expect(daemon.stop() == 0)
        // Record 5 (the fifth contact's creation) keeps its length; its header or its payload stops being JSON.
        try Self.editLog(daemon) { txn, events, _ in
            var bytes = try #require(try txn.get(events, key: Self.key(5)))
            let (from, to) = part == "header" ? (Array(#""seq":5,"#.utf8), Array(#""seq"75,"#.utf8)) : (Array(#""name":"d4""#.utf8), Array(#""name":+d4""#.utf8))
            let start = try #require(bytes.indices.first { bytes[$0...].starts(with: from) })
            bytes.replaceSubrange(start..<(start + from.count), with: to)
            try txn.put(events, key: Self.key(5), value: bytes)
        }
        try daemon.start()
        let damaged: JSONValue = .string(uuids[4])
        let calls: [(String, JSONValue)] = [
            ("contacts.history", ["uuid": damaged]),
            ("contacts.as_of", ["uuid": damaged, "at": ["seq": 8]]),
            ("contacts.diff", ["uuid": damaged, "from": ["seq": 1], "to": ["seq": 8]]),
            ("contacts.search", ["query": "", "as_of": ["seq": 8]]),
        ]
        for (method, params) in calls {
            Self.expectLogDamaged(try daemon.error(method, params), seq: 5, damage: "undecodable")
        }
        if part == "header" {
            // A time is found by a binary search over the records' headers.
            Self.expectLogDamaged(try daemon.error("audit.changes", ["from": .string(time)]), seq: 5, damage: "undecodable")
        }
        // The contacts before the damage still answer.
        #expect(try daemon.call("contacts.as_of", ["uuid": .string(uuids[0]), "at": ["seq": 8]]).string("name") == "d0")
    }

    /// Two records swapped: verify names the broken link; a rebuild, online or offline, refuses to
    /// replay it (it adopted the log as it found it) and says where.
    @Test func rebuildsRefuseABrokenLinkAndNameItsSeq() throws {
        let (daemon, _) = try Self.daemon(contacts: 10)
        let before = try daemon.call("contacts.search", ["query": ""])
        #expect(daemon.stop() == 0)
        try Self.swapRecords(daemon, 5, 6)
        try daemon.start()
        let verify = try daemon.call("ledger.verify")
        #expect(verify.int("broken_seq") == 5 && verify.string("reason") == "prev_hash")
        #expect(try daemon.call("projections.rebuild", ["name": "contacts"])["started"] == true)
        var failure: JSONValue?
        let deadline = Date().addingTimeInterval(60)
        while failure == nil, Date() < deadline {
            let status = try daemon.call("projections.status")["projections"]?.arrayValue?.first
            failure = status?["last_error"]
            if failure == nil { usleep(50_000) }
        }
        #expect(failure?.string("reason") == "log_damaged")
        #expect(failure?.int("seq") == 5)
        // The read models answering are the ones the rebuild would have replaced.
        #expect(try daemon.call("contacts.search", ["query": ""]) == before)
        #expect(daemon.log().contains("projection rebuild failed") && daemon.log().contains("ledger.seq=5"))
        #expect(daemon.stop() == 0)

        let rebuild = try Operations.run("contactledgerd", ["rebuild", "--data-dir", daemon.directory])
        #expect(rebuild.status != 0)
        #expect((rebuild.output + rebuild.error).contains("seq 5"), "\(rebuild.error)")
    }

    /// A subscription reads the log as `events.read` does: it is sent the events before two swapped
    /// records, then `events.error` with `log_damaged`, the seq and the last seq it was sent (it was
    /// sent the swapped records without a word), and its connection goes on answering.
    @Test func aSubscriptionStopsAtADamagedRecordAndSaysWhere() throws {
        let (daemon, _) = try Self.daemon(contacts: 10)
        #expect(daemon.stop() == 0)
        try Self.swapRecords(daemon, 5, 6)
        // The read models were built from this log's head: the start accepts it, as an operator's would.
        try daemon.start()
        let subscriber = try daemon.client()
        try subscriber.call("events.subscribe", ["after_seq": 0])
        var seqs: [Int64] = []
        var error: JSONValue?
        while error == nil {
            let notification = try subscriber.readValue()
            switch notification.string("method") {
            case "events.event": seqs.append(notification["params"]?["event"]?.int("seq") ?? -1)
            case "events.error": error = notification["params"]
            default: Issue.record("unexpected line \(notification)"); return
            }
        }
        #expect(seqs == [1, 2, 3, 4])
        #expect(error?.string("reason") == "log_damaged")
        #expect(error?.int("seq") == 5)
        #expect(error?.string("damage") == "prev_hash")
        // audit.changes stops there too (it served the swapped records, out of order).
        let audited = try Self.readAll(daemon, method: "audit.changes", limit: 3)
        #expect(audited.seqs == [1, 2, 3, 4])
        Self.expectLogDamaged(audited.error, seq: 5, damage: "prev_hash")
        #expect(error?.int("last_seq") == 4)
        #expect(try subscriber.call("system.health").string("status") == "ok")
        #expect(daemon.log().contains("subscription ended: the log cannot be read") && daemon.log().contains("ledger.seq=5"))
        // The CLI's tail prints those events, then says where the log is damaged, with a failing status.
        let cli = DaemonHarness.productsDirectory.appendingPathComponent("contactledger").path
        let tail = try Operations.run("/usr/bin/timeout", ["20", cli, "--socket", daemon.socketPath, "tail", "--after", "0", "--json"])
        #expect(tail.status == 1, "\(tail.error)")
        #expect(tail.output.split(separator: "\n").count == 4)
        #expect(tail.error.contains("damaged at seq 5 (prev_hash)") && tail.error.contains("after seq 4"), "\(tail.error)")
    }

    /// A record stored past the head, written while the daemon runs: verify finds it (`beyond_head` at
    /// the head's next seq; it said verified), reads do not serve it, an append meeting it is refused
    /// with -32005 `log_damaged` and a log line naming the seq (it was -32603 from MDB_KEYEXIST, for
    /// every later write), and the next start is refused with a message naming data.mdb and the seqs.
    @Test func aRecordPastTheHeadIsFoundNotServedAndRefusesAppendsAndTheStart() throws {
        let (daemon, head) = try Self.daemon(contacts: 5)
        try Self.editLog(daemon) { txn, events, _ in
            try txn.put(events, key: Self.key(head + 1), value: try #require(try txn.get(events, key: Self.key(head))))
        }
        let verify = try daemon.call("ledger.verify")
        #expect(verify["verified"] == false)
        #expect(verify.int("broken_seq") == head + 1)
        #expect(verify.string("reason") == "beyond_head")
        #expect(verify.int("head_seq") == head)
        #expect(try daemon.call("ledger.verify", ["to_seq": .integer(head - 1)])["verified"] == true)
        #expect(try Self.readAll(daemon).seqs == Array(1...head))
        Self.expectLogDamaged(try daemon.error("contacts.create", ["name": "after"]), seq: head + 1, damage: "beyond_head")
        #expect(daemon.log().contains("ledger.seq=\(head + 1)"))
        #expect(try daemon.call("system.health").int("head_seq") == head)
        #expect(daemon.stop() == 0)
        #expect(throws: DaemonHarness.HarnessError.self) { try daemon.start() }
        let log = daemon.log()
        #expect(log.contains("\(daemon.directory)/data.mdb"))
        #expect(log.contains("head is seq \(head)") && log.contains("at seq \(head + 1)"))
    }

    /// The last record moved to a later key, the head left as it was, and the read models moved away (as
    /// the refusal of a log the read models do not back advises): the start refuses the log, naming it.
    /// It hung: the stream index's catch-up read no record after the head's gap, and committed again
    /// and again (thousands of syncs a second).
    @Test func aRecordMovedPastTheHeadIsRefusedWithoutTheReadModels() throws {
        let (daemon, head) = try Self.daemon(contacts: 5)
        #expect(daemon.stop() == 0)
        try Self.editLog(daemon) { txn, events, _ in
            let bytes = try #require(try txn.get(events, key: Self.key(head)))
            #expect(try txn.delete(events, key: Self.key(head)))
            try txn.put(events, key: Self.key(head + 6), value: bytes)
        }
        try FileManager.default.removeItem(atPath: daemon.directory + "/readmodels")
        let start = try Operations.run(
            "/usr/bin/timeout", ["20", DaemonHarness.productsDirectory.appendingPathComponent("contactledgerd").path, "--data-dir", daemon.directory, "--socket", daemon.directory + "/moved.sock"]
        )
        #expect(start.status == 1, "\(start.error)")
        #expect(start.error.contains("head is seq \(head)") && start.error.contains("at seq \(head + 6)"), "\(start.error)")
    }

    /// A page of the log's file zeroed under its first records: a read that searches down to it meets
    /// LMDB's MDB_CORRUPTED, answered -32005 `storage_damaged` and logged (it was -32603, an internal
    /// error, as if the daemon had a bug).
    @Test func aDamagedPageIsStorageDamagedNotAnInternalError() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 300)
        let first = try #require(try daemon.call("events.read", ["limit": 1])["items"]?.arrayValue?.first)
        let hash = try #require(first.string("hash"))
        #expect(daemon.stop() == 0)
        // Record 1 is stored as its format byte, a zero previous hash and its hash: every page holding
        // those bytes is zeroed (stale copies in free pages too, which LMDB no longer reads).
        let pattern = [UInt8](repeating: 0, count: 32) + stride(from: 0, to: hash.count, by: 2).compactMap { offset -> UInt8? in
            let start = hash.index(hash.startIndex, offsetBy: offset)
            return UInt8(hash[start..<hash.index(start, offsetBy: 2)], radix: 16)
        }
        let path = daemon.directory + "/data.mdb"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var zeroed = 0
        for page in stride(from: 0, to: bytes.count, by: 4096) where page >= 2 * 4096 {
            let end = min(page + 4096, bytes.count)
            if bytes[page..<end].firstRange(of: pattern) != nil {
                bytes.replaceSubrange(page..<end, with: [UInt8](repeating: 0, count: end - page))
                zeroed += 1
            }
        }
        #expect(zeroed > 0)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        try daemon.start()
        let refused = try daemon.error("ledger.verify")
        #expect(refused.code == -32005, "\(refused)")
        #expect(refused.data("reason") == "storage_damaged")
        #expect(try daemon.call("system.health").string("status") == "ok")
        // LMDB names no file: the line says how to find the store and what to do (operations audit).
        let line = daemon.log().split(separator: "\n").first { $0.contains("msg=\"storage damaged\"") } ?? ""
        #expect(line.contains("contactledger verify") && line.contains("restore it from a backup") && line.contains("move it away"), "\(line)")
    }
}
