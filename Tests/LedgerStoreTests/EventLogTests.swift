// ContactLedger — storage tests.
import Foundation
import LedgerStore
import Testing

/// The byte-level log on a real LMDB environment in a temporary directory.
struct EventLogTests {
    final class Store {
        let directory: String
        let environment: Environment
        let log: EventLog

        init(configuration: Environment.Configuration = .init()) throws {
            self.directory = NSTemporaryDirectory() + "clstore-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
            self.environment = try Environment(directory: self.directory, configuration: configuration)
            self.log = try EventLog(tables: try self.environment.openTables(EventLog.tableNames))
        }

        deinit { try? FileManager.default.removeItem(atPath: self.directory) }

        @discardableResult
        func append(_ stream: String, _ payload: String, expected: UInt64? = nil) throws -> EventPosition {
            try self.environment.write { txn throws in
                try self.log.append(to: stream, expectedVersion: expected, in: txn) { position in
                    EncodedRecord(header: Array("h\(position.seq)".utf8), payload: Array(payload.utf8))
                }
            }
        }
    }

    @Test func appendsAssignGlobalSeqsAndStreamVersions() throws {
        let store = try Store()
        #expect(try store.append("a", "1") == EventPosition(seq: 1, version: 1))
        #expect(try store.append("b", "2") == EventPosition(seq: 2, version: 1))
        #expect(try store.append("a", "3") == EventPosition(seq: 3, version: 2))
        try store.environment.read { txn throws in
            #expect(try store.log.version(of: "a", in: txn) == 2)
            #expect(try store.log.seqs(of: "a", in: txn) == [1, 3])
            #expect(try store.log.head(in: txn).seq == 3)
            let record = try #require(try store.log.record(at: 2, in: txn))
            #expect(record.payload == Array("2".utf8))
            let first = try #require(try store.log.record(at: 1, in: txn))
            #expect(record.prevHash == first.hash)
        }
    }

    /// A stream's version is read from the last key of its index entries: streams whose names extend
    /// one another, and streams sorting right after, must not lend it theirs.
    @Test func versionsOfStreamsWhoseNamesExtendOneAnother() throws {
        let store = try Store()
        let streams = ["a", "a\u{1}", "ab", "a/b", "b", "", "contact/1", "contact/10"]
        for round in 1...3 {
            for (index, stream) in streams.enumerated() where index % round == 0 || round == 1 {
                try store.append(stream, "\(round)")
            }
        }
        var expected: [String: UInt64] = [:]
        for round in 1...3 {
            for (index, stream) in streams.enumerated() where index % round == 0 || round == 1 { expected[stream, default: 0] += 1 }
        }
        try store.environment.read { txn throws in
            for stream in streams { #expect(try store.log.version(of: stream, in: txn) == expected[stream], "\(stream)") }
            #expect(try store.log.version(of: "c", in: txn) == 0)
            #expect(try store.log.version(of: "contact/", in: txn) == 0)
            #expect(try store.log.version(of: "contact/2", in: txn) == 0)
        }
        #expect(throws: LogError.versionMismatch(expected: 0, actual: expected["ab"] ?? 0)) { try store.append("ab", "x", expected: 0) }
    }

    @Test func aRunOfRecordsChainsAndSetsTheHeadOnce() throws {
        let store = try Store()
        try store.append("a", "0")
        let positions = try store.environment.write { txn throws in
            try store.log.append(count: 4, to: "a", expectedVersion: 1, in: txn) { index, position in
                EncodedRecord(header: Array("h\(position.seq)".utf8), payload: Array("run-\(index)".utf8))
            }
        }
        #expect(positions == (2...5).map { EventPosition(seq: UInt64($0), version: UInt64($0)) })
        try store.environment.read { txn throws in
            #expect(try store.log.head(in: txn).seq == 5)
            #expect(try store.log.version(of: "a", in: txn) == 5)
            #expect(try store.log.record(at: 4, in: txn)?.payload == Array("run-2".utf8))
        }
        #expect(try store.log.verify(environment: store.environment).firstBrokenSeq == nil)
        // A run refused by its expected version writes none of its records.
        #expect(throws: LogError.versionMismatch(expected: 1, actual: 5)) {
            try store.environment.write { txn throws in
                try store.log.append(count: 2, to: "a", expectedVersion: 1, in: txn) { _, _ in EncodedRecord(header: [1], payload: [2]) }
            }
        }
        try store.environment.read { txn throws in #expect(try store.log.head(in: txn).seq == 5) }
    }

    /// Reserved positions written later give the log the records, versions, hashes and head that
    /// appending each record in turn gives; a batch large enough to be hashed a slice per core is too.
    @Test(arguments: [3, 1_500])
    func reservedRecordsWrittenLaterEqualAppendsInTurn(perStream: Int) throws {
        let batched = try Store()
        let inTurn = try Store()
        for store in [batched, inTurn] { try store.append("b", "seed") }
        let streams = ["c", "b", "a", "b\u{1}"]
        var order: [(stream: String, payload: String)] = []
        for round in 0..<perStream {
            for stream in streams { order.append((stream, "\(stream)-\(round)")) }
        }
        try batched.environment.write { txn throws in
            var reserved = ReservedAppends()
            var records: [EncodedRecord] = []
            for (stream, payload) in order {
                // The first reservation of "b" checks the stored version, later ones the reserved version.
                let expected: UInt64? = stream == "b" ? UInt64(records.count / streams.count + 1) : nil
                let position = try #require(try batched.log.reserve(count: 1, to: stream, expectedVersion: expected, in: &reserved, txn: txn).first)
                records.append(EncodedRecord(header: Array("h\(position.seq)".utf8), payload: Array(payload.utf8)))
            }
            // A refused reservation changes nothing reserved.
            #expect(throws: LogError.versionMismatch(expected: 0, actual: UInt64(perStream + 1))) {
                try batched.log.reserve(count: 1, to: "b", expectedVersion: 0, in: &reserved, txn: txn)
            }
            try batched.log.write(&reserved, records: records, in: txn)
            #expect(reserved.isEmpty)
        }
        for (stream, payload) in order { try inTurn.append(stream, payload) }
        try batched.environment.read { txn throws in
            try inTurn.environment.read { other throws in
                #expect(try batched.log.head(in: txn).hash == inTurn.log.head(in: other).hash)
                #expect(try batched.log.head(in: txn).seq == UInt64(order.count + 1))
                for stream in streams + ["b"] {
                    #expect(try batched.log.version(of: stream, in: txn) == inTurn.log.version(of: stream, in: other))
                    #expect(try batched.log.seqs(of: stream, in: txn) == inTurn.log.seqs(of: stream, in: other))
                }
            }
        }
        #expect(try batched.log.verify(environment: batched.environment).firstBrokenSeq == nil)
    }

    /// Records written with another count than was reserved, or after another append, are refused.
    @Test func aReservationWrittenOutOfStepIsRefused() throws {
        let store = try Store()
        try store.environment.write { txn throws in
            var reserved = ReservedAppends()
            _ = try store.log.reserve(count: 2, to: "a", in: &reserved, txn: txn)
            var again = reserved
            #expect(throws: LogError.reservationMismatch) {
                try store.log.write(&reserved, records: [EncodedRecord(header: [1], payload: [2])], in: txn)
            }
            try store.log.append(to: "z", in: txn) { _ in EncodedRecord(header: [1], payload: [2]) }
            #expect(throws: LogError.reservationMismatch) {
                try store.log.write(&again, records: Array(repeating: EncodedRecord(header: [1], payload: [2]), count: 2), in: txn)
            }
        }
    }

    @Test func expectedVersionMismatchWritesNothing() throws {
        let store = try Store()
        try store.append("a", "1")
        #expect(throws: LogError.versionMismatch(expected: 0, actual: 1)) { try store.append("a", "2", expected: 0) }
        try store.append("a", "2", expected: 1)
        try store.environment.read { txn throws in #expect(try store.log.head(in: txn).seq == 2) }
    }

    @Test func verifyFindsTheFirstBrokenRecordAndSurvivesErasure() throws {
        let store = try Store()
        for index in 0..<50 { try store.append("s\(index % 3)", "payload-\(index)") }
        #expect(try store.log.verify(environment: store.environment).firstBrokenSeq == nil)
        // Erasing a payload keeps its hash: the chain still verifies.
        try store.environment.write { txn in try store.log.erasePayload(at: 10, in: txn) }
        try store.environment.read { txn throws in #expect(try store.log.record(at: 10, in: txn)?.payload == nil) }
        let afterErase = try store.log.verify(environment: store.environment)
        #expect(afterErase.firstBrokenSeq == nil)
        #expect(afterErase.checked == 50)
        // Rewriting a payload breaks it at that seq.
        let tables = try store.environment.openTables(EventLog.tableNames)
        let events = try #require(tables["log.events"])
        try store.environment.write { txn throws in
            var bytes = try #require(try txn.get(events, key: BigEndian.bytes(UInt64(20))))
            bytes[bytes.count - 1] ^= 0xFF
            try txn.put(events, key: BigEndian.bytes(UInt64(20)), value: bytes)
        }
        #expect(try store.log.verify(environment: store.environment).firstBrokenSeq == 20)
        #expect(try store.log.verify(range: 1...19, environment: store.environment).firstBrokenSeq == nil)
    }

    @Test func nestedTransactionFailureLeavesTheOuterOneIntact() throws {
        let store = try Store()
        struct Refused: Error {}
        try store.environment.write { txn throws in
            _ = try txn.nested { child in
                try store.log.append(to: "a", in: child) { _ in EncodedRecord(header: [1], payload: [1]) }
            }
            _ = try? txn.nested { child in
                try store.log.append(to: "b", in: child) { _ in EncodedRecord(header: [2], payload: [2]) }
                throw Refused()
            }
        }
        try store.environment.read { txn throws in
            #expect(try store.log.head(in: txn).seq == 1)
            #expect(try store.log.version(of: "b", in: txn) == 0)
        }
    }

    @Test func theMapGrowsAndTheWriteIsRetried() throws {
        let store = try Store(configuration: .init(initialMapSize: 1 << 20, maximumMapSize: 64 << 20))
        let payload = String(repeating: "x", count: 2000)
        for _ in 0..<2000 { try store.append("big", payload) }
        #expect(store.environment.statistics().mapSize > 1 << 20)
        #expect(try store.log.verify(environment: store.environment).checked == 2000)
    }

    @Test func aMapThatCannotGrowFailsWithMapFull() throws {
        let store = try Store(configuration: .init(initialMapSize: 1 << 20, maximumMapSize: 1 << 20))
        let payload = String(repeating: "x", count: 4000)
        let error = #expect(throws: LMDBError.self) {
            for _ in 0..<1000 { try store.append("big", payload) }
        }
        #expect(error?.code == .mapFull)
        #expect(try store.log.verify(environment: store.environment).firstBrokenSeq == nil)
    }

    @Test func cursorsWalkBothWays() throws {
        let store = try Store()
        let tables = try store.environment.openTables(["t"])
        let table = try #require(tables["t"])
        try store.environment.write { txn throws in
            for value in [5, 1, 9, 3] { try txn.put(table, key: BigEndian.bytes(UInt64(value)), value: [UInt8(value)]) }
        }
        try store.environment.read { txn throws in
            var forward: [UInt8] = []
            try txn.withCursor(table) { cursor in
                try cursor.forEach(from: BigEndian.bytes(UInt64(2))) { entry in
                    forward.append(entry.value[0])
                    return true
                }
            }
            #expect(forward == [3, 5, 9])
            var backward: [UInt8] = []
            try txn.withCursor(table) { cursor in
                try cursor.forEachReversed(before: BigEndian.bytes(UInt64(9))) { entry in
                    backward.append(entry.value[0])
                    return true
                }
            }
            #expect(backward == [5, 3, 1])
            #expect(try txn.count(table) == 4)
        }
    }

    /// Logs written before the head moved to the root table keep it in `log.meta` under "head": it is
    /// moved once, and appends chain onto it.
    @Test func aHeadKeptInLogMetaIsMovedToTheRootTable() throws {
        let store = try Store()
        try store.append("a", "1")
        let tables = try store.environment.openTables(["log.meta", Table.rootName])
        let (formerHead, rootKeys) = try store.environment.read { txn throws in
            let head = try store.log.head(in: txn)
            let keys = try txn.withCursor(try #require(tables[Table.rootName])) { cursor in
                var keys: [[UInt8]] = []
                try cursor.forEach(from: []) { entry in
                    keys.append(Array(entry.key))
                    return true
                }
                return keys
            }
            return (head, keys)
        }
        #expect(rootKeys.contains([0] + Array("log.head".utf8)))
        // Put the log back as an earlier version left it: the head in log.meta, none in the root.
        try store.environment.write { txn throws in
            try txn.put(try #require(tables["log.meta"]), key: Array("head".utf8), value: Array(BigEndian.bytes(formerHead.seq)) + formerHead.hash)
            try txn.delete(try #require(tables[Table.rootName]), key: [0] + Array("log.head".utf8))
        }
        #expect(try store.environment.read { try store.log.head(in: $0).seq } == 0)
        try store.log.moveFormerHead(in: store.environment)
        try store.environment.read { txn throws in
            #expect(try store.log.head(in: txn).seq == formerHead.seq)
            #expect(try store.log.head(in: txn).hash == formerHead.hash)
            #expect(try txn.get(try #require(tables["log.meta"]), key: Array("head".utf8)) == nil)
        }
        #expect(try store.append("a", "2") == EventPosition(seq: 2, version: 2))
        #expect(try store.log.verify(environment: store.environment).firstBrokenSeq == nil)
    }

    /// Headers of the rebuildable-index tests: "stream 0x00 version", read back by ``toyIndexing``.
    private static func toyHeader(_ stream: String, _ version: UInt64) -> [UInt8] {
        Array(stream.utf8) + [0] + Array(String(version).utf8)
    }

    private static let toyIndexing = StreamIndexing { header, _ in
        guard let zero = header.firstIndex(of: 0), let version = UInt64(String(decoding: header[(zero + 1)...], as: UTF8.self)) else { return nil }
        return (Array(header[..<zero]), version)
    }

    private static func appendToy(_ log: EventLog, _ environment: Environment, _ stream: String, expected: UInt64? = nil) throws -> EventPosition {
        try environment.write { txn throws in
            try log.append(to: stream, expectedVersion: expected, in: txn) { position in
                EncodedRecord(header: Self.toyHeader(stream, position.version), payload: [1])
            }
        }
    }

    /// A toy log in a new temporary directory whose stream index is kept in the environment's
    /// rebuildable part (`derived`), and that index's table; the caller removes the directory.
    static func toyLogWithRebuildableIndex() throws -> (directory: String, environment: Environment, log: EventLog, index: Table) {
        let directory = NSTemporaryDirectory() + "clstore-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let environment = try Environment(directory: directory, rebuildableSubdirectory: "derived")
        let log = try EventLog.open(in: environment, indexing: Self.toyIndexing)
        let index = try #require(try environment.openTables([EventLog.streamIndexName], durability: .rebuildable)[EventLog.streamIndexName])
        return (directory, environment, log, index)
    }

    /// With the stream index in the rebuildable part, it is derived from the records: an index that
    /// lost entries (its part's commit failed, or the part was lost) catches up before the next append,
    /// so versions and `expected_version` stay right; one ahead of the log is rebuilt.
    @Test func aRebuildableStreamIndexCatchesUpFromTheRecords() throws {
        let (directory, environment, log, index) = try Self.toyLogWithRebuildableIndex()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(try Self.appendToy(log, environment, "a") == EventPosition(seq: 1, version: 1))
        #expect(try Self.appendToy(log, environment, "b") == EventPosition(seq: 2, version: 1))
        // Appended the way the writer batches them: reserved, then written.
        try environment.write { txn throws in
            var reserved = ReservedAppends()
            let positions = try log.reserve(count: 2, to: "a", expectedVersion: 1, in: &reserved, txn: txn)
            #expect(positions == [EventPosition(seq: 3, version: 2), EventPosition(seq: 4, version: 3)])
            try log.write(&reserved, records: positions.map { EncodedRecord(header: Self.toyHeader("a", $0.version), payload: [2]) }, in: txn)
        }
        #expect(try environment.read { try log.seqs(of: "a", in: $0) } == [1, 3, 4])
        // The index loses everything (as its part would with the machine): the next append catches up.
        try environment.write { txn throws in try txn.clear(index) }
        #expect(try environment.read { try log.seqs(of: "a", in: $0) } == [])
        #expect(throws: LogError.versionMismatch(expected: 1, actual: 3)) { try Self.appendToy(log, environment, "a", expected: 1) }
        #expect(try Self.appendToy(log, environment, "a", expected: 3) == EventPosition(seq: 5, version: 4))
        try environment.read { txn throws in
            #expect(try log.seqs(of: "a", in: txn) == [1, 3, 4, 5])
            #expect(try log.seqs(of: "b", in: txn) == [2])
        }
        // Behind by one record (its part lost the last commit), then ahead of the log (an older log restored).
        try environment.write { txn throws in
            #expect(try txn.delete(index, key: Array("a".utf8) + [0] + BigEndian.bytes(UInt64(4))))
            try txn.put(index, key: [0xFF], value: BigEndian.bytes(UInt64(4)))
        }
        #expect(try Self.appendToy(log, environment, "b") == EventPosition(seq: 6, version: 2))
        #expect(try environment.read { try log.seqs(of: "a", in: $0) } == [1, 3, 4, 5])
        try environment.write { txn throws in try txn.put(index, key: [0xFF], value: BigEndian.bytes(UInt64(99))) }
        #expect(try log.catchUpStreamIndex(environment: environment) == 6)
        try environment.read { txn throws in
            #expect(try log.seqs(of: "a", in: txn) == [1, 3, 4, 5])
            #expect(try log.version(of: "b", in: txn) == 2)
            #expect(try log.verify(environment: environment).firstBrokenSeq == nil)
        }
    }

    /// The rebuildable part is anchored in the log: its stream index keeps the last position it covers
    /// with the log's hash there. Opened over a log that does not hold that record (lost, cut short,
    /// another ledger's), the log refuses, naming both positions, before anything is caught up; an
    /// anchor without a hash (an earlier version's) takes the log's hash once.
    @Test func aRebuildablePartIsRefusedOverALogThatDoesNotHoldItsAnchor() throws {
        let (directory, environment, log, index) = try Self.toyLogWithRebuildableIndex()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for stream in ["a", "b", "a"] { _ = try Self.appendToy(log, environment, stream) }
        let head = try environment.read { try log.head(in: $0) }
        #expect(try environment.read { try $0.get(index, key: [0xFF]) } == BigEndian.bytes(UInt64(3)) + head.hash)
        try log.checkRebuildablePartAnchor(in: environment)
        // An earlier version's anchor: the position alone. It takes the log's hash.
        try environment.write { txn throws in try txn.put(index, key: [0xFF], value: BigEndian.bytes(UInt64(2))) }
        try log.checkRebuildablePartAnchor(in: environment)
        let second = try #require(try environment.read { try log.record(at: 2, in: $0) })
        #expect(try environment.read { try $0.get(index, key: [0xFF]) } == BigEndian.bytes(UInt64(2)) + second.hash)
        // Derived from another log: the record at its position has another hash.
        try environment.write { txn throws in try txn.put(index, key: [0xFF], value: BigEndian.bytes(UInt64(3)) + [UInt8](repeating: 9, count: 32)) }
        #expect(throws: LogError.rebuildablePartFromAnotherLog(position: 3, head: 3, cause: .recordDiffers)) {
            try log.checkRebuildablePartAnchor(in: environment)
        }
        #expect(throws: LogError.rebuildablePartFromAnotherLog(position: 3, head: 3, cause: .recordDiffers)) {
            _ = try EventLog.open(in: environment, indexing: Self.toyIndexing)
        }
        // Derived from a longer log: this one ends before its position (lost, emptied, cut short).
        try environment.write { txn throws in try txn.put(index, key: [0xFF], value: BigEndian.bytes(UInt64(7)) + head.hash) }
        #expect(throws: LogError.rebuildablePartFromAnotherLog(position: 7, head: 3, cause: .logEndsBefore)) {
            try log.checkRebuildablePartAnchor(in: environment)
        }
        // The index was left as it was for the operator to decide.
        #expect(try environment.read { try log.seqs(of: "a", in: $0) } == [1, 3])
    }

    /// A log whose stream index an earlier version kept in the durable part: opened with indexing, that
    /// index is dropped and the rebuildable one built from the records.
    @Test func aDurableStreamIndexMovesToTheRebuildablePart() throws {
        let directory = NSTemporaryDirectory() + "clstore-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            let environment = try Environment(directory: directory, rebuildableSubdirectory: "derived")
            let log = try EventLog(tables: try environment.openTables(EventLog.tableNames))
            for stream in ["x", "y", "x"] { _ = try Self.appendToy(log, environment, stream) }
        }
        let environment = try Environment(directory: directory, rebuildableSubdirectory: "derived")
        let log = try EventLog.open(in: environment, indexing: Self.toyIndexing)
        #expect(try environment.read { try log.seqs(of: "x", in: $0) } == [1, 3])
        #expect(try Self.appendToy(log, environment, "x", expected: 2) == EventPosition(seq: 4, version: 3))
        // The durable part's table is gone: opening it creates it empty.
        let durable = try #require(try environment.openTables([EventLog.streamIndexName])[EventLog.streamIndexName])
        #expect(try environment.read { try $0.count(durable) } == 0)
    }
}
