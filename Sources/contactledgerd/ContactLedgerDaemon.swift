// ContactLedger — daemon executable.
import ArgumentParser
import Foundation
import LedgerDaemon
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// `contactledgerd [serve]`: the contact ledger daemon. Resolves its settings (flags > `CONTACTLEDGER_*`
/// environment variables > config file > defaults), then runs the service group.
struct ContactLedgerDaemon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Runs the event-sourced contact ledger, serving JSON-RPC 2.0 on a Unix socket (the default).",
        discussion: """
            Every setting can also come from an environment variable (CONTACTLEDGER_ and the config key in \
            capitals, e.g. CONTACTLEDGER_MAP_SIZE; grants separated by ';') or from a JSON config file \
            (--config, else $CONTACTLEDGER_CONFIG; keys as in dist/contactledgerd.json). Flags win over the \
            environment, which wins over the file, which wins over the defaults shown here. Sizes take \
            bytes or a binary suffix (64MiB, 1G). --print-config shows the effective values.
            """,
        version: "0.1.0"
    )

    @Option(name: .long, help: ArgumentHelp("A JSON config file (default: $CONTACTLEDGER_CONFIG, else none).", valueName: "path"))
    var config: String?

    @Flag(name: .long, help: "Print the effective settings as a JSON config file and exit.")
    var printConfig = false

    @Option(name: .long, help: ArgumentHelp("The data directory: LMDB files, lock, default socket (default: ./.contactledger).", valueName: "path"))
    var dataDir: String?

    @Option(name: .long, help: ArgumentHelp("The Unix socket path (default: <data-dir>/ledger.sock).", valueName: "path"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp("The longest request line accepted (default: 16MiB).", valueName: "bytes"))
    var maxLineBytes: String?

    @Option(
        name: .long,
        help: ArgumentHelp("The most bytes of answers one connection holds unread before it takes no new line (default: 64MiB).", valueName: "bytes")
    )
    var maxUnreadAnswerBytes: String?

    @Option(name: .long, help: ArgumentHelp("The initial LMDB map size; sparse, grows when full (default: 1GiB).", valueName: "bytes"))
    var mapSize: String?

    @Option(name: .long, help: ArgumentHelp("The largest the LMDB map may grow to (default: 1TiB).", valueName: "bytes"))
    var maxMapSize: String?

    @Option(name: .long, help: ArgumentHelp("The socket's file mode, in octal (default: 660).", valueName: "mode"))
    var socketMode: String?

    @Option(name: .long, help: ArgumentHelp("The group to give the socket (name or number), so its members can connect.", valueName: "group"))
    var socketGroup: String?

    @Option(
        name: .customLong("grant"),
        help: ArgumentHelp(
            "Allow a peer: uid=N|gid=N[,workspace=W][,mode=read|write][,files=yes|no] (files=yes: it may name paths the daemon reads or writes). Repeatable; with none, anyone who can open the socket may do everything.",
            valueName: "grant"
        )
    )
    var grants: [String] = []

    @Option(name: .long, help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error, critical (default: info).", valueName: "level"))
    var logLevel: String?

    @Option(name: .long, help: ArgumentHelp("Log line format on stderr: logfmt or json (default: logfmt).", valueName: "format"))
    var logFormat: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Serve Prometheus metrics at http://HOST:PORT/metrics on a loopback address, or off (default: off).", valueName: "host:port")
    )
    var metricsListen: String?

    @Option(
        name: .long,
        help: ArgumentHelp("The most records one import may hold, 1 to 1000000 (default: 25000, the reference's limit).", valueName: "count")
    )
    var importMaxRecords: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Compact the read models (at start, and after a rebuild) once their free pages are a quarter of their file and at least this much, or off (default: 64MiB).",
            valueName: "bytes"
        )
    )
    var readModelCompactionMinFree: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Seconds an online rebuild runs between commits, 0.1 to 3600: an interrupted rebuild resumes from its last commit (default: 60).",
            valueName: "seconds"
        )
    )
    var rebuildCommitSeconds: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Events a subscriber that has caught up may fall behind the log's head before it is cut off and disconnected (default: 1000000).",
            valueName: "events"
        )
    )
    var subscriberMaxLag: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Publish every committed event to this NATS JetStream server (a cluster: its nodes, comma-separated).", valueName: "nats://host:port")
    )
    var replicate: String?

    @Option(
        name: .long,
        help: ArgumentHelp("Run as a read replica following this NATS JetStream server's stream (a cluster: its nodes, comma-separated).", valueName: "nats://host:port")
    )
    var follow: String?

    @Option(name: .long, help: ArgumentHelp("The JetStream stream to publish to or follow (default: LEDGER).", valueName: "name"))
    var stream: String?

    @Option(name: .long, help: ArgumentHelp("Copies of the stream when the publisher creates it: 1 to 5 (default: 1; give 3 on a 3-node cluster to keep every event on three nodes).", valueName: "n"))
    var streamReplicas: String?

    /// The settings given as flags.
    var flagLayer: [DaemonSettings.Key: DaemonSettings.Value] {
        var layer: [DaemonSettings.Key: DaemonSettings.Value] = [:]
        let texts: [(DaemonSettings.Key, String?)] = [
            (.dataDirectory, self.dataDir), (.socket, self.socket), (.maximumLineBytes, self.maxLineBytes),
            (.maximumUnreadAnswerBytes, self.maxUnreadAnswerBytes),
            (.mapSize, self.mapSize), (.maximumMapSize, self.maxMapSize), (.socketMode, self.socketMode),
            (.socketGroup, self.socketGroup), (.logLevel, self.logLevel), (.logFormat, self.logFormat),
            (.metricsListen, self.metricsListen),
            (.importMaximumRecords, self.importMaxRecords),
            (.readModelCompactionMinimumFree, self.readModelCompactionMinFree),
            (.rebuildCommitSeconds, self.rebuildCommitSeconds),
            (.subscriberMaximumLag, self.subscriberMaxLag),
            (.replicate, self.replicate), (.follow, self.follow), (.stream, self.stream),
            (.streamReplicas, self.streamReplicas),
        ]
        for case (let key, let text?) in texts { layer[key] = .text(text) }
        if !self.grants.isEmpty { layer[.grants] = .list(self.grants) }
        return layer
    }

    /// Resolves the settings; a bad value is a usage error (exit status 64) naming the key and its source.
    func resolveSettings() throws -> DaemonSettings.Resolved {
        do {
            return try DaemonSettings.resolve(
                flags: self.flagLayer,
                environment: ProcessInfo.processInfo.environment,
                configFile: self.config
            )
        } catch let error as DaemonSettings.SettingsError {
            throw ValidationError(error.message)
        }
    }

    func validate() throws {
        let resolved = try self.resolveSettings()
        do {
            try DaemonSettings.checkSocketPath(resolved)
        } catch let error as DaemonSettings.SettingsError {
            throw ValidationError(error.message)
        }
        // Checked here, not when settings resolve: --print-config shows a config whose group is made later
        // (the install script makes `contactledger`).
        if !self.printConfig, let group = resolved.settings.socketGroup, gid_t(group) == nil, getgrnam(group) == nil {
            let source = DaemonSettings.source(of: .socketGroup, resolved.origins[.socketGroup] ?? .defaultValue)
            throw ValidationError("\(DaemonSettings.Key.socketGroup.rawValue) (\(source)): no group is named '\(group)'")
        }
    }

    func run() async throws {
        Daemon.keepNewFilesPrivate()
        let resolved = try self.resolveSettings()
        let settings = resolved.settings
        if self.printConfig {
            print(settings.renderJSON())
            return
        }
        let level = Logger.Level(rawValue: settings.logLevel) ?? .info
        let format = settings.logFormat
        LoggingSystem.bootstrap { label in
            StructuredLogHandler(label: label, format: format, logLevel: level)
        }
        // One registry for the daemon's own metrics and for anything recording through swift-metrics.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "contactledgerd")
        let openFiles = OpenFileLimit.raise()
        logger.info(
            "starting",
            metadata: [
                "process.open_files_limit": "\(openFiles)",
                "config.file": "\(resolved.configFile ?? "none")",
                "metrics.listen": "\(settings.metricsListen?.description ?? "off")",
                "log.format": "\(format.rawValue)",
            ]
        )
        do {
            let configuration = settings.makeConfiguration()
            let group = try Daemon.makeServiceGroup(
                configuration: configuration,
                logger: logger,
                metricsRegistry: registry,
                onListening: {
                    SystemdNotifier.notify("READY=1\nSTATUS=listening\nMAINPID=\(getpid())")
                }
            )
            try await group.run()
            SystemdNotifier.notify("STOPPING=1")
        } catch {
            SystemdNotifier.notify("STOPPING=1\nSTATUS=stopped with an error")
            logger.critical("contactledgerd stopped", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}
