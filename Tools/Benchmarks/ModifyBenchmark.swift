// ContactLedger — benchmarks.
import ArgumentParser
import Foundation
import RPC

/// `ledger-bench modify`: `contacts.modify` throughput with five modifiers per call, beside the
/// single-client `contacts.create` figure of the same run (issue 3).
struct ModifyBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modify",
        abstract: "contacts.modify (5 modifiers) commands/s and latency vs. single-client creates.",
        discussion: """
            Defines fields age (number), joined (datetime) and note (text), creates contacts with them, then
            each client thread modifies its own contacts in turn with: age, joined, a URN append, the removal
            of the URN appended before, and a status toggle archived <-> active. Every modifier changes
            something on every call.
            """
    )

    @OptionGroup var options: DaemonOptions

    @Option(name: .long, help: "Comma-separated client counts for the modify phases.")
    var clients: String = "16"

    @Option(name: .long, help: "Seconds of the single-client create phase (default: --seconds).")
    var createSeconds: Double?

    @Option(name: .long, help: "Contacts each modify client cycles through.")
    var contactsPerClient: Int = 8

    /// One measured phase.
    struct Phase: Codable, Sendable {
        var method: String
        var clients: Int
        var commands: Int
        var errors: Int
        var firstError: String?
        var seconds: Double
        var commandsPerSecond: Double
        var eventsPerSecond: Double
        var latencyMs: LatencySummary
        var commitBatchAvg: Double
    }

    /// The whole run.
    struct Report: Codable, Sendable {
        var benchmark = "modify"
        var modifiersPerCall = 5
        var phases: [Phase]
    }

    func validate() throws {
        _ = try parseClientList(self.clients)
        guard self.contactsPerClient > 0 else { throw ValidationError("--contacts-per-client must be positive.") }
        if let seconds = self.createSeconds, seconds <= 0 { throw ValidationError("--create-seconds must be positive.") }
    }

    func run() throws {
        let counts = try parseClientList(self.clients)
        let daemon = try DaemonProcess(executable: self.options.daemon, keep: self.options.keepData)
        defer { daemon.stop() }
        try daemon.call("fields.create", ["key": "age", "name": "Age", "type": "number"])
        try daemon.call("fields.create", ["key": "joined", "name": "Joined", "type": "datetime"])
        try daemon.call("fields.create", ["key": "note", "name": "Note", "type": "text"])
        try AppendsBenchmark.createLoop(daemon: daemon, clients: 4, seconds: 0.5, phase: "w")

        var phases: [Phase] = []
        let createSeconds = self.createSeconds ?? self.options.seconds
        progress("modify: single-client contacts.create, \(formatted(createSeconds, 1)) s")
        let before = try CommitCounters(daemon: daemon)
        let creates = try AppendsBenchmark.createLoop(daemon: daemon, clients: 1, seconds: createSeconds, phase: "c")
        let after = try CommitCounters(daemon: daemon)
        phases.append(Self.phase("contacts.create", creates, before: before, after: after))

        for (round, count) in counts.enumerated() {
            let contacts = try self.makeContacts(daemon: daemon, clients: count, round: round)
            progress("modify: \(count) client(s) contacts.modify, \(formatted(self.options.seconds, 1)) s")
            let before = try CommitCounters(daemon: daemon)
            let load = try Self.modifyLoop(socketPath: daemon.socketPath, contacts: contacts, round: round, seconds: self.options.seconds)
            let after = try CommitCounters(daemon: daemon)
            phases.append(Self.phase("contacts.modify", load, before: before, after: after))
        }
        let report = Report(phases: phases)
        if self.options.json {
            try printJSON(report)
        } else {
            Self.printTable(report)
        }
    }

    /// One phase's figures from its load result and the daemon's counters around it.
    static func phase(_ method: String, _ load: LoadResult, before: CommitCounters, after: CommitCounters) -> Phase {
        Phase(
            method: method,
            clients: load.clients,
            commands: load.operations,
            errors: load.errors,
            firstError: load.firstError,
            seconds: load.elapsedSeconds,
            commandsPerSecond: load.operationsPerSecond,
            eventsPerSecond: after.events(since: before) / load.elapsedSeconds,
            latencyMs: load.latency,
            commitBatchAvg: after.batchAverage(since: before)
        )
    }

    /// Creates `contactsPerClient` contacts per client, with all three fields and one URN; returns
    /// their UUIDs per client.
    func makeContacts(daemon: DaemonProcess, clients: Int, round: Int) throws -> [[String]] {
        let client = try daemon.client()
        return try (0..<clients).map { index in
            try (0..<self.contactsPerClient).map { slot in
                let contact = try client.call(
                    "contacts.create",
                    [
                        "name": .string("Modify \(round) \(index) \(slot)"),
                        "urns": [.string(Self.urn(round: round, client: index, slot: slot, iteration: -1))],
                        "fields": ["age": "30", "joined": "2025-06-01", "note": "created by ledger-bench"],
                    ]
                )
                guard let uuid = contact["uuid"]?.stringValue else { throw BenchError("contacts.create answered without a uuid") }
                return uuid
            }
        }
    }

    /// The URN appended to a contact at `iteration` (-1: the one it was created with).
    static func urn(round: Int, client: Int, slot: Int, iteration: Int) -> String {
        "ext:mod-\(round)-\(client)-\(slot)-\(iteration)"
    }

    /// Runs one thread per entry of `contacts`, each cycling through its own contacts.
    static func modifyLoop(socketPath: String, contacts: [[String]], round: Int, seconds: Double) throws -> LoadResult {
        try runLoad(clients: contacts.count, seconds: seconds) { index in
            let client = try RPCClient(socketPath: socketPath)
            let mine = contacts[index]
            // Per contact: the URN appended last (to remove next) and whether it is archived now.
            var lastURN = mine.indices.map { Self.urn(round: round, client: index, slot: $0, iteration: -1) }
            var archived = Array(repeating: false, count: mine.count)
            return { iteration in
                let slot = iteration % mine.count
                let newURN = Self.urn(round: round, client: index, slot: slot, iteration: iteration)
                let minutes = iteration % (24 * 60)
                let day = 1 + (iteration / (24 * 60)) % 28
                let joined = String(format: "2026-02-%02d %02d:%02d", day, minutes / 60, minutes % 60)
                let status = archived[slot] ? "active" : "archived"
                let modifiers: JSONValue = [
                    ["type": "field", "field": "age", "value": .string(String(iteration))],
                    ["type": "field", "field": "joined", "value": .string(joined)],
                    ["type": "urns", "action": "append", "urns": [.string(newURN)]],
                    ["type": "urns", "action": "remove", "urns": [.string(lastURN[slot])]],
                    ["type": "status", "status": .string(status)],
                ]
                try client.call("contacts.modify", ["uuid": .string(mine[slot]), "modifiers": modifiers])
                lastURN[slot] = newURN
                archived[slot].toggle()
            }
        }
    }

    /// Prints the phases as a table, modify beside the single-client create rate.
    static func printTable(_ report: Report) {
        print("contacts.modify with \(report.modifiersPerCall) modifiers (age, joined, URN append, URN remove, status archived<->active)")
        var table = TextTable(headers: ["method", "clients", "commands/s", "events/s", "p50 ms", "p99 ms", "batch avg", "errors"])
        for phase in report.phases {
            table.rows.append([
                phase.method,
                "\(phase.clients)",
                formatted(phase.commandsPerSecond),
                formatted(phase.eventsPerSecond),
                formatted(phase.latencyMs.p50, 2),
                formatted(phase.latencyMs.p99, 2),
                formatted(phase.commitBatchAvg, 1),
                "\(phase.errors)",
            ])
        }
        print(table.rendered())
        if let create = report.phases.first(where: { $0.method == "contacts.create" }) {
            for phase in report.phases where phase.method == "contacts.modify" {
                let ratio = phase.commandsPerSecond / max(create.commandsPerSecond, 1e-9)
                print("  modify at \(phase.clients) clients = \(formatted(ratio, 2))x the single-client create rate")
            }
        }
        for phase in report.phases where phase.errors > 0 {
            print("  \(phase.method) \(phase.clients) client(s): \(phase.errors) failed calls, first: \(phase.firstError ?? "?")")
        }
    }
}
