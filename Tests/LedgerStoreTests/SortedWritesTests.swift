// ContactLedger — storage tests.
import Foundation
@testable import LedgerStore
import Testing

/// Writes gathered and applied in key order end as if each had been applied when it was gathered.
struct SortedWritesTests {
    /// 3,000 writes are sorted on the calling thread; 40,000 are sorted a slice per core, then merged.
    @Test(arguments: [3_000, 40_000])
    func theTableEndsAsIfEachWriteHadBeenAppliedInTurn(count: Int) throws {
        let directory = NSTemporaryDirectory() + "clsorted-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let environment = try Environment(directory: directory)
        let table = try #require(try environment.openTables(["t"])["t"])
        // Some keys already stored; then puts, overwrites, deletes (present and absent), prefixes of
        // one another and repeats, gathered in a scrambled order.
        try environment.write { txn throws in
            for number in stride(from: 0, to: 400, by: 3) { try txn.put(table, key: Array("k\(number)".utf8), value: [0]) }
        }
        var generator = SystemRandomNumberGenerator()
        var expected: [[UInt8]: [UInt8]] = [:]
        for number in stride(from: 0, to: 400, by: 3) { expected[Array("k\(number)".utf8)] = [0] }
        // Gathered in two parts joined end to end, as a batch's slices are: the second part's writes
        // come after the first's.
        var writes = SortedWrites()
        var later = SortedWrites()
        for step in 0..<count {
            let key = Array("k\(Int.random(in: 0..<500, using: &generator))".utf8)
            if step % 4 == 0 {
                if step < count / 2 { writes.delete(key: key) } else { later.delete(key: key) }
                expected[key] = nil
            } else {
                let value = Array("v\(step)".utf8)
                if step < count / 2 { writes.put(key: key, value: value) } else { later.put(key: key, value: value) }
                expected[key] = value
            }
        }
        writes.append(contentsOf: later)
        #expect(!writes.isEmpty)
        try environment.write { txn throws in try writes.apply(to: table, in: txn) }
        #expect(writes.isEmpty)
        var stored: [[UInt8]: [UInt8]] = [:]
        try environment.read { txn throws in
            try txn.withCursor(table) { cursor in
                try cursor.forEach(from: []) { entry in
                    stored[Array(entry.key)] = Array(entry.value)
                    return true
                }
            }
        }
        #expect(stored == expected)
    }

    /// The order is LMDB's (unsigned bytes, a prefix first) and, among equal keys, the order gathered:
    /// on the calling thread and, for a large batch, a slice per core merged.
    @Test(arguments: [500, 20_000])
    func theOrderIsByUnsignedBytesThenByGathering(count: Int) {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [UInt8] = [0, 1, 0x41, 0x7F, 0x80, 0xFF]
        let keys: [[UInt8]] = (0..<count).map { _ in
            (0..<Int.random(in: 0...4, using: &generator)).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] }
        }
        let expected = keys.indices.sorted { left, right in
            keys[left] == keys[right] ? left < right : keys[left].lexicographicallyPrecedes(keys[right])
        }
        #expect(SortedWrites.order(of: keys) == expected)
        #expect(SortedWrites.order(of: []) == [])
        #expect(SortedWrites.order(of: [[], [], [0]]) == [0, 1, 2])
    }
}
