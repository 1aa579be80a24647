// ContactLedger — benchmarks.
import ArgumentParser
import Foundation
import RPC

/// `ledger-bench appends`: durable `contacts.create` throughput of the real daemon at several client
/// counts, against raw LMDB writes of the same size in the same run (issue 2's targets).
struct AppendsBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "appends",
        abstract: "contacts.create appends/s and latency at 1, 16, 64 clients vs. raw LMDB.",
        discussion: """
            Each client is an OS thread with its own connection, calling contacts.create (a name and one
            unique ext: URN) in a loop. The baseline writes values of the daemon's mean stored record size
            through the same LedgerStore Environment: one transaction (one fsync) per event for 1 client,
            and one per batch of the daemon's measured commit_batch_avg for more clients.
            Targets: 1 client >= 70% of one-fsync-per-event LMDB; 64 clients >= 50% of its baseline.
            For 1 client the baseline also runs paced (not a target): each transaction is followed by a busy
            pause as long as the daemon's request p50 minus its log-sync p50, the time a daemon serving one
            client spends between syncs. Its commit latency shows what the same sync costs after a pause,
            beside the daemon's log sync (system.stats commit_log_sync_ms).
            Each phase also reports CPU time per durable append, user and system as the kernel accounts it:
            the daemon's (all its threads, from /proc) per contacts.create, and the raw baseline's writing
            thread per event. On a shared VM it moves far less than the rates do.
            """
    )

    @OptionGroup var options: DaemonOptions

    @Option(name: .long, help: "Comma-separated client counts, one phase each.")
    var clients: String = "1,16,64"

    @Option(name: .long, help: "Seconds each raw-LMDB baseline runs.")
    var baselineSeconds: Double = 5

    @Flag(name: .long, help: "Also measure EventLog appends (hash chain and stream index) at each batch size.")
    var logBaseline = false

    /// One phase's figures beside its baseline.
    struct Row: Codable, Sendable {
        var clients: Int
        var commands: Int
        var errors: Int
        var firstError: String?
        var seconds: Double
        var daemonOpsPerSecond: Double
        var daemonEventsPerSecond: Double
        var latencyMs: LatencySummary
        var commitBatchAvg: Double
        var daemonCommitLatencyMs: [String: Double]
        /// The log's part of the daemon's commits (pages written and fsynced).
        var daemonLogSyncMs: [String: Double]
        /// The daemon's CPU time (all its threads, user and system) per command of the phase.
        var daemonCPUMicrosecondsPerOp: Double?
        var baseline: RawLMDBBaseline.Result?
        /// One client only: the raw baseline paced as the daemon's syncs are (see the discussion).
        var pacedBaseline: RawLMDBBaseline.Result?
        var logBaseline: RawLMDBBaseline.Result?
        var ratio: Double?
        var target: Double?
        var verdict: String?
    }

    /// The whole run.
    struct Report: Codable, Sendable {
        var benchmark = "appends"
        var storedRecordBytes: Int
        var storedRecordsSampled: Int
        var envelopeJSONBytes: Int?
        var rows: [Row]
    }

    /// The issue's target ratio for a client count, if it names one.
    static func target(clients: Int) -> Double? {
        switch clients {
        case 1: 0.70
        case 64: 0.50
        default: nil
        }
    }

    func validate() throws {
        _ = try parseClientList(self.clients)
        guard self.baselineSeconds > 0 else { throw ValidationError("--baseline-seconds must be positive.") }
    }

    func run() throws {
        let counts = try parseClientList(self.clients)
        let daemon = try DaemonProcess(executable: self.options.daemon, keep: self.options.keepData)
        defer { daemon.stop() }
        // Warm up (connections, code paths, the first map pages), then learn the size of a stored
        // record: stop cleanly, read the log, and restart on the same data.
        try Self.createLoop(daemon: daemon, clients: 4, seconds: 1, phase: "w")
        let envelopeBytes = try Self.envelopeBytes(daemon: daemon)
        daemon.stop(keepData: true)
        let stored = try RawLMDBBaseline.meanStoredRecordBytes(directory: daemon.directory)
        try daemon.start()
        let valueBytes = stored.bytes > 0 ? stored.bytes : (envelopeBytes ?? 600)
        progress("stored log records: \(stored.bytes) bytes on average over \(stored.records)")

        var rows: [Row] = []
        for (phase, count) in counts.enumerated() {
            progress("appends: \(count) client(s), \(formatted(self.options.seconds, 1)) s")
            let before = try CommitCounters(daemon: daemon)
            let cpuBefore = daemon.processIdentifier.flatMap(CPUTime.process)
            let load = try Self.createLoop(daemon: daemon, clients: count, seconds: self.options.seconds, phase: "p\(phase)")
            let cpuAfter = daemon.processIdentifier.flatMap(CPUTime.process)
            let after = try CommitCounters(daemon: daemon)
            var commitLatency: [String: Double] = [:]
            commitLatency["p50"] = after.commitP50
            commitLatency["p99"] = after.commitP99
            var logSync: [String: Double] = [:]
            logSync["p50"] = after.logSyncP50
            logSync["p99"] = after.logSyncP99
            var row = Row(
                clients: count,
                commands: load.operations,
                errors: load.errors,
                firstError: load.firstError,
                seconds: load.elapsedSeconds,
                daemonOpsPerSecond: load.operationsPerSecond,
                daemonEventsPerSecond: after.events(since: before) / load.elapsedSeconds,
                latencyMs: load.latency,
                commitBatchAvg: after.batchAverage(since: before),
                daemonCommitLatencyMs: commitLatency,
                daemonLogSyncMs: logSync
            )
            row.daemonCPUMicrosecondsPerOp = CPUTime.microsecondsPerOperation(from: cpuBefore, to: cpuAfter, operations: load.operations)
            // The baseline runs right after its phase (the daemon idle), so both see the same disk.
            let batch = count == 1 ? 1 : max(1, Int(row.commitBatchAvg.rounded()))
            progress("raw LMDB: \(valueBytes)-byte values, \(batch) per transaction, \(formatted(self.baselineSeconds, 1)) s")
            let baseline = try RawLMDBBaseline.run(shape: .raw, valueBytes: valueBytes, batch: batch, seconds: self.baselineSeconds)
            row.baseline = baseline
            if count == 1, let sync = after.logSyncP50 {
                let gap = max(0, row.latencyMs.p50 - sync)
                progress("raw LMDB paced: a \(formatted(gap, 2)) ms pause after each transaction, \(formatted(self.baselineSeconds, 1)) s")
                row.pacedBaseline = try RawLMDBBaseline.run(
                    shape: .raw, valueBytes: valueBytes, batch: 1, seconds: self.baselineSeconds, gapNanoseconds: UInt64(gap * 1_000_000)
                )
            }
            if self.logBaseline {
                progress("EventLog: \(batch) per transaction, \(formatted(self.baselineSeconds, 1)) s")
                row.logBaseline = try RawLMDBBaseline.run(shape: .eventLog, valueBytes: valueBytes, batch: batch, seconds: self.baselineSeconds)
            }
            let ratio = row.daemonOpsPerSecond / max(baseline.eventsPerSecond, 1e-9)
            row.ratio = ratio
            if let target = Self.target(clients: count) {
                row.target = target
                row.verdict = ratio >= target ? "PASS" : "MISS"
            }
            rows.append(row)
        }
        let report = Report(storedRecordBytes: valueBytes, storedRecordsSampled: stored.records, envelopeJSONBytes: envelopeBytes, rows: rows)
        if self.options.json {
            try printJSON(report)
        } else {
            Self.printTable(report)
        }
    }

    /// Runs `clients` threads creating contacts (a name and one unique `ext:` URN) for `seconds`.
    @discardableResult
    static func createLoop(daemon: DaemonProcess, clients: Int, seconds: Double, phase: String) throws -> LoadResult {
        let socketPath = daemon.socketPath
        return try runLoad(clients: clients, seconds: seconds) { index in
            let client = try RPCClient(socketPath: socketPath)
            return { iteration in
                let params: JSONValue = [
                    "name": .string("Bench \(phase) \(index) \(iteration)"),
                    "urns": [.string("ext:bench-\(phase)-\(index)-\(iteration)")],
                ]
                try client.call("contacts.create", params)
            }
        }
    }

    /// The size in bytes of one event envelope as `events.read` serves it (JSON), or nil.
    static func envelopeBytes(daemon: DaemonProcess) throws -> Int? {
        let page = try daemon.call("events.read", ["after_seq": 0, "limit": 1])
        guard let envelope = page["items"]?.arrayValue?.first else { return nil }
        return JSONLine.encode(envelope).count
    }

    /// Prints the report as a table, with the issue's targets.
    static func printTable(_ report: Report) {
        print("contacts.create (name + one ext: URN), durable appends; raw LMDB: \(report.storedRecordBytes)-byte values")
        if let envelope = report.envelopeJSONBytes {
            print("(mean stored log record over \(report.storedRecordsSampled) events; one events.read envelope is \(envelope) bytes of JSON)")
        }
        var table = TextTable(headers: [
            "clients", "daemon ops/s", "events/s", "baseline ops/s", "base batch", "ratio", "p50 ms", "p99 ms", "batch avg", "target",
        ])
        for row in report.rows {
            let target = row.target.map { "\(row.verdict ?? "") (>= \(Int(($0 * 100).rounded()))%)" } ?? "-"
            table.rows.append([
                "\(row.clients)",
                formatted(row.daemonOpsPerSecond),
                formatted(row.daemonEventsPerSecond),
                row.baseline.map { formatted($0.eventsPerSecond) } ?? "-",
                row.baseline.map { "\($0.batch)" } ?? "-",
                row.ratio.map { formatted($0 * 100, 1) + "%" } ?? "-",
                formatted(row.latencyMs.p50, 2),
                formatted(row.latencyMs.p99, 2),
                formatted(row.commitBatchAvg, 1),
                target,
            ])
        }
        print(table.rendered())
        print("commit latency per write transaction (fsync included; the daemon's is over its last 4096 commits):")
        for row in report.rows {
            guard let baseline = row.baseline else { continue }
            let daemon = row.daemonCommitLatencyMs
            print(
                "  \(row.clients) client(s): raw p50 \(formatted(baseline.commitLatency.p50, 2)) ms, p99 \(formatted(baseline.commitLatency.p99, 2)) ms;"
                    + " daemon p50 \(daemon["p50"].map { formatted($0, 2) } ?? "?") ms, p99 \(daemon["p99"].map { formatted($0, 2) } ?? "?") ms;"
                    + " daemon log sync alone p50 \(row.daemonLogSyncMs["p50"].map { formatted($0, 2) } ?? "?") ms"
            )
        }
        print("CPU time per durable append, user and system (steadier than the rates on a shared VM):")
        for row in report.rows {
            guard let daemon = row.daemonCPUMicrosecondsPerOp, let baseline = row.baseline else { continue }
            print(
                "  \(row.clients) client(s): daemon \(formatted(daemon, 1)) µs per contacts.create (all its threads);"
                    + " raw LMDB \(formatted(baseline.cpuMicrosecondsPerEvent, 1)) µs per event (its writing thread, batch \(baseline.batch))"
            )
        }
        for row in report.rows {
            guard let paced = row.pacedBaseline, let baseline = row.baseline else { continue }
            print(
                "  \(row.clients) client(s), raw paced with a \(formatted(paced.gapMicroseconds / 1000, 2)) ms pause after each transaction:"
                    + " commit p50 \(formatted(paced.commitLatency.p50, 2)) ms (back to back \(formatted(baseline.commitLatency.p50, 2)) ms),"
                    + " \(formatted(paced.eventsPerSecond)) ops/s; daemon/paced \(formatted(row.daemonOpsPerSecond / max(paced.eventsPerSecond, 1e-9) * 100, 1))% (not a target)"
            )
        }
        let logRows = report.rows.compactMap { row in row.logBaseline.map { (row.clients, $0) } }
        if !logRows.isEmpty {
            print("EventLog appends (same sizes and batches; hash chain + stream index, no RPC/domain/projections):")
            for (clients, result) in logRows {
                print("  \(clients) client(s): batch \(result.batch): \(formatted(result.eventsPerSecond)) events/s, commit p50 \(formatted(result.commitLatency.p50, 2)) ms")
            }
        }
        for row in report.rows where row.errors > 0 {
            print("  \(row.clients) client(s): \(row.errors) failed calls, first: \(row.firstError ?? "?")")
        }
    }
}
