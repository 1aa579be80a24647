// ContactLedger — daemon tests.
import Foundation
import RPC
import Synchronization
import TestSupport
import Testing

/// Access control by peer credentials, socket permissions, and hot backups.
@Suite(.ownThreads, .timeLimit(.minutes(3)))
struct AccessAndBackupTests {
    @Test func grantsLimitWorkspacesAndWrites() throws {
        let me = getuid()
        let daemon = try DaemonHarness(arguments: ["--grant", "uid=\(me),workspace=main,mode=read", "--grant", "uid=\(me),workspace=ops,mode=write"])
        #expect(try daemon.call("contacts.search", ["query": ""]).int("total") == 0)
        let write = try daemon.error("contacts.create", ["name": "No"])
        #expect(write.code == -32007)
        #expect(write.data("workspace") == "main")
        #expect(write.data("method") == "contacts.create")
        #expect(try daemon.call("contacts.create", ["name": "Yes", "workspace": "ops"]).string("name") == "Yes")
        let elsewhere = try daemon.error("contacts.search", ["query": "", "workspace": "finance"])
        #expect(elsewhere.code == -32007)
        // An export only reads: the read grant refuses only its path, for want of files=yes.
        let path = try daemon.error("exports.start", ["format": "csv", "path": .string(daemon.directory + "/out.csv")])
        #expect(path.code == -32007)
        #expect(path.data("field") == "path")
    }

    /// `workspace=*` is every workspace, as a grant without one; with `files=yes`, a read grant exports.
    @Test func aReadGrantForEveryWorkspaceExports() throws {
        let daemon = try DaemonHarness(arguments: ["--grant", "uid=\(getuid()),workspace=*,mode=read,files=yes"])
        #expect(try daemon.call("contacts.count", ["query": "", "workspace": "finance"]).int("total") == 0)
        #expect(try daemon.call("system.stats").int("head_seq") != nil)
        #expect(try daemon.error("contacts.create", ["name": "No", "workspace": "finance"]).code == -32007)
        let output = daemon.directory + "-export.csv"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let export = try daemon.call("exports.start", ["format": "csv", "workspace": "finance", "path": .string(output)])
        #expect(try ImportExportTests.wait(daemon, "exports.status", ["export": export["export"] ?? .null, "workspace": "finance"]).string("state") == "complete")
        #expect(FileManager.default.fileExists(atPath: output))
    }

    @Test func aGrantForSomeoneElseRefusesUs() throws {
        let daemon = try DaemonHarness(arguments: ["--grant", "uid=\(getuid() + 4242)"])
        #expect(try daemon.error("system.health").code == -32007)
    }

    @Test func aDataDirectoryOthersCanWriteIsRefused() throws {
        let directory = "/tmp/clt-open-\(UUID().uuidString.prefix(6))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o777)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let process = ChildProcess()
        process.executableURL = DaemonHarness.productsDirectory.appendingPathComponent("contactledgerd")
        process.arguments = ["--data-dir", directory]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
    }

    @Test func aHotBackupStartsAndVerifies() throws {
        let daemon = try DaemonHarness()
        for index in 0..<200 { try daemon.call("contacts.create", ["name": .string("b\(index)"), "urns": [.string("ext:b\(index)")]]) }
        let target = daemon.directory + "-backup"
        defer { try? FileManager.default.removeItem(atPath: target) }
        // Writes go on while the copy is taken, until it is answered.
        let copied = Atomic<Bool>(false)
        let writer = Thread {
            if let client = try? daemon.client() {
                var index = 0
                while !copied.load(ordering: .relaxed), index < 20_000 {
                    _ = try? client.call("contacts.create", ["name": .string("w\(index)")])
                    index += 1
                }
            }
        }
        writer.start()
        let backup = try daemon.call("ledger.backup", ["path": .string(target)])
        copied.store(true, ordering: .relaxed)
        #expect((backup.int("bytes") ?? 0) > 0)
        // Its files are the owner's alone, like the live ones (they were created 0644 under the usual umask).
        for file in ["data.mdb", "readmodels/data.mdb"] {
            let mode = try FileManager.default.attributesOfItem(atPath: target + "/" + file)[.posixPermissions] as? NSNumber
            #expect(mode?.intValue == 0o600, "\(file)")
        }
        let refused = try daemon.error("ledger.backup", ["path": .string(target)])
        #expect(refused.data("field") == "path")
        let restored = try DaemonHarness(directory: target)
        let verify = try restored.call("ledger.verify")
        #expect(verify["verified"] == true)
        #expect((verify.int("head_seq") ?? 0) >= 200)
        // The answer names where the copy's log ends, and its read models are those beside it: the copy
        // starts with nothing to catch up (they came from an earlier snapshot than the log, and a deletion
        // in between left audit entries of payloads the copy's log had erased).
        #expect(backup.int("head_seq") == verify.int("head_seq"))
        #expect(backup["head_hash"] == verify["head_hash"])
        #expect(backup.int("head_seq_at_start") == verify.int("head_seq"))
        #expect(!restored.log().contains("read models caught up with the log"), "\(restored.log())")
        #expect(try restored.call("contacts.get", ["urn": "ext:b150"]).string("name") == "b150")
        #expect(try restored.call("projections.verify", ["name": "contacts"])["differences"] == [])
    }

    /// A backup retried with its idempotency key answers the first backup, after a restart too, and
    /// copies nothing again: before, the key was refused (-32602), and a plain retry found the first
    /// copy in the way (`not_an_empty_directory`) without saying whether it was whole.
    @Test func aBackupRetriedWithItsKeyAnswersTheFirstCopy() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 300)
        let target = daemon.directory + "-keyed-backup"
        defer { try? FileManager.default.removeItem(atPath: target) }
        let params: JSONValue = ["path": .string(target), "idempotency_key": "nightly-1"]
        let first = try daemon.call("ledger.backup", params)
        #expect(first.int("seq") == first.int("head_seq_at_start"))
        let copied = try FileManager.default.attributesOfItem(atPath: target + "/data.mdb")
        try daemon.call("contacts.create", ["name": "After"])
        #expect(try daemon.call("ledger.backup", params) == first)
        #expect(daemon.stop() == 0)
        try daemon.start()
        #expect(try daemon.call("ledger.backup", params) == first)
        // The copy is the first one, untouched.
        let now = try FileManager.default.attributesOfItem(atPath: target + "/data.mdb")
        #expect(now[.modificationDate] as? Date == copied[.modificationDate] as? Date)
        #expect(now[.systemFileNumber] as? NSNumber == copied[.systemFileNumber] as? NSNumber)
        // The key with another path is a conflict, as for any command.
        let reused = try daemon.error("ledger.backup", ["path": .string(target + "-2"), "idempotency_key": "nightly-1"])
        #expect(reused.code == -32002)
        #expect(reused.data("field") == "idempotency_key")
        #expect(!FileManager.default.fileExists(atPath: target + "-2"))
        let restored = try DaemonHarness(directory: target)
        #expect(try restored.call("ledger.verify")["verified"] == true)
    }

    /// A path with `.` or `..` is the path without them, as the check took it: written as given,
    /// `…/missing/../bk` failed in the kernel (`missing` must exist) with -32005 `copy_failed`, and
    /// `…/bk/..`, a directory in use, too, instead of -32602 `not_an_empty_directory`.
    @Test func pathsWithDotsAreTheirNormalForm() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 20)
        let root = daemon.directory + "-dots"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let backup = try daemon.call("ledger.backup", ["path": .string(root + "/missing/../bk1")])
        #expect(backup.string("path") == root + "/bk1")
        #expect(FileManager.default.fileExists(atPath: root + "/bk1/data.mdb"))
        #expect(!FileManager.default.fileExists(atPath: root + "/missing"))
        let inUse = try daemon.error("ledger.backup", ["path": .string(root + "/bk1/./..")])
        #expect(inUse.code == -32602)
        #expect(inUse.data("reason") == "not_an_empty_directory")
        let export = try #require(try daemon.call("exports.start", ["format": "csv", "path": .string(root + "/gone/../all.csv")]).string("export"))
        #expect(try ImportExportTests.wait(daemon, "exports.status", ["export": .string(export)]).string("path") == root + "/all.csv")
        #expect(FileManager.default.fileExists(atPath: root + "/all.csv"))
    }

    /// A rebuild retried with its idempotency key answers the first call and starts none; without a key
    /// a second call starts a second rebuild (the control: `last_rebuilt_on` moves).
    @Test func aRebuildRetriedWithItsKeyStartsNoSecondRebuild() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 200)
        let params: JSONValue = ["name": "contacts", "idempotency_key": "schema-7"]
        let first = try daemon.call("projections.rebuild", params)
        #expect(first["started"] == true)
        #expect(first.int("seq") != nil)
        let rebuilt = try daemon.waitUntilReady().string("last_rebuilt_on")
        #expect(rebuilt != nil)
        usleep(20_000)
        #expect(try daemon.call("projections.rebuild", params) == first)
        usleep(500_000)
        #expect(try daemon.waitUntilReady().string("last_rebuilt_on") == rebuilt)
        #expect(try daemon.error("projections.rebuild", ["name": "contacts", "idempotency_key": "schema-7", "workspace": "main", "actor": "other"]).code == -32002)
        // Whatever the other params name: an unknown projection with the key is the key reused, not not-found.
        let reused = try daemon.error("projections.rebuild", ["name": "nope", "idempotency_key": "schema-7"])
        #expect(reused.code == -32002, "\(reused)")
        try daemon.call("projections.rebuild", ["name": "contacts"])
        usleep(500_000)
        #expect(try daemon.waitUntilReady().string("last_rebuilt_on") != rebuilt)
    }

    /// Two backups into one empty directory at once: one copies, the other finds the directory in use
    /// (-32602 `not_an_empty_directory`), whichever comes first. Both found it empty, and the second
    /// failed part-way with -32005 `copy_failed`.
    @Test func backupsIntoOneDirectoryTakeTurns() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 2_000)
        let target = daemon.directory + "-shared-backup"
        try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: target) }
        let outcomes = Mutex<[Result<JSONValue, any Error>]>([])
        let threads = (0..<2).map { _ in
            Thread {
                let outcome = Result { try daemon.client().call("ledger.backup", ["path": .string(target)]) }
                outcomes.withLock { $0.append(outcome) }
            }
        }
        threads.forEach { $0.start() }
        let deadline = Date().addingTimeInterval(60)
        while outcomes.withLock({ $0.count }) < 2, Date() < deadline { usleep(10_000) }
        let results = outcomes.withLock { $0 }
        #expect(results.count == 2)
        let copied = results.compactMap { try? $0.get() }
        let refused = results.compactMap { result -> RPCError? in
            if case .failure(let error) = result { return error as? RPCError }
            return nil
        }
        #expect(copied.count == 1 && refused.count == 1)
        #expect(refused.first?.code == -32602)
        #expect(refused.first?.data("reason") == "not_an_empty_directory")
        let restored = try DaemonHarness(directory: target)
        #expect(try restored.call("ledger.verify")["verified"] == true)
    }

    /// Found by a recheck: a backup whose read models filled a 60 MB disk midway answered `copy_failed`: the
    /// part written was removed before the failure was explained, and the space it had filled read free.
    @Test(.enabled(if: ReliabilityLimitsTests.canMount, "cannot mount a tmpfs here (not root, or mounts are refused)"))
    func aBackupWhoseReadModelsFillTheDiskMidwayIsDiskFull() throws {
        let daemon = try DaemonHarness()
        // Read models of over 8 MiB, so that half of them is more than the 4 MiB a failure is judged by.
        try daemon.populate(count: 20_000)
        let reference = daemon.directory + "-reference"
        defer { try? FileManager.default.removeItem(atPath: reference) }
        try daemon.call("ledger.backup", ["path": .string(reference)])
        let readModels = ((try? FileManager.default.attributesOfItem(atPath: reference + "/readmodels/data.mdb")[.size]) as? NSNumber)?.intValue ?? 0
        try #require(readModels > 9 << 20, "read models \(readModels) B")
        let disk = try SmallFileSystem(size: .init(readModels * 2 / 1_048_576 + 2) + "m")
        disk.fill(leaving: readModels / 2)
        let refused = try daemon.error("ledger.backup", ["path": .string(disk.path + "/bk")])
        #expect(refused.code == -32005 && refused.data("reason") == "disk_full", "\(refused.code) \(String(describing: refused.data))")
        #expect(!FileManager.default.fileExists(atPath: disk.path + "/bk"))
    }

    /// A backup that runs out of space answers -32005 `disk_full`, whichever step hit the full disk
    /// (creating its directory, its `readmodels/`, copying the read models or the log), and leaves
    /// nothing: a directory it created is gone, one that was there before is empty again, so a retry to
    /// the same path works once space returns. Real ENOSPC from small tmpfs mounts (an inode limit makes
    /// mkdir fail).
    @Test(.enabled(if: ReliabilityLimitsTests.canMount, "cannot mount a tmpfs here (not root, or mounts are refused)"))
    func aBackupThatRunsOutOfSpaceLeavesNothingAndARetryWorks() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 3_000)
        // The sizes of a complete copy, to leave room for the read models but not the log.
        let reference = daemon.directory + "-reference"
        defer { try? FileManager.default.removeItem(atPath: reference) }
        try daemon.call("ledger.backup", ["path": .string(reference)])
        func size(_ file: String) -> Int {
            ((try? FileManager.default.attributesOfItem(atPath: reference + "/" + file)[.size]) as? NSNumber)?.intValue ?? 0
        }
        let readModels = size("readmodels/data.mdb")
        let log = size("data.mdb")
        try #require(readModels > 256 << 10 && log > 256 << 10, "read models \(readModels) B, log \(log) B")

        func expectDiskFull(_ path: String, _ label: String) throws {
            let refused = try daemon.error("ledger.backup", ["path": .string(path)])
            #expect(refused.code == -32005, "\(label): \(refused.code) \(String(describing: refused.data))")
            #expect(refused.data("reason") == "disk_full", "\(label): \(String(describing: refused.data))")
        }
        // No inode left: the backup's own directory cannot be made (and its missing parent is removed).
        let noInode = try SmallFileSystem(size: "1m", inodes: 1)
        try expectDiskFull(noInode.path + "/a/bk", "no inode for the directory")
        #expect(!FileManager.default.fileExists(atPath: noInode.path + "/a"))
        // One inode left: the directory is made, its readmodels/ is not.
        let oneInode = try SmallFileSystem(size: "1m", inodes: 2)
        try expectDiskFull(oneInode.path + "/bk", "no inode for readmodels/")
        #expect(!FileManager.default.fileExists(atPath: oneInode.path + "/bk"))

        let disk = try SmallFileSystem(size: .init((readModels + log) * 3 / 1_048_576 + 2) + "m")
        let created = disk.path + "/bk"
        let existing = disk.path + "/empty"
        try FileManager.default.createDirectory(atPath: existing, withIntermediateDirectories: false)
        for (label, leaving) in [("read models cut off", 64 << 10), ("log cut off", readModels + log / 2)] {
            disk.fill(leaving: leaving)
            try expectDiskFull(created, label)
            #expect(!FileManager.default.fileExists(atPath: created), "\(label): the directory it created is left")
            try expectDiskFull(existing, label + ", into an empty directory")
            #expect(try FileManager.default.contentsOfDirectory(atPath: existing) == [], "\(label): files left in the empty directory")
            disk.removeFiller()
        }
        // Space is back: a retry to each path works and starts.
        let backup = try daemon.call("ledger.backup", ["path": .string(created)])
        #expect((backup.int("bytes") ?? 0) > 0)
        try daemon.call("ledger.backup", ["path": .string(existing)])
        let restored = try DaemonHarness(directory: created)
        #expect(try restored.call("contacts.count", ["query": ""]).int("total") == 3_000)
        try ReliabilitySupport.expectIntact(restored, "the retried backup")
    }

    /// An export is written into the directory that was checked when it started, even when a link on
    /// the way is pointed at the data directory meanwhile: checked by path and written by path, an
    /// export accepted into a harmless directory was renamed over `data.mdb`, and the ledger was lost at
    /// the next start. A name past the file system's 255 bytes is refused at once; 255 bytes are written.
    @Test func anExportIsWrittenWhereItsPathWasChecked() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 5_000)
        try Self.withLinkedDirectory(daemon) { harmless, swap in
            let export = try daemon.call("exports.start", ["format": "csv", "path": .string(swap + "/data.mdb")])
            // The link now leads into the data directory, before the export's rows are built.
            try FileManager.default.removeItem(atPath: swap)
            try FileManager.default.createSymbolicLink(atPath: swap, withDestinationPath: daemon.directory)
            let status = try ImportExportTests.wait(daemon, "exports.status", ["export": export["export"] ?? .null])
            #expect(status.string("state") == "complete")
            #expect(status.string("path") == swap + "/data.mdb")
            let written = try String(contentsOfFile: harmless + "/data.mdb", encoding: .utf8)
            #expect(written.components(separatedBy: "\r\n").count == 5_002, "a header, 5,000 rows and the last line's end")
            try daemon.call("contacts.create", ["name": "after"])
            daemon.stop()
            try daemon.start()
            #expect(try daemon.call("contacts.count", ["query": ""]).int("total") == 5_001)
            #expect(try daemon.call("ledger.verify")["verified"] == true)

            let tooLong = try daemon.error("exports.start", ["format": "csv", "path": .string(harmless + "/" + String(repeating: "v", count: 252) + ".csv")])
            #expect(tooLong.code == -32602)
            #expect(tooLong.data("field") == "path")
            #expect(tooLong.data("reason") == "name_too_long")
            let longest = harmless + "/" + String(repeating: "v", count: 251) + ".csv"
            let long = try daemon.call("exports.start", ["format": "csv", "path": .string(longest)])
            #expect(try ImportExportTests.wait(daemon, "exports.status", ["export": long["export"] ?? .null]).string("state") == "complete")
            #expect(FileManager.default.fileExists(atPath: longest))
        }
    }

    /// A new directory beside the daemon's and a link to it, both removed after `body`.
    static func withLinkedDirectory(_ daemon: DaemonHarness, _ body: (_ directory: String, _ link: String) throws -> Void) throws {
        let directory = daemon.directory + "-target"
        let link = daemon.directory + "-via"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: directory)
        defer {
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: link)
        }
        try body(directory, link)
    }

    /// A backup that fails removes the directories it created through the directory they were made in,
    /// not by path again: with a link on the way re-pointed at the data directory while the copy ran,
    /// a failed backup into `link/data.mdb/bk` removed the live `data.mdb`, and the ledger was lost at the
    /// next start. (The copy is made to fail by a file put where it writes the log's copy.)
    @Test func aFailedBackupRemovesOnlyWhatItCreated() throws {
        let daemon = try DaemonHarness()
        try daemon.populate(count: 5_000)
        try Self.withLinkedDirectory(daemon) { safe, link in
            let target = safe + "/data.mdb/bk"
            let raced = Mutex(false)
            let watcher = Thread {
                let deadline = Date().addingTimeInterval(60)
                while Date() < deadline, !FileManager.default.fileExists(atPath: target + "/readmodels") { usleep(50) }
                // The copy of the read models is under way: the log's copy will find a file in its place, and
                // the link now leads into the data directory.
                let planted = FileManager.default.createFile(atPath: target + "/data.mdb", contents: Data())
                try? FileManager.default.removeItem(atPath: link)
                try? FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: daemon.directory)
                raced.withLock { $0 = planted }
            }
            watcher.start()
            let failed = try daemon.error("ledger.backup", ["path": .string(link + "/data.mdb/bk")])
            #expect(failed.code == -32005)
            #expect(failed.data("reason") == "copy_failed")
            #expect(raced.withLock { $0 }, "the watcher never saw the copy start")
            #expect(FileManager.default.fileExists(atPath: daemon.directory + "/data.mdb"))
            #expect(!FileManager.default.fileExists(atPath: safe + "/data.mdb"), "the directories the backup created are gone")
            try daemon.call("contacts.create", ["name": "after"])
            daemon.stop()
            try daemon.start()
            #expect(try daemon.call("contacts.count", ["query": ""]).int("total") == 5_001)
            #expect(try daemon.call("ledger.verify")["verified"] == true)
        }
    }

    /// An export or a backup never writes over the daemon's own files, into the kernel's file systems,
    /// onto a socket or a device, or to a relative path: each is refused before any work, naming `path`,
    /// and the daemon's data is intact across a restart.
    @Test func outputPathsCannotReplaceTheDaemonsFiles() throws {
        let daemon = try DaemonHarness()
        try daemon.call("contacts.create", ["name": "kept"])
        let link = daemon.directory + "-link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: daemon.directory)
        defer { try? FileManager.default.removeItem(atPath: link) }
        let exports: [(String, String)] = [
            (daemon.directory + "/data.mdb", "inside_data_directory"),
            (daemon.directory + "/readmodels/data.mdb", "inside_data_directory"),
            (link + "/data.mdb", "inside_data_directory"),
            (daemon.directory + "/../" + (daemon.directory as NSString).lastPathComponent + "/x.csv", "inside_data_directory"),
            ("/dev/null", "not_a_regular_location"),
            ("/proc/self/mem", "not_a_regular_location"),
            ("relative.csv", "must_be_absolute"),
            ("/tmp/x\u{0}y.csv", "invalid"),
        ]
        for (path, reason) in exports {
            let refused = try daemon.error("exports.start", ["format": "csv", "path": .string(path)])
            #expect(refused.code == -32602, "\(path)")
            #expect(refused.data("field") == "path", "\(path)")
            #expect(refused.data("reason") == .string(reason), "\(path)")
        }
        // Another daemon's socket is not a file to replace.
        let other = try DaemonHarness()
        let socket = try daemon.error("exports.start", ["format": "csv", "path": .string(other.socketPath)])
        #expect(socket.data("reason") == "not_a_regular_file")
        #expect(try other.call("system.health").string("status") == "ok")
        for (path, reason) in [(daemon.directory + "/backup", "inside_data_directory"), ("backup", "must_be_absolute"), ("/tmp/b\u{0}k", "invalid")] {
            let refused = try daemon.error("ledger.backup", ["path": .string(path)])
            #expect(refused.code == -32602, "\(path)")
            #expect(refused.data("reason") == .string(reason), "\(path)")
        }
        try daemon.call("contacts.create", ["name": "after"])
        daemon.stop()
        try daemon.start()
        #expect(try daemon.call("contacts.count", ["query": ""]).int("total") == 2)
        #expect(try daemon.call("ledger.verify")["verified"] == true)
    }
}
