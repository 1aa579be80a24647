// ContactLedger — benchmarks.
import ArgumentParser
import ContactDomain
import Crypto
import Foundation
import LedgerStore
import Projections
import RPC

/// `ledger-bench history-scale`: issue 5's figures on the scale dataset — `as_of` on the long-history
/// contact, `audit.changes` for the rare actor, `search` with `as_of` over every contact, `ledger.verify`
/// — each beside its same-run baseline (fold of the stream, projection rebuild, raw SHA-256).
struct HistoryScaleBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history-scale",
        abstract: "as_of, audit.changes, search as_of and verify on the scale dataset, each beside its baseline.",
        discussion: """
            Uses (or first generates, see scale-data) the dataset in --data-dir. With the daemon running:
            contacts.as_of {uuid, at: {seq}} at random points of the subject's stream (each answer's
            version checked), audit.changes {actor: rare, limit: --audit-limit}, contacts.search {query, as_of:
            {seq: head}} (folds the whole log), projections.rebuild {contacts} over the same events,
            ledger.verify {} over the whole log. Then the daemon is stopped and the store opened directly
            (read-only use) for the baselines: folding the subject's whole stream (decode + apply), and
            SHA-256 of exactly the bytes verify hashes (payload, header, prev ‖ header hash ‖ payload
            hash), timed apart from the LMDB reads.
            Targets (issue 5): as_of p50 < 2 ms at 100,000 events; audit p50 < 10 ms among 1,000,000 events.
            """
    )

    @OptionGroup var dataset: ScaleDatasetOptions

    @Option(name: .long, help: "contacts.as_of calls at random points.")
    var points = 300

    @Option(name: .long, help: "audit.changes calls.")
    var auditCalls = 100

    @Option(name: .long, help: "Items per audit.changes page (the API's default page is 50; 1000 is its largest).")
    var auditLimit = 50

    @Option(name: .long, help: "contacts.search as_of calls (each folds the whole log).")
    var searchAsOfCalls = 1

    @Flag(name: .long, help: "Skip projections.rebuild (the search as_of baseline).")
    var noRebuild = false

    @Option(name: .long, help: "Stop waiting for projections.rebuild after this many seconds and report its rate so far.")
    var rebuildTimeout: Double = 900

    @Flag(name: .long, help: "Print the results as JSON instead of tables.")
    var json = false

    /// The whole run.
    struct Report: Codable, Sendable {
        var benchmark = "history-scale"
        var contacts: Int
        var logEvents: Int64
        var subjectEvents: Int64
        var asOfMs: LatencySummary
        var asOfCalls: Int
        var asOfWrong: Int
        var asOfErrors: Int
        var asOfFirstError: String?
        var foldStreamMs: Double
        var auditMs: LatencySummary
        var auditItems: Int
        var auditErrors: Int
        var auditFirstError: String?
        var searchAsOfSeconds: [Double]
        var searchAsOfTotal: Int64?
        var searchAsOfPeakRSSMiB: Double?
        var rebuildSeconds: Double?
        var rebuildEvents: Int64?
        /// False when the rebuild was still running at --rebuild-timeout (its figures are then partial).
        var rebuildFinished: Bool
        var verifySeconds: Double
        var verifyChecked: Int64
        var verified: Bool
        var shaEvents: Int
        var shaBytes: Int
        var shaSeconds: Double
        var scanAndShaSeconds: Double
    }

    func validate() throws {
        guard (1...1000).contains(self.auditLimit) else { throw ValidationError("--audit-limit must be in 1...1000.") }
        guard self.points > 0, self.auditCalls > 0, self.searchAsOfCalls > 0, self.rebuildTimeout > 0 else {
            throw ValidationError("--points, --audit-calls, --search-as-of-calls and --rebuild-timeout must be positive.")
        }
    }

    func run() throws {
        let (daemon, manifest) = try ScaleDataset.open(self.dataset)
        defer { daemon.stop(keepData: true) }
        guard let subject = manifest.subjectUUID else { throw BenchError("the dataset has no history subject") }
        let client = try daemon.client()
        let head = try client.call("system.health")["head_seq"]?.integerValue ?? 0
        let contacts = (try client.call("workspace.get")["counts"]?["contacts"]?.integerValue).map { Int($0) } ?? manifest.contactsDone

        // as_of at random points of the subject's stream: every seq in [first, last] is one of its events,
        // so the contact's version there is seq - first + 1.
        progress("history-scale: contacts.as_of x \(self.points) on a \(manifest.subjectEventsDone)-event stream")
        var generator = SystemRandomNumberGenerator()
        let range = manifest.subjectFirstSeq...max(manifest.subjectFirstSeq, manifest.subjectLastSeq)
        var asOf: [UInt64] = []
        var wrong = 0
        var asOfErrors = 0
        var asOfFirstError: String?
        for index in 0..<(self.points + 5) {
            let seq = Int64.random(in: range, using: &generator)
            let started = monotonicNanoseconds()
            do {
                let contact = try client.call("contacts.as_of", ["uuid": .string(subject), "at": ["seq": .integer(seq)]])
                if index >= 5 { asOf.append(monotonicNanoseconds() - started) }
                if contact["version"]?.integerValue != seq - manifest.subjectFirstSeq + 1 { wrong += 1 }
            } catch {
                asOfErrors += 1
                if asOfFirstError == nil { asOfFirstError = "\(error)" }
            }
        }

        progress("history-scale: audit.changes {actor: rare, limit: \(self.auditLimit)} x \(self.auditCalls)")
        let auditParams: JSONValue = ["actor": .string(ScaleDataset.rareActor), "limit": .integer(Int64(self.auditLimit))]
        var audit: [UInt64] = []
        var auditItems = 0
        var auditErrors = 0
        var auditFirstError: String?
        for index in 0..<(self.auditCalls + 3) {
            let started = monotonicNanoseconds()
            do {
                let page = try client.call("audit.changes", auditParams)
                if index >= 3 { audit.append(monotonicNanoseconds() - started) }
                auditItems = page["items"]?.arrayValue?.count ?? 0
            } catch {
                auditErrors += 1
                if auditFirstError == nil { auditFirstError = "\(error)" }
            }
        }

        progress("history-scale: contacts.search as_of {seq: \(head)} x \(self.searchAsOfCalls)")
        let pid = daemon.processIdentifier
        if let pid { ProcessMemory.resetPeak(pid: pid) }
        var searchSeconds: [Double] = []
        var searchTotal: Int64?
        for _ in 0..<self.searchAsOfCalls {
            let started = monotonicNanoseconds()
            let answer = try client.call(
                "contacts.search", ["query": "fields.plan = \"gold\" AND fields.age > 85", "as_of": ["seq": .integer(head)], "limit": 50]
            )
            searchSeconds.append(secondsSince(started))
            searchTotal = answer["total"]?.integerValue
        }
        let searchPeak = pid.flatMap { ProcessMemory.peakRSSMiB(pid: $0) }

        var rebuildSeconds: Double?
        var rebuildEvents: Int64?
        var rebuildFinished = false
        if !self.noRebuild {
            progress("history-scale: projections.rebuild {contacts} (at most \(formatted(self.rebuildTimeout, 0)) s)")
            let started = monotonicNanoseconds()
            _ = try client.call("projections.rebuild", ["name": "contacts"])
            var lastPosition: Int64?
            while secondsSince(started) < self.rebuildTimeout {
                let status = try client.call("projections.status")
                guard let entry = status["projections"]?.arrayValue?.first(where: { $0["name"]?.stringValue == "contacts" }) else {
                    throw BenchError("projections.status lists no contacts projection")
                }
                if entry["state"]?.stringValue == "ready" {
                    rebuildFinished = true
                    lastPosition = entry["position"]?.integerValue
                    break
                }
                lastPosition = entry["rebuild"]?["position"]?.integerValue ?? lastPosition
                usleep(50_000)
            }
            rebuildSeconds = secondsSince(started)
            rebuildEvents = lastPosition
            if !rebuildFinished { progress("history-scale: rebuild not finished after \(formatted(self.rebuildTimeout, 0)) s; reporting its rate so far") }
        }

        progress("history-scale: ledger.verify {} over \(head) events")
        let verifyStarted = monotonicNanoseconds()
        let verify = try client.call("ledger.verify")
        let verifySeconds = secondsSince(verifyStarted)

        progress("history-scale: daemon stopped; baselines on the store opened directly")
        daemon.stop(keepData: true)
        let environment = try Environment(directory: self.dataset.dataDir, rebuildableSubdirectory: "readmodels")
        let log = try EventLog.open(in: environment, indexing: .ledgerHeaders)
        var foldBest = Double.infinity
        for _ in 0..<3 {
            let started = monotonicNanoseconds()
            _ = try HistoryBenchmark.fold(stream: "contact/\(subject)", environment: environment, log: log)
            foldBest = min(foldBest, secondsSince(started) * 1000)
        }
        let sha = try Self.hashLog(environment: environment, log: log)

        let report = Report(
            contacts: contacts, logEvents: head, subjectEvents: range.upperBound - range.lowerBound + 1,
            asOfMs: LatencySummary(nanoseconds: asOf), asOfCalls: asOf.count, asOfWrong: wrong, asOfErrors: asOfErrors,
            asOfFirstError: asOfFirstError, foldStreamMs: foldBest,
            auditMs: LatencySummary(nanoseconds: audit), auditItems: auditItems, auditErrors: auditErrors, auditFirstError: auditFirstError,
            searchAsOfSeconds: searchSeconds, searchAsOfTotal: searchTotal, searchAsOfPeakRSSMiB: searchPeak,
            rebuildSeconds: rebuildSeconds, rebuildEvents: rebuildEvents, rebuildFinished: rebuildFinished,
            verifySeconds: verifySeconds, verifyChecked: verify["checked"]?.integerValue ?? 0, verified: verify["verified"] == .bool(true),
            shaEvents: sha.events, shaBytes: sha.bytes, shaSeconds: sha.hashSeconds, scanAndShaSeconds: sha.totalSeconds
        )
        if self.json {
            try printJSON(report)
        } else {
            Self.printTable(report)
        }
    }

    /// SHA-256 of what `ledger.verify` hashes for every record (payload; header; prev ‖ header hash ‖
    /// payload hash), with the hashing timed apart from reading the records.
    static func hashLog(environment: Environment, log: EventLog) throws -> (events: Int, bytes: Int, hashSeconds: Double, totalSeconds: Double) {
        var events = 0
        var bytes = 0
        var hashing: UInt64 = 0
        var sink: UInt8 = 0
        let started = monotonicNanoseconds()
        try environment.read { txn in
            try log.forEach(after: 0, in: txn) { record in
                let before = monotonicNanoseconds()
                var payloadHash = record.payloadHash
                if let payload = record.payload { payloadHash = Array(SHA256.hash(data: payload)) }
                var hasher = SHA256()
                hasher.update(data: record.prevHash)
                hasher.update(data: Array(SHA256.hash(data: record.header)))
                hasher.update(data: payloadHash)
                sink ^= hasher.finalize().withUnsafeBytes { $0[0] }
                hashing += monotonicNanoseconds() - before
                events += 1
                bytes += record.header.count + (record.payload?.count ?? 0) + 96
                return true
            }
        }
        if sink == 0 { progress("history-scale: (hash sink 0)") }
        return (events, bytes, Double(hashing) / 1_000_000_000, secondsSince(started))
    }

    /// Prints the run as tables.
    static func printTable(_ report: Report) {
        print("history at scale: \(report.contacts) contacts, \(report.logEvents) events in the log")
        var table = TextTable(headers: ["measure", "p50 ms", "p99 ms", "baseline", "baseline ms", "target", "verdict"])
        table.rows.append([
            "contacts.as_of, \(report.subjectEvents)-event stream (\(report.asOfCalls) calls)", formatted(report.asOfMs.p50, 3),
            formatted(report.asOfMs.p99, 3), "decode + fold whole stream", formatted(report.foldStreamMs, 1), "p50 < 2 ms",
            report.asOfMs.p50 < 2 && report.asOfWrong == 0 && report.asOfErrors == 0 ? "PASS" : "MISS",
        ])
        table.rows.append([
            "audit.changes {actor}, \(report.auditItems) items/answer", formatted(report.auditMs.p50, 3), formatted(report.auditMs.p99, 3),
            "-", "-", "p50 < 10 ms", report.auditMs.p50 < 10 && report.auditErrors == 0 ? "PASS" : "MISS",
        ])
        print(table.rendered())
        print("  as_of wrong versions \(report.asOfWrong), errors \(report.asOfErrors)\(report.asOfFirstError.map { ", first: \($0)" } ?? "");"
            + " audit errors \(report.auditErrors)\(report.auditFirstError.map { ", first: \($0)" } ?? "")")
        let searches = report.searchAsOfSeconds.map { formatted($0, 2) }.joined(separator: ", ")
        print(
            "contacts.search as_of {seq: head} over \(report.contacts) contacts: \(searches) s (total \(report.searchAsOfTotal.map { "\($0)" } ?? "?"),"
                + " daemon peak RSS \(report.searchAsOfPeakRSSMiB.map { formatted($0, 0) } ?? "?") MiB);"
                + " baseline projections.rebuild {contacts} of the same events: "
                + (report.rebuildSeconds.map { seconds in
                    let events = Double(report.rebuildEvents ?? 0)
                    let rate = events / max(seconds, 1e-9)
                    let whole = report.rebuildFinished
                        ? "" : ", unfinished: whole log at that rate ~\(formatted(Double(report.logEvents) / max(rate, 1e-9), 0)) s"
                    return "\(formatted(seconds, 2)) s for \(Int(events)) events (\(formatted(rate)) events/s\(whole))"
                } ?? "not run")
        )
        let verifyRate = Double(report.verifyChecked) / max(report.verifySeconds, 1e-9)
        let shaRate = Double(report.shaEvents) / max(report.shaSeconds, 1e-9)
        let scanRate = Double(report.shaEvents) / max(report.scanAndShaSeconds, 1e-9)
        print(
            "ledger.verify: \(report.verifyChecked) events in \(formatted(report.verifySeconds, 2)) s = \(formatted(verifyRate)) events/s"
                + " (\(report.verified ? "verified" : "NOT verified")); raw SHA-256 of the same bytes"
                + " (\(formatted(Double(report.shaBytes) / 1_048_576, 0)) MiB): \(formatted(shaRate)) events/s,"
                + " \(formatted(Double(report.shaBytes) / 1_048_576 / max(report.shaSeconds, 1e-9), 0)) MiB/s;"
                + " read + SHA-256 in one process \(formatted(scanRate)) events/s; verify = \(formatted(verifyRate / max(shaRate, 1e-9) * 100, 0))% of raw SHA-256"
        )
    }
}
