// ContactLedger — daemon configuration: settings from flags, environment and a config file.
import ContactDomain
import Foundation
import NATSClient
import RPC

/// Everything an operator can set on `contactledgerd`, resolved from four layers.
///
/// Each setting has one name in every layer: the config file key (`map_size`), an environment variable
/// (`CONTACTLEDGER_MAP_SIZE`) and a flag (`--map-size`). A value given as a flag wins over the environment,
/// which wins over the config file, which wins over the built-in default (see ``resolve(flags:environment:)``).
/// ``Key`` lists them all with their defaults; the README's "Configuration" table and
/// `dist/contactledgerd.json` show the same.
///
/// ```swift
/// let resolved = try DaemonSettings.resolve(flags: [.mapSize: .text("4GiB")], environment: ProcessInfo.processInfo.environment)
/// let configuration = try resolved.settings.makeConfiguration()
/// ```
public struct DaemonSettings: Sendable, Equatable {
    /// The data directory (LMDB files, lock file, default socket).
    public var dataDirectory = "./.contactledger"
    /// The socket path; nil: `<data_dir>/ledger.sock`.
    public var socketPath: String?
    /// The longest request line accepted, in bytes.
    public var maximumLineBytes = 16 << 20
    /// The most bytes of answers one connection holds, made and not yet read by its peer.
    public var maximumUnreadAnswerBytes = 64 << 20
    /// The LMDB map size to start with, in bytes (sparse).
    public var initialMapSize = 1 << 30
    /// The largest the LMDB map may grow to, in bytes.
    public var maximumMapSize = 1 << 40
    /// The socket's file mode.
    public var socketMode: mode_t = 0o660
    /// The group given to the socket, by name or number.
    public var socketGroup: String?
    /// Access grants, `uid=N|gid=N[,workspace=W][,mode=read|write][,files=yes|no]`; empty: anyone who can open the socket.
    public var grants: [String] = []
    /// The lowest log level written.
    public var logLevel = "info"
    /// How log lines are written to stderr.
    public var logFormat = LogFormat.logfmt
    /// Where Prometheus metrics are served over HTTP; nil: nowhere.
    public var metricsListen: MetricsAddress?
    /// The most records one import may hold (the reference's 25,000 unless an operator raises it).
    public var importMaximumRecords = ImportPlan.maximumRecords
    /// The read models are compacted (at start, and after a rebuild frees a generation) once their free
    /// pages are a quarter of their file and at least this many bytes; `Int.max` (`off`): never.
    public var readModelCompactionMinimumFree = 64 << 20
    /// Seconds an online rebuild's staging runs between commits: a rebuild a crash or stop interrupts
    /// resumes from its last commit, so this bounds the work it does again.
    public var rebuildCommitSeconds = DaemonConfiguration.defaultRebuildCommitSeconds
    /// Events a subscriber that has caught up once may fall behind the head before it is cut off.
    public var subscriberMaximumLag = DaemonConfiguration.defaultSubscriberMaximumLag
    /// The NATS JetStream server(s) every committed event is published to; nil: not publishing.
    public var replicate: String?
    /// The NATS JetStream server(s) whose stream this daemon follows as a read replica; nil: a primary.
    public var follow: String?
    /// The JetStream stream published to or followed.
    public var stream = ReplicationSettings.defaultStream
    /// Copies of the stream a publisher asks for when it creates it; nil: one (not given).
    public var streamReplicas: Int?

    public init() {}

    /// The log line formats.
    public enum LogFormat: String, Sendable, CaseIterable {
        /// `ts=… level=info msg="listening" rpc.socket_mode=660`
        case logfmt
        /// One JSON object per line.
        case json
    }

    /// The log levels accepted, lowest first.
    public static let logLevels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// One setting: its config file key is the raw value.
    public enum Key: String, Sendable, CaseIterable {
        case dataDirectory = "data_dir"
        case socket = "socket"
        case maximumLineBytes = "max_line_bytes"
        case maximumUnreadAnswerBytes = "max_unread_answer_bytes"
        case mapSize = "map_size"
        case maximumMapSize = "max_map_size"
        case socketMode = "socket_mode"
        case socketGroup = "socket_group"
        case grants = "grants"
        case logLevel = "log_level"
        case logFormat = "log_format"
        case metricsListen = "metrics_listen"
        case importMaximumRecords = "import_max_records"
        case readModelCompactionMinimumFree = "read_model_compaction_min_free"
        case rebuildCommitSeconds = "rebuild_commit_seconds"
        case subscriberMaximumLag = "subscriber_max_lag"
        case replicate = "replicate"
        case follow = "follow"
        case stream = "stream"
        case streamReplicas = "stream_replicas"

        /// The environment variable: `CONTACTLEDGER_` and the key in capitals.
        public var environmentVariable: String { "CONTACTLEDGER_" + self.rawValue.uppercased() }

        /// The command-line flag (`--grant` is repeatable, one grant each).
        public var flag: String {
            self == .grants ? "--grant" : "--" + self.rawValue.replacingOccurrences(of: "_", with: "-")
        }

        /// Whether the setting holds a list (the environment variable separates items with `;`).
        public var isList: Bool { self == .grants }
    }

    /// The environment variable naming the config file when `--config` is not given.
    public static let configFileVariable = "CONTACTLEDGER_CONFIG"

    /// A raw setting value before it is parsed.
    public enum Value: Sendable, Equatable {
        case text(String)
        case list([String])
    }

    /// Where an effective value came from.
    public enum Origin: Sendable, Equatable, CustomStringConvertible {
        case flag
        case environment
        case file(String)
        case defaultValue

        public var description: String {
            switch self {
            case .flag: "flag"
            case .environment: "environment"
            case .file(let path): "file \(path)"
            case .defaultValue: "default"
            }
        }
    }

    /// The settings in effect and where each came from.
    public struct Resolved: Sendable {
        public var settings: DaemonSettings
        public var origins: [Key: Origin]
        /// The config file read, if any.
        public var configFile: String?
    }

    /// A setting that cannot be used; the message names the key and the layer it came from.
    public struct SettingsError: Error, CustomStringConvertible, Equatable {
        public var message: String
        public init(_ message: String) { self.message = message }
        public var description: String { self.message }
    }

    /// Resolves every setting: flags, then the environment, then the config file, then the defaults.
    ///
    /// The config file is `configFile` (from `--config`) if given, else `$CONTACTLEDGER_CONFIG`, else none.
    /// Empty environment variables count as unset.
    ///
    /// - Throws: ``SettingsError`` for an unreadable or malformed file, an unknown file key, or a value that
    ///   does not parse or is out of range (naming the key and where the value came from).
    public static func resolve(
        flags: [Key: Value],
        environment: [String: String],
        configFile: String? = nil
    ) throws -> Resolved {
        let file = configFile ?? environment[Self.configFileVariable].flatMap { $0.isEmpty ? nil : $0 }
        var layers: [(Origin, [Key: Value])] = [(.flag, flags), (.environment, Self.environmentLayer(environment))]
        if let file { layers.append((.file(file), try Self.fileLayer(path: file))) }
        var settings = DaemonSettings()
        var origins: [Key: Origin] = [:]
        for key in Key.allCases {
            guard let (origin, value) = layers.lazy.compactMap({ layer in layer.1[key].map { (layer.0, $0) } }).first else {
                origins[key] = .defaultValue
                continue
            }
            origins[key] = origin
            do {
                try settings.apply(key, value)
            } catch let error as SettingsError {
                throw SettingsError("\(key.rawValue) (\(Self.source(of: key, origin))): \(error.message)")
            }
        }
        if settings.maximumMapSize < settings.initialMapSize {
            // Of two sizes given, a limit below the start is a mistake; of one, the default follows it.
            let limitOrigin = origins[.maximumMapSize] ?? .defaultValue
            switch (limitOrigin, origins[.mapSize] ?? .defaultValue) {
            case (.defaultValue, _):
                settings.maximumMapSize = settings.initialMapSize
            case (_, .defaultValue):
                settings.initialMapSize = settings.maximumMapSize
            default:
                throw SettingsError(
                    "\(Key.maximumMapSize.rawValue) (\(Self.source(of: .maximumMapSize, limitOrigin))): must be at least map_size (\(settings.initialMapSize) bytes), got \(settings.maximumMapSize)"
                )
            }
        }
        try Self.checkReplication(settings, origins: origins)
        return Resolved(settings: settings, origins: origins, configFile: file)
    }

    /// The replication settings that only make sense together: one role at most, and stream copies only
    /// for a publisher (which creates the stream).
    private static func checkReplication(_ settings: DaemonSettings, origins: [Key: Origin]) throws {
        let source = { (key: Key) in "\(key.rawValue) (\(Self.source(of: key, origins[key] ?? .defaultValue)))" }
        if settings.replicate != nil, settings.follow != nil {
            throw SettingsError("\(source(.replicate)) and \(source(.follow)) exclude each other: a daemon publishes or follows")
        }
        if settings.streamReplicas != nil, settings.replicate == nil {
            throw SettingsError("\(source(.streamReplicas)) goes with replicate: only a publisher creates the stream")
        }
    }

    /// A socket path too long to bind is a bad setting of a daemon that serves, refused before the data
    /// directory is made: found only at the bind, after the LMDB files were created, it stopped the daemon
    /// with exit status 1 and `unixDomainSocketPathTooLong`, naming no setting. (The offline rebuild binds
    /// nothing.)
    public static func checkSocketPath(_ resolved: Resolved) throws {
        let (settings, origins) = (resolved.settings, resolved.origins)
        let path = settings.effectiveSocketPath
        let bytes = path.utf8.count
        guard bytes > RPCClient.maximumSocketPathBytes else { return }
        let key: Key = settings.socketPath == nil ? .dataDirectory : .socket
        let source = "\(key.rawValue) (\(Self.source(of: key, origins[key] ?? .defaultValue)))"
        let what = settings.socketPath == nil ? "the socket path under it, \(path)," : "the socket path"
        throw SettingsError("\(source): \(what) is \(bytes) bytes, longer than a Unix socket's \(RPCClient.maximumSocketPathBytes); give a shorter \(key == .socket ? "path" : "data directory or a socket path")")
    }

    /// The socket path: the one given, else `<data_dir>/ledger.sock`.
    var effectiveSocketPath: String {
        self.socketPath ?? (self.dataDirectory as NSString).appendingPathComponent("ledger.sock")
    }

    /// Where a setting's value came from, as a message names it: its flag, its variable, or its file.
    public static func source(of key: Key, _ origin: Origin) -> String {
        switch origin {
        case .flag: key.flag
        case .environment: key.environmentVariable
        case .file, .defaultValue: origin.description
        }
    }

    /// The settings named by `CONTACTLEDGER_*` variables.
    static func environmentLayer(_ environment: [String: String]) -> [Key: Value] {
        var layer: [Key: Value] = [:]
        for key in Key.allCases {
            guard let text = environment[key.environmentVariable], !text.isEmpty else { continue }
            // A list (grants, `;`-separated) too: split, and its empty items refused, where it is applied.
            layer[key] = .text(text)
        }
        return layer
    }

    /// The settings of a JSON config file: one object whose members are ``Key`` raw values.
    static func fileLayer(path: String) throws -> [Key: Value] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SettingsError("cannot read the config file \(path)")
        }
        let object: JSONValue
        do {
            // A key met twice is refused: keeping the last one hid the first (an operator's `map_size`
            // added at the top of a file that already set it further down, without a word).
            object = try JSONTextParser.parse(data, duplicateKeys: .refused)
        } catch where error.reason == .duplicateKey {
            throw SettingsError("the config file \(path) sets '\(error.key ?? "")' twice: each key may appear only once")
        } catch {
            throw SettingsError("the config file \(path) is not valid JSON")
        }
        guard case .object(let members) = object else {
            throw SettingsError("the config file \(path) must hold one JSON object")
        }
        var layer: [Key: Value] = [:]
        for (name, member) in members {
            guard let key = Key(rawValue: name) else {
                let known = Key.allCases.map(\.rawValue).joined(separator: ", ")
                throw SettingsError("unknown key '\(name)' in \(path) (known keys: \(known))")
            }
            switch member {
            case .null:
                continue
            case .array(let items) where key.isList:
                let strings = items.compactMap(\.stringValue)
                guard strings.count == items.count else { throw SettingsError("\(name) in \(path) must be an array of strings") }
                layer[key] = .list(strings)
            case .string(let text):
                layer[key] = .text(text)
            case .integer(let number):
                layer[key] = .text(String(number))
            case .double(let number) where number.rounded() == number && abs(number) < 9.2e18:
                layer[key] = .text(String(Int64(number)))
            case .double(let number):
                // A fraction (`rebuild_commit_seconds`); a key that takes none refuses it when parsed.
                layer[key] = .text("\(number)")
            case .decimal(let number):
                layer[key] = .text("\(number)")
            default:
                throw SettingsError("\(name) in \(path) must be \(key.isList ? "an array of strings" : "a string or a number")")
            }
        }
        return layer
    }

    /// Parses one raw value into its member.
    private mutating func apply(_ key: Key, _ value: Value) throws {
        let text: String
        switch value {
        case .list(let items):
            guard key.isList else { throw SettingsError("takes one value, not a list") }
            self.grants = items
            for grant in items where AccessPolicy.Grant(parsing: grant) == nil {
                throw SettingsError("a grant must look like uid=N|gid=N[,workspace=W][,mode=read|write][,files=yes|no], e.g. uid=1000,workspace=main,mode=read; got '\(grant)'")
            }
            return
        case .text(let single):
            text = single.trimmingCharacters(in: .whitespaces)
        }
        switch key {
        case .dataDirectory:
            guard !text.isEmpty else { throw SettingsError("needs a path") }
            self.dataDirectory = text
        case .socket:
            self.socketPath = text.isEmpty ? nil : text
        case .maximumLineBytes:
            let bytes = try Self.byteSize(text)
            guard bytes >= 1024 else { throw SettingsError("must be at least 1024, got \(bytes)") }
            self.maximumLineBytes = bytes
        case .maximumUnreadAnswerBytes:
            let bytes = try Self.byteSize(text)
            guard bytes >= 1 << 20 else { throw SettingsError("must be at least 1 MiB, got \(bytes)") }
            self.maximumUnreadAnswerBytes = bytes
        case .mapSize:
            let bytes = try Self.byteSize(text)
            guard bytes >= 1 << 20 else { throw SettingsError("must be at least 1 MiB, got \(bytes)") }
            self.initialMapSize = bytes
        case .maximumMapSize:
            let bytes = try Self.byteSize(text)
            guard bytes >= 1 << 20 else { throw SettingsError("must be at least 1 MiB, got \(bytes)") }
            self.maximumMapSize = bytes
        case .socketMode:
            guard let mode = mode_t(text, radix: 8), mode <= 0o777 else {
                throw SettingsError("must be an octal mode such as 660, got '\(text)'")
            }
            self.socketMode = mode
        case .socketGroup:
            self.socketGroup = text.isEmpty ? nil : text
        case .grants:
            // An empty grant is refused, not dropped: `;` or a space alone took every grant of the config
            // file away, so anyone who could open the socket could do anything.
            let items = text.split(separator: ";", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard !items.contains(where: \.isEmpty) else {
                throw SettingsError("holds an empty grant: grants are separated by ';' (leave the variable unset or empty for the lower layers' grants)")
            }
            try self.apply(.grants, .list(items))
        case .logLevel:
            guard Self.logLevels.contains(text) else {
                throw SettingsError("must be one of \(Self.logLevels.joined(separator: ", ")), got '\(text)'")
            }
            self.logLevel = text
        case .logFormat:
            guard let format = LogFormat(rawValue: text) else { throw SettingsError("must be logfmt or json, got '\(text)'") }
            self.logFormat = format
        case .metricsListen:
            if text.isEmpty || text == "off" {
                self.metricsListen = nil
            } else {
                self.metricsListen = try MetricsAddress(parsing: text)
            }
        case .importMaximumRecords:
            guard let count = Int(text), (1...Self.importRecordsCeiling).contains(count) else {
                throw SettingsError("must be a number of records from 1 to \(Self.importRecordsCeiling), got '\(text)'")
            }
            self.importMaximumRecords = count
        case .readModelCompactionMinimumFree:
            self.readModelCompactionMinimumFree = text == "off" ? Int.max : try Self.byteSize(text)
        case .rebuildCommitSeconds:
            guard let seconds = Double(text), (Self.rebuildCommitSecondsRange).contains(seconds) else {
                throw SettingsError("must be a number of seconds from 0.1 to 3600, got '\(text)'")
            }
            self.rebuildCommitSeconds = seconds
        case .subscriberMaximumLag:
            guard let events = Int(text), events >= 1 else {
                throw SettingsError("must be a number of events of at least 1, got '\(text)'")
            }
            self.subscriberMaximumLag = events
        case .replicate:
            self.replicate = try Self.natsServers(text)
        case .follow:
            self.follow = try Self.natsServers(text)
        case .stream:
            guard !text.isEmpty, !text.contains(where: { ".*> \t".contains($0) }) else {
                throw SettingsError("must be a JetStream stream name (no '.', '*', '>' or spaces), got '\(text)'")
            }
            self.stream = text
        case .streamReplicas:
            guard let copies = Int(text), (1...5).contains(copies) else {
                throw SettingsError("must be 1 to 5 copies, got '\(text)'")
            }
            self.streamReplicas = copies
        }
    }

    /// `nats://host:port`, or several comma-separated (a cluster's nodes); empty or `off`: none.
    private static func natsServers(_ text: String) throws -> String? {
        guard !text.isEmpty, text != "off" else { return nil }
        do {
            _ = try NATSClient.Configuration(url: text)
        } catch {
            // The text is not echoed: a URL may hold a password.
            throw SettingsError("must look like nats://127.0.0.1:4222 (or several, comma-separated; a port of 1 to 65535, no user, password, path or query)")
        }
        return text
    }

    /// Publishing or following, as these settings say; nil: neither.
    public var replication: ReplicationSettings? {
        if let url = self.replicate {
            return ReplicationSettings(role: .publisher, url: url, stream: self.stream, streamReplicas: self.streamReplicas ?? 1)
        }
        if let url = self.follow { return ReplicationSettings(role: .replica, url: url, stream: self.stream) }
        return nil
    }

    /// Bytes from `1073741824`, `1GiB`, `1G`, `512MiB`, `64K` (binary multiples).
    static func byteSize(_ text: String) throws -> Int {
        let units: [(String, Int)] = [
            ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10),
            ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10), ("B", 1),
        ]
        var digits = text
        var multiplier = 1
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            digits = String(text.dropLast(suffix.count)).trimmingCharacters(in: .whitespaces)
            multiplier = factor
            break
        }
        guard let number = Int(digits), number >= 0 else {
            throw SettingsError("must be a size in bytes such as 1073741824 or 1GiB, got '\(text)'")
        }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { throw SettingsError("is too large: '\(text)'") }
        return bytes
    }

    /// The daemon configuration these settings describe.
    public func makeConfiguration() -> DaemonConfiguration {
        DaemonConfiguration(
            dataDirectory: self.dataDirectory,
            socketPath: self.socketPath,
            maximumLineBytes: self.maximumLineBytes,
            maximumUnreadAnswerBytes: self.maximumUnreadAnswerBytes,
            initialMapSize: self.initialMapSize,
            maximumMapSize: max(self.maximumMapSize, self.initialMapSize),
            socketMode: self.socketMode,
            socketGroup: self.socketGroup,
            access: AccessPolicy(grants: self.grants.compactMap { AccessPolicy.Grant(parsing: $0) }),
            metricsAddress: self.metricsListen,
            importMaximumRecords: self.importMaximumRecords,
            readModelCompactionMinimumFreeBytes: self.readModelCompactionMinimumFree,
            rebuildCommitSeconds: self.rebuildCommitSeconds,
            subscriberMaximumLag: self.subscriberMaximumLag,
            replication: self.replication
        )
    }

    /// The `rebuild_commit_seconds` accepted: a commit at least every hour, at most ten a second.
    public static let rebuildCommitSecondsRange: ClosedRange<Double> = 0.1...3600

    /// The highest `import_max_records` accepted: an import holds its whole plan in memory.
    public static let importRecordsCeiling = 1_000_000

    /// The effective values as a JSON object that is itself a valid config file (sorted keys, one per line).
    public func renderJSON() -> String {
        let socket = self.effectiveSocketPath
        let members: [(Key, String)] = [
            (.dataDirectory, Self.quoted(self.dataDirectory)),
            (.socket, Self.quoted(socket)),
            (.maximumLineBytes, String(self.maximumLineBytes)),
            (.maximumUnreadAnswerBytes, String(self.maximumUnreadAnswerBytes)),
            (.mapSize, String(self.initialMapSize)),
            (.maximumMapSize, String(self.maximumMapSize)),
            (.socketMode, Self.quoted("0" + String(self.socketMode, radix: 8))),
            (.socketGroup, self.socketGroup.map(Self.quoted) ?? "null"),
            (.grants, "[" + self.grants.map(Self.quoted).joined(separator: ", ") + "]"),
            (.logLevel, Self.quoted(self.logLevel)),
            (.logFormat, Self.quoted(self.logFormat.rawValue)),
            (.metricsListen, self.metricsListen.map { Self.quoted($0.description) } ?? "null"),
            (.importMaximumRecords, String(self.importMaximumRecords)),
            (.readModelCompactionMinimumFree, self.readModelCompactionMinimumFree == Int.max ? Self.quoted("off") : String(self.readModelCompactionMinimumFree)),
            (.rebuildCommitSeconds, Self.seconds(self.rebuildCommitSeconds)),
            (.subscriberMaximumLag, String(self.subscriberMaximumLag)),
            (.replicate, self.replicate.map(Self.quoted) ?? "null"),
            (.follow, self.follow.map(Self.quoted) ?? "null"),
            (.stream, Self.quoted(self.stream)),
            (.streamReplicas, self.streamReplicas.map { String($0) } ?? "null"),
        ]
        let lines = members.sorted { $0.0.rawValue < $1.0.rawValue }.map { "  \(Self.quoted($0.0.rawValue)): \($0.1)" }
        return "{\n" + lines.joined(separator: ",\n") + "\n}"
    }

    /// Seconds as a JSON number: `60`, `0.5`.
    private static func seconds(_ value: Double) -> String {
        value.rounded() == value ? String(Int64(value)) : "\(value)"
    }

    private static func quoted(_ text: String) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes]) else { return "\"\"" }
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}
