// ContactLedger — command-line client.
import ArgumentParser
import Foundation
import RPC

/// The options every command that talks to the daemon accepts: where the daemon is, which workspace, who
/// is acting, and how to print the answer.
struct GlobalOptions: ParsableArguments {
    /// The environment variable naming the socket when `--socket` is not given.
    static let socketEnvironmentVariable = "CONTACTLEDGER_SOCKET"
    /// The socket used when neither `--socket` nor the environment variable is given.
    static let defaultSocketPath = "./.contactledger/ledger.sock"
    /// The environment variable giving the timeout when `--timeout` is not given.
    static let timeoutEnvironmentVariable = "CONTACTLEDGER_TIMEOUT"

    @Option(
        help: ArgumentHelp(
            "The daemon's Unix socket.",
            discussion: "Defaults to $CONTACTLEDGER_SOCKET, else ./.contactledger/ledger.sock.",
            valueName: "path"
        )
    )
    var socket: String?

    @Option(
        name: .customLong("shard-map"),
        help: ArgumentHelp(
            "A JSON file mapping each workspace to its primary's socket: each call goes to its workspace's daemon.",
            discussion: """
                Defaults to $CONTACTLEDGER_SHARD_MAP; --socket overrides the variable. Format: \
                {"shards": {"WORKSPACE": "SOCKET", ...}, "default": "SOCKET"}. Calls that name no workspace, and \
                workspaces the map does not list, go to "default", or fail (exit status 64) when it has none.
                """,
            valueName: "file"
        )
    )
    var shardMap: String?

    @Option(help: ArgumentHelp("The workspace to act in (the daemon's default: main).", valueName: "name"))
    var workspace: String?

    @Option(help: ArgumentHelp("Who is acting, recorded on the events (e.g. an e-mail address).", valueName: "who"))
    var actor: String?

    @Flag(help: "Print the raw JSON result (sorted keys: pretty, or one compact line per event for tail) instead of tables.")
    var json = false

    // Unconditional, as every numeric option: `--timeout -1` reaches answerTimeout's check, which says
    // what it takes, rather than ArgumentParser's "Missing value" (it took -1 for an option).
    @Option(
        parsing: .unconditional,
        help: ArgumentHelp(
            "Seconds to wait for the daemon at each step: to accept, to take a request, to send its answer.",
            discussion: """
                Defaults to $CONTACTLEDGER_TIMEOUT, else no limit. Past it the command fails with exit status 2, \
                as for an unreachable daemon: a stopped or wedged daemon then cannot hang a script. A long call \
                (a backup, projections verify) needs a limit that fits it. `tail` waits without a limit once \
                subscribed, since a quiet log sends nothing.
                """,
            valueName: "seconds"
        )
    )
    var timeout: Double?

    /// The shared options, and whether each takes a value: those a user may write before the subcommand.
    private static let leadingOptions = [
        "--socket": true, "--shard-map": true, "--workspace": true, "--actor": true, "--timeout": true, "--json": false,
    ]

    /// `arguments` with the shared options moved to the end (before a `--`, which ends the options), in the
    /// order written, where the subcommand reads them: `--socket S health` → `health --socket S`, and
    /// `contact --socket S get U` (between a group and its subcommand) → `contact get U --socket S`. The
    /// order is kept, so the last one written wins, as with options written once after the subcommand:
    /// moved behind the others, a leading `--socket` beat a later one (`contactledger --socket A health
    /// --socket B` went to A), so a shell alias's options could not be overridden. Anything else is left as
    /// it is, for ArgumentParser to refuse or accept.
    static func movingLeadingOptions(_ arguments: [String]) -> [String] {
        guard let split = Self.splittingSharedOptions(arguments), !split.rest.isEmpty else { return arguments }
        return split.rest + split.shared + split.tail
    }

    /// `arguments` without the shared options: what a parse error is about when they parse with them
    /// moved and not without (`--socket S workspace show` said `Unknown option '--socket'`, for the
    /// group `workspace` reads no option, rather than that `show` is no subcommand of it).
    static func withoutSharedOptions(_ arguments: [String]) -> [String] {
        guard let split = Self.splittingSharedOptions(arguments) else { return arguments }
        return split.rest + split.tail
    }

    /// The shared options before a `--` (``leadingOptions``), the other arguments before it, and the
    /// `--` and what follows; nil when there is no shared option, or the last one lacks its value.
    private static func splittingSharedOptions(_ arguments: [String]) -> (rest: [String], shared: [String], tail: ArraySlice<String>)? {
        let end = arguments.firstIndex(of: "--") ?? arguments.endIndex
        var shared: [String] = []
        var rest: [String] = []
        var index = 0
        while index < end {
            let argument = arguments[index]
            let name = String(argument.prefix { $0 != "=" })
            guard let takesValue = Self.leadingOptions[name] else {
                rest.append(argument)
                index += 1
                continue
            }
            if takesValue, name == argument {
                guard index + 1 < end else { return nil }
                shared += [argument, arguments[index + 1]]
                index += 2
            } else {
                shared.append(argument)
                index += 1
            }
        }
        guard !shared.isEmpty else { return nil }
        return (rest, shared, arguments[end...])
    }

    /// The socket `command` (`doctor`) talks to: `--socket`, else `$CONTACTLEDGER_SOCKET`, else
    /// ``defaultSocketPath``; with a shard map (``route``), the primary of `--workspace`, else the map's default.
    ///
    /// - Throws: ``RoutingError`` when the map has neither (it fell back to ``defaultSocketPath``, a socket
    ///   the map never names); ``ShardMapError`` when the map cannot be read.
    func socketPath(for command: String) throws -> String {
        try self.route.socketPath(workspace: self.workspace, method: command)
    }

    /// `--socket`, else `$CONTACTLEDGER_SOCKET`, else ``defaultSocketPath``: every call's socket without a shard map.
    private var singleSocketPath: String {
        if let socket = self.socket { return socket }
        if let path = ProcessInfo.processInfo.environment[Self.socketEnvironmentVariable], !path.isEmpty {
            return path
        }
        return Self.defaultSocketPath
    }

    /// How long each step of a call may wait for the daemon: `--timeout`, else `$CONTACTLEDGER_TIMEOUT`, else
    /// nil (no limit).
    ///
    /// - Throws: `ValidationError` when the value is not a positive number of seconds.
    var answerTimeout: Double? {
        get throws {
            let environment = ProcessInfo.processInfo.environment[Self.timeoutEnvironmentVariable].flatMap { $0.isEmpty ? nil : $0 }
            guard let seconds = self.timeout ?? environment.map({ Double($0) ?? .nan }) else { return nil }
            // Below a microsecond, the socket timeout would round to zero, which means no limit.
            guard seconds.isFinite, seconds >= 0.000_001, seconds <= 86_400 * 365 else {
                let source = self.timeout != nil ? "--timeout" : "$\(Self.timeoutEnvironmentVariable)"
                throw ValidationError("\(source) needs a number of seconds above 0 (up to a year); leave it out to wait as long as it takes.")
            }
            return seconds
        }
    }

    /// The shard map file: `--shard-map`, else `$CONTACTLEDGER_SHARD_MAP` unless `--socket` was given.
    var shardMapPath: String? {
        if let path = self.shardMap { return path }
        guard self.socket == nil else { return nil }
        return ProcessInfo.processInfo.environment[ShardMap.environmentVariable].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Where calls go: the shard map's primaries when there is a map, else the one socket (`--socket`, else
    /// `$CONTACTLEDGER_SOCKET`, else ``defaultSocketPath``).
    ///
    /// - Throws: ``ShardMapError`` when the map file cannot be read or is not a valid map.
    var route: DaemonRoute {
        get throws {
            if let path = self.shardMapPath { return .shards(try ShardMap(contentsOf: path)) }
            return .socket(self.singleSocketPath)
        }
    }

    func validate() throws {
        if let socket = self.socket, socket.isEmpty {
            throw ValidationError("--socket needs a path; leave it out to use the default.")
        }
        if self.socket != nil, self.shardMap != nil {
            throw ValidationError("--socket and --shard-map exclude each other: give one daemon's socket, or a map of them.")
        }
        do {
            _ = try self.route
        } catch let error as ShardMapError {
            throw ValidationError("\(error)")
        }
        if let workspace = self.workspace, workspace.isEmpty {
            throw ValidationError("--workspace needs a name; leave it out to use the default workspace.")
        }
        if let actor = self.actor, actor.isEmpty {
            throw ValidationError("--actor needs a value; leave it out when no one in particular is acting.")
        }
        _ = try self.answerTimeout
    }

    /// `params` with `workspace` and `actor` added when they were given and `params` does not set them.
    ///
    /// A member that is null does not set it: the daemon takes an optional param sent as null for an absent
    /// one, so `call`'s `{"workspace": null}` with `--workspace acme` acted (and was routed) in main.
    func decorate(_ params: [String: JSONValue]) -> [String: JSONValue] {
        var params = params
        if let workspace = self.workspace, (params["workspace"] ?? .null) == .null { params["workspace"] = .string(workspace) }
        if let actor = self.actor, (params["actor"] ?? .null) == .null { params["actor"] = .string(actor) }
        return params
    }

    /// Connects, calls `method` once, and returns its result.
    ///
    /// - Throws: `ExitCode` 1 after printing a JSON-RPC error, 2 after printing a transport failure
    ///   (see ``withConnection(_:)``).
    func call(_ method: String, _ params: [String: JSONValue] = [:]) throws -> JSONValue {
        try self.withConnection { connection in try connection.call(method, params) }
    }

    /// Connects to the daemon and runs `body` with the connection, reporting failures the CLI's way.
    ///
    /// `body` runs synchronously on the calling thread; the connection is closed when it returns and must not
    /// escape it. A JSON-RPC error is printed as one stderr line (`error -32001: Not found (kind=contact id=…)`)
    /// and becomes exit status 1; a transport failure (no daemon, connection closed) is printed with a hint and
    /// becomes exit status 2; a call the shard map has no primary for is printed and becomes exit status 64.
    /// Other errors propagate unchanged.
    func withConnection<T>(_ body: (LedgerConnection) throws -> T) throws -> T {
        let connection = try LedgerConnection(options: self)
        return try self.reportingUnroutableCalls {
            do {
                return try body(connection)
            } catch let error as RPCError {
                Output.printError(Output.describe(error))
                throw ExitCode.rpcError
            } catch let error as RPCClient.TransportError {
                // Set before any connection is tried, so known for every transport failure.
                let socket = connection.socketPath ?? "?"
                switch error {
                case .connectFailed(let code) where code == EACCES:
                    // The daemon may well be running: this user may not open its socket.
                    Output.printError(": \(error) — \(Self.socketPermissionHint) (socket: \(socket))")
                case .connectFailed, .socketPathTooLong:
                    // A file or directory at the path refuses as an idle socket does: say what is there.
                    if let problem = SocketPathProblem(path: socket) {
                        Output.printError(": cannot connect to the daemon's socket: \(problem)")
                    } else {
                        Output.printError(": \(error) — is contactledgerd running? (socket: \(socket))")
                    }
                case .closed, .ioFailed, .malformedAnswer:
                    Output.printError(": \(error) (socket: \(socket))")
                case .timedOut, .requestNotTaken:
                    Output.printError(": \(error); is contactledgerd stopped or overloaded? Raise --timeout for a long call (socket: \(socket))")
                }
                throw ExitCode.transportError
            }
        }
    }

    /// What to do when the socket, or a directory on its path, refuses this user (`EACCES`): it said "is
    /// contactledgerd running?", which sent people after a daemon that was running.
    static let socketPermissionHint =
        "this user may not open the socket: join its group (contactledgerd --socket-group; its mode, --socket-mode, gives the group"
        + " access), and where the daemon has --grant entries, get a grant"

    /// Runs `body`; a call the shard map has no daemon for (``RoutingError``) is printed as one line and
    /// becomes exit status 64, for every command alike.
    func reportingUnroutableCalls<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as RoutingError {
            Output.printError(": \(error)")
            throw ExitCode.validationFailure
        }
    }

    /// Prints `result` as pretty JSON with `--json`, else the way `human` prints it.
    func emit(_ result: JSONValue, _ human: (JSONValue) -> Void) {
        if self.json {
            Output.printJSON(result)
        } else {
            human(result)
        }
    }

    /// The command line that runs `arguments` (`import status ID`) against this command's daemon and
    /// workspace: what a message tells the user to run next. Without `--workspace` an import or export
    /// of another workspace than the default was not found.
    func commandLine(_ arguments: String) -> String {
        var command = "contactledger"
        if let socket = self.socket { command += " --socket \(socket)" }
        command += " " + arguments
        if let workspace = self.workspace { command += " --workspace \(workspace)" }
        return command
    }
}

extension ExitCode {
    /// The daemon answered with a JSON-RPC error.
    static let rpcError = ExitCode(1)
    /// The daemon could not be reached, or the connection failed.
    static let transportError = ExitCode(2)
    /// `verify` found a break in the hash chain.
    static let ledgerBroken = ExitCode(3)
    /// `projections verify` found the read model differing from one rebuilt from the log: a script's
    /// dry run before a deploy fails on it, as `verify` fails on a broken chain.
    static let projectionDiffers = ExitCode(3)
    /// The output could not be written (a full disk, a closed stdout): `EX_IOERR` of sysexits.
    static let outputFailed = ExitCode(74)
}
