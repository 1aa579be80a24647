// ContactLedger — daemon executable.
import ArgumentParser
import LedgerDaemon
import Foundation
import Logging
import ServiceLifecycle

/// `contactledgerd`: the contact ledger daemon. Parses flags, then runs the service group.
@main
struct ContactLedgerDaemon: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contactledgerd",
        abstract: "Runs the event-sourced contact ledger, serving JSON-RPC 2.0 on a Unix socket.",
        version: "0.1.0"
    )

    @Option(name: .long, help: "The data directory (LMDB files, lock, default socket).")
    var dataDir: String = "./.contactledger"

    @Option(name: .long, help: "The Unix socket path (default: <data-dir>/ledger.sock).")
    var socket: String?

    @Option(name: .long, help: "The longest request line accepted, in bytes.")
    var maxLineBytes: Int = 16 << 20

    @Option(name: .long, help: "The initial LMDB map size in bytes (sparse; grows when full).")
    var mapSize: Int = 1 << 30

    @Option(name: .long, help: "The largest the LMDB map may grow to, in bytes.")
    var maxMapSize: Int = 1 << 40

    @Option(name: .long, help: "The socket's file mode, in octal.")
    var socketMode: String = "660"

    @Option(name: .long, help: "The group to give the socket (name or number), so its members can connect.")
    var socketGroup: String?

    @Option(
        name: .customLong("grant"),
        help: "Allow a peer: uid=N|gid=N[,workspace=W][,mode=read|write]. Repeatable; with none, anyone who can open the socket may do everything."
    )
    var grants: [String] = []

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard self.maxLineBytes >= 1024 else { throw ValidationError("--max-line-bytes must be at least 1024, got \(self.maxLineBytes).") }
        guard self.mapSize >= 1 << 20 else { throw ValidationError("--map-size must be at least 1 MiB, got \(self.mapSize).") }
        guard Logger.Level(rawValue: self.logLevel) != nil else { throw ValidationError("unknown --log-level '\(self.logLevel)'.") }
        guard let mode = mode_t(self.socketMode, radix: 8), mode <= 0o777 else {
            throw ValidationError("--socket-mode must be an octal mode such as 660, got '\(self.socketMode)'.")
        }
        for grant in self.grants where AccessPolicy.Grant(parsing: grant) == nil {
            throw ValidationError("--grant must look like uid=1000,workspace=main,mode=read; got '\(grant)'.")
        }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: self.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "contactledgerd")
        let configuration = DaemonConfiguration(
            dataDirectory: self.dataDir,
            socketPath: self.socket,
            maximumLineBytes: self.maxLineBytes,
            initialMapSize: self.mapSize,
            maximumMapSize: max(self.maxMapSize, self.mapSize),
            socketMode: mode_t(self.socketMode, radix: 8) ?? 0o660,
            socketGroup: self.socketGroup,
            access: AccessPolicy(grants: self.grants.compactMap { AccessPolicy.Grant(parsing: $0) })
        )
        do {
            let group = try Daemon.makeServiceGroup(configuration: configuration, logger: logger)
            try await group.run()
        } catch {
            logger.critical("contactledgerd stopped", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}
