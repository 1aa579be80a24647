// ContactLedger — benchmarks.
import ArgumentParser
import Foundation
import RPC

/// `ledger-bench query`: a mix of 12 queries on the scale dataset, each beside the same query answered
/// by a full scan of the same read model in the same run, plus a smart group's evaluation (issue 4).
struct QueryBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "p50/p99 of 12 queries and a smart group's evaluation on the scale dataset vs. a full scan of the same read model.",
        discussion: """
            Uses (or first generates, see scale-data) the dataset in --data-dir. Each query is sent
            --calls times (at most --seconds-per-query) on one connection. Its baseline is the same
            method and params with the query rewritten to `(Q) OR name = "~no such contact~"`: the same
            contacts match, but the planner cannot index `name =`, so the daemon scans and evaluates every
            contact of the same read model; both answers' totals must agree. The smart group is created,
            timed until groups.list says ready, compared with a scanned count of its query, then deleted.
            Targets (issue 4): selective queries p50 < 5 ms and >= 20x faster than the scan; a page
            sorted by a field p50 < 20 ms.
            """
    )

    @OptionGroup var dataset: ScaleDatasetOptions

    @Option(name: .long, help: "Timed calls per query (after 2 warm-up calls).")
    var calls = 50

    @Option(name: .long, help: "Stop timing a query after this many seconds, whatever --calls says.")
    var secondsPerQuery: Double = 10

    @Option(name: .long, help: "Timed full-scan baseline calls per query.")
    var scanRuns = 2

    @Flag(name: .long, help: "Skip the full-scan baselines (a quick look; no speed-up verdicts).")
    var noScan = false

    @Flag(name: .long, help: "Print the results as JSON instead of tables.")
    var json = false

    /// Which target a query is held to.
    enum Kind: String, Codable, Sendable {
        case selective, sortedPage = "sorted_page", count, broad
    }

    /// One query of the mix.
    struct Spec: Sendable {
        var label: String
        var kind: Kind
        var method: String
        var query: String
        var sort: String?
    }

    /// One query's figures.
    struct QueryReport: Codable, Sendable {
        var label: String
        var kind: Kind
        var method: String
        var query: String
        var sort: String?
        var total: Int64?
        var calls: Int
        var errors: Int
        var firstError: String?
        var latencyMs: LatencySummary
        var scanTotal: Int64?
        var scanMs: LatencySummary?
        var speedup: Double?
        var verdict: String
    }

    /// The smart group's figures.
    struct SmartGroupReport: Codable, Sendable {
        var query: String
        var members: Int64?
        /// From groups.create to groups.list first saying `ready`.
        var readySeconds: Double
        /// The count groups.list gave with that first `ready`.
        var countWhenReady: Int64?
        /// From groups.create to `ready` with every member counted.
        var evaluationSeconds: Double
        var indexedCountMs: Double
        var scanCountMs: Double?
        var scanTotal: Int64?
    }

    /// The whole run.
    struct Report: Codable, Sendable {
        var benchmark = "query"
        var contacts: Int
        var logHead: Int64
        var queries: [QueryReport]
        var smartGroup: SmartGroupReport
        var rssMiB: Double?
        var peakRSSMiB: Double?
        var anonymousRSSMiB: Double?
        var dataFileMiB: Double
        var dataFileAllocatedMiB: Double
    }

    func validate() throws {
        guard self.calls > 0, self.scanRuns > 0, self.secondsPerQuery > 0 else {
            throw ValidationError("--calls, --scan-runs and --seconds-per-query must be positive.")
        }
    }

    /// The mix, with values taken from contact `pivot` so that the selective ones match something.
    static func mix(pivot p: Int) -> [Spec] {
        let surnamePrefix = String(ScaleDataset.surname(p).lowercased().prefix(4))
        let otherPrefix = String(ScaleDataset.surname(p + 1).lowercased().prefix(4))
        let birth = ScaleDataset.date(days: ScaleDataset.birthDay(p))
        let telDigits = String(ScaleDataset.tel(p).suffix(7))
        return [
            Spec(label: "text field =", kind: .selective, method: "contacts.search", query: "fields.code = \"\(ScaleDataset.code(p))\""),
            Spec(label: "number field =", kind: .selective, method: "contacts.search", query: "fields.score = \(ScaleDataset.score(p))"),
            Spec(label: "number range (top 0.01%)", kind: .selective, method: "contacts.search", query: "fields.balance > 999900"),
            Spec(label: "datetime field = day", kind: .selective, method: "contacts.search", query: "fields.birth = \(birth)"),
            Spec(label: "name ~ prefix", kind: .selective, method: "contacts.search", query: "name ~ \"\(surnamePrefix)\""),
            Spec(label: "tel ~ 7 digits", kind: .selective, method: "contacts.search", query: "tel ~ \"\(telDigits)\""),
            Spec(
                label: "OR of 3 selective", kind: .selective, method: "contacts.search",
                query: "fields.code = \"\(ScaleDataset.code(p + 2))\" OR fields.score = \(ScaleDataset.score(p + 3)) OR name ~ \"\(otherPrefix)\""
            ),
            Spec(
                label: "selective AND broad", kind: .selective, method: "contacts.search",
                query: "fields.code = \"\(ScaleDataset.code(p + 4))\" AND fields.age >= 18 AND status = active"
            ),
            Spec(label: "count group (10%)", kind: .count, method: "contacts.count", query: "group = \"G17\""),
            Spec(label: "count number range (~9%)", kind: .count, method: "contacts.count", query: "fields.age > 81"),
            Spec(label: "group page sorted by field", kind: .sortedPage, method: "contacts.search", query: "group = \"G23\"", sort: "fields.balance"),
            Spec(label: "all contacts sorted by field", kind: .sortedPage, method: "contacts.search", query: "", sort: "-fields.age"),
        ]
    }

    /// The query the planner cannot index, matching the same contacts: `name =` has no index, and an
    /// `OR` with an unindexed branch is scanned.
    static func scanQuery(_ query: String) -> String {
        let never = "name = \"~no such contact~\""
        return query.isEmpty ? "name != \"~no such contact~\"" : "(\(query)) OR \(never)"
    }

    /// The call's params: `query`, and for a search a page of 50 in the spec's order.
    static func params(_ spec: Spec, query: String) -> JSONValue {
        var params: [String: JSONValue] = ["query": .string(query)]
        if spec.method == "contacts.search" {
            params["limit"] = 50
            if let sort = spec.sort { params["sort"] = .string(sort) }
        }
        return .object(params)
    }

    /// Times `calls` calls (after two warm-ups), stopping after `seconds`.
    static func time(
        _ client: RPCClient,
        _ method: String,
        _ params: JSONValue,
        calls: Int,
        seconds: Double,
        warmUp: Int = 2
    ) -> (latencies: [UInt64], total: Int64?, errors: Int, firstError: String?) {
        var latencies: [UInt64] = []
        var total: Int64?
        var errors = 0
        var firstError: String?
        for _ in 0..<warmUp { _ = try? client.call(method, params) }
        let deadline = monotonicNanoseconds() + UInt64(seconds * 1_000_000_000)
        for _ in 0..<calls {
            let started = monotonicNanoseconds()
            do {
                let answer = try client.call(method, params)
                latencies.append(monotonicNanoseconds() - started)
                total = answer["total"]?.integerValue
            } catch {
                errors += 1
                if firstError == nil { firstError = "\(error)" }
            }
            if monotonicNanoseconds() > deadline { break }
        }
        return (latencies, total, errors, firstError)
    }

    func run() throws {
        let (daemon, manifest) = try ScaleDataset.open(self.dataset)
        defer { daemon.stop(keepData: true) }
        // The store's own count: a generation stopped between checkpoints leaves more than the manifest says.
        let contacts = (try daemon.call("workspace.get")["counts"]?["contacts"]?.integerValue).map { Int($0) } ?? manifest.contactsDone
        let head = try daemon.call("system.health")["head_seq"]?.integerValue ?? 0
        let client = try daemon.client()
        if let pid = daemon.processIdentifier { ProcessMemory.resetPeak(pid: pid) }

        var reports: [QueryReport] = []
        for spec in Self.mix(pivot: manifest.contactsDone / 2 + 7) {
            progress("query: \(spec.label)")
            let measured = Self.time(client, spec.method, Self.params(spec, query: spec.query), calls: self.calls, seconds: self.secondsPerQuery)
            let latency = LatencySummary(nanoseconds: measured.latencies)
            var scan: (latencies: [UInt64], total: Int64?, errors: Int, firstError: String?)?
            if !self.noScan {
                progress("query: \(spec.label): full-scan baseline x \(self.scanRuns)")
                scan = Self.time(
                    client, spec.method, Self.params(spec, query: Self.scanQuery(spec.query)), calls: self.scanRuns, seconds: 3600, warmUp: 0
                )
            }
            let scanLatency = scan.map { LatencySummary(nanoseconds: $0.latencies) }
            let speedup = scanLatency.map { $0.p50 / max(latency.p50, 1e-9) }
            reports.append(
                QueryReport(
                    label: spec.label, kind: spec.kind, method: spec.method, query: spec.query, sort: spec.sort,
                    total: measured.total, calls: measured.latencies.count, errors: measured.errors + (scan?.errors ?? 0),
                    firstError: measured.firstError ?? scan?.firstError, latencyMs: latency, scanTotal: scan?.total,
                    scanMs: scanLatency, speedup: speedup,
                    verdict: Self.verdict(spec.kind, latency: latency, speedup: speedup, agrees: scan.map { $0.total == measured.total } ?? true)
                )
            )
        }

        let smart = try self.smartGroup(daemon: daemon, client: client)
        let pid = daemon.processIdentifier
        let report = Report(
            contacts: contacts,
            logHead: head,
            queries: reports,
            smartGroup: smart,
            rssMiB: pid.flatMap { ProcessMemory.rssMiB(pid: $0) },
            peakRSSMiB: pid.flatMap { ProcessMemory.peakRSSMiB(pid: $0) },
            anonymousRSSMiB: pid.flatMap { ProcessMemory.anonymousRSSMiB(pid: $0) },
            dataFileMiB: ScaleDataset.dataFileMiB(self.dataset.dataDir),
            dataFileAllocatedMiB: ScaleDataset.dataFileAllocatedMiB(self.dataset.dataDir)
        )
        if self.json {
            try printJSON(report)
        } else {
            Self.printTable(report)
        }
    }

    /// PASS/MISS against issue 4's targets; `-` for the queries it sets none for.
    static func verdict(_ kind: Kind, latency: LatencySummary, speedup: Double?, agrees: Bool) -> String {
        guard agrees else { return "WRONG (totals differ)" }
        switch kind {
        case .selective:
            let fast = latency.p50 < 5
            guard let speedup else { return fast ? "PASS (p50; no scan)" : "MISS" }
            return fast && speedup >= 20 ? "PASS" : "MISS"
        case .sortedPage:
            return latency.p50 < 20 ? "PASS" : "MISS"
        case .count, .broad:
            return "-"
        }
    }

    /// Creates a smart group, times its evaluation until `ready` and until its count equals what
    /// `contacts.count` of its query said beforehand, compares with a scanned count of the query, then
    /// deletes it (so reruns find the dataset as it was, bar the membership events).
    func smartGroup(daemon: DaemonProcess, client: RPCClient) throws -> SmartGroupReport {
        let query = "fields.plan = \"gold\" AND fields.age > 85"
        progress("query: smart group \(query)")
        let indexed = Self.time(client, "contacts.count", ["query": .string(query)], calls: 5, seconds: 60, warmUp: 1)
        let expected = indexed.total ?? -1
        let started = monotonicNanoseconds()
        let group = try client.call("groups.create", ["name": .string("Smart bench \(Int(Date().timeIntervalSince1970))"), "query": .string(query)])
        guard let uuid = group["uuid"]?.stringValue else { throw BenchError("groups.create answered without uuid") }
        var readyAt: Double?
        var readyCount: Int64?
        let complete = try poll(every: 0.01, timeout: 3600, what: "the smart group to be ready and complete") { () -> JSONValue? in
            let groups = try client.call("groups.list")["groups"]?.arrayValue ?? []
            guard let entry = groups.first(where: { $0["uuid"]?.stringValue == uuid }), entry["status"]?.stringValue == "ready" else {
                return Optional<JSONValue>.none
            }
            if readyAt == nil {
                readyAt = secondsSince(started)
                readyCount = entry["count"]?.integerValue
            }
            return entry["count"]?.integerValue == expected ? entry : Optional<JSONValue>.none
        }
        let evaluation = secondsSince(started)
        var scan: (latencies: [UInt64], total: Int64?, errors: Int, firstError: String?)?
        if !self.noScan {
            scan = Self.time(client, "contacts.count", ["query": .string(Self.scanQuery(query))], calls: self.scanRuns, seconds: 3600, warmUp: 0)
        }
        _ = try? client.call("groups.delete", ["uuid": .string(uuid)])
        return SmartGroupReport(
            query: query,
            members: complete["count"]?.integerValue,
            readySeconds: readyAt ?? evaluation,
            countWhenReady: readyCount,
            evaluationSeconds: evaluation,
            indexedCountMs: LatencySummary(nanoseconds: indexed.latencies).p50,
            scanCountMs: scan.map { LatencySummary(nanoseconds: $0.latencies).p50 },
            scanTotal: scan?.total
        )
    }

    /// Prints the run as tables.
    static func printTable(_ report: Report) {
        print("query mix on \(report.contacts) contacts (log head \(report.logHead)); baseline = same call, query made unindexable (full scan)")
        var table = TextTable(headers: ["query", "method", "total", "p50 ms", "p99 ms", "scan p50 ms", "speed-up", "target", "verdict"])
        for query in report.queries {
            let target =
                switch query.kind {
                case .selective: "p50<5, >=20x"
                case .sortedPage: "p50<20"
                case .count, .broad: "-"
                }
            table.rows.append([
                query.label, query.method == "contacts.count" ? "count" : "search" + (query.sort.map { " sort \($0)" } ?? ""),
                query.total.map { "\($0)" } ?? "?", formatted(query.latencyMs.p50, 2), formatted(query.latencyMs.p99, 2),
                query.scanMs.map { formatted($0.p50, 1) } ?? "-", query.speedup.map { formatted($0, 1) + "x" } ?? "-", target, query.verdict,
            ])
        }
        print(table.rendered())
        for query in report.queries {
            print("  \(query.label): \(query.query.isEmpty ? "(all)" : query.query)\(query.errors > 0 ? "; \(query.errors) errors, first: \(query.firstError ?? "?")" : "")")
        }
        let smart = report.smartGroup
        print(
            "smart group \(smart.query): \(smart.members.map { "\($0)" } ?? "?") members, evaluated (create → ready, all members) in"
                + " \(formatted(smart.evaluationSeconds, 3)) s (first `ready` at \(formatted(smart.readySeconds, 3)) s with"
                + " \(smart.countWhenReady.map { "\($0)" } ?? "?") members); indexed count p50 \(formatted(smart.indexedCountMs, 2)) ms;"
                + " full-scan count p50 \(smart.scanCountMs.map { formatted($0, 1) } ?? "-") ms (total \(smart.scanTotal.map { "\($0)" } ?? "-"))"
        )
        print(
            "daemon RSS \(report.rssMiB.map { formatted($0, 0) } ?? "?") MiB (peak during the run \(report.peakRSSMiB.map { formatted($0, 0) } ?? "?") MiB,"
                + " heap \(report.anonymousRSSMiB.map { formatted($0, 0) } ?? "?") MiB); data.mdb \(formatted(report.dataFileMiB, 0)) MiB"
                + " (\(formatted(report.dataFileAllocatedMiB, 0)) MiB allocated)"
        )
    }
}
