// ContactLedger — storage tests.
import Foundation
import LedgerStore
import Synchronization
import Testing

/// An environment with a rebuildable part: one transaction over two LMDB environments, and the rule
/// that decides whether the rebuildable part is trusted when it is opened again.
struct RebuildablePartTests {
    final class Directory {
        let path = NSTemporaryDirectory() + "clparts-\(UUID().uuidString)"
        init() throws { try FileManager.default.createDirectory(atPath: self.path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: self.path) }
        var marker: String { self.path + "/derived/ownership" }
    }

    /// Opens the environment with one durable and one rebuildable table.
    private func open(_ directory: Directory) throws -> (Environment, durable: Table, rebuildable: Table) {
        let environment = try Environment(directory: directory.path, rebuildableSubdirectory: "derived")
        let durable = try #require(try environment.openTables(["facts"])["facts"])
        let rebuildable = try #require(try environment.openTables(["views"], durability: .rebuildable)["views"])
        return (environment, durable, rebuildable)
    }

    private func write(_ environment: Environment, _ durable: Table, _ rebuildable: Table, _ key: String) throws {
        try environment.write { txn throws in
            try txn.put(durable, key: Array(key.utf8), value: [1])
            try txn.put(rebuildable, key: Array(key.utf8), value: [2])
        }
    }

    @Test func eachTableLivesInItsOwnPartAndOneTransactionSeesBoth() throws {
        let directory = try Directory()
        do {
            let (environment, durable, rebuildable) = try self.open(directory)
            try self.write(environment, durable, rebuildable, "a")
            try environment.read { txn throws in
                #expect(try txn.get(durable, key: Array("a".utf8)) == [1])
                #expect(try txn.get(rebuildable, key: Array("a".utf8)) == [2])
            }
        }
        // The rebuildable part's own file holds its table.
        let alone = try Environment(directory: directory.path + "/derived")
        let views = try #require(try alone.openTables(["views"])["views"])
        #expect(try alone.read { try $0.get(views, key: Array("a".utf8)) } == [2])
    }

    @Test func aFailedNestedTransactionLeavesBothPartsAsTheyWere() throws {
        let directory = try Directory()
        let (environment, durable, rebuildable) = try self.open(directory)
        struct Refused: Error {}
        try environment.write { txn throws in
            try txn.put(durable, key: [0], value: [0])
            #expect(throws: Refused.self) {
                try txn.nested { child throws in
                    try child.put(durable, key: [1], value: [1])
                    try child.put(rebuildable, key: [1], value: [1])
                    throw Refused()
                }
            }
            try txn.nested { child throws in try child.put(rebuildable, key: [2], value: [2]) }
        }
        try environment.read { txn throws in
            #expect(try txn.count(durable) == 1)
            #expect(try txn.get(rebuildable, key: [1]) == nil)
            #expect(try txn.get(rebuildable, key: [2]) == [2])
        }
    }

    @Test func aThrowingBodyWritesNothingInEitherPart() throws {
        let directory = try Directory()
        let (environment, durable, rebuildable) = try self.open(directory)
        struct Refused: Error {}
        #expect(throws: Refused.self) {
            try environment.write { txn throws in
                try txn.put(durable, key: [1], value: [1])
                try txn.put(rebuildable, key: [1], value: [1])
                throw Refused()
            }
        }
        try environment.read { txn throws in
            #expect(try txn.count(durable) == 0)
            #expect(try txn.count(rebuildable) == 0)
        }
    }

    /// A write commits the durable part, then the rebuildable one; a reader in between must not see
    /// the first without the second.
    @Test func readersSeeBothPartsAsOfTheSameWrite() throws {
        let directory = try Directory()
        let (environment, durable, rebuildable) = try self.open(directory)
        let key = Array("n".utf8)
        let done = Mutex(false)
        let mismatches = Mutex(0)
        let reads = Mutex(0)
        let readers = (0..<2).map { _ in
            Thread {
                while !done.withLock({ $0 }) {
                    let pair = try? environment.read { txn throws in
                        (try txn.get(durable, key: key), try txn.get(rebuildable, key: key))
                    }
                    reads.withLock { $0 += 1 }
                    if let pair, pair.0 != pair.1 { mismatches.withLock { $0 += 1 } }
                }
            }
        }
        for reader in readers { reader.start() }
        for index in 0..<1500 {
            // Many rebuildable pages per write widen the window between the two commits.
            try environment.write { txn throws in
                try txn.put(durable, key: key, value: BigEndian.bytes(UInt64(index)))
                for page in 0..<24 { try txn.put(rebuildable, key: BigEndian.bytes(UInt64(page * 1_000_003 + index)), value: [UInt8](repeating: 7, count: 900)) }
                try txn.put(rebuildable, key: key, value: BigEndian.bytes(UInt64(index)))
            }
        }
        done.withLock { $0 = true }
        Thread.sleep(forTimeInterval: 0.1)
        #expect(reads.withLock { $0 } > 100)
        #expect(mismatches.withLock { $0 } == 0)
    }

    @Test func theRebuildablePartIsKeptAfterACleanCloseOrAProcessCrashInThisBoot() throws {
        let directory = try Directory()
        do {
            let (environment, durable, rebuildable) = try self.open(directory)
            try self.write(environment, durable, rebuildable, "kept")
            // While open, the marker names this boot; deinit (a clean close) marks it closed.
            let marker = try String(contentsOfFile: directory.marker, encoding: .utf8)
            #expect(marker.hasPrefix("open "))
        }
        #expect(try String(contentsOfFile: directory.marker, encoding: .utf8) == "closed\n")
        do {
            let (environment, _, rebuildable) = try self.open(directory)
            #expect(!environment.rebuildablePartWasDiscarded)
            #expect(try environment.read { try $0.get(rebuildable, key: Array("kept".utf8)) } == [2])
        }
        // A process crash in this boot leaves the marker open with this boot's id: still trusted.
        let bootID = try String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try "open \(bootID)\n".write(toFile: directory.marker, atomically: true, encoding: .utf8)
        let (environment, _, rebuildable) = try self.open(directory)
        #expect(!environment.rebuildablePartWasDiscarded)
        #expect(try environment.read { try $0.get(rebuildable, key: Array("kept".utf8)) } == [2])
    }

    @Test func theRebuildablePartIsDiscardedWhenTheMachineWentDownWithItOpen() throws {
        let directory = try Directory()
        do {
            let (environment, durable, rebuildable) = try self.open(directory)
            try self.write(environment, durable, rebuildable, "lost")
        }
        // As if the machine had gone down while a process of an earlier boot had the part open.
        try "open 00000000-0000-0000-0000-000000000000\n".write(toFile: directory.marker, atomically: true, encoding: .utf8)
        let (environment, durable, rebuildable) = try self.open(directory)
        #expect(environment.rebuildablePartWasDiscarded)
        try environment.read { txn throws in
            #expect(try txn.get(durable, key: Array("lost".utf8)) == [1])
            #expect(try txn.get(rebuildable, key: Array("lost".utf8)) == nil)
        }
        // A part without a marker is not trusted either.
        try environment.closeRebuildablePart()
        try FileManager.default.removeItem(atPath: directory.marker)
        let again = try Environment(directory: directory.path, rebuildableSubdirectory: "derived")
        #expect(again.rebuildablePartWasDiscarded)
    }

    /// A file cut short, which LMDB would map and fault on past its end (SIGBUS, naming no file), is
    /// found at opening: a rebuildable part's is discarded and made again, saying why; a durable part's
    /// is refused, naming the file. Pages that are not LMDB's make a rebuildable part discarded too.
    @Test func aDamagedRebuildablePartIsDiscardedAndACutShortDurablePartRefused() throws {
        let directory = try Directory()
        func fill() throws {
            let (environment, durable, rebuildable) = try self.open(directory)
            try environment.write { txn throws in
                for index in 0..<400 {
                    try txn.put(durable, key: Array("k\(index)".utf8), value: [UInt8](repeating: 1, count: 200))
                    try txn.put(rebuildable, key: Array("k\(index)".utf8), value: [UInt8](repeating: 2, count: 200))
                }
            }
        }
        try fill()
        let part = directory.path + "/derived/data.mdb"
        #expect(truncate(part, 8192) == 0)
        do {
            let (environment, durable, rebuildable) = try self.open(directory)
            #expect(environment.rebuildablePartWasDiscarded)
            let damage = try #require(environment.rebuildablePartDamage as? TruncatedDataFile)
            #expect(damage.path == part && damage.size == 8192 && damage.usedBytes > 8192)
            try environment.read { txn throws in
                #expect(try txn.get(durable, key: Array("k7".utf8))?.count == 200)
                #expect(try txn.get(rebuildable, key: Array("k7".utf8)) == nil)
            }
        }
        // Both meta pages overwritten: "not an LMDB file".
        try fill()
        let handle = try #require(FileHandle(forWritingAtPath: part))
        try handle.write(contentsOf: Data(repeating: 0xA5, count: 8192))
        try handle.close()
        do {
            let (environment, _, rebuildable) = try self.open(directory)
            #expect((environment.rebuildablePartDamage as? LMDBError)?.code.rawValue == -30793)  // MDB_INVALID
            #expect(try environment.read { try $0.get(rebuildable, key: Array("k7".utf8)) } == nil)
        }
        let log = directory.path + "/data.mdb"
        #expect(truncate(log, 8192) == 0)
        let refusal = #expect(throws: TruncatedDataFile.self) { _ = try self.open(directory) }
        #expect(refusal?.path == log)
        #expect(refusal?.description.contains("\(log) is 8192 bytes") == true)
    }

    /// LMDB's own errors at opening say which environment: "Permission denied" alone named no file.
    @Test func anEnvironmentThatCannotBeOpenedIsNamed() throws {
        let missing = NSTemporaryDirectory() + "clparts-missing-\(UUID().uuidString)"
        let error = #expect(throws: LMDBError.self) { _ = try Environment(directory: missing) }
        #expect(error?.description.hasPrefix("mdb_env_open \(missing): ") == true, "\(String(describing: error))")
    }

    /// A part on its way to deletion (a rebuild's staging tables) is closed without its sync, and
    /// without the clean-close mark that would vouch for it.
    @Test func aDiscardedPartIsClosedWithoutBeingSyncedOrMarkedClean() throws {
        let directory = try Directory()
        do {
            let (environment, durable, rebuildable) = try self.open(directory)
            try self.write(environment, durable, rebuildable, "scratch")
            environment.discardRebuildablePart()
        }
        #expect(try String(contentsOfFile: directory.marker, encoding: .utf8).hasPrefix("open "))
        do {
            // Without the discard, the same close marks it clean.
            let (environment, durable, rebuildable) = try self.open(directory)
            try self.write(environment, durable, rebuildable, "kept")
        }
        #expect(try String(contentsOfFile: directory.marker, encoding: .utf8) == "closed\n")
    }

    @Test func aCopyHoldsBothPartsAndOpensTrusted() throws {
        let directory = try Directory()
        let (environment, durable, rebuildable) = try self.open(directory)
        for index in 0..<100 { try self.write(environment, durable, rebuildable, "k\(index)") }
        let copy = directory.path + "-copy"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: false)
        try environment.copy(to: copy)
        let copied = try Environment(directory: copy, rebuildableSubdirectory: "derived")
        #expect(!copied.rebuildablePartWasDiscarded)
        let tables = try copied.openTables(["facts"])
        let views = try copied.openTables(["views"], durability: .rebuildable)
        try copied.read { txn throws in
            #expect(try txn.count(try #require(tables["facts"])) == 100)
            #expect(try txn.count(try #require(views["views"])) == 100)
        }
    }

    /// A compacted copy's file is exactly its used pages: opened with a smaller map asked for, LMDB maps
    /// just those, which leaves no room for the writes made at open. The map is widened at once.
    @Test func aFileLargerThanTheMapAskedForOpensWithRoomToWrite() throws {
        let directory = try Directory()
        let (environment, durable, rebuildable) = try self.open(directory)
        for index in 0..<400 {
            try environment.write { txn throws in
                try txn.put(durable, key: Array("k\(index)".utf8), value: [UInt8](repeating: 1, count: 900))
                try txn.put(rebuildable, key: Array("k\(index)".utf8), value: [UInt8](repeating: 2, count: 900))
            }
        }
        let copy = directory.path + "-copy"
        defer { try? FileManager.default.removeItem(atPath: copy) }
        try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: false)
        try environment.copy(to: copy)
        let small = Environment.Configuration(initialMapSize: 16 * 4096, maximumMapSize: 1 << 30)
        let copied = try Environment(directory: copy, configuration: small, rebuildableSubdirectory: "derived")
        let statistics = copied.statistics()
        #expect(statistics.usedBytes > 16 * 4096)
        #expect(statistics.mapSize >= statistics.usedBytes * 5 / 4)
        let facts = try #require(try copied.openTables(["facts"])["facts"])
        try copied.write { txn throws in try txn.put(facts, key: [9], value: [9]) }
        #expect(try copied.read { try $0.count(facts) } == 401)
    }

    /// A rebuildable part whose free pages are a large share of its file (a rebuild freed a generation)
    /// is compacted when it is opened: the same entries in a smaller file, trusted and writable. One
    /// with few free pages, or fewer free bytes than asked for, is left as it is.
    @Test func aSparseRebuildablePartIsCompactedWhenOpened() throws {
        let directory = try Directory()
        let dataPath = directory.path + "/derived/data.mdb"
        var compacting = Environment.Configuration()
        compacting.rebuildableCompactionMinimumFreeBytes = 1 << 20
        do {
            let (environment, durable, rebuildable) = try self.open(directory)
            let scratch = try #require(try environment.openTables(["scratch"], durability: .rebuildable)["scratch"])
            try environment.write { txn throws in
                for index in 0..<4_000 { try txn.put(scratch, key: Array("s\(index)".utf8), value: [UInt8](repeating: 3, count: 1_000)) }
            }
            for index in 0..<50 { try self.write(environment, durable, rebuildable, "k\(index)") }
            try environment.write { txn throws in try txn.clear(scratch) }
        }
        let sizeBefore = try #require(try FileManager.default.attributesOfItem(atPath: dataPath)[.size] as? NSNumber).intValue

        // Too few free bytes for the default threshold: left as it is.
        do {
            let environment = try Environment(directory: directory.path, rebuildableSubdirectory: "derived")
            #expect(try environment.rebuildablePartCompaction.get() == nil)
        }
        #expect(try #require(try FileManager.default.attributesOfItem(atPath: dataPath)[.size] as? NSNumber).intValue == sizeBefore)
        // `Int.max` never compacts, however sparse (a rebuild's staging area, copied and deleted anyway).
        do {
            var never = Environment.Configuration()
            never.rebuildableCompactionMinimumFreeBytes = .max
            let environment = try Environment(directory: directory.path, configuration: never, rebuildableSubdirectory: "derived")
            #expect(try environment.rebuildablePartCompaction.get() == nil)
        }
        #expect(try #require(try FileManager.default.attributesOfItem(atPath: dataPath)[.size] as? NSNumber).intValue == sizeBefore)

        do {
            let environment = try Environment(directory: directory.path, configuration: compacting, rebuildableSubdirectory: "derived")
            let compaction = try #require(try environment.rebuildablePartCompaction.get())
            #expect(!environment.rebuildablePartWasDiscarded)
            #expect(compaction.bytesAfter * 4 < compaction.bytesBefore, "\(compaction)")
            let durable = try #require(try environment.openTables(["facts"])["facts"])
            let rebuildable = try #require(try environment.openTables(["views"], durability: .rebuildable)["views"])
            try environment.read { txn throws in
                #expect(try txn.count(durable) == 50)
                #expect(try txn.count(rebuildable) == 50)
                #expect(try txn.get(rebuildable, key: Array("k49".utf8)) == [2])
            }
            try self.write(environment, durable, rebuildable, "after")
            #expect(try environment.read { try $0.get(rebuildable, key: Array("after".utf8)) } == [2])
        }
        let sizeAfter = try #require(try FileManager.default.attributesOfItem(atPath: dataPath)[.size] as? NSNumber).intValue
        #expect(sizeAfter * 2 < sizeBefore, "\(sizeBefore) bytes before, \(sizeAfter) after")
        #expect(!FileManager.default.fileExists(atPath: directory.path + "/derived/compacting"))

        // Compacted, it has few free pages: opened again, it is left as it is.
        let again = try Environment(directory: directory.path, configuration: compacting, rebuildableSubdirectory: "derived")
        #expect(try again.rebuildablePartCompaction.get() == nil)
        #expect(!again.rebuildablePartWasDiscarded)
    }

    /// A sparse rebuildable part is replaced, while in use, by a compacted copy that was brought up to
    /// date from the durable part: a smaller file, every entry (those written after the copy included),
    /// readers that always see both parts as of the same write, writes that go on, a clean close.
    @Test func aSparsePartIsReplacedByItsCompactedCopyWhileInUse() throws {
        let directory = try Directory()
        let dataPath = directory.path + "/derived/data.mdb"
        let scratchPath = directory.path + "/derived/compacting-online"
        var compacting = Environment.Configuration()
        compacting.rebuildableCompactionMinimumFreeBytes = 1 << 20
        let size = { () throws -> Int in try #require(try FileManager.default.attributesOfItem(atPath: dataPath)[.size] as? NSNumber).intValue }
        do {
            let environment = try Environment(directory: directory.path, configuration: compacting, rebuildableSubdirectory: "derived")
            let durable = try #require(try environment.openTables(["facts"])["facts"])
            let rebuildable = try #require(try environment.openTables(["views"], durability: .rebuildable)["views"])
            let scratch = try #require(try environment.openTables(["scratch"], durability: .rebuildable)["scratch"])
            #expect(try !environment.rebuildablePartIsSparse())
            try environment.write { txn throws in
                for index in 0..<4_000 { try txn.put(scratch, key: Array("s\(index)".utf8), value: [UInt8](repeating: 3, count: 1_000)) }
            }
            for index in 0..<50 { try self.write(environment, durable, rebuildable, "k\(index)") }
            try environment.write { txn throws in try txn.clear(scratch) }
            #expect(try environment.rebuildablePartIsSparse())
            let sizeBefore = try size()

            let copy = try #require(try environment.copyRebuildablePart())
            #expect(copy.bytesCopied * 4 < copy.bytesBefore, "\(copy.bytesCopied) of \(copy.bytesBefore) bytes")
            #expect(FileManager.default.fileExists(atPath: scratchPath))
            // Written after the copy began: the copy lacks them until it is brought up to date.
            for index in 50..<60 { try self.write(environment, durable, rebuildable, "k\(index)") }
            try copy.write { txn throws in
                #expect(try txn.get(rebuildable, key: Array("k55".utf8)) == nil)
                #expect(try txn.get(durable, key: Array("k55".utf8)) == [1])
            }

            // Readers on another thread check, all along, that both parts show the same write.
            let stop = Atomic(false)
            let mismatches = Atomic(0)
            let reads = Atomic(0)
            let reader = Thread {
                while !stop.load(ordering: .relaxed) {
                    let matched = (try? environment.read { txn throws in try txn.count(durable) == txn.count(rebuildable) }) ?? false
                    if !matched { mismatches.add(1, ordering: .relaxed) }
                    reads.add(1, ordering: .relaxed)
                }
            }
            reader.start()
            try environment.replaceRebuildablePart(with: copy) { txn in
                // What a real owner replays from its log: here, every fact the views lack.
                try txn.withCursor(durable) { cursor in
                    try cursor.forEach(from: []) { entry in
                        let key = Array(entry.key)
                        if try txn.get(rebuildable, key: key) == nil { try txn.put(rebuildable, key: key, value: [2]) }
                        return true
                    }
                }
            }
            for index in 60..<70 { try self.write(environment, durable, rebuildable, "k\(index)") }
            while reads.load(ordering: .relaxed) < 200 { usleep(1_000) }
            stop.store(true, ordering: .relaxed)
            while !reader.isFinished { usleep(1_000) }
            #expect(mismatches.load(ordering: .relaxed) == 0)

            let sizeAfter = try size()
            #expect(sizeAfter * 4 < sizeBefore, "\(sizeBefore) bytes before, \(sizeAfter) after")
            #expect(!FileManager.default.fileExists(atPath: scratchPath))
            #expect(try !environment.rebuildablePartIsSparse())
            try environment.read { txn throws in
                #expect(try txn.count(durable) == 70)
                #expect(try txn.count(rebuildable) == 70)
                #expect(try txn.get(rebuildable, key: Array("k55".utf8)) == [2])
                #expect(try txn.count(scratch) == 0)
            }
        }
        // Closed cleanly: opened again, the swapped-in part is trusted and whole.
        #expect(try String(contentsOfFile: directory.marker, encoding: .utf8) == "closed\n")
        let (again, durable, rebuildable) = try self.open(directory)
        #expect(!again.rebuildablePartWasDiscarded)
        try again.read { txn throws in
            #expect(try txn.count(durable) == 70)
            #expect(try txn.count(rebuildable) == 70)
        }
    }

    /// The map may grow between the copy and the swap: the swapped-in part takes the environment's
    /// current size, so its later commits (after the durable part's) do not find it full.
    @Test func aCopySwappedInAfterTheMapGrewTakesTheGrownMap() throws {
        let directory = try Directory()
        // A 16 MiB limit: the room kept free is then a quarter of it (4 MiB), not the 64 MiB a larger
        // limit keeps, which the first write would have grown the map to before the copy.
        let small = Environment.Configuration(initialMapSize: 1 << 20, maximumMapSize: 1 << 24)
        let environment = try Environment(directory: directory.path, configuration: small, rebuildableSubdirectory: "derived")
        let durable = try #require(try environment.openTables(["facts"])["facts"])
        let rebuildable = try #require(try environment.openTables(["views"], durability: .rebuildable)["views"])
        let copy = try #require(try environment.copyRebuildablePart())
        let mapBefore = environment.statistics().mapSize
        let large = [UInt8](repeating: 7, count: 2_000)
        for index in 0..<2_000 { try environment.write { txn throws in try txn.put(durable, key: Array("d\(index)".utf8), value: large) } }
        #expect(environment.statistics().mapSize > mapBefore)
        try environment.replaceRebuildablePart(with: copy) { _ in }
        for index in 0..<2_000 { try environment.write { txn throws in try txn.put(rebuildable, key: Array("v\(index)".utf8), value: large) } }
        #expect(try environment.read { try $0.count(rebuildable) } == 2_000)
    }

    /// A copy that is never swapped in is deleted with its value, and one a crash left behind when the
    /// environment is next opened; the part itself is untouched.
    @Test func aCopyNeverSwappedInLeavesNothingBehind() throws {
        let directory = try Directory()
        let scratchPath = directory.path + "/derived/compacting-online"
        do {
            let (environment, durable, rebuildable) = try self.open(directory)
            for index in 0..<20 { try self.write(environment, durable, rebuildable, "k\(index)") }
            do {
                let copy = try #require(try environment.copyRebuildablePart())
                #expect(FileManager.default.fileExists(atPath: scratchPath + "/data.mdb"))
                withExtendedLifetime(copy) {}
            }
            #expect(!FileManager.default.fileExists(atPath: scratchPath))
        }
        try FileManager.default.createDirectory(atPath: scratchPath, withIntermediateDirectories: false)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: scratchPath + "/data.mdb"))
        let (environment, _, rebuildable) = try self.open(directory)
        #expect(!FileManager.default.fileExists(atPath: scratchPath))
        #expect(try environment.read { try $0.count(rebuildable) } == 20)
    }

    @Test func tablesThatMovedAreDroppedFromTheDurablePart() throws {
        let directory = try Directory()
        do {
            // An old layout: everything in the durable part.
            let environment = try Environment(directory: directory.path)
            let old = try #require(try environment.openTables(["views"])["views"])
            try environment.write { try $0.put(old, key: [1], value: [1]) }
        }
        do {
            let environment = try Environment(directory: directory.path, rebuildableSubdirectory: "derived")
            try environment.dropTables(["views", "never-existed"])
        }
        let alone = try Environment(directory: directory.path)
        // Reopened (created empty) in the durable part: the old contents are gone.
        let views = try #require(try alone.openTables(["views"])["views"])
        #expect(try alone.read { try $0.count(views) } == 0)
    }

    /// Derived writes can follow the answer: `finishing` runs once the durable part is synced (after
    /// `whenDurable`), in the rebuildable part's transaction, which commits after it.
    @Test func finishingWritesTheRebuildablePartAfterTheDurableCommit() throws {
        let directory = try Directory()
        let (environment, durable, rebuildable) = try self.open(directory)
        let order = Mutex<[String]>([])
        let (answer, failure) = try environment.writeReportingRebuildableFailure({ txn throws in
            try txn.put(durable, key: [1], value: [1])
            order.withLock { $0.append("body") }
            return 7
        }, whenDurable: { answer in
            order.withLock { $0.append("durable \(answer)") }
        }, finishing: { answer, txn in
            // What the body wrote to the rebuildable part is there; the durable part is committed.
            #expect(try txn.get(rebuildable, key: [1]) == nil)
            try txn.put(rebuildable, key: [1], value: [UInt8(answer)])
            order.withLock { $0.append("finishing") }
        })
        #expect(answer == 7)
        #expect(failure == nil)
        #expect(order.withLock { $0 } == ["body", "durable 7", "finishing"])
        try environment.read { txn throws in
            #expect(try txn.get(durable, key: [1]) == [1])
            #expect(try txn.get(rebuildable, key: [1]) == [7])
        }
    }

    /// A `finishing` that throws loses only the rebuildable part's share of the write, reported beside
    /// the result: the durable part stands.
    @Test func aThrowingFinishingKeepsTheDurableWriteAndReportsTheLoss() throws {
        let directory = try Directory()
        let (environment, durable, rebuildable) = try self.open(directory)
        struct Refused: Error {}
        let (_, failure) = try environment.writeReportingRebuildableFailure({ txn throws in
            try txn.put(durable, key: [2], value: [2])
            try txn.put(rebuildable, key: [2], value: [2])
        }, finishing: { _, txn in
            try txn.put(rebuildable, key: [3], value: [3])
            throw Refused()
        })
        #expect(failure != nil)
        try environment.read { txn throws in
            #expect(try txn.get(durable, key: [2]) == [2])
            #expect(try txn.get(rebuildable, key: [2]) == nil)
            #expect(try txn.get(rebuildable, key: [3]) == nil)
        }
    }

    /// The two parts open with one map size, the larger: each LMDB environment opens with a map sized by
    /// its own file, and the headroom kept before each write measures the fuller part against the larger
    /// map. A rebuildable part left with a map of a quarter of the durable part's filled unseen; a full map
    /// found at its commit (after the durable part's) cannot be retried, and stopped a daemon's start.
    /// Here the rebuildable part's writes fit in the durable part's map without growing it; they did not.
    @Test func bothPartsOpenWithTheLargerMap() throws {
        let directory = try Directory()
        var configuration = Environment.Configuration(initialMapSize: 1 << 20)
        configuration.rebuildableCompactionMinimumFreeBytes = .max
        let value = [UInt8](repeating: 7, count: 2_000)
        do {
            // A small rebuildable part, its map never grown.
            let environment = try Environment(directory: directory.path, configuration: configuration, rebuildableSubdirectory: "derived")
            let views = try #require(try environment.openTables(["views"], durability: .rebuildable)["views"])
            _ = try environment.openTables(["facts"])
            try environment.write { txn in for key in 0..<100 { try txn.put(views, key: BigEndian.bytes(UInt64(key)), value: value) } }
            try environment.closeRebuildablePart()
        }
        do {
            // The durable part alone grows to megabytes, its map with it.
            let durable = try Environment(directory: directory.path, configuration: configuration)
            let facts = try #require(try durable.openTables(["facts"])["facts"])
            for round in 0..<8 {
                try durable.write { txn in
                    for key in 0..<1_000 { try txn.put(facts, key: BigEndian.bytes(UInt64(round * 1_000 + key)), value: value) }
                }
            }
        }
        let environment = try Environment(directory: directory.path, configuration: configuration, rebuildableSubdirectory: "derived")
        let views = try #require(try environment.openTables(["views"], durability: .rebuildable)["views"])
        let mapSize = environment.statistics().mapSize
        #expect(mapSize >= 16 << 20)
        // Four megabytes of rebuildable pages: within the durable part's map and its headroom.
        try environment.write { txn in
            for key in 100..<2_100 { try txn.put(views, key: BigEndian.bytes(UInt64(key)), value: value) }
        }
        #expect(environment.statistics().mapSize == mapSize, "the rebuildable part's map was smaller than the durable part's")
    }
}
