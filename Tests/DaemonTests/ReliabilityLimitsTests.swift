// ContactLedger — daemon tests: resource limits.
import Foundation
import LedgerStore
import TestSupport
import RPC
import Testing

/// Idle connections, a client that never reads, many readers at once, map growth and a full disk:
/// the daemon keeps serving, its memory stays bounded, and nothing acknowledged is lost.
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(3)))
struct ReliabilityLimitsTests {
    /// Runs `count` calls of `body` on each of `threads` threads; returns the slowest call in seconds.
    static func serveOthers(_ daemon: DaemonHarness, threads: Int, calls: Int, _ label: String) throws -> Double {
        let latencies = try onThreads(threads) { thread -> Double in
            let client = try daemon.client()
            var slowest = 0.0
            for index in 0..<calls {
                let started = Date()
                if index % 2 == 0 {
                    try client.call("contacts.create", ["name": .string("\(label) \(thread)-\(index)")])
                } else {
                    try client.call("contacts.search", ["query": "", "limit": 5])
                }
                slowest = max(slowest, Date().timeIntervalSince(started))
            }
            return slowest
        }
        return latencies.max() ?? 0
    }

    @Test func thousandsOfIdleConnections() throws {
        let daemon = try DaemonHarness()
        let pid = try #require(daemon.process?.processIdentifier)
        // Each connection costs this process one descriptor (and the daemon another).
        let wanted = 2_000
        let available = ReliabilitySupport.openFileLimit() - ReliabilitySupport.openDescriptors(of: getpid()) - 200
        let count = min(wanted, available)
        if count < wanted { print("idle connections: scaled down to \(count) by RLIMIT_NOFILE \(ReliabilitySupport.openFileLimit())") }
        #expect(count >= 500, "RLIMIT_NOFILE leaves room for only \(count) connections")
        let before = ReliabilitySupport.openDescriptors(of: pid)
        var idle: [RawSocket] = []
        for _ in 0..<count { idle.append(try RawSocket(path: daemon.socketPath)) }
        // Wait until the daemon has accepted them all.
        let deadline = Date().addingTimeInterval(30)
        // (`before` may still count the harness's own start-up connection: allow a few.)
        while ReliabilitySupport.openDescriptors(of: pid) < before + count - 5, Date() < deadline { usleep(50_000) }
        #expect(ReliabilitySupport.openDescriptors(of: pid) >= before + count - 5, "the daemon accepted \(ReliabilitySupport.openDescriptors(of: pid) - before) of \(count)")
        let slowest = try Self.serveOthers(daemon, threads: 8, calls: 40, "idle")
        #expect(slowest < 5, "with \(count) idle connections a call took \(slowest) s")
        // Some of the idle ones wake up and are served too.
        for socket in idle.prefix(50) {
            #expect(FuzzRPCTests.ask(socket, ReliabilitySupport.requestLine(id: 1, method: "system.health").dropLast().map { $0 }, seconds: 10)?["result"] != nil)
        }
        let rss = ReliabilitySupport.residentBytes(of: pid) ?? 0
        print("idle connections: \(count) open, slowest other call \(String(format: "%.3f", slowest)) s, daemon RSS \(rss >> 20) MB")
        #expect(rss < 300 << 20, "RSS with \(count) idle connections: \(rss >> 20) MB")
        idle.removeAll()
        // The daemon lets go of them.
        let closing = Date().addingTimeInterval(15)
        while ReliabilitySupport.openDescriptors(of: pid) > before + 20, Date() < closing { usleep(50_000) }
        #expect(ReliabilitySupport.openDescriptors(of: pid) <= before + 20, "descriptors after closing: \(ReliabilitySupport.openDescriptors(of: pid)), before: \(before)")
        #expect(ReliabilitySupport.answersHealth(daemon))
    }

    /// Started with a soft limit of 256 open files (the hard one higher), the daemon raises it to the
    /// hard limit: 600 clients at once are all served. Past the soft limit a connection was left
    /// unaccepted and its client waited in silence.
    @Test(.enabled(if: ReliabilitySupport.openFileLimit() >= 2_000, "needs a hard RLIMIT_NOFILE of 2,000 or more"))
    func theDaemonRaisesItsOpenFileLimit() throws {
        let directory = "/tmp/clt-nofile-\(UUID().uuidString.prefix(8).lowercased())"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = ChildProcess()
        daemon.executableURL = URL(fileURLWithPath: "/bin/bash")
        let executable = DaemonHarness.productsDirectory.appendingPathComponent("contactledgerd").path
        daemon.arguments = ["-c", "ulimit -Sn 256 && exec \"$0\" --data-dir \"$1\"", executable, directory]
        daemon.standardError = FileHandle.nullDevice
        try daemon.run()
        defer {
            daemon.terminate()
            daemon.waitUntilExit()
        }
        let socket = directory + "/ledger.sock"
        let deadline = Date().addingTimeInterval(30)
        while (try? RPCClient(socketPath: socket).call("system.health")) == nil, Date() < deadline { usleep(50_000) }
        let clients = try (0..<600).map { _ in try RawSocket(path: socket) }
        let request = ReliabilitySupport.requestLine(id: 1, method: "system.health").dropLast().map { $0 }
        let answered = clients.filter { FuzzRPCTests.ask($0, request, seconds: 2)?["result"] != nil }.count
        #expect(answered == 600)
    }

    @Test func aClientThatNeverReadsHoldsBackOnlyItself() throws {
        let daemon = try DaemonHarness()
        let pid = try #require(daemon.process?.processIdentifier)
        try daemon.call("fields.create", ["key": "bio", "type": "text"])
        // Big answers: 100 contacts with a 600-character field, searched 100 at a time (~90 kB each).
        let bio = String(repeating: "b", count: 600)
        let batch: JSONValue = .array((0..<100).map { index in
            ["jsonrpc": "2.0", "id": .integer(Int64(index)), "method": "contacts.create", "params": ["name": .string("p\(index)"), "fields": ["bio": .string(bio)]]]
        })
        let client = try daemon.client()
        try client.send(raw: JSONLine.encode(batch) + [10])
        _ = try client.readLine()
        let baseline = ReliabilitySupport.residentBytes(of: pid) ?? 0

        let hog = try RawSocket(path: daemon.socketPath)
        let requests = 5_000
        let line = ReliabilitySupport.requestLine(id: 1, method: "contacts.search", params: ["query": "", "limit": 100])
        let sent = ResultBox<Int>(count: 1)
        let sender = Thread {
            var total = 0
            for _ in 0..<requests {
                let count = hog.send(line, until: Date().addingTimeInterval(20))
                total += count
                if count < line.count { break }
            }
            sent.set(0, .success(total))
        }
        sender.start()
        // Meanwhile, watch memory and serve others.
        let peak = ResultBox<Int>(count: 1)
        let stop = StopFlag()
        let sampler = Thread {
            var highest = 0
            while !stop.isSet {
                highest = max(highest, ReliabilitySupport.residentBytes(of: pid) ?? 0)
                usleep(50_000)
            }
            peak.set(0, .success(highest))
        }
        sampler.start()
        usleep(500_000)
        let slowest = try Self.serveOthers(daemon, threads: 4, calls: 30, "beside a hog")
        // Give the hog time to push everything the daemon will take.
        while (try? sent.values()) == nil, daemon.process?.isRunning == true { usleep(100_000) }
        usleep(1_000_000)
        stop.set()
        while (try? peak.values()) == nil { usleep(10_000) }
        let highest = try peak.values()[0]
        let accepted = try sent.values()[0] / line.count
        print("non-reading client: \(accepted) of \(requests) requests accepted, baseline RSS \(baseline >> 20) MB, peak \(highest >> 20) MB, slowest other call \(String(format: "%.3f", slowest)) s")
        #expect(slowest < 5, "others waited \(slowest) s beside a client that does not read")
        #expect(highest < 300 << 20, "RSS peaked at \(highest >> 20) MB with a client that does not read (baseline \(baseline >> 20) MB)")
        #expect(accepted < requests, "the daemon read all \(requests) requests of a client that reads nothing (no back-pressure)")
        hog.shutdown()
        #expect(ReliabilitySupport.answersHealth(daemon))
        try ReliabilitySupport.expectIntact(daemon, "after the hog")
    }

    @Test func manyConcurrentReadersAllAnswer() throws {
        let daemon = try DaemonHarness()
        try daemon.call("fields.create", ["key": "team", "type": "text"])
        for index in 0..<20 { try daemon.call("contacts.create", ["name": .string("r\(index)"), "urns": [.string("ext:r\(index)")], "fields": ["team": "readers"]]) }
        // More threads than LMDB's default 126 reader slots, while a writer keeps committing.
        let stop = StopFlag()
        let writer = Thread {
            guard let client = try? daemon.client() else { return }
            var index = 0
            while !stop.isSet {
                index += 1
                _ = try? client.call("contacts.create", ["name": .string("w\(index)")])
            }
        }
        writer.start()
        defer { stop.set() }
        let totals = try onThreads(200) { thread -> Int in
            let client = try daemon.client()
            var total = 0
            for _ in 0..<3 {
                let page = try client.call("contacts.search", ["query": "team = readers", "limit": 50])
                total = Int(page.int("total") ?? -1)
                _ = try client.call("contacts.get", ["urn": .string("ext:r\(thread % 20)")])
            }
            return total
        }
        stop.set()
        #expect(totals.allSatisfy { $0 == 20 }, "search totals: \(Set(totals))")
        let stats = try daemon.call("system.stats")
        print("readers: 200 threads answered; readers \(String(describing: stats["readers"]))")
        try ReliabilitySupport.expectIntact(daemon, "after 200 readers")
    }

    @Test func theMapGrowsUnderLoad() throws {
        let daemon = try DaemonHarness(arguments: ["--map-size", "1048576", "--max-map-size", "1073741824"])
        try daemon.call("fields.create", ["key": "bio", "type": "text"])
        let bio = String(repeating: "g", count: 600)
        let stop = StopFlag()
        // Readers keep reading while the map is resized under them.
        let reader = Thread {
            guard let client = try? daemon.client() else { return }
            while !stop.isSet { _ = try? client.call("contacts.search", ["query": "", "limit": 20]) }
        }
        reader.start()
        defer { stop.set() }
        var uuids: [String] = []
        let client = try daemon.client()
        for round in 0..<30 {
            let batch: JSONValue = .array((0..<100).map { index in
                ["jsonrpc": "2.0", "id": .integer(Int64(index)), "method": "contacts.create",
                 "params": ["name": .string("g\(round)-\(index)"), "urns": [.string("ext:g\(round)-\(index)")], "fields": ["bio": .string(bio + "\(round)-\(index)")]]]
            })
            try client.send(raw: JSONLine.encode(batch) + [10])
            guard case .array(let answers) = try client.readValue() else {
                Issue.record("round \(round): no batch answer")
                break
            }
            for answer in answers {
                if let uuid = answer["result"]?.string("uuid") { uuids.append(uuid) } else { Issue.record("round \(round): \(answer)") }
            }
        }
        stop.set()
        #expect(uuids.count == 3_000)
        let stats = try daemon.call("system.stats")
        let mapSize = stats.int("map_size") ?? 0
        print("map growth: 3,000 contacts, map \(mapSize >> 20) MB, used \((stats.int("map_used") ?? 0) >> 20) MB")
        #expect(mapSize > 1_048_576, "the map did not grow: \(stats)")
        try ReliabilitySupport.expectIntact(daemon, "after map growth")
        // Across a restart (and a SIGKILL) everything is there.
        daemon.kill()
        try daemon.start()
        #expect(try daemon.call("system.stats")["counts"]?.int("contacts") == 3_000)
        for uuid in uuids.shuffled().prefix(200) { #expect(try daemon.call("contacts.get", ["uuid": .string(uuid)]).string("uuid") == uuid) }
        try ReliabilitySupport.expectIntact(daemon, "after map growth and a restart")
    }

    // MARK: - Disk full

    static func run(_ arguments: [String]) -> (Int32, String) {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", arguments.map { "'\($0)'" }.joined(separator: " ") + " 2>&1"]
        let pipe = Pipe()
        process.standardOutput = pipe
        guard (try? process.run()) != nil else { return (-1, "cannot run \(arguments)") }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    /// Whether this process may mount a tmpfs (root in a container that allows it).
    static let canMount: Bool = {
        let point = "/tmp/clt-mnt-probe-\(getpid())"
        try? FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: point) }
        guard Self.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", point]).0 == 0 else { return false }
        _ = Self.run(["umount", point])
        return true
    }()

    @Test(.enabled(if: Self.canMount, "cannot mount a tmpfs here (not root, or mounts are refused)"))
    func aFullDiskAnswersStorageUnavailableAndRecovers() throws {
        let base = "/tmp/clt-df-\(UUID().uuidString.prefix(8).lowercased())"
        let directory = base + "/d"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let mounted = Self.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0750", "tmpfs", directory])
        try #require(mounted.0 == 0, "mount: \(mounted.1)")
        var daemon: DaemonHarness?
        defer {
            daemon?.kill()
            _ = Self.run(["umount", "-l", directory])
            daemon = nil
            try? FileManager.default.removeItem(atPath: base)
        }
        // The map may grow far past the file system: the disk fills first.
        daemon = try DaemonHarness(arguments: ["--map-size", "67108864", "--max-map-size", "268435456"], directory: directory)
        let harness = try #require(daemon)
        try harness.call("fields.create", ["key": "bio", "type": "text"])
        let bio = String(repeating: "d", count: 600)
        var acknowledged: [String] = []
        var refusal: RPCError?
        let client = try harness.client()
        var number = 0
        fill: while number < 20_000 {
            // Batches of 20 share a commit; any refusal ends the filling.
            let batch: JSONValue = .array((0..<20).map { index in
                ["jsonrpc": "2.0", "id": .integer(Int64(index)), "method": "contacts.create",
                 "params": ["name": .string("d\(number + index)"), "fields": ["bio": .string(bio + "\(number + index)")]]]
            })
            number += 20
            try client.send(raw: JSONLine.encode(batch) + [10])
            guard case .array(let answers) = try client.readValue() else { break }
            for answer in answers {
                if let uuid = answer["result"]?.string("uuid") {
                    acknowledged.append(uuid)
                } else if let error = answer["error"] {
                    refusal = try JSONDecoder().decode(RPCError.self, from: Data(JSONLine.encode(error)))
                }
            }
            if refusal != nil { break fill }
        }
        let error = try #require(refusal, "8 MB never filled after \(acknowledged.count) contacts")
        #expect(error.code == -32005, "a write on a full disk: \(error.code) \(error.message)")
        let reason = error.data("reason")?.stringValue
        let commitFailures = harness.log().split(separator: "\n").filter { $0.contains("commit failed") }
        #expect(reason == "disk_full" || reason == "map_full", "reason: \(String(describing: error.data)); daemon log: \(commitFailures.prefix(3))")
        print("disk full: \(acknowledged.count) contacts acknowledged before -32005 \(reason ?? "?"); \(commitFailures.first ?? "")")
        // Single writes may still fit in what the refused batch left; go on until they are refused too.
        var singleRefusal: RPCError?
        for index in 0..<2_000 {
            do {
                let answer = try client.call("contacts.create", ["name": .string("again \(index)"), "fields": ["bio": .string(bio)]])
                acknowledged.append(try #require(answer.string("uuid")))
            } catch let error as RPCError {
                singleRefusal = error
                break
            }
        }
        #expect(singleRefusal?.code == -32005, "single writes on a full disk: \(String(describing: singleRefusal))")
        // The read models' disk space is reserved before each write: a full disk refuses the write
        // before the log commits, never between the log's commit and the read models'.
        #expect(!harness.log().contains("read-model commit failed"))
        #expect(try harness.call("system.health").string("status") == "ok")
        for uuid in acknowledged.suffix(50) { #expect(try harness.call("contacts.get", ["uuid": .string(uuid)]).string("uuid") == uuid) }

        // Space returns, without a restart: writes succeed again.
        let grown = Self.run(["mount", "-o", "remount,size=64m", directory])
        try #require(grown.0 == 0, "remount: \(grown.1)")
        var recovered: JSONValue?
        let deadline = Date().addingTimeInterval(10)
        while recovered == nil, Date() < deadline {
            recovered = try? harness.call("contacts.create", ["name": "after the disk grew", "fields": ["bio": .string(bio)]])
            if recovered == nil { usleep(200_000) }
        }
        let recoveredUUID = try #require(recovered?.string("uuid"), "writes still fail after the file system grew")
        acknowledged.append(recoveredUUID)
        for index in 0..<50 {
            acknowledged.append(try #require(try harness.call("contacts.create", ["name": .string("more \(index)")]).string("uuid")))
        }
        // Nothing acknowledged is lost across a SIGKILL.
        harness.kill()
        try harness.start()
        let present = try harness.call("system.stats")["counts"]?.int("contacts") ?? 0
        #expect(present == Int64(acknowledged.count), "\(present) contacts after the restart, \(acknowledged.count) acknowledged")
        for uuid in acknowledged {
            do {
                _ = try harness.call("contacts.get", ["uuid": .string(uuid)])
            } catch let error as RPCError {
                Issue.record("acknowledged \(uuid) lost after disk full + restart: \(error.code)")
            }
        }
        try ReliabilitySupport.expectIntact(harness, "after disk full")
    }

    /// Writes until the daemon refuses one with -32005 (LMDB may still reuse a few free pages after the
    /// file system is full); returns the refusal.
    static func writeUntilRefused(_ daemon: DaemonHarness) throws -> RPCError? {
        for index in 0..<500 {
            do {
                try daemon.call("contacts.create", ["name": .string("until full \(index)")])
            } catch let error as RPCError {
                return error
            }
        }
        return nil
    }

    /// imports.start on a full disk answers -32005 `disk_full` and starts nothing once its record no
    /// longer fits, and an import it acknowledged is found after a restart: its record is committed
    /// before the answer. (It answered an import id that imports.status could not find after a
    /// restart.) LMDB may still fit a record or two in pages freed before the disk filled, so a few
    /// may be acknowledged first. With space back, an import's status survives a restart.
    @Test(.enabled(if: Self.canMount, "cannot mount a tmpfs here (not root, or mounts are refused)"))
    func anImportOnAFullDiskIsRefusedAndAnAcceptedOneSurvivesARestart() throws {
        let disk = try SmallFileSystem(size: "32m")
        let daemon = try DaemonHarness(arguments: ["--map-size", "67108864", "--max-map-size", "268435456"], directory: disk.path)
        let csv = Data("URN:Ext,Name\n".utf8 + (0..<50).flatMap { Array("ext:imp\($0),Imported \($0)\n".utf8) }).base64EncodedString()
        let params: JSONValue = ["format": "csv", "content_base64": .string(csv)]
        disk.fill(leaving: 0)
        let full = try #require(try Self.writeUntilRefused(daemon), "the disk never filled")
        #expect(full.code == -32005)
        var acknowledged: [String] = []
        var refusal: RPCError?
        for _ in 0..<20 where refusal == nil {
            do {
                acknowledged.append(try #require(try daemon.call("imports.start", params).string("import")))
            } catch let error as RPCError {
                refusal = error
            }
        }
        let refused = try #require(refusal, "imports.start was acknowledged \(acknowledged.count) times on a full disk")
        #expect(refused.code == -32005, "\(refused.code) \(refused.message)")
        #expect(refused.data("reason") == "disk_full", "\(String(describing: refused.data))")
        disk.removeFiller()
        #expect(daemon.stop() == 0)
        try daemon.start()
        for id in acknowledged {
            #expect(throws: Never.self, "an import acknowledged on the full disk is not found") {
                try daemon.call("imports.status", ["import": .string(id)])
            }
        }
        let started = try daemon.call("imports.start", params)
        let id = try #require(started.string("import"))
        #expect(try ImportExportTests.wait(daemon, "imports.status", ["import": .string(id)]).string("state") == "complete")
        #expect(daemon.stop() == 0)
        try daemon.start()
        #expect(try daemon.call("imports.status", ["import": .string(id)]).string("state") == "complete")
        #expect(try daemon.call("contacts.get", ["urn": "ext:imp49"]).string("name") == "Imported 49")
        withExtendedLifetime(disk) {}
    }

    /// A rebuild that runs out of space is visible: projections.status shows `last_error {reason, at}`
    /// (it went back to `ready` as if the rebuild had happened), `last_rebuilt_on` does not appear, and
    /// the staging area is gone from the full disk. With space back, projections.rebuild completes and
    /// clears the error.
    @Test(.enabled(if: Self.canMount, "cannot mount a tmpfs here (not root, or mounts are refused)"))
    func aRebuildThatRunsOutOfSpaceShowsItsFailure() throws {
        let disk = try SmallFileSystem(size: "48m")
        let daemon = try DaemonHarness(arguments: ["--map-size", "67108864", "--max-map-size", "268435456"], directory: disk.path)
        try daemon.populate(count: 3_000)
        disk.fill(leaving: 256 << 10)
        func projection() throws -> JSONValue { try #require(daemon.call("projections.status")["projections"]?.arrayValue?.first) }
        func waitForTheRebuild() throws -> JSONValue {
            let deadline = Date().addingTimeInterval(60)
            var status = try projection()
            while status.string("state") == "rebuilding", Date() < deadline {
                usleep(50_000)
                status = try projection()
            }
            return status
        }
        try daemon.call("projections.rebuild", ["name": "contacts"])
        let failed = try waitForTheRebuild()
        let failure = try #require(failed["last_error"], "a rebuild on a full disk shows no failure: \(failed); log: \(daemon.log().suffix(2_000))")
        #expect(failure.string("reason") == "disk_full", "\(failure)")
        #expect(failure.string("at") != nil)
        #expect(failed["last_rebuilt_on"] == nil)
        #expect(!FileManager.default.fileExists(atPath: daemon.directory + "/rebuild-staging"), "the failed rebuild's staging is left on the full disk")
        // The CLI shows it, and a rebuild by hand that fails again says why and exits 1.
        let table = try Operations.run("contactledger", ["projections", "--socket", daemon.socketPath])
        #expect(table.status == 0 && table.output.contains("LAST ERROR") && table.output.contains("disk_full"), "\(table.output)")
        let again = try Operations.run("contactledger", ["projections", "rebuild", "contacts", "--socket", daemon.socketPath])
        #expect(again.status == 1)
        #expect(again.error.contains("failed (disk_full)"), "\(again.error)")
        disk.removeFiller()
        try daemon.call("projections.rebuild", ["name": "contacts"])
        let rebuilt = try waitForTheRebuild()
        #expect(rebuilt.string("state") == "ready")
        #expect(rebuilt["last_error"] == nil, "\(rebuilt)")
        #expect(rebuilt.string("last_rebuilt_on") != nil)
        try ReliabilitySupport.expectIntact(daemon, "after a rebuild on a full disk")
        withExtendedLifetime(disk) {}
    }

    /// An offline rebuild that runs out of disk says the disk is full and exits 1; with space back, the
    /// daemon answers as before. The read models are removed first (as the README allows), so the rebuild
    /// writes them whole and cannot fit.
    @Test(.enabled(if: Self.canMount, "cannot mount a tmpfs here (not root, or mounts are refused)"))
    func anOfflineRebuildOnAFullDiskSaysTheDiskIsFull() throws {
        let disk = try SmallFileSystem(size: "48m")
        let daemon = try DaemonHarness(arguments: ["--map-size", "67108864", "--max-map-size", "268435456"], directory: disk.path)
        try daemon.populate(count: 3_000)
        let before = try daemon.call("contacts.search", ["query": "", "limit": 50])
        #expect(daemon.stop() == 0)
        try FileManager.default.removeItem(atPath: daemon.directory + "/readmodels")
        disk.fill(leaving: 256 << 10)
        let rebuild = try Operations.run("contactledgerd", ["rebuild", "--data-dir", daemon.directory])
        #expect(rebuild.status == 1, "\(rebuild.error)")
        #expect(rebuild.error.contains("rebuild failed: ") && rebuild.error.contains("disk full"), "\(rebuild.error)")
        disk.removeFiller()
        try daemon.start()
        #expect(try daemon.call("contacts.search", ["query": "", "limit": 50]) == before)
        try ReliabilitySupport.expectIntact(daemon, "after an offline rebuild on a full disk")
        withExtendedLifetime(disk) {}
    }

    /// A write cut short on a full file system reaches LMDB as EIO on tmpfs (a short write: an offline
    /// rebuild of 191,000 events said "mdb_txn_commit: Input/output error (5)"); with under 4 MiB free it
    /// is explained as the full disk it is, with room left it stays what it was, and a full map is never
    /// a full disk.
    @Test(.enabled(if: Self.canMount, "cannot mount a tmpfs here (not root, or mounts are refused)"))
    func anIOErrorOnAFullDiskIsExplainedAsTheFullDisk() throws {
        let disk = try SmallFileSystem(size: "16m")
        let environment = try Environment(directory: disk.path)
        let cutShort = LMDBError(code: .init(rawValue: EIO), operation: "mdb_txn_commit")
        let fullMap = LMDBError(code: .mapFull, operation: "mdb_put")
        #expect(environment.explaining(cutShort) == cutShort)
        disk.fill(leaving: 1 << 20)
        let explained = environment.explaining(cutShort)
        #expect(explained.isDiskFull && explained.operation == "mdb_txn_commit", "\(explained)")
        #expect(explained.description.contains("disk full"), "\(explained)")
        #expect(environment.explaining(fullMap) == fullMap)
        disk.removeFiller()
        #expect(environment.explaining(cutShort) == cutShort)
        withExtendedLifetime(disk) {}
    }

    /// On a full disk, a clean stop whose record cannot be written says so (it logged nothing), and a
    /// start that fails names the cause and the file (it said "NSCocoaErrorDomain Code=512") and leaves
    /// no empty `ownership.tmp` behind. With space back, it starts with everything.
    @Test(.enabled(if: Self.canMount, "cannot mount a tmpfs here (not root, or mounts are refused)"))
    func aFullDiskAtStopAndStartIsNamedInTheLog() throws {
        let disk = try SmallFileSystem(size: "16m")
        // The data directory is the mount itself: the daemon's log (beside it) stays writable.
        let daemon = try DaemonHarness(arguments: ["--map-size", "67108864", "--max-map-size", "268435456"], directory: disk.path)
        try daemon.call("contacts.create", ["name": "kept"])
        let temporary = daemon.directory + "/readmodels/ownership.tmp"
        disk.fill(leaving: 0)
        #expect(daemon.stop() == 0)
        let stopLine = daemon.log().split(separator: "\n").first { $0.contains("clean stop not recorded") }
        #expect(stopLine?.contains("disk_full") == true, "no line says the clean stop was not recorded: \(daemon.log().suffix(1_000))")
        #expect(!FileManager.default.fileExists(atPath: temporary), "an empty ownership.tmp is left")
        do {
            try daemon.start()
            Issue.record("the daemon started on a full disk with read models it cannot claim")
        } catch is DaemonHarness.HarnessError {
            let line = daemon.log().split(separator: "\n").last { $0.contains("contactledgerd stopped") } ?? ""
            #expect(line.contains("disk full") && line.contains("readmodels/ownership"), "the failed start does not name the cause: \(line)")
        }
        #expect(!FileManager.default.fileExists(atPath: temporary), "an empty ownership.tmp is left")
        disk.removeFiller()
        try daemon.start()
        #expect(try daemon.call("contacts.count", ["query": ""]).int("total") == 1)
        withExtendedLifetime(disk) {}
    }
}
