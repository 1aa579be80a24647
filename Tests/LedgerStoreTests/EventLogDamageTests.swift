// ContactLedger — storage tests.
import Foundation
import LedgerStore
import Testing

/// A log whose stored records were changed behind its back: `verify` names the first broken seq and
/// what is wrong there, reads stop at the head and (checking links) at the damage, an append that meets
/// a record stored past the head is refused as damage, and ``EventLog/checkHead(in:)`` refuses a head
/// that disagrees with the records.
struct EventLogDamageTests {
    typealias Store = EventLogTests.Store

    /// Twenty records whose toy headers name their seq (`h<seq>`), as the ledger's headers do.
    static func twentyRecords() throws -> Store {
        let store = try Store()
        for index in 0..<20 { try store.append("s\(index % 3)", "payload-\(index)") }
        return store
    }

    /// The seq a toy header `h<seq>` names.
    static func headerSeq(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard bytes.first == UInt8(ascii: "h") else { return nil }
        return UInt64(String(decoding: bytes.dropFirst(), as: UTF8.self))
    }

    /// Edits the stored tables directly, as something other than the log would.
    static func tamper(_ store: Store, _ edit: (Transaction, _ events: Table, _ root: Table) throws -> Void) throws {
        let tables = try store.environment.openTables(EventLog.tableNames)
        let events = try #require(tables["log.events"])
        let root = try #require(tables[Table.rootName])
        try store.environment.write { txn in try edit(txn, events, root) }
    }

    static func key(_ seq: UInt64) -> [UInt8] { BigEndian.bytes(seq) }
    /// The root table's key of the head (see EventLog).
    static let headKey = [0] + Array("log.head".utf8)

    /// One change to a stored log and what verify must answer.
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var broken: UInt64
        var reason: LogDamage
        var edit: @Sendable (Transaction, Table, Table) throws -> Void
        var testDescription: String { self.name }
    }

    static let cases: [Case] = [
        Case(name: "payload byte", broken: 7, reason: .payloadHash) { txn, events, _ in
            var bytes = try #require(try txn.get(events, key: key(7)))
            bytes[bytes.count - 1] ^= 0x01
            try txn.put(events, key: key(7), value: bytes)
        },
        Case(name: "stored hash", broken: 7, reason: .hash) { txn, events, _ in
            var bytes = try #require(try txn.get(events, key: key(7)))
            bytes[33] ^= 0x01
            try txn.put(events, key: key(7), value: bytes)
        },
        Case(name: "stored prev_hash", broken: 7, reason: .prevHash) { txn, events, _ in
            var bytes = try #require(try txn.get(events, key: key(7)))
            bytes[1] ^= 0x01
            try txn.put(events, key: key(7), value: bytes)
        },
        Case(name: "swapped", broken: 7, reason: .prevHash) { txn, events, _ in
            let seven = try #require(try txn.get(events, key: key(7)))
            let eight = try #require(try txn.get(events, key: key(8)))
            try txn.put(events, key: key(7), value: eight)
            try txn.put(events, key: key(8), value: seven)
        },
        Case(name: "deleted", broken: 7, reason: .missing) { txn, events, _ in try txn.delete(events, key: key(7)) },
        Case(name: "tail deleted, head kept", broken: 19, reason: .missing) { txn, events, _ in
            try txn.delete(events, key: key(19))
            try txn.delete(events, key: key(20))
        },
        Case(name: "garbage", broken: 7, reason: .undecodable) { txn, events, _ in try txn.put(events, key: key(7), value: Array("\u{1}garbage".utf8)) },
        Case(name: "empty", broken: 7, reason: .undecodable) { txn, events, _ in try txn.put(events, key: key(7), value: []) },
        Case(name: "header length past the end", broken: 7, reason: .undecodable) { txn, events, _ in
            var bytes = try #require(try txn.get(events, key: key(7)))
            bytes.replaceSubrange(97..<101, with: [0xFF, 0xFF, 0xFF, 0xF0])
            try txn.put(events, key: key(7), value: bytes)
        },
        Case(name: "a 9-byte key among the positions", broken: 8, reason: .strayKey) { txn, events, _ in
            try txn.put(events, key: key(7) + [0], value: try #require(try txn.get(events, key: key(7))))
        },
        // Keys sorting before seq 1's went unseen: the chunks read from seq 1's key (README audit).
        Case(name: "a 1-byte key sorting first", broken: 1, reason: .strayKey) { txn, events, _ in
            try txn.put(events, key: [0], value: try #require(try txn.get(events, key: key(1))))
        },
        Case(name: "a record at seq 0", broken: 1, reason: .strayKey) { txn, events, _ in
            try txn.put(events, key: key(0), value: try #require(try txn.get(events, key: key(1))))
        },
        Case(name: "record past the head", broken: 21, reason: .beyondHead) { txn, events, _ in
            try txn.put(events, key: key(21), value: try #require(try txn.get(events, key: key(20))))
        },
        Case(name: "head moved back", broken: 16, reason: .beyondHead) { txn, events, root in
            let fifteen = try #require(try txn.get(events, key: key(15)))
            try txn.put(root, key: headKey, value: key(15) + Array(fifteen[33..<65]))
        },
        Case(name: "record moved past the head", broken: 20, reason: .missing) { txn, events, _ in
            try txn.put(events, key: key(26), value: try #require(try txn.get(events, key: key(20))))
            try txn.delete(events, key: key(20))
        },
        Case(name: "a 2-byte key sorting last", broken: 21, reason: .beyondHead) { txn, events, _ in
            try txn.put(events, key: [0, 1], value: try #require(try txn.get(events, key: key(5))))
        },
        Case(name: "head hash", broken: 20, reason: .head) { txn, _, root in
            var head = try #require(try txn.get(root, key: headKey))
            head[8] ^= 0x01
            try txn.put(root, key: headKey, value: head)
        },
    ]

    @Test(arguments: cases)
    func verifyNamesTheFirstBrokenSeqAndWhy(_ damage: Case) throws {
        let store = try Self.twentyRecords()
        #expect(try store.log.verify(environment: store.environment, headerSeq: Self.headerSeq).firstBrokenSeq == nil)
        try Self.tamper(store, damage.edit)
        let result = try store.log.verify(environment: store.environment, headerSeq: Self.headerSeq)
        #expect(result.firstBrokenSeq == damage.broken)
        #expect(result.reason == damage.reason)
        // Before the damage, a range still verifies (damage before seq 1 is before every range from it).
        guard damage.broken > 6 else { return }
        let before = try store.log.verify(range: 1...6, environment: store.environment, headerSeq: Self.headerSeq)
        #expect(before.firstBrokenSeq == nil && before.reason == nil)
        // The range's end and its hash: what an anchor recorded elsewhere is compared with.
        let six = try store.environment.read { txn in try store.log.record(at: 6, in: txn)?.hash }
        #expect(before.last?.seq == 6 && before.last?.hash == six)
        #expect(result.last == nil)
    }

    /// A header naming another seq than its key, in a chain that is otherwise intact (as one recomputed
    /// after moving a record would be), and a header the layer above cannot read.
    @Test func verifyChecksThatEachHeaderNamesItsOwnSeq() throws {
        let store = try Store()
        for index in 1...12 {
            _ = try store.environment.write { txn in
                try store.log.append(to: "s", in: txn) { position in
                    let header = index == 5 ? "h6" : index == 9 ? "hx" : "h\(position.seq)"
                    return EncodedRecord(header: Array(header.utf8), payload: Array("p\(index)".utf8))
                }
            }
        }
        // Without a header reader, only the chain is checked: it holds.
        #expect(try store.log.verify(environment: store.environment).firstBrokenSeq == nil)
        let result = try store.log.verify(environment: store.environment, headerSeq: Self.headerSeq)
        #expect(result.firstBrokenSeq == 5 && result.reason == .seqMismatch)
        let later = try store.log.verify(range: 6...12, environment: store.environment, headerSeq: Self.headerSeq)
        #expect(later.firstBrokenSeq == 9 && later.reason == .undecodable)
    }

    @Test func anEmptyLogVerifiesUnlessSomethingIsStoredInIt() throws {
        let store = try Store()
        let empty = try store.log.verify(environment: store.environment)
        #expect(empty.firstBrokenSeq == nil && empty.headSeq == 0 && empty.checked == 0)
        try store.log.checkHead(in: store.environment)
        let source = try Self.twentyRecords()
        let sourceEvents = try #require(try source.environment.openTables(["log.events"])["log.events"])
        let record = try #require(try source.environment.read { txn in try txn.get(sourceEvents, key: Self.key(1)) })
        try Self.tamper(store) { txn, events, _ in try txn.put(events, key: Self.key(1), value: record) }
        let result = try store.log.verify(environment: store.environment)
        #expect(result.firstBrokenSeq == 1 && result.reason == .beyondHead)
        #expect(throws: LogError.headDisagrees(directory: store.environment.directory, headSeq: 0, lastSeq: 1)) {
            try store.log.checkHead(in: store.environment)
        }
    }

    /// Reads visit nothing past the head; checking links, they stop at the damage with its seq.
    @Test func readsStopAtTheHeadAndCheckingLinksAtTheDamage() throws {
        let store = try Self.twentyRecords()
        try Self.tamper(store) { txn, events, _ in
            try txn.put(events, key: Self.key(21), value: try #require(try txn.get(events, key: Self.key(20))))
        }
        for checkingLinks in [false, true] {
            var seen: [UInt64] = []
            try store.environment.read { txn in
                try store.log.forEachView(after: 0, checkingLinks: checkingLinks, in: txn) { view in
                    seen.append(view.seq)
                    return true
                }
            }
            #expect(seen == Array(1...20))
        }
        try Self.tamper(store) { txn, events, _ in
            let seven = try #require(try txn.get(events, key: Self.key(7)))
            try txn.put(events, key: Self.key(7), value: try #require(try txn.get(events, key: Self.key(8))))
            try txn.put(events, key: Self.key(8), value: seven)
            try txn.delete(events, key: Self.key(15))
        }
        func visit(after seq: UInt64, checkingLinks: Bool = true) throws -> [UInt64] {
            var seen: [UInt64] = []
            try store.environment.read { txn in
                try store.log.forEach(after: seq, checkingLinks: checkingLinks, in: txn) { record in
                    seen.append(record.seq)
                    return true
                }
            }
            return seen
        }
        #expect(try visit(after: 0, checkingLinks: false).count == 19)
        #expect(throws: LogError.damaged(seq: 7, .prevHash)) { try visit(after: 0) }
        #expect(throws: LogError.damaged(seq: 8, .prevHash)) { try visit(after: 7) }
        #expect(throws: LogError.damaged(seq: 15, .missing)) { try visit(after: 10) }
        #expect(throws: LogError.damaged(seq: 15, .missing)) { try visit(after: 15) }
        #expect(try visit(after: 16) == [17, 18, 19, 20])
        // A reader that stops before the damage never meets it.
        var first: [UInt64] = []
        try store.environment.read { txn in
            try store.log.forEach(after: 0, checkingLinks: true, in: txn) { record in
                first.append(record.seq)
                return record.seq < 5
            }
        }
        #expect(first == [1, 2, 3, 4, 5])
    }

    /// An append that meets a record stored past the head is refused as damage at the seq it would
    /// take (LMDB's append answered MDB_KEYEXIST, which read as a bug), and the open check refuses it.
    @Test func anAppendOverARecordPastTheHeadIsRefusedAsDamage() throws {
        let store = try Self.twentyRecords()
        try store.log.checkHead(in: store.environment)
        try Self.tamper(store) { txn, events, _ in
            try txn.put(events, key: Self.key(21), value: try #require(try txn.get(events, key: Self.key(3))))
        }
        #expect(throws: LogError.damaged(seq: 21, .beyondHead)) { try store.append("s0", "after") }
        #expect(throws: LogError.damaged(seq: 21, .beyondHead)) {
            try store.environment.write { txn in
                var reserved = ReservedAppends()
                let positions = try store.log.reserve(count: 2, to: "s1", in: &reserved, txn: txn)
                try store.log.write(&reserved, records: positions.map { _ in EncodedRecord(header: [1], payload: [2]) }, in: txn)
            }
        }
        #expect(throws: LogError.headDisagrees(directory: store.environment.directory, headSeq: 20, lastSeq: 21)) {
            try store.log.checkHead(in: store.environment)
        }
        let message = LogError.headDisagrees(directory: "/d", headSeq: 20, lastSeq: 21).description
        #expect(message.contains("/d/data.mdb") && message.contains("seq 20") && message.contains("seq 21"))
    }

    @Test func theOpenCheckRefusesAHeadThatDisagreesWithTheRecords() throws {
        let missing = try Self.twentyRecords()
        try Self.tamper(missing) { txn, events, _ in try txn.delete(events, key: Self.key(20)) }
        #expect(throws: LogError.headDisagrees(directory: missing.environment.directory, headSeq: 20, lastSeq: 19)) {
            try missing.log.checkHead(in: missing.environment)
        }
        let rehashed = try Self.twentyRecords()
        try Self.tamper(rehashed) { txn, _, root in
            var head = try #require(try txn.get(root, key: Self.headKey))
            head[8] ^= 0x01
            try txn.put(root, key: Self.headKey, value: head)
        }
        #expect(throws: LogError.headDisagrees(directory: rehashed.environment.directory, headSeq: 20, lastSeq: 20)) {
            try rehashed.log.checkHead(in: rehashed.environment)
        }
        let stray = try Self.twentyRecords()
        try Self.tamper(stray) { txn, events, _ in try txn.put(events, key: [0, 1], value: [1]) }
        #expect(throws: LogError.headDisagrees(directory: stray.environment.directory, headSeq: 20, lastSeq: nil)) {
            try stray.log.checkHead(in: stray.environment)
        }
    }
}
