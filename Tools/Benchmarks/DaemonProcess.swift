// ContactLedger — benchmarks.
import Foundation
import RPC
import TestSupport

/// The real `contactledgerd`, started on a fresh data directory under `/tmp` for one benchmark run.
///
/// The directory is short on purpose: a Unix socket path is limited to about 108 bytes. It is removed
/// when the daemon is stopped, unless `keep` was asked for.
final class DaemonProcess {
    /// The data directory.
    let directory: String
    /// The daemon's socket.
    let socketPath: String
    /// Where the daemon's standard output and error go.
    let logPath: String
    private let executable: String
    /// Started with the tests' launcher, not Foundation's `Process` (see ``ChildProcess``: its `run()`
    /// can crash the launching process on Swift 6.3.1).
    private var process: ChildProcess?
    private let keep: Bool
    /// How long ``start()`` waits for `system.health`: a large reused store may take longer to open.
    var startTimeout: Double = 20
    /// Flags added on the next ``start()`` (e.g. `--replicate nats://…`).
    var extraArguments: [String] = []

    /// Starts the daemon at `executable` on a fresh data directory (see ``start()``).
    ///
    /// - Parameters:
    ///   - executable: the path of the `contactledgerd` binary.
    ///   - keep: leave the data directory and log in place after ``stop()``.
    ///   - arguments: flags for the daemon (see ``extraArguments``).
    /// - Throws: ``BenchError`` when the binary is missing, exits, or does not answer within 20 s.
    convenience init(executable: String, keep: Bool = false, arguments: [String] = []) throws {
        try self.init(executable: executable, directory: Self.makeTemporaryDirectory(prefix: "clb"), keep: keep, arguments: arguments)
    }

    /// Starts the daemon at `executable` on `directory` (created `0700` when missing), which may hold
    /// the data of an earlier run: a dataset generated once and reused by later runs.
    ///
    /// - Parameters:
    ///   - executable: the path of the `contactledgerd` binary.
    ///   - directory: the data directory; keep it short (socket path limit).
    ///   - keep: leave the data directory and log in place after ``stop()``.
    ///   - arguments: flags for the daemon (see ``extraArguments``).
    /// - Throws: ``BenchError`` when the binary is missing, exits, or does not answer within 20 s
    ///   (600 s when `directory` holds a store).
    init(executable: String, directory: String, keep: Bool, arguments: [String] = []) throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw BenchError("no executable at \(executable); build it with `swift build -c release --product contactledgerd`")
        }
        if !FileManager.default.fileExists(atPath: directory) {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            chmod(directory, 0o700)
        }
        self.directory = directory
        self.socketPath = directory + "/ledger.sock"
        self.logPath = directory + ".log"
        self.keep = keep
        _ = FileManager.default.createFile(atPath: self.logPath, contents: nil)
        self.executable = executable
        self.extraArguments = arguments
        // A reused store may have its stream index caught up from the log at open (after an upgrade).
        if FileManager.default.fileExists(atPath: directory + "/data.mdb") { self.startTimeout = 600 }
        try self.start()
    }

    /// Starts (or restarts, on the same data directory) the daemon and waits until `system.health`
    /// answers.
    ///
    /// - Throws: ``BenchError`` when the daemon exits or does not answer within ``startTimeout``.
    func start() throws {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: self.executable)
        process.arguments = ["--data-dir", self.directory, "--log-level", "warning"] + self.extraArguments
        let log = FileHandle(forWritingAtPath: self.logPath)
        log?.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        self.process = process
        try process.run()
        let deadline = Date().addingTimeInterval(self.startTimeout)
        while Date() < deadline {
            if let client = try? RPCClient(socketPath: self.socketPath), (try? client.call("system.health")) != nil {
                return
            }
            guard process.isRunning else {
                throw BenchError("contactledgerd exited with status \(process.terminationStatus): \(self.log())")
            }
            usleep(20_000)
        }
        self.stop()
        throw BenchError("contactledgerd did not answer within \(Int(self.startTimeout)) s: \(self.log())")
    }

    /// The running daemon's process id, or nil when it is stopped.
    var processIdentifier: Int32? {
        guard let process = self.process, process.isRunning else { return nil }
        return process.processIdentifier
    }

    /// The daemon's output so far.
    func log() -> String {
        (try? String(contentsOfFile: self.logPath, encoding: .utf8)) ?? ""
    }

    /// A new connection to the daemon.
    func client() throws -> RPCClient {
        try RPCClient(socketPath: self.socketPath)
    }

    /// Calls `method` on a new connection.
    @discardableResult
    func call(_ method: String, _ params: JSONValue = [:]) throws -> JSONValue {
        try self.client().call(method, params)
    }

    /// Stops the daemon with SIGTERM (it closes LMDB cleanly) and waits for it, at most `grace` seconds:
    /// then SIGKILL (LMDB stays consistent; the daemon finishes an online rebuild before it exits on
    /// SIGTERM, which may take long). Then removes its files, unless `keepData` (they stay until
    /// ``removeFiles()``) or the run asked to keep them.
    func stop(keepData: Bool = false, grace: Double = 120) {
        if let process = self.process, process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(grace)
            while process.isRunning, Date() < deadline { usleep(50_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        if !keepData { self.removeFiles() }
    }

    /// Removes the data directory and the log (unless the run asked to keep them).
    func removeFiles() {
        guard !self.keep else { return }
        try? FileManager.default.removeItem(atPath: self.directory)
        try? FileManager.default.removeItem(atPath: self.logPath)
    }

    deinit {
        if let process = self.process, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Creates a fresh, private directory `/tmp/<prefix>-xxxxxxxx` and returns its path.
    static func makeTemporaryDirectory(prefix: String) -> String {
        let path = "/tmp/\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        chmod(path, 0o700)
        return path
    }
}

/// A benchmark failure, with a message for the operator.
struct BenchError: Error, CustomStringConvertible {
    /// What went wrong.
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
