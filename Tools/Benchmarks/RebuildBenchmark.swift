// ContactLedger — benchmarks.
import ArgumentParser
import ContactDomain
import Foundation
import LedgerStore
import Projections
import RPC

/// `ledger-bench rebuild`: an online `projections.rebuild` of the contacts read model over a large
/// log, beside a raw cursor scan of the same log, and a writer's throughput and latency during and
/// after the rebuild beside without it (issue 6).
struct RebuildBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "projections.rebuild events/s over a large log vs. a raw EventLog.forEachView scan; writer p99 during and after vs. without.",
        discussion: """
            Fills the log with --events events: contacts.create with four custom fields (five events each:
            contact_created and four contact_field_changed) for up to --max-creates contacts, then rounds of
            contacts.bulk_modify (a name and a field for every contact, by `score = N` queries: two events a
            contact a round) for the rest, all in JSON-RPC batches. It takes a ledger.backup copy and scans it
            with EventLog.forEachView (the baseline; then once more decoding every record on one thread as
            a replay's decoder threads do, to show what decoding alone costs). projections.rebuild
            {name: "contacts"} then runs on the idle daemon until projections.status says ready (the
            rebuild alone). A single client then creates contacts
            for --writer-seconds (writes/s and latency without a rebuild), and again while a second rebuild
            runs (during; that rebuild's rate is also reported, as it shares the cores with the writer), and
            for --after-seconds once it is complete. The read models are committed without a sync, and the
            kernel writes a file's dirty pages back all at once about every 30 s; with a writer running, that
            is hundreds of megabytes, and a log sync behind it can take 100 ms or more. Each phase is 40 s
            by default, so that each meets that flush about once and their slowest writes compare. Before
            the phase without a rebuild, the idle rebuild's pages are flushed (sync), so that phase
            measures the writer alone. The daemon's peak RSS is reset before the rebuild and
            read after it.
            With --dataset DIR the filled data directory is kept in DIR and reused by later runs with the
            same DIR (the fill is skipped; a daemon of another read-model version first rebuilds at start,
            which is waited for before measuring).
            Targets (issue 6, at 5,000,000 events): rebuild >= 25% of the raw scan and >= 500,000 events/s.
            """
    )

    @OptionGroup var options: JobDaemonOptions

    @Option(name: .long, help: "Events in the log before the rebuild (creates with four fields, then bulk modifies).")
    var events: Int = 200_000

    @Option(name: .long, help: "Contacts created at most (five events each); the rest of --events are bulk modifies of them.")
    var maxCreates: Int = 200_000

    @Option(name: .long, help: "A data directory to fill once and reuse in later runs (kept after the run).")
    var dataset: String?

    @Option(name: .long, help: "Seconds the single writer runs before the rebuild (over 30 s to meet the kernel's periodic write-back of the read models).")
    var writerSeconds: Double = 40

    @Option(name: .long, help: "Seconds the single writer runs after the rebuild (over 30 s to meet the kernel's periodic write-back of the read models).")
    var afterSeconds: Double = 40

    @Option(name: .long, help: "Seconds to wait for the rebuild before giving up.")
    var timeout: Double = 600

    /// The whole run.
    struct Report: Codable, Sendable {
        var benchmark = "rebuild"
        var logEvents: UInt64
        /// Nil when a kept dataset was reused.
        var fill: Fill?
        var rawScan: StoreCopy.Scan
        /// The log read and decoded on one thread as one of a replay's decoder threads does it.
        var decodeScan: StoreCopy.Scan
        /// The rebuild on the idle daemon.
        var idleRebuiltEvents: UInt64
        var idleRebuildSeconds: Double
        var idleRebuildEventsPerSecond: Double
        var idleRatioToRawScan: Double
        /// The daemon's CPU time (all its threads, user and system) per event of the idle rebuild.
        var idleRebuildCPUMicrosecondsPerEvent: Double?
        /// The rebuild while the single writer runs.
        var rebuiltEvents: UInt64
        var rebuildSeconds: Double
        var rebuildEventsPerSecond: Double
        var daemonReportedEventsPerSecond: Double?
        var ratioToRawScan: Double
        var writerBefore: BackgroundWriter.Result
        var writerDuring: BackgroundWriter.Result
        var writerAfter: BackgroundWriter.Result
        var peakRSSMiBDuringRebuild: Double?
        var rssMiBBeforeRebuild: Double?
        /// The size of the daemon's data.mdb after the rebuild (its pages count in the RSS when mapped).
        var dataFileMiB: Double
        /// The heap part of the RSS right after the rebuild (no mapped file pages).
        var anonymousRSSMiBAfterRebuild: Double?
        /// The daemon's log lines of the rebuild's phases, with their `elapsed_s`.
        var daemonPhaseLines: [String]
        var targetRatio = 0.25
        var targetEventsPerSecond = 500_000.0
    }

    func validate() throws {
        guard self.events >= 1000 else { throw ValidationError("--events must be at least 1000.") }
        guard self.maxCreates >= 1000 else { throw ValidationError("--max-creates must be at least 1000.") }
        guard self.writerSeconds > 0, self.afterSeconds > 0, self.timeout > 0 else {
            throw ValidationError("--writer-seconds, --after-seconds and --timeout must be positive.")
        }
    }

    /// How the log was filled.
    struct Fill: Codable, Sendable {
        var creates: Int
        var createsPerSecond: Double
        var bulkModifyCalls: Int
        var bulkModifyEventsPerSecond: Double
        var seconds: Double
        var eventsPerSecond: Double
        var errors: Int
        var firstError: String?
    }

    func run() throws {
        let daemon: DaemonProcess
        var reused = false
        if let dataset = self.dataset {
            reused = FileManager.default.fileExists(atPath: dataset + "/data.mdb")
            daemon = try DaemonProcess(executable: self.options.daemon, directory: dataset, keep: true, arguments: Self.daemonArguments)
        } else {
            daemon = try DaemonProcess(executable: self.options.daemon, keep: self.options.keepData, arguments: Self.daemonArguments)
        }
        defer { daemon.stop() }
        let fill = reused ? nil : try self.fill(daemon)
        if reused {
            progress("rebuild: reusing the dataset in \(daemon.directory); waiting for its read models")
            _ = try Self.waitUntilReady(daemon, timeout: self.timeout)
        }
        progress("rebuild: ledger.backup copy, raw scans")
        let copy = try StoreCopy(of: daemon)
        defer { copy.remove() }
        let rawScan = try copy.scanLog(runs: 3)
        let decodeScan = try Self.decodeAsReplayed(copy, bytes: rawScan.bytes)
        copy.remove()

        progress("rebuild: projections.rebuild {contacts} on the idle daemon")
        let cpuBefore = daemon.processIdentifier.flatMap(CPUTime.process)
        let idle = try Self.rebuild(daemon, timeout: self.timeout)
        let cpuAfter = daemon.processIdentifier.flatMap(CPUTime.process)
        // The idle rebuild's copy left about a gigabyte of read-model pages for the kernel to write back;
        // the log's syncs during that flush wait behind it. Flushed here, not in the phase without a
        // rebuild, which measures the writer alone.
        sync()

        progress("rebuild: single writer for \(formatted(self.writerSeconds, 1)) s before the rebuild")
        // A run's own label: a reused dataset already holds the URNs of earlier runs' writers.
        let run = UUID().uuidString.prefix(8).lowercased()
        let before = BackgroundWriter(socketPath: daemon.socketPath, label: "before-\(run)")
        usleep(UInt32(self.writerSeconds * 1_000_000))
        let writerBefore = before.stop()

        let pid = daemon.processIdentifier
        let rssBefore = pid.flatMap { ProcessMemory.rssMiB(pid: $0) }
        let peakReset = pid.map { ProcessMemory.resetPeak(pid: $0) } ?? false
        progress("rebuild: projections.rebuild {contacts} with the writer running")
        let during = BackgroundWriter(socketPath: daemon.socketPath, label: "during-\(run)")
        let loaded = try Self.rebuild(daemon, timeout: self.timeout)
        let writerDuring = during.stop()
        let peak = peakReset ? pid.flatMap { ProcessMemory.peakRSSMiB(pid: $0) } : nil
        let anonymous = pid.flatMap { ProcessMemory.anonymousRSSMiB(pid: $0) }
        let dataFile = (try? FileManager.default.attributesOfItem(atPath: daemon.directory + "/data.mdb")[.size]) as? NSNumber
        progress("rebuild: single writer for \(formatted(self.afterSeconds, 1)) s after the rebuild")
        let after = BackgroundWriter(socketPath: daemon.socketPath, label: "after-\(run)")
        usleep(UInt32(self.afterSeconds * 1_000_000))
        let writerAfter = after.stop()

        let report = Report(
            logEvents: copy.headSeq,
            fill: fill,
            rawScan: rawScan,
            decodeScan: decodeScan,
            idleRebuiltEvents: idle.events,
            idleRebuildSeconds: idle.seconds,
            idleRebuildEventsPerSecond: idle.eventsPerSecond,
            idleRatioToRawScan: idle.eventsPerSecond / max(rawScan.eventsPerSecond, 1e-9),
            idleRebuildCPUMicrosecondsPerEvent: CPUTime.microsecondsPerOperation(from: cpuBefore, to: cpuAfter, operations: Int(idle.events)),
            rebuiltEvents: loaded.events,
            rebuildSeconds: loaded.seconds,
            rebuildEventsPerSecond: loaded.eventsPerSecond,
            daemonReportedEventsPerSecond: loaded.daemonReportedEventsPerSecond,
            ratioToRawScan: loaded.eventsPerSecond / max(rawScan.eventsPerSecond, 1e-9),
            writerBefore: writerBefore,
            writerDuring: writerDuring,
            writerAfter: writerAfter,
            peakRSSMiBDuringRebuild: peak,
            rssMiBBeforeRebuild: rssBefore,
            dataFileMiB: (dataFile?.doubleValue ?? 0) / 1_048_576,
            anonymousRSSMiBAfterRebuild: anonymous,
            daemonPhaseLines: Self.lastRebuildPhases(in: daemon.log())
        )
        if self.options.json {
            try printJSON(report)
        } else {
            Self.printTable(report)
        }
    }

    /// Notice level (the last `--log-level` given wins): the rebuild's phase lines are notices.
    static let daemonArguments = ["--log-level", "notice"]

    /// The daemon's log lines of its last rebuild's phases (started, staged, copied, complete), which
    /// carry the seconds since it started: the slow writes' moments are set beside them. The writer's
    /// slow batches (over 100 ms, with where their time went) are among them, and the read models'
    /// online compaction once the rebuild's swapped-out generation is emptied (its copy's time, and how
    /// long the writer waited for the swap).
    static func lastRebuildPhases(in log: String) -> [String] {
        let lines = log.split(separator: "\n").filter {
            ($0.contains("projection rebuild ") && !$0.contains("staging committed")) || $0.contains("slow write batch")
                || $0.contains("compacted online")
        }
        guard let start = lines.lastIndex(where: { $0.contains("projection rebuild started") }) else { return [] }
        return lines[start...].map(String.init)
    }

    /// Reads and decodes the whole log on one thread in the runs a replay's decoder threads read
    /// (``ReplayChunk/read(log:after:limit:maximumNanoseconds:in:)``, the same decoders): what one
    /// decoder thread reaches alone, beside the rebuild that runs several and applies what they decode.
    private static func decodeAsReplayed(_ copy: StoreCopy, bytes: Int) throws -> StoreCopy.Scan {
        var events = 0
        let started = monotonicNanoseconds()
        try copy.environment.read { txn in
            let head = try copy.log.head(in: txn).seq
            var position: UInt64 = 0
            while position < head {
                let chunk = try ReplayChunk.read(log: copy.log, after: position, limit: ReplayPipeline.Limits().chunkRecords, in: txn)
                guard chunk.last > position else { throw BenchError("the log has a gap after \(position)") }
                events += chunk.items.count
                position = chunk.last
            }
        }
        let seconds = Double(monotonicNanoseconds() - started) / 1_000_000_000
        return StoreCopy.Scan(events: events, bytes: bytes, seconds: seconds)
    }

    /// Fills the log: creates with four fields, then rounds of bulk modifies of every contact.
    private func fill(_ daemon: DaemonProcess) throws -> Fill {
        try FieldRichContacts.defineFields(daemon: daemon)
        let started = monotonicNanoseconds()
        let creates = min(self.maxCreates, (self.events + FieldRichContacts.eventsPerCreate - 1) / FieldRichContacts.eventsPerCreate)
        progress("rebuild: \(creates) contacts.create with 4 fields (\(FieldRichContacts.eventsPerCreate) events each), batches of \(self.options.batch)")
        let created = try BatchRPC.fill(
            socketPath: daemon.socketPath, total: creates, batchSize: self.options.batch, connections: self.options.connections,
            progressLabel: "creates"
        ) { index in
            FieldRichContacts.create(index, prefix: "Rebuild")
        }
        // Every contact has score = index % 1000, so each `score = N` query names about creates/1000 of them.
        let scores = min(creates, 1000)
        let remaining = max(0, self.events - creates * FieldRichContacts.eventsPerCreate)
        let rounds = (remaining + 2 * creates - 1) / (2 * creates)
        var bulk: BatchRPC.FillResult?
        if rounds > 0 {
            progress("rebuild: \(rounds) rounds of contacts.bulk_modify (name and age of every contact), \(scores) calls a round")
            bulk = try BatchRPC.fill(
                socketPath: daemon.socketPath, total: rounds * scores, batchSize: 4, connections: 2, progressLabel: "bulk modifies"
            ) { index in
                let (round, score) = index.quotientAndRemainder(dividingBy: scores)
                return (
                    "contacts.bulk_modify",
                    [
                        "query": .string("score = \(score)"),
                        "modifiers": [
                            ["type": "name", "name": .string("Rebuild round \(round + 1) \(score)")],
                            ["type": "field", "field": "age", "value": .string(String(100 + round))],
                        ],
                    ]
                )
            }
        }
        let seconds = secondsSince(started)
        let head = UInt64(try daemon.call("system.health")["head_seq"]?.integerValue ?? 0)
        let bulkEvents = Double(max(0, Int(head) - creates * FieldRichContacts.eventsPerCreate))
        return Fill(
            creates: creates,
            createsPerSecond: created.requestsPerSecond,
            bulkModifyCalls: bulk?.requests ?? 0,
            bulkModifyEventsPerSecond: bulk.map { bulkEvents / max($0.seconds, 1e-9) } ?? 0,
            seconds: seconds,
            eventsPerSecond: Double(head) / max(seconds, 1e-9),
            errors: created.errors + (bulk?.errors ?? 0),
            firstError: created.firstError ?? bulk?.firstError
        )
    }

    /// One timed rebuild: from the call to projections.status saying ready.
    struct TimedRebuild {
        var events: UInt64
        var seconds: Double
        var eventsPerSecond: Double
        var daemonReportedEventsPerSecond: Double?
    }

    /// Starts projections.rebuild {contacts} and waits until it is done.
    static func rebuild(_ daemon: DaemonProcess, timeout: Double) throws -> TimedRebuild {
        let client = try daemon.client()
        let started = monotonicNanoseconds()
        let answer = try client.call("projections.rebuild", ["name": "contacts"])
        if answer["started"] == .bool(false) { progress("rebuild: a rebuild was already running") }
        var daemonRate: Double?
        let final = try Self.waitUntilReady(daemon, client: client, timeout: timeout) { daemonRate = $0 }
        let seconds = secondsSince(started)
        let events = UInt64(final["position"]?.integerValue ?? 0)
        return TimedRebuild(events: events, seconds: seconds, eventsPerSecond: Double(events) / max(seconds, 1e-9), daemonReportedEventsPerSecond: daemonRate)
    }

    /// Polls projections.status until the contacts projection is ready; returns its entry.
    /// `rate` sees each rebuild rate the daemon reports.
    @discardableResult
    static func waitUntilReady(
        _ daemon: DaemonProcess,
        client: RPCClient? = nil,
        timeout: Double,
        rate: (Double) -> Void = { _ in }
    ) throws -> JSONValue {
        let client = try client ?? daemon.client()
        return try poll(every: 0.02, timeout: timeout, what: "the rebuild to finish") { () -> JSONValue? in
            let status = try client.call("projections.status")
            guard let entry = status["projections"]?.arrayValue?.first(where: { $0["name"]?.stringValue == "contacts" }) else {
                throw BenchError("projections.status lists no contacts projection: \(status)")
            }
            if let reported = entry["rebuild"]?["events_per_s"]?.numberValue, reported > 0 { rate(reported) }
            // Not a ternary: JSONValue is nil-literal convertible, so `cond ? entry : nil` would be `.null`.
            guard entry["state"]?.stringValue == "ready" else { return Optional<JSONValue>.none }
            return entry
        }
    }

    /// Prints the run as tables.
    static func printTable(_ report: Report) {
        if let fill = report.fill {
            print(
                "fill: \(report.logEvents) events in \(formatted(fill.seconds, 1)) s (\(formatted(fill.eventsPerSecond)) events/s):"
                    + " \(fill.creates) contacts.create with 4 fields \(formatted(fill.createsPerSecond))/s,"
                    + " \(fill.bulkModifyCalls) contacts.bulk_modify \(formatted(fill.bulkModifyEventsPerSecond)) events/s; \(fill.errors) errors"
            )
            if let error = fill.firstError { print("  first fill error: \(error)") }
        } else {
            print("fill: \(report.logEvents) events, a kept dataset reused")
        }
        var table = TextTable(headers: ["measure", "events", "seconds", "events/s", "vs raw scan"])
        table.rows.append([
            "projections.rebuild {contacts} (online, idle daemon)", "\(report.idleRebuiltEvents)", formatted(report.idleRebuildSeconds, 3),
            formatted(report.idleRebuildEventsPerSecond), formatted(report.idleRatioToRawScan * 100, 1) + "%",
        ])
        table.rows.append([
            "projections.rebuild {contacts} (online, 1 writer)", "\(report.rebuiltEvents)", formatted(report.rebuildSeconds, 3),
            formatted(report.rebuildEventsPerSecond), formatted(report.ratioToRawScan * 100, 1) + "%",
        ])
        table.rows.append([
            "baseline: EventLog.forEachView raw scan", "\(report.rawScan.events)", formatted(report.rawScan.seconds, 3),
            formatted(report.rawScan.eventsPerSecond), "100%",
        ])
        table.rows.append([
            "scan + decode as one replay decoder", "\(report.decodeScan.events)", formatted(report.decodeScan.seconds, 3),
            formatted(report.decodeScan.eventsPerSecond), formatted(report.decodeScan.eventsPerSecond / max(report.rawScan.eventsPerSecond, 1e-9) * 100, 1) + "%",
        ])
        print(table.rendered())
        for (name, ratio, rate) in [
            ("idle daemon", report.idleRatioToRawScan, report.idleRebuildEventsPerSecond),
            ("1 writer", report.ratioToRawScan, report.rebuildEventsPerSecond),
        ] {
            print(
                "  issue 6 targets, \(name): >= 25% of raw scan \(ratio >= report.targetRatio ? "PASS" : "MISS");"
                    + " >= 500,000 events/s \(rate >= report.targetEventsPerSecond ? "PASS" : "MISS")"
            )
        }
        if let cpu = report.idleRebuildCPUMicrosecondsPerEvent {
            print(
                "  CPU time per event, user and system: idle rebuild \(formatted(cpu, 2)) µs (all the daemon's threads);"
                    + " raw scan \(formatted(report.rawScan.microsecondsPerEvent, 3)) µs;"
                    + " scan + decode \(formatted(report.decodeScan.microsecondsPerEvent, 2)) µs"
            )
        }
        print("  daemon-reported rate with the writer: \(report.daemonReportedEventsPerSecond.map { formatted($0) } ?? "-") events/s")
        if let peak = report.peakRSSMiBDuringRebuild {
            print("  daemon RSS before \(report.rssMiBBeforeRebuild.map { formatted($0, 1) } ?? "?") MiB, peak during rebuild \(formatted(peak, 1)) MiB"
                + " (data.mdb is \(formatted(report.dataFileMiB, 0)) MiB, its mapped pages count in the RSS;"
                + " heap right after: \(report.anonymousRSSMiBAfterRebuild.map { formatted($0, 1) } ?? "?") MiB)")
        }
        print("")
        print("single writer (contacts.create, 1 client) without, during and after the rebuild")
        var writers = TextTable(headers: ["phase", "writes", "seconds", "writes/s", "p50 ms", "p99 ms", "max ms", "errors"])
        let phases = [("without rebuild", report.writerBefore), ("during rebuild", report.writerDuring), ("after rebuild", report.writerAfter)]
        for (name, result) in phases {
            writers.rows.append([
                name, "\(result.writes)", formatted(result.seconds, 2), formatted(result.writesPerSecond),
                formatted(result.latencyMs.p50, 2), formatted(result.latencyMs.p99, 2), formatted(result.latencyMs.max, 2), "\(result.errors)",
            ])
        }
        print(writers.rendered())
        print(
            "  during/without: writes/s \(ratioText(report.writerDuring.writesPerSecond, report.writerBefore.writesPerSecond)),"
                + " p99 \(ratioText(report.writerDuring.latencyMs.p99, report.writerBefore.latencyMs.p99));"
                + " after/without: writes/s \(ratioText(report.writerAfter.writesPerSecond, report.writerBefore.writesPerSecond)),"
                + " p99 \(ratioText(report.writerAfter.latencyMs.p99, report.writerBefore.latencyMs.p99))"
        )
        for (name, result) in phases where !result.slowWrites.isEmpty {
            // Set beside the daemon's "projection rebuild staged/copied/complete" lines (elapsed_s).
            let slow = result.slowWrites
            let listed = slow.prefix(12).map { "\(formatted($0.milliseconds, 0)) ms at \(formatted($0.startedAfterSeconds, 1)) s" }
            print("  writes over 100 ms \(name): \(slow.count): \(listed.joined(separator: ", "))\(slow.count > 12 ? ", …" : "")")
        }
        for line in report.daemonPhaseLines { print("  daemon: \(line)") }
        for (name, result) in phases where result.errors > 0 {
            print("  writer \(name): first error: \(result.firstError ?? "?")")
        }
    }
}
