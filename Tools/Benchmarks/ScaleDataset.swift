// ContactLedger — benchmarks.
import ArgumentParser
// `struct stat` is owned by CoreFoundation's clang module once FoundationXML is linked in (through
// Spreadsheet); Foundation's own allocated-size key multiplies st_blocks by the block size on Linux.
import CoreFoundation
import Foundation
import RPC

/// Options naming the large dataset the scale benchmarks share: where it lives, how big it is, and
/// whether a run may reuse what an earlier run generated there.
struct ScaleDatasetOptions: ParsableArguments {
    @Option(name: .long, help: "The contactledgerd binary to start (a release build).")
    var daemon: String

    @Option(name: .long, help: "The daemon's data directory for the dataset (short: the socket lives in it).")
    var dataDir = "/tmp/bench-1m"

    @Option(name: .long, help: "Contacts in the dataset (10 typed fields, 2 URNs, 5 of 50 groups each); below an unfinished dataset's target, generation stops there.")
    var contacts = 1_000_000

    @Option(name: .long, help: "Events in the stream of the one long-history contact (issue 5's as_of subject).")
    var subjectEvents = 100_000

    @Flag(name: .long, help: "Reuse (or resume) the dataset already in --data-dir instead of refusing a non-empty directory.")
    var reuseDataDir = false

    @Option(name: .long, help: "contacts.create requests per JSON-RPC batch line while generating.")
    var batch = 250

    @Option(name: .long, help: "Connections generating in parallel (one thread each).")
    var connections = 6

    @Option(name: .long, help: "Contacts per checkpoint: the manifest is rewritten after each.")
    var checkpoint = 20_000

    func validate() throws {
        guard (100...10_000_000).contains(self.contacts) else { throw ValidationError("--contacts must be in 100...10000000.") }
        guard (2...1_000_000).contains(self.subjectEvents) else { throw ValidationError("--subject-events must be in 2...1000000.") }
        guard (1...5_000).contains(self.batch) else { throw ValidationError("--batch must be in 1...5000.") }
        guard (1...64).contains(self.connections) else { throw ValidationError("--connections must be in 1...64.") }
        guard self.checkpoint >= self.batch else { throw ValidationError("--checkpoint must be at least --batch.") }
        guard self.dataDir.utf8.count <= 80 else { throw ValidationError("--data-dir is too long for a socket path: \(self.dataDir)") }
    }
}

/// What has been generated in a data directory, rewritten after each checkpoint so an interrupted
/// generation resumes where it stopped.
struct ScaleManifest: Codable, Sendable {
    var contactsTarget: Int
    var contactsDone = 0
    /// The 50 manual groups' uuids, `G0` … `G49`.
    var groups: [String] = []
    var subjectUUID: String?
    var subjectEventsTarget: Int
    var subjectEventsDone = 0
    /// The subject's first and last log positions: every seq between them is one of its events.
    var subjectFirstSeq: Int64 = 0
    var subjectLastSeq: Int64 = 0
    var generationSeconds = 0.0
    var generationErrors = 0
    var firstGenerationError: String?

    /// Whether every contact and subject event asked for has been generated.
    var isComplete: Bool {
        self.contactsDone >= self.contactsTarget && self.subjectEventsDone >= self.subjectEventsTarget
    }
}

/// The deterministic dataset of the scale benchmarks: contact `i`'s name, URNs, fields and groups are a
/// function of `i`, so queries can name values known to exist and the answers can be checked.
enum ScaleDataset {
    /// The actor of one create in 1000 (issue 5's narrow audit filter).
    static let rareActor = "rare-auditor@example.org"
    /// The actor of every other event.
    static let bulkActor = "bulk-loader@example.org"
    /// Manual groups in the workspace; each contact is in 5 of them (one per decade of group numbers).
    static let groupCount = 50

    /// The ten fields: (key, type).
    static let fields: [(key: String, type: String)] = [
        ("age", "number"), ("score", "number"), ("balance", "number"), ("visits", "number"),
        ("joined", "datetime"), ("renewal", "datetime"), ("birth", "datetime"),
        ("code", "text"), ("city", "text"), ("plan", "text"),
    ]
    /// First names, one per contact in turn.
    static let firstNames = [
        "Amina", "Ben", "Chloe", "David", "Esther", "Felix", "Grace", "Hassan", "Irene", "John", "Keza", "Liam",
        "Maria", "Noah", "Olive", "Paul", "Queen", "Ravi", "Sara", "Tom",
    ]
    /// The `plan` field's values.
    static let plans = ["free", "basic", "pro", "gold"]

    /// A well-mixed 64-bit hash of `i` (splitmix64's finalizer).
    static func mix(_ i: Int, _ salt: UInt64 = 0) -> UInt64 {
        var z = UInt64(truncatingIfNeeded: i) &+ 0x9E37_79B9_7F4A_7C15 &* (salt &+ 1)
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Contact `i`'s surname: six letters drawn from its hash (about 26^6 names, so a 4-letter prefix is rare).
    static func surname(_ i: Int) -> String {
        var h = Self.mix(i, 1)
        var letters: [Character] = []
        for index in 0..<6 {
            let letter = Character(Unicode.Scalar(UInt8(97 + h % 26)))
            letters.append(index == 0 ? Character(letter.uppercased()) : letter)
            h /= 26
        }
        return String(letters)
    }

    /// Contact `i`'s name, and below its URN path and field values.
    static func name(_ i: Int) -> String { "\(Self.firstNames[i % Self.firstNames.count]) \(Self.surname(i))" }
    static func tel(_ i: Int) -> String { String(format: "+25078%07d", i % 10_000_000) }
    static func code(_ i: Int) -> String { "K\(Self.mix(i, 2) % 200_000)" }
    static func score(_ i: Int) -> Int { i % 100_000 }
    static func age(_ i: Int) -> Int { 18 + Int(Self.mix(i, 3) % 70) }
    static func balance(_ i: Int) -> Int { Int(Self.mix(i, 4) % 1_000_000) }
    static func city(_ i: Int) -> String { "City\(Self.mix(i, 5) % 50)" }
    static func plan(_ i: Int) -> String { Self.plans[Int(Self.mix(i, 6) % 4)] }
    /// Days since 1970-01-01 of contact `i`'s birth date (1950 … 2004).
    static func birthDay(_ i: Int) -> Int { -7305 + Int(Self.mix(i, 7) % 20_000) }
    /// The indexes of the 5 groups contact `i` is in: one of `G0…G9`, one of `G10…G19`, and so on.
    static func groups(_ i: Int) -> [Int] {
        let h = Self.mix(i, 8)
        return (0..<5).map { decade in decade * 10 + Int((h >> (UInt64(decade) * 8)) % 10) }
    }

    /// `YYYY-MM-DD` (UTC) of `days` since 1970-01-01.
    static func date(days: Int) -> String {
        Date(timeIntervalSince1970: Double(days) * 86_400).formatted(.iso8601.year().month().day())
    }

    /// The `contacts.create` call for contact `i`.
    static func create(_ i: Int, groupUUIDs: [String]) -> (method: String, params: JSONValue) {
        let h = Self.mix(i, 9)
        let fields: [String: JSONValue] = [
            "age": .string(String(Self.age(i))),
            "score": .string(String(Self.score(i))),
            "balance": .string(String(Self.balance(i))),
            "visits": .string(String(h % 500)),
            "joined": .string(Self.date(days: 18_993 + i % 1096)),  // 2022-01-01 + up to 3 years
            "renewal": .string(Self.date(days: 20_454 + Int(h >> 20) % 730)),  // 2026-01-01 + up to 2 years
            "birth": .string(Self.date(days: Self.birthDay(i))),
            "code": .string(Self.code(i)),
            "city": .string(Self.city(i)),
            "plan": .string(Self.plan(i)),
        ]
        let params: JSONValue = [
            "name": .string(Self.name(i)),
            "urns": [.string("tel:\(Self.tel(i))"), .string("ext:cust-\(i)")],
            "fields": .object(fields),
            "groups": .array(Self.groups(i).map { .string(groupUUIDs[$0]) }),
            "actor": .string(i % 1000 == 0 ? Self.rareActor : Self.bulkActor),
        ]
        return ("contacts.create", params)
    }

    /// Where the manifest of the dataset in `directory` is kept.
    static func manifestPath(_ directory: String) -> String { directory + "/bench-manifest.json" }

    /// The manifest in `directory`, or nil when there is none (or it does not decode).
    static func readManifest(_ directory: String) -> ScaleManifest? {
        guard let data = FileManager.default.contents(atPath: Self.manifestPath(directory)) else { return nil }
        return try? JSONDecoder().decode(ScaleManifest.self, from: data)
    }

    /// Writes `manifest` into `directory` atomically (a temporary file renamed over the old one).
    static func writeManifest(_ manifest: ScaleManifest, _ directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let temporary = Self.manifestPath(directory) + ".tmp"
        try encoder.encode(manifest).write(to: URL(fileURLWithPath: temporary))
        _ = rename(temporary, Self.manifestPath(directory))
    }

    /// Starts the daemon on the dataset's directory, generating (or resuming) the dataset first when it is
    /// incomplete; returns the running daemon and the manifest.
    ///
    /// - Throws: ``BenchError`` when the directory holds data but `--reuse-data-dir` was not given, or
    ///   when generation fails.
    static func open(_ options: ScaleDatasetOptions) throws -> (DaemonProcess, ScaleManifest) {
        let existing = Self.readManifest(options.dataDir)
        let hasData = FileManager.default.fileExists(atPath: options.dataDir + "/data.mdb")
        if hasData, !options.reuseDataDir {
            throw BenchError("\(options.dataDir) already holds a store; pass --reuse-data-dir to reuse it, or remove it")
        }
        if hasData, existing == nil {
            throw BenchError("\(options.dataDir) holds a store without bench-manifest.json: not a scale dataset")
        }
        let daemon = try DaemonProcess(executable: options.daemon, directory: options.dataDir, keep: true)
        daemon.startTimeout = 600
        var manifest = existing ?? ScaleManifest(contactsTarget: options.contacts, subjectEventsTarget: options.subjectEvents)
        // A lower count stops an unfinished generation early (at the last checkpoint at the least); a
        // higher one never grows a dataset that is there.
        if options.contacts < manifest.contactsTarget { manifest.contactsTarget = max(manifest.contactsDone, options.contacts) }
        if options.subjectEvents < manifest.subjectEventsTarget {
            manifest.subjectEventsTarget = max(manifest.subjectEventsDone, options.subjectEvents)
        }
        if let existing, existing.contactsTarget != options.contacts || existing.subjectEventsTarget != options.subjectEvents {
            progress(
                "dataset: \(options.dataDir) was generated for \(existing.contactsTarget) contacts / \(existing.subjectEventsTarget) subject events"
                    + " (\(existing.contactsDone) contacts done); target now \(manifest.contactsTarget) / \(manifest.subjectEventsTarget)"
            )
        }
        if !manifest.isComplete {
            do {
                try Self.generate(&manifest, options: options, daemon: daemon)
            } catch {
                daemon.stop(keepData: true)
                throw error
            }
        }
        return (daemon, manifest)
    }

    /// Generates what `manifest` still lacks through the daemon's own write path (batched
    /// `contacts.create` over several connections), checkpointing the manifest as it goes.
    static func generate(_ manifest: inout ScaleManifest, options: ScaleDatasetOptions, daemon: DaemonProcess) throws {
        let directory = options.dataDir
        if manifest.groups.isEmpty {
            progress("dataset: workspace, \(Self.fields.count) fields, \(Self.groupCount) groups")
            try daemon.call("workspace.configure", ["timezone": "UTC"])
            for field in Self.fields {
                try daemon.call("fields.create", ["key": .string(field.key), "name": .string(field.key.capitalized), "type": .string(field.type)])
            }
            manifest.groups = try (0..<Self.groupCount).map { index -> String in
                let group = try daemon.call("groups.create", ["name": .string("G\(index)")])
                guard let uuid = group["uuid"]?.stringValue else { throw BenchError("groups.create answered without uuid") }
                return uuid
            }
            try Self.writeManifest(manifest, directory)
        }
        let groups = manifest.groups
        let started = monotonicNanoseconds()
        let priorSeconds = manifest.generationSeconds
        let startedAt = manifest.contactsDone
        while manifest.contactsDone < manifest.contactsTarget {
            let first = manifest.contactsDone
            let count = min(options.checkpoint, manifest.contactsTarget - first)
            let fill = try BatchRPC.fill(
                socketPath: daemon.socketPath, total: count, batchSize: options.batch, connections: options.connections
            ) { offset in
                Self.create(first + offset, groupUUIDs: groups)
            }
            manifest.contactsDone = first + count
            try Self.checkpoint(&manifest, fill, seconds: priorSeconds + secondsSince(started), directory)
            let rate = Double(manifest.contactsDone - startedAt) / max(secondsSince(started), 1e-9)
            let eta = Double(manifest.contactsTarget - manifest.contactsDone) / max(rate, 1e-9)
            progress(
                "dataset: \(manifest.contactsDone)/\(manifest.contactsTarget) contacts, \(formatted(rate)) contacts/s,"
                    + " this chunk \(formatted(Double(count) / max(fill.seconds, 1e-9)))/s, \(fill.errors) errors, eta \(formatted(eta / 60, 1)) min"
            )
        }
        if manifest.subjectUUID == nil {
            let created = try daemon.call("contacts.create", ["name": "History 0", "urns": ["ext:history-subject"]])
            guard let uuid = created["uuid"]?.stringValue, let seq = created["seq"]?.integerValue else {
                throw BenchError("contacts.create answered without uuid or seq")
            }
            manifest.subjectUUID = uuid
            manifest.subjectEventsDone = 1
            manifest.subjectFirstSeq = seq
            manifest.subjectLastSeq = seq
            try Self.writeManifest(manifest, directory)
        }
        guard let subject = manifest.subjectUUID else { return }
        while manifest.subjectEventsDone < manifest.subjectEventsTarget {
            let first = manifest.subjectEventsDone
            let count = min(options.checkpoint, manifest.subjectEventsTarget - first)
            let fill = try BatchRPC.fill(
                socketPath: daemon.socketPath, total: count, batchSize: options.batch, connections: options.connections
            ) { offset in
                ("contacts.modify", ["uuid": .string(subject), "modifiers": [["type": "name", "name": .string("History \(first + offset)")]]])
            }
            manifest.subjectEventsDone = first + count
            manifest.subjectLastSeq = max(manifest.subjectLastSeq, Int64(fill.seqs.max() ?? 0))
            try Self.checkpoint(&manifest, fill, seconds: priorSeconds + secondsSince(started), directory)
            progress("dataset: subject stream \(manifest.subjectEventsDone)/\(manifest.subjectEventsTarget) events")
        }
    }

    /// Adds a finished chunk's errors and the time so far to `manifest` and writes it.
    static func checkpoint(_ manifest: inout ScaleManifest, _ fill: BatchRPC.FillResult, seconds: Double, _ directory: String) throws {
        manifest.generationErrors += fill.errors
        if manifest.firstGenerationError == nil { manifest.firstGenerationError = fill.firstError }
        manifest.generationSeconds = seconds
        try Self.writeManifest(manifest, directory)
    }

    /// The size of the store's `data.mdb`, in MiB.
    static func dataFileMiB(_ directory: String) -> Double {
        let size = (try? FileManager.default.attributesOfItem(atPath: directory + "/data.mdb")[.size]) as? NSNumber
        return (size?.doubleValue ?? 0) / 1_048_576
    }

    /// The blocks the store really occupies on disk (LMDB's file is sparse where the map grew), in MiB.
    static func dataFileAllocatedMiB(_ directory: String) -> Double {
        var info = stat()
        guard stat(directory + "/data.mdb", &info) == 0 else { return 0 }
        return Double(info.st_blocks) * 512 / 1_048_576
    }
}

/// `ledger-bench scale-data`: generates (or resumes) the scale dataset and stops; the `query` and
/// `history-scale` benchmarks then reuse it with `--reuse-data-dir`.
struct ScaleDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale-data",
        abstract: "Generates the 1,000,000-contact dataset of the scale benchmarks through the daemon, with checkpoints.",
        discussion: """
            Each contact: a name, tel + ext URNs, 10 typed fields (4 number, 3 datetime, 3 text), 5 of 50
            manual groups; one create in 1000 by a rare actor. Then one contact renamed until its stream
            holds --subject-events events. All through contacts.create / contacts.modify in JSON-RPC
            batches over several connections. Interrupt it at will: with --reuse-data-dir it resumes from
            the last checkpoint in bench-manifest.json.
            """
    )

    @OptionGroup var dataset: ScaleDatasetOptions

    func run() throws {
        let (daemon, manifest) = try ScaleDataset.open(self.dataset)
        let head = try daemon.call("system.health")["head_seq"]?.integerValue ?? 0
        let rss = daemon.processIdentifier.flatMap { ProcessMemory.rssMiB(pid: $0) }
        daemon.stop(keepData: true)
        print(
            "dataset \(self.dataset.dataDir): \(manifest.contactsDone) contacts, subject stream \(manifest.subjectEventsDone) events,"
                + " log head \(head); generated in \(formatted(manifest.generationSeconds, 0)) s"
                + " (\(formatted(Double(manifest.contactsDone) / max(manifest.generationSeconds, 1e-9))) contacts/s overall);"
                + " \(manifest.generationErrors) errors\(manifest.firstGenerationError.map { ", first: \($0)" } ?? "")"
        )
        print(
            "data.mdb \(formatted(ScaleDataset.dataFileMiB(self.dataset.dataDir), 0)) MiB"
                + " (\(formatted(ScaleDataset.dataFileAllocatedMiB(self.dataset.dataDir), 0)) MiB allocated);"
                + " daemon RSS at the end \(rss.map { formatted($0, 0) } ?? "?") MiB"
        )
    }
}
