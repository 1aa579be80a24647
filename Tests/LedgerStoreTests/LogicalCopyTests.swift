// ContactLedger — storage tests.
import CLMDB
import Foundation
@testable import LedgerStore
import Synchronization
import TestSupport
import Testing

/// The backup's copy of the rebuildable part (``LogicalCopy``): fresh trees holding the live entries
/// alone, under the same table names, with the root table's own entries.
struct LogicalCopyTests {
    /// An environment with a rebuildable part in `derived`: `index` keyed by personal-looking values
    /// (`secret-NNNNNN`), `records` with larger values, and a record of the part's root table.
    private static func populate(_ path: String, count: Int) throws -> (Environment, index: Table, records: Table, root: Table) {
        let environment = try Environment(directory: path, rebuildableSubdirectory: "derived")
        let tables = try environment.openTables(["index", "records", Table.rootName], durability: .rebuildable)
        let index = try #require(tables["index"])
        let records = try #require(tables["records"])
        let root = try #require(tables[Table.rootName])
        for start in stride(from: 0, to: count, by: 20_000) {
            try environment.write { txn throws in
                // Written in a scattered order, as index keys are, so that pages split in the middle.
                for offset in 0..<min(20_000, count - start) {
                    let n = start + (offset * 7_919) % min(20_000, count - start)
                    try txn.put(index, key: Self.secret(n), value: Array(repeating: UInt8(n & 0xFF), count: 16))
                    try txn.put(records, key: BigEndian.bytes(UInt64(n)), value: Array(repeating: 7, count: 200))
                }
                try txn.put(root, key: [0] + Array("owner.mark".utf8), value: [1, 2, 3])
            }
        }
        return (environment, index, records, root)
    }

    private static func secret(_ n: Int) -> [UInt8] {
        let digits = String(n)
        return Array(("secret-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits).utf8)
    }

    @Test func theCopyHoldsEveryLiveEntryAndNoDeletedKey() throws {
        let path = NSTemporaryDirectory() + "cllogical-\(UUID().uuidString)"
        let copy = path + "-copy"
        defer {
            try? FileManager.default.removeItem(atPath: path)
            try? FileManager.default.removeItem(atPath: copy)
        }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: false)
        let count = 60_000
        let (environment, index, _, _) = try Self.populate(path, count: count)
        let deleted = Set(stride(from: 3, to: count, by: 25))
        try environment.write { txn throws in
            for n in deleted { _ = try txn.delete(index, key: Self.secret(n)) }
        }
        // The page copy keeps some of them as branch keys: the shape this test needs.
        let pages = path + "-pages"
        defer { try? FileManager.default.removeItem(atPath: pages) }
        try FileManager.default.createDirectory(atPath: pages, withIntermediateDirectories: false)
        try Environment.copy(try #require(environment.rebuildablePointer), into: pages)
        let paged = try Data(contentsOf: URL(fileURLWithPath: pages + "/data.mdb"))
        let separators = NumberedBytes.numbers(after: "secret-", digits: 6, in: paged).intersection(deleted)
        #expect(!separators.isEmpty, "no deleted key left as a separator")

        try environment.copy(to: copy)
        let file = copy + "/derived/data.mdb"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        let held = NumberedBytes.numbers(after: "secret-", digits: 6, in: bytes).intersection(deleted)
        #expect(held.isEmpty, "the copy holds \(held.count) deleted keys (the page copy \(separators.count)), \(held.sorted().prefix(5))")
        let mode = try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        #expect(try FileManager.default.contentsOfDirectory(atPath: copy + "/derived").sorted() == ["data.mdb", "ownership"])

        let copied = try Environment(directory: copy, rebuildableSubdirectory: "derived")
        #expect(!copied.rebuildablePartWasDiscarded)
        let tables = try copied.openTables(["index", "records", Table.rootName], durability: .rebuildable)
        try copied.read { txn throws in
            let copiedIndex = try #require(tables["index"])
            #expect(try txn.count(copiedIndex) == count - deleted.count)
            #expect(try txn.count(try #require(tables["records"])) == count)
            #expect(try txn.get(try #require(tables[Table.rootName]), key: [0] + Array("owner.mark".utf8)) == [1, 2, 3])
            #expect(try txn.get(copiedIndex, key: Self.secret(4)) == Array(repeating: 4, count: 16))
            #expect(try txn.get(copiedIndex, key: Self.secret(3)) == nil)
        }
        // Writable as any part: new keys go between the copied ones.
        try copied.write { txn throws in try txn.put(try #require(tables["index"]), key: Self.secret(3), value: [1]) }
    }

    /// The copy's time against LMDB's page copy (`MDB_CP_COMPACT`), same part, same run, alternated:
    /// `CONTACTLEDGER_COPY_TIMING=1 swift test --filter LogicalCopyTests` prints them.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["CONTACTLEDGER_COPY_TIMING"] != nil))
    func copyTimings() throws {
        let path = NSTemporaryDirectory() + "cltiming-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let count = Int(ProcessInfo.processInfo.environment["CONTACTLEDGER_COPY_TIMING"] ?? "") ?? 300_000
        let (environment, _, _, _) = try Self.populate(path, count: count)
        let part = try #require(environment.rebuildablePointer)
        let tables = environment.rebuildableTableNames.withLock { $0 }
        for round in 0..<3 {
            for logical in (round % 2 == 0 ? [false, true] : [true, false]) {
                let target = path + "-\(round)-\(logical)"
                defer { try? FileManager.default.removeItem(atPath: target) }
                try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
                let started = DispatchTime.now().uptimeNanoseconds
                if logical {
                    let snapshot = try Environment.beginRead(part)
                    defer { mdb_txn_abort(snapshot) }
                    try LogicalCopy.copy(snapshot: snapshot, tables: tables, into: target, mapSize: 1 << 34, unopened: .leftOut)
                } else {
                    try Environment.copy(part, into: target)
                }
                let milliseconds = (DispatchTime.now().uptimeNanoseconds - started) / 1_000_000
                let size = (try FileManager.default.attributesOfItem(atPath: target + "/data.mdb")[.size] as? NSNumber)?.intValue ?? 0
                print("copy timing: \(logical ? "logical" : "pages  ") \(2 * count) entries, \(size >> 10) KiB, \(milliseconds) ms")
            }
        }
    }
}
