// ContactLedger — benchmarks.
import ArgumentParser
import ContactDomain
import Foundation
import LedgerStore
import RPC

/// `ledger-bench rebuild`: an online `projections.rebuild` of the contacts read model over a large
/// log, beside a raw cursor scan of the same log, and a writer's throughput during the rebuild beside
/// before it (issue 6).
struct RebuildBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "projections.rebuild events/s over a 200k-event log vs. a raw EventLog.forEach scan; writer during vs. before.",
        discussion: """
            Fills the log with --events events: contacts.create with four custom fields (five events each:
            contact_created and four contact_field_changed) in JSON-RPC batches, takes a
            ledger.backup copy and scans it with EventLog.forEach (the baseline; then once more decoding
            every header and payload, to show what decoding alone costs). A single client then creates
            contacts for --writer-seconds (writes/s before), and again while projections.rebuild
            {name: "contacts"} runs, until projections.status says ready (writes/s during). The daemon's
            peak RSS is reset before the rebuild and read after it.
            Targets (issue 6, at 5,000,000 events): rebuild >= 25% of the raw scan and >= 500,000 events/s.
            """
    )

    @OptionGroup var options: JobDaemonOptions

    @Option(name: .long, help: "Events in the log before the rebuild (contacts.create with four fields, five events each).")
    var events: Int = 200_000

    @Option(name: .long, help: "Seconds the single writer runs before the rebuild.")
    var writerSeconds: Double = 3

    @Option(name: .long, help: "Seconds to wait for the rebuild before giving up.")
    var timeout: Double = 600

    /// The whole run.
    struct Report: Codable, Sendable {
        var benchmark = "rebuild"
        var logEvents: UInt64
        var fillCreatesPerSecond: Double
        var fillEventsPerSecond: Double
        var fillErrors: Int
        var fillFirstError: String?
        var rawScan: StoreCopy.Scan
        var decodeScan: StoreCopy.Scan
        var rebuiltEvents: UInt64
        var rebuildSeconds: Double
        var rebuildEventsPerSecond: Double
        var daemonReportedEventsPerSecond: Double?
        var ratioToRawScan: Double
        var writerBefore: BackgroundWriter.Result
        var writerDuring: BackgroundWriter.Result
        var peakRSSMiBDuringRebuild: Double?
        var rssMiBBeforeRebuild: Double?
        /// The size of the daemon's data.mdb after the rebuild (its pages count in the RSS when mapped).
        var dataFileMiB: Double
        /// The heap part of the RSS right after the rebuild (no mapped file pages).
        var anonymousRSSMiBAfterRebuild: Double?
        var targetRatio = 0.25
        var targetEventsPerSecond = 500_000.0
    }

    func validate() throws {
        guard self.events >= 1000 else { throw ValidationError("--events must be at least 1000.") }
        guard self.writerSeconds > 0, self.timeout > 0 else { throw ValidationError("--writer-seconds and --timeout must be positive.") }
    }

    func run() throws {
        let daemon = try DaemonProcess(executable: self.options.daemon, keep: self.options.keepData)
        defer { daemon.stop() }
        try FieldRichContacts.defineFields(daemon: daemon)
        let creates = (self.events + FieldRichContacts.eventsPerCreate - 1) / FieldRichContacts.eventsPerCreate
        progress("rebuild: \(creates) contacts.create with 4 fields (\(FieldRichContacts.eventsPerCreate) events each), batches of \(self.options.batch)")
        let fill = try BatchRPC.fill(
            socketPath: daemon.socketPath, total: creates, batchSize: self.options.batch, connections: self.options.connections,
            progressLabel: "creates"
        ) { index in
            FieldRichContacts.create(index, prefix: "Rebuild")
        }

        progress("rebuild: ledger.backup copy, raw scans")
        let copy = try StoreCopy(of: daemon)
        defer { copy.remove() }
        let rawScan = try copy.scanLog(runs: 3)
        let decodeScan = try copy.scanLog(runs: 1) { record in
            let header = try EventHeader.decode(record.header)
            if let payload = record.payload {
                _ = try LedgerEvent.decode(type: header.type, schemaVersion: header.schemaVersion, data: payload)
            }
        }
        copy.remove()

        progress("rebuild: single writer for \(formatted(self.writerSeconds, 1)) s before the rebuild")
        let before = BackgroundWriter(socketPath: daemon.socketPath, label: "before")
        usleep(UInt32(self.writerSeconds * 1_000_000))
        let writerBefore = before.stop()

        let pid = daemon.processIdentifier
        let rssBefore = pid.flatMap { ProcessMemory.rssMiB(pid: $0) }
        let peakReset = pid.map { ProcessMemory.resetPeak(pid: $0) } ?? false
        progress("rebuild: projections.rebuild {contacts} with the writer running")
        let during = BackgroundWriter(socketPath: daemon.socketPath, label: "during")
        let client = try daemon.client()
        let started = monotonicNanoseconds()
        let answer = try client.call("projections.rebuild", ["name": "contacts"])
        if answer["started"] == .bool(false) { progress("rebuild: a rebuild was already running") }
        var daemonRate: Double?
        let final = try poll(every: 0.02, timeout: self.timeout, what: "the rebuild to finish") { () -> JSONValue? in
            let status = try client.call("projections.status")
            guard let entry = status["projections"]?.arrayValue?.first(where: { $0["name"]?.stringValue == "contacts" }) else {
                throw BenchError("projections.status lists no contacts projection: \(status)")
            }
            if let rate = entry["rebuild"]?["events_per_s"]?.numberValue, rate > 0 { daemonRate = rate }
            // Not a ternary: JSONValue is nil-literal convertible, so `cond ? entry : nil` would be `.null`.
            guard entry["state"]?.stringValue == "ready" else { return Optional<JSONValue>.none }
            return entry
        }
        let rebuildSeconds = secondsSince(started)
        let writerDuring = during.stop()
        let peak = peakReset ? pid.flatMap { ProcessMemory.peakRSSMiB(pid: $0) } : nil
        let anonymous = pid.flatMap { ProcessMemory.anonymousRSSMiB(pid: $0) }
        let rebuilt = UInt64(final["position"]?.integerValue ?? 0)
        let dataFile = (try? FileManager.default.attributesOfItem(atPath: daemon.directory + "/data.mdb")[.size]) as? NSNumber
        let rate = Double(rebuilt) / max(rebuildSeconds, 1e-9)

        let report = Report(
            logEvents: copy.headSeq,
            fillCreatesPerSecond: fill.requestsPerSecond,
            fillEventsPerSecond: Double(copy.headSeq) / max(fill.seconds, 1e-9),
            fillErrors: fill.errors,
            fillFirstError: fill.firstError,
            rawScan: rawScan,
            decodeScan: decodeScan,
            rebuiltEvents: rebuilt,
            rebuildSeconds: rebuildSeconds,
            rebuildEventsPerSecond: rate,
            daemonReportedEventsPerSecond: daemonRate,
            ratioToRawScan: rate / max(rawScan.eventsPerSecond, 1e-9),
            writerBefore: writerBefore,
            writerDuring: writerDuring,
            peakRSSMiBDuringRebuild: peak,
            rssMiBBeforeRebuild: rssBefore,
            dataFileMiB: (dataFile?.doubleValue ?? 0) / 1_048_576,
            anonymousRSSMiBAfterRebuild: anonymous
        )
        if self.options.json {
            try printJSON(report)
        } else {
            Self.printTable(report)
        }
    }

    /// Prints the run as tables.
    static func printTable(_ report: Report) {
        print(
            "fill: \(report.logEvents) events, contacts.create with 4 fields \(formatted(report.fillCreatesPerSecond))/s"
                + " (\(formatted(report.fillEventsPerSecond)) events/s, batched); \(report.fillErrors) errors"
        )
        if let error = report.fillFirstError { print("  first fill error: \(error)") }
        var table = TextTable(headers: ["measure", "events", "seconds", "events/s", "vs raw scan"])
        table.rows.append([
            "projections.rebuild {contacts} (online)", "\(report.rebuiltEvents)", formatted(report.rebuildSeconds, 3),
            formatted(report.rebuildEventsPerSecond), formatted(report.ratioToRawScan * 100, 1) + "%",
        ])
        table.rows.append([
            "baseline: EventLog.forEach raw scan", "\(report.rawScan.events)", formatted(report.rawScan.seconds, 3),
            formatted(report.rawScan.eventsPerSecond), "100%",
        ])
        table.rows.append([
            "scan + decode header and payload", "\(report.decodeScan.events)", formatted(report.decodeScan.seconds, 3),
            formatted(report.decodeScan.eventsPerSecond), formatted(report.decodeScan.eventsPerSecond / max(report.rawScan.eventsPerSecond, 1e-9) * 100, 1) + "%",
        ])
        print(table.rendered())
        let ratioVerdict = report.ratioToRawScan >= report.targetRatio ? "PASS" : "MISS"
        let rateVerdict = report.rebuildEventsPerSecond >= report.targetEventsPerSecond ? "PASS" : "MISS"
        print(
            "  issue 6 targets: >= 25% of raw scan \(ratioVerdict); >= 500,000 events/s \(rateVerdict);"
                + " daemon-reported rate \(report.daemonReportedEventsPerSecond.map { formatted($0) } ?? "-") events/s"
        )
        if let peak = report.peakRSSMiBDuringRebuild {
            print("  daemon RSS before \(report.rssMiBBeforeRebuild.map { formatted($0, 1) } ?? "?") MiB, peak during rebuild \(formatted(peak, 1)) MiB"
                + " (data.mdb is \(formatted(report.dataFileMiB, 0)) MiB, its mapped pages count in the RSS;"
                + " heap right after: \(report.anonymousRSSMiBAfterRebuild.map { formatted($0, 1) } ?? "?") MiB)")
        }
        print("")
        print("single writer (contacts.create, 1 client) before vs. during the rebuild")
        var writers = TextTable(headers: ["phase", "writes", "seconds", "writes/s", "p50 ms", "p99 ms", "max ms", "errors"])
        for (name, result) in [("before", report.writerBefore), ("during rebuild", report.writerDuring)] {
            writers.rows.append([
                name, "\(result.writes)", formatted(result.seconds, 2), formatted(result.writesPerSecond),
                formatted(result.latencyMs.p50, 2), formatted(result.latencyMs.p99, 2), formatted(result.latencyMs.max, 2), "\(result.errors)",
            ])
        }
        print(writers.rendered())
        print(
            "  during/before: writes/s \(ratioText(report.writerDuring.writesPerSecond, report.writerBefore.writesPerSecond)),"
                + " p99 \(ratioText(report.writerDuring.latencyMs.p99, report.writerBefore.latencyMs.p99))"
        )
        for (name, result) in [("before", report.writerBefore), ("during", report.writerDuring)] where result.errors > 0 {
            print("  writer \(name): first error: \(result.firstError ?? "?")")
        }
    }
}
