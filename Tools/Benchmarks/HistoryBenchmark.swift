// ContactLedger — benchmarks.
import ArgumentParser
import ContactDomain
import Foundation
import LedgerStore
import RPC

/// Options of the benchmarks that start one daemon and fill it (no per-phase duration).
struct JobDaemonOptions: ParsableArguments {
    @Option(name: .long, help: "The contactledgerd binary to start (a release build).")
    var daemon: String

    @Option(name: .long, help: "Requests per JSON-RPC batch line when filling the log.")
    var batch: Int = 200

    @Option(name: .long, help: "Connections filling the log in parallel (one thread each).")
    var connections: Int = 4

    @Flag(name: .long, help: "Keep the daemon's data directory and log under /tmp after the run.")
    var keepData = false

    @Flag(name: .long, help: "Print the results as JSON instead of tables.")
    var json = false

    func validate() throws {
        guard (1...10_000).contains(self.batch) else { throw ValidationError("--batch must be in 1...10000.") }
        guard (1...64).contains(self.connections) else { throw ValidationError("--connections must be in 1...64.") }
    }
}

/// `ledger-bench history`: `contacts.as_of` on a long stream and `audit.changes` with a narrow filter
/// on a large log, each beside reading the same records raw from a copy of the store (issue 5).
struct HistoryBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "contacts.as_of p50/p99 on a 10,000-event contact and audit.changes on a 100k-event log vs. raw LMDB reads.",
        discussion: """
            Creates one contact and renames it until its stream holds --events events (contacts.modify in
            JSON-RPC batches), then creates contacts with four fields (five events each) until the audit
            log holds --audit-events more events, one create in 1000 by a rare actor. Times
            contacts.as_of {uuid, at: {seq}} at --points random points of the contact's own history (each
            answer's name is checked against what it was then), and audit.changes {actor: rare}.
            Baselines, on a ledger.backup copy of the store opened with LedgerStore: the contact's stored
            records read by EventLog.seqs(of:) + record(at:), the same records decoded and folded with
            Contact.apply, the whole log read with EventLog.forEach, and the same scan filtering on the
            decoded header's actor (what an unindexed audit filter costs).
            Targets: as_of p99 <= 5 ms (brief), p50 < 2 ms (issue 5, at 100,000 events); audit p50 < 10 ms
            (issue 5, at 1,000,000 events).
            """
    )

    @OptionGroup var options: JobDaemonOptions

    @Option(name: .long, help: "Events in the contact's stream (its creation included).")
    var events: Int = 10_000

    @Option(name: .long, help: "Random points of the contact's history to ask contacts.as_of for.")
    var points: Int = 500

    @Option(name: .long, help: "Stop asking contacts.as_of after this many seconds, whatever --points says (keeps bench.sh bounded).")
    var asOfSeconds: Double = 20

    @Option(name: .long, help: "Events for the audit log: contacts.create with 4 fields (5 events each), 1 in 1000 by the rare actor.")
    var auditEvents: Int = 100_000

    @Option(name: .long, help: "audit.changes calls to time.")
    var auditCalls: Int = 200

    /// The actor of one event in 1000.
    static let rareActor = "rare-auditor@example.org"
    /// The actor of the other events.
    static let bulkActor = "bulk-loader@example.org"

    /// as_of figures and their baselines.
    struct AsOfReport: Codable, Sendable {
        var streamEvents: Int
        var points: Int
        var pointsAsked: Int
        var wrongAnswers: Int
        var errors: Int
        var firstError: String?
        var latencyMs: LatencySummary
        /// p50 of the points in the first, middle and last third of the stream.
        var p50ByThirdMs: [Double]
        /// Reading the stream's records raw (seqs(of:) + record(at:)), fastest of 5.
        var rawStreamReadMs: Double
        /// Decoding and folding the whole stream with Contact.apply, fastest of 3.
        var foldStreamMs: Double
        var foldCheck: String
        var targetP99Ms = 5.0
        var verdict: String
    }

    /// audit.changes figures and their baselines.
    struct AuditReport: Codable, Sendable {
        var logEvents: UInt64
        var matchingEvents: Int
        var itemsPerAnswer: Int
        var calls: Int
        var errors: Int
        var firstError: String?
        var latencyMs: LatencySummary
        /// EventLog.forEachView over the whole log, fastest of 3.
        var rawLogScan: StoreCopy.Scan
        /// The same scan decoding each header and keeping the rare actor's events.
        var filteredLogScan: StoreCopy.Scan
        var filteredScanMatches: Int
        var targetP50Ms = 10.0
    }

    /// The whole run.
    struct Report: Codable, Sendable {
        var benchmark = "history"
        var fillModifiesPerSecond: Double
        var fillCreatesPerSecond: Double
        var fillErrors: Int
        var fillFirstError: String?
        var asOf: AsOfReport
        var audit: AuditReport
    }

    func validate() throws {
        guard self.events >= 2, self.events <= 1_000_000 else { throw ValidationError("--events must be in 2...1000000.") }
        guard self.points > 0, self.auditCalls > 0, self.asOfSeconds > 0 else {
            throw ValidationError("--points, --audit-calls and --as-of-seconds must be positive.")
        }
        guard self.auditEvents >= 1000 else { throw ValidationError("--audit-events must be at least 1000.") }
    }

    func run() throws {
        let daemon = try DaemonProcess(executable: self.options.daemon, keep: self.options.keepData)
        defer { daemon.stop() }
        let socketPath = daemon.socketPath

        // The subject: created, then renamed until its stream holds `events` events.
        let created = try daemon.call("contacts.create", ["name": "History 0", "urns": ["ext:history-subject"]])
        guard let uuid = created["uuid"]?.stringValue, let createdSeq = created["seq"]?.integerValue else {
            throw BenchError("contacts.create answered without uuid or seq: \(created)")
        }
        let modifies = self.events - 1
        progress("history: \(modifies) contacts.modify on one contact, batches of \(self.options.batch)")
        let modifyFill = try BatchRPC.fill(
            socketPath: socketPath, total: modifies, batchSize: self.options.batch, connections: self.options.connections,
            progressLabel: "modifies"
        ) { index in
            ("contacts.modify", ["uuid": .string(uuid), "modifiers": [["type": "name", "name": .string("History \(index + 1)")]]])
        }
        // What the name was after each of the subject's events.
        var nameAt: [UInt64: String] = [UInt64(createdSeq): "History 0"]
        for (index, seq) in modifyFill.seqs.enumerated() where seq > 0 { nameAt[seq] = "History \(index + 1)" }
        let subjectSeqs = nameAt.keys.sorted()

        try FieldRichContacts.defineFields(daemon: daemon)
        let creates = (self.auditEvents + FieldRichContacts.eventsPerCreate - 1) / FieldRichContacts.eventsPerCreate
        progress("history: \(creates) contacts.create with 4 fields (\(self.auditEvents) events) for the audit log")
        let createFill = try BatchRPC.fill(
            socketPath: socketPath, total: creates, batchSize: self.options.batch, connections: self.options.connections,
            progressLabel: "creates"
        ) { index in
            FieldRichContacts.create(index, prefix: "Audit", actor: index % 1000 == 0 ? Self.rareActor : Self.bulkActor)
        }
        let rareCount = createFill.seqs.enumerated().filter { $0.offset % 1000 == 0 && $0.element > 0 }.count
            * FieldRichContacts.eventsPerCreate

        // contacts.as_of at random points of the subject's history.
        progress("history: contacts.as_of at \(self.points) random points")
        let client = try daemon.client()
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<20 {
            _ = try? client.call("contacts.as_of", ["uuid": .string(uuid), "at": ["seq": .integer(Int64(subjectSeqs[subjectSeqs.count / 2]))]])
        }
        var asOfLatencies: [UInt64] = []
        var latenciesByThird: [[UInt64]] = [[], [], []]
        var wrong = 0
        var asOfErrors = 0
        var firstAsOfError: String?
        let asOfDeadline = monotonicNanoseconds() + UInt64(self.asOfSeconds * 1_000_000_000)
        for _ in 0..<self.points {
            guard monotonicNanoseconds() < asOfDeadline else {
                progress("history: as_of stopped at the \(formatted(self.asOfSeconds, 0)) s cap after \(asOfLatencies.count) points")
                break
            }
            guard let seq = subjectSeqs.randomElement(using: &generator) else { break }
            let started = monotonicNanoseconds()
            do {
                let contact = try client.call("contacts.as_of", ["uuid": .string(uuid), "at": ["seq": .integer(Int64(seq))]])
                let elapsed = monotonicNanoseconds() - started
                asOfLatencies.append(elapsed)
                // Where in the stream the point lies, to show whether the cost depends on it.
                let third = min(2, (subjectSeqs.firstIndex(of: seq) ?? 0) * 3 / max(1, subjectSeqs.count))
                latenciesByThird[third].append(elapsed)
                if contact["name"]?.stringValue != nameAt[seq] { wrong += 1 }
            } catch {
                asOfErrors += 1
                if firstAsOfError == nil { firstAsOfError = "\(error)" }
            }
        }

        // audit.changes by the rare actor.
        progress("history: audit.changes {actor} x \(self.auditCalls)")
        let auditParams: JSONValue = ["actor": .string(Self.rareActor), "limit": 1000]
        var items = 0
        for _ in 0..<5 { _ = try? client.call("audit.changes", auditParams) }
        var auditLatencies: [UInt64] = []
        var auditErrors = 0
        var firstAuditError: String?
        for _ in 0..<self.auditCalls {
            let started = monotonicNanoseconds()
            do {
                let page = try client.call("audit.changes", auditParams)
                auditLatencies.append(monotonicNanoseconds() - started)
                items = page["items"]?.arrayValue?.count ?? 0
            } catch {
                auditErrors += 1
                if firstAuditError == nil { firstAuditError = "\(error)" }
            }
        }

        // Baselines on a hot copy of the store.
        progress("history: ledger.backup copy, raw LMDB baselines")
        let copy = try StoreCopy(of: daemon)
        defer { copy.remove() }
        let stream = "contact/\(uuid)"
        var rawBest = Double.infinity
        for _ in 0..<5 {
            let started = monotonicNanoseconds()
            let bytes = try copy.environment.read { txn -> Int in
                var bytes = 0
                for seq in try copy.log.seqs(of: stream, in: txn) {
                    guard let record = try copy.log.record(at: seq, in: txn) else { throw BenchError("record \(seq) missing") }
                    bytes += record.header.count + (record.payload?.count ?? 0)
                }
                return bytes
            }
            rawBest = min(rawBest, secondsSince(started) * 1000)
            if bytes == 0 { throw BenchError("the subject's stream is empty in the copy") }
        }
        var foldBest = Double.infinity
        var foldName = "?"
        for _ in 0..<3 {
            let started = monotonicNanoseconds()
            let contact = try Self.fold(stream: stream, environment: copy.environment, log: copy.log)
            foldBest = min(foldBest, secondsSince(started) * 1000)
            foldName = contact?.name ?? "nil"
        }
        // Batches run concurrently, so the last rename applied is the one with the highest seq.
        let expectedFinal = subjectSeqs.last.flatMap { nameAt[$0] } ?? "?"
        let rawScan = try copy.scanLog(runs: 3)
        var matches = 0
        let filtered = try copy.scanLog(runs: 1) { record in
            if try EventHeader.decode(Array(record.header)).actor == Self.rareActor { matches += 1 }
        }

        let asOfSummary = LatencySummary(nanoseconds: asOfLatencies)
        let report = Report(
            fillModifiesPerSecond: modifyFill.requestsPerSecond,
            fillCreatesPerSecond: createFill.requestsPerSecond,
            fillErrors: modifyFill.errors + createFill.errors,
            fillFirstError: modifyFill.firstError ?? createFill.firstError,
            asOf: AsOfReport(
                streamEvents: subjectSeqs.count,
                points: asOfLatencies.count,
                pointsAsked: self.points,
                wrongAnswers: wrong,
                errors: asOfErrors,
                firstError: firstAsOfError,
                latencyMs: asOfSummary,
                p50ByThirdMs: latenciesByThird.map { LatencySummary(nanoseconds: $0).p50 },
                rawStreamReadMs: rawBest,
                foldStreamMs: foldBest,
                foldCheck: foldName == expectedFinal ? "ok" : "fold ended at \(foldName), expected \(expectedFinal)",
                verdict: asOfSummary.p99 <= 5 ? "PASS" : "MISS"
            ),
            audit: AuditReport(
                logEvents: copy.headSeq,
                matchingEvents: rareCount,
                itemsPerAnswer: items,
                calls: auditLatencies.count,
                errors: auditErrors,
                firstError: firstAuditError,
                latencyMs: LatencySummary(nanoseconds: auditLatencies),
                rawLogScan: rawScan,
                filteredLogScan: filtered,
                filteredScanMatches: matches
            )
        )
        if self.options.json {
            try printJSON(report)
        } else {
            Self.printTable(report)
        }
    }

    /// Decodes and folds a contact's whole stream from `log` in `environment`, as an as_of without
    /// snapshots would.
    static func fold(stream: String, environment: Environment, log: EventLog) throws -> Contact? {
        try environment.read { txn -> Contact? in
            var contact: Contact?
            for seq in try log.seqs(of: stream, in: txn) {
                guard let record = try log.record(at: seq, in: txn), let payload = record.payload else { continue }
                let header = try EventHeader.decode(record.header)
                let event = try LedgerEvent.decode(type: header.type, schemaVersion: header.schemaVersion, data: payload)
                if case .contactCreated(let created) = event {
                    contact = Contact(created: created, workspace: header.workspace, at: header.createdOn, version: header.version)
                } else {
                    contact?.apply(event, at: header.createdOn, version: header.version)
                }
            }
            return contact
        }
    }

    /// Prints both parts as tables.
    static func printTable(_ report: Report) {
        let asOf = report.asOf
        print(
            "fill: contacts.modify \(formatted(report.fillModifiesPerSecond))/s, contacts.create with 4 fields \(formatted(report.fillCreatesPerSecond))/s"
                + " (batched); \(report.fillErrors) errors"
        )
        if let error = report.fillFirstError { print("  first fill error: \(error)") }
        let capped = asOf.points + asOf.errors < asOf.pointsAsked ? " (of \(asOf.pointsAsked) asked: time cap reached)" : ""
        print("contacts.as_of {uuid, at: {seq}} on a \(asOf.streamEvents)-event contact, \(asOf.points) random points\(capped)")
        var table = TextTable(headers: ["measure", "p50 ms", "p99 ms", "max ms", "vs raw stream read", "vs fold"])
        table.rows.append([
            "contacts.as_of (RPC)", formatted(asOf.latencyMs.p50, 3), formatted(asOf.latencyMs.p99, 3), formatted(asOf.latencyMs.max, 3),
            "p50 " + ratioText(asOf.latencyMs.p50, asOf.rawStreamReadMs), "p50 " + ratioText(asOf.latencyMs.p50, asOf.foldStreamMs),
        ])
        table.rows.append(["baseline: raw read of all \(asOf.streamEvents) records", formatted(asOf.rawStreamReadMs, 3), "", "", "", ""])
        table.rows.append(["baseline: decode + fold all records", formatted(asOf.foldStreamMs, 3), "", "", "", ""])
        print(table.rendered())
        print(
            "  target p99 <= \(formatted(asOf.targetP99Ms, 0)) ms: \(asOf.verdict); wrong answers \(asOf.wrongAnswers), errors \(asOf.errors);"
                + " fold check: \(asOf.foldCheck)"
        )
        let thirds = asOf.p50ByThirdMs.map { formatted($0, 3) }
        if thirds.count == 3 {
            print("  p50 by where the point lies in the stream: first third \(thirds[0]) ms, middle \(thirds[1]) ms, last third \(thirds[2]) ms")
        }
        if let error = asOf.firstError { print("  first error: \(error)") }

        let audit = report.audit
        print("")
        print(
            "audit.changes {actor} on a \(audit.logEvents)-event log: \(audit.matchingEvents) events by that actor,"
                + " \(audit.itemsPerAnswer) items per answer"
        )
        var auditTable = TextTable(headers: ["measure", "p50 ms", "p99 ms", "events/s", "vs audit p50"])
        auditTable.rows.append([
            "audit.changes (RPC)", formatted(audit.latencyMs.p50, 3), formatted(audit.latencyMs.p99, 3), "", "1x",
        ])
        auditTable.rows.append([
            "baseline: EventLog.forEachView whole log (raw)", formatted(audit.rawLogScan.seconds * 1000, 3), "",
            formatted(audit.rawLogScan.eventsPerSecond), ratioText(audit.rawLogScan.seconds * 1000, audit.latencyMs.p50, 1),
        ])
        auditTable.rows.append([
            "baseline: forEach + header decode, filter actor", formatted(audit.filteredLogScan.seconds * 1000, 3), "",
            formatted(audit.filteredLogScan.eventsPerSecond), ratioText(audit.filteredLogScan.seconds * 1000, audit.latencyMs.p50, 1),
        ])
        print(auditTable.rendered())
        print(
            "  issue 5 target p50 < \(formatted(audit.targetP50Ms, 0)) ms (at 1,000,000 events): "
                + (audit.latencyMs.p50 < audit.targetP50Ms ? "PASS" : "MISS")
                + "; unindexed scan found \(audit.filteredScanMatches) matches; errors \(audit.errors)"
        )
        if let error = audit.firstError { print("  first error: \(error)") }
    }
}
