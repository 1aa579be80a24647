// ContactLedger — daemon tests: helpers for the operations tests (processes, HTTP, Prometheus text).
import Foundation
import TestSupport
import Testing

/// Runs the built executables and small network helpers for ``OperationsTests``.
enum Operations {
    /// What a finished process left.
    struct Run {
        var status: Int32
        var output: String
        var error: String
    }

    /// The repository root (this file is `Tests/DaemonTests/OperationsSupport.swift`).
    static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// Runs `executable` (a path, or a built product's name) with `arguments` and an environment of the test
    /// process minus every `CONTACTLEDGER_*` variable, plus `environment`.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:], directory: String? = nil) throws -> Run {
        let process = ChildProcess()
        process.executableURL =
            executable.hasPrefix("/")
            ? URL(fileURLWithPath: executable) : DaemonHarness.productsDirectory.appendingPathComponent(executable)
        process.arguments = arguments
        var merged = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("CONTACTLEDGER_") && $0.key != "NOTIFY_SOCKET" }
        merged.merge(environment) { _, new in new }
        process.environment = merged
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        // Read both pipes while the process runs, so neither fills up.
        let errorData = ResultBox<Data>(count: 1)
        let done = DispatchSemaphore(value: 0)
        let reader = Thread {
            errorData.set(0, .success(error.fileHandleForReading.readDataToEndOfFile()))
            done.signal()
        }
        reader.start()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        done.wait()
        let err = (try? errorData.values().first) ?? Data()
        return Run(status: process.terminationStatus, output: String(decoding: out, as: UTF8.self), error: String(decoding: err, as: UTF8.self))
    }

    /// A copy of the CLI that another user may run (the build directory may be out of its reach), in a
    /// new directory beside `daemon`'s; returns the directory, which the caller removes.
    static func cliForOtherUsers(beside daemon: DaemonHarness) throws -> String {
        let bin = daemon.directory + "-bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: false)
        chmod(bin, 0o755)
        // Written through a descriptor closed on exec: FileManager's copy left its descriptor to the
        // processes other tests started meanwhile, which held the binary open for writing, and running it
        // failed "Text file busy" (seen once in a clean-clone run).
        let contents = try Data(contentsOf: DaemonHarness.productsDirectory.appendingPathComponent("contactledger"))
        let descriptor = open(bin + "/contactledger", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o755)
        guard descriptor >= 0 else { throw Failure("cannot create the CLI's copy: errno \(errno)") }
        defer { close(descriptor) }
        let written = contents.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == contents.count else { throw Failure("cannot write the CLI's copy: errno \(errno)") }
        chmod(bin + "/contactledger", 0o755)
        return bin
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago.
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure("socket() failed") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        guard bound else { throw Failure("bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// `GET path` on 127.0.0.1:`port`; returns the status code and the body.
    static func httpGet(port: Int, path: String) throws -> (status: Int, headers: String, body: String) {
        guard let response = LoopbackSocket.httpResponse(port: port, path: path, timeoutSeconds: 10) else {
            throw Failure("no HTTP answer from 127.0.0.1:\(port)\(path)")
        }
        return response
    }

    /// Parses the Prometheus text format: `name{labels} value` → value, keyed by `name{labels}` as written.
    ///
    /// Records an issue for any line that is neither a comment nor a sample.
    static func samples(_ exposition: String, sourceLocation: SourceLocation = #_sourceLocation) -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in exposition.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                Issue.record("not a sample line: \(line)", sourceLocation: sourceLocation)
                continue
            }
            let key = String(line[..<space])
            let nameEnd = key.firstIndex(of: "{") ?? key.endIndex
            let isValidName = key[..<nameEnd].allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }
            if !isValidName { Issue.record("bad metric name: \(key)", sourceLocation: sourceLocation) }
            samples[key] = value
        }
        return samples
    }

    /// A test-side failure with a message.
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}
