// ContactLedger — daemon tests.
import Foundation
import RPC
import TestSupport
import Testing

/// Starts the real `contactledgerd` in a fresh temporary data directory and talks to it over its socket.
final class DaemonHarness: @unchecked Sendable {
    // @unchecked: each test owns its harness and uses it from one task.
    let directory: String
    let socketPath: String
    private(set) var process: ChildProcess?
    private let extraArguments: [String]
    private let openFileLimit: Int?
    private let extraEnvironment: [String: String]
    let logPath: String

    /// The directory holding the built executables (`.build/debug` or `.build/release`).
    static var productsDirectory: URL {
        let bundle = Bundle.main.bundleURL
        if FileManager.default.fileExists(atPath: bundle.appendingPathComponent("contactledgerd").path) { return bundle }
        return bundle.deletingLastPathComponent()
    }

    /// - Parameters:
    ///   - socket: a socket path other than the data directory's `ledger.sock`.
    ///   - openFileLimit: the daemon's limit on open files (soft and hard, set by `prlimit`), else this process's.
    ///   - environment: variables set for the daemon beside this process's (`LD_PRELOAD`, …).
    init(
        arguments: [String] = [], directory: String? = nil, socket: String? = nil, openFileLimit: Int? = nil,
        environment: [String: String] = [:]
    ) throws {
        // Short paths: a Unix socket path is limited to about 108 bytes.
        let directory = directory ?? "/tmp/clt-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        chmod(directory, 0o750)
        self.directory = directory
        self.socketPath = socket ?? directory + "/ledger.sock"
        self.logPath = directory + ".log"
        self.extraArguments = arguments + (socket.map { ["--socket", $0] } ?? [])
        self.openFileLimit = openFileLimit
        self.extraEnvironment = environment
        try self.start()
    }

    /// Starts (or restarts) the daemon and waits until its socket answers.
    func start() throws {
        let process = ChildProcess()
        let daemon = Self.productsDirectory.appendingPathComponent("contactledgerd")
        process.executableURL = daemon
        process.arguments = ["--data-dir", self.directory] + self.extraArguments
        if !self.extraEnvironment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(self.extraEnvironment) { $1 }
        }
        if let limit = self.openFileLimit {
            // prlimit sets its own limit and then executes the daemon: the same process.
            process.executableURL = URL(fileURLWithPath: "/usr/bin/prlimit")
            process.arguments = ["--nofile=\(limit):\(limit)", daemon.path] + process.arguments
        }
        _ = FileManager.default.createFile(atPath: self.logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: self.logPath)
        log?.seekToEndOfFile()
        process.standardError = log
        process.standardOutput = log
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let client = try? RPCClient(socketPath: self.socketPath) {
                // Any JSON-RPC answer, even a refusal, means the daemon serves.
                do {
                    try client.call("system.health")
                    return
                } catch is RPCError {
                    return
                } catch {}
            }
            guard process.isRunning else { throw HarnessError.exited(process.terminationStatus, self.log()) }
            usleep(20_000)
        }
        throw HarnessError.timeout(self.log())
    }

    /// The daemon's log so far.
    func log() -> String { (try? String(contentsOfFile: self.logPath, encoding: .utf8)) ?? "" }

    /// A new connection.
    func client() throws -> RPCClient { try RPCClient(socketPath: self.socketPath) }

    /// Calls a method on a new connection.
    @discardableResult
    func call(_ method: String, _ params: JSONValue = [:]) throws -> JSONValue {
        try self.client().call(method, params)
    }

    /// Calls a method that must fail and returns its error.
    func error(_ method: String, _ params: JSONValue = [:], sourceLocation: SourceLocation = #_sourceLocation) throws -> RPCError {
        do {
            let result = try self.call(method, params)
            Issue.record("expected \(method) to fail, got \(result)", sourceLocation: sourceLocation)
            return RPCError(code: 0, message: "no error")
        } catch let error as RPCError {
            return error
        }
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit status.
    @discardableResult
    func stop() -> Int32 {
        guard let process = self.process, process.isRunning else { return self.process?.terminationStatus ?? 0 }
        process.terminate()
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// SIGKILL: the daemon gets no chance to clean up.
    func kill() {
        guard let process = self.process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit {
        if let process = self.process, process.isRunning {
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: self.directory)
        try? FileManager.default.removeItem(atPath: self.logPath)
    }

    enum HarnessError: Error, CustomStringConvertible {
        case exited(Int32, String)
        case timeout(String)
        var description: String {
            switch self {
            case .exited(let status, let log): "daemon exited with \(status): \(log)"
            case .timeout(let log): "daemon did not answer in time: \(log)"
            }
        }
    }
}

extension DaemonHarness {
    /// Creates `count` contacts quickly, in JSON-RPC batches of 200 creates: contact `n` is named `pn`
    /// and has the URN `ext:pn`.
    func populate(count: Int) throws {
        let client = try self.client()
        var created = 0
        while created < count {
            let size = min(200, count - created)
            let batch: [JSONValue] = (0..<size).map { index in
                ["jsonrpc": "2.0", "id": .integer(Int64(created + index)), "method": "contacts.create",
                 "params": ["name": .string("p\(created + index)"), "urns": [.string("ext:p\(created + index)")]]]
            }
            try client.send(raw: JSONLine.encode(JSONValue.array(batch)) + [10])
            _ = try client.readValue()
            created += size
        }
    }

    /// Waits (a minute at most) until the read models are ready, no rebuild under way; their status.
    @discardableResult
    func waitUntilReady() throws -> JSONValue {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let status = try #require(try self.call("projections.status")["projections"]?.arrayValue?.first)
            if status.string("state") == "ready" { return status }
            usleep(50_000)
        }
        Issue.record("projection never became ready")
        return .null
    }

    /// Waits (`seconds` at most) until the daemon's log contains `text`.
    func waitForLog(_ text: String, seconds: Double = 60) {
        let deadline = Date().addingTimeInterval(seconds)
        while !self.log().contains(text), Date() < deadline { usleep(20_000) }
    }
}

extension JSONValue {
    /// Test shorthand: the string at `key`.
    func string(_ key: String) -> String? { self[key]?.stringValue }
    /// Test shorthand: the integer at `key`.
    func int(_ key: String) -> Int64? { self[key]?.integerValue }
    /// Test shorthand: the number (integer or not) at `key`.
    func number(_ key: String) -> Double? {
        switch self[key] {
        case .integer(let value)?: Double(value)
        case .double(let value)?: value
        default: nil
        }
    }
}

extension RPCError {
    /// Test shorthand: a member of `data`.
    func data(_ key: String) -> JSONValue? { self.data?[key] }
}

/// Runs `body` on `count` OS threads at once (blocking socket clients must not starve the
/// cooperative pool, which has only as many threads as cores) and returns their results in order.
func onThreads<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
    let results = ResultBox<T>(count: count)
    let done = DispatchSemaphore(value: 0)
    for index in 0..<count {
        let thread = Thread {
            results.set(index, Result { try body(index) })
            done.signal()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    for _ in 0..<count { done.wait() }
    return try results.values()
}

/// Thread-safe slots for ``onThreads(_:_:)``.
final class ResultBox<T: Sendable>: @unchecked Sendable {
    // @unchecked: every access holds `lock`.
    private let lock = NSLock()
    private var slots: [Result<T, any Error>?]
    init(count: Int) { self.slots = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ result: Result<T, any Error>) {
        self.lock.lock()
        self.slots[index] = result
        self.lock.unlock()
    }
    func values() throws -> [T] {
        self.lock.lock()
        defer { self.lock.unlock() }
        return try self.slots.map { try ($0 ?? .failure(CancellationError())).get() }
    }
}
