// ContactLedger — daemon tests: helpers of the reliability, resource-limit and fuzz tests.
import Foundation
import TestSupport
import RPC
import Testing

#if canImport(Glibc)
import Glibc
#endif


/// A raw, non-blocking-capable Unix stream socket to the daemon, for clients the blocking
/// ``RPCClient`` cannot play: ones that never read, that stop mid-line, or that must not block.
final class RawSocket: @unchecked Sendable {
    // @unchecked: used from one thread, except `shutdown()`, which is safe from any thread.
    let descriptor: Int32
    private var buffer: [UInt8] = []
    /// How far `buffer` is known to hold no newline: a line of megabytes arrives in many reads, and each
    /// read looks only at the bytes it added.
    private var scanned = 0

    init(path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RPCClient.TransportError.connectFailed(errno: errno) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let code = errno
            close(fd)
            throw RPCClient.TransportError.connectFailed(errno: code)
        }
        self.descriptor = fd
    }

    deinit { close(self.descriptor) }

    /// Sends all of `bytes`, waiting at most until `deadline`; returns how many were sent.
    @discardableResult
    func send(_ bytes: [UInt8], until deadline: Date) -> Int {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(self.descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
            if written > 0 {
                offset += written
                continue
            }
            if written < 0, errno == EINTR { continue }
            if written < 0, errno != EAGAIN, errno != EWOULDBLOCK { return offset }
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return offset }
            var descriptor = pollfd(fd: self.descriptor, events: Int16(POLLOUT), revents: 0)
            _ = poll(&descriptor, 1, Int32(min(remaining, 1) * 1000) + 1)
        }
        return offset
    }

    /// The next line (without `\n`), or nil if none arrives before `deadline` or the peer closes.
    func readLine(until deadline: Date) -> [UInt8]? {
        while true {
            if let newline = self.buffer[self.scanned...].firstIndex(of: 10) {
                let line = Array(self.buffer[..<newline])
                self.buffer.removeSubrange(...newline)
                self.scanned = 0
                return line
            }
            self.scanned = self.buffer.count
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { return nil }
            var descriptor = pollfd(fd: self.descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, Int32(min(remaining, 1) * 1000) + 1)
            if ready <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let count = chunk.withUnsafeMutableBytes { recv(self.descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count == 0 { return nil }
            if count < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                return nil
            }
            self.buffer += chunk[..<count]
        }
    }

    /// The next line decoded as JSON, or nil.
    func readValue(until deadline: Date) -> JSONValue? {
        guard let line = self.readLine(until: deadline) else { return nil }
        return try? JSONDecoder().decode(JSONValue.self, from: Data(line))
    }

    /// Ends both directions (unblocks a peer thread stuck on this socket).
    func shutdown() { _ = Glibc.shutdown(self.descriptor, Int32(SHUT_RDWR)) }

    /// Ends the sending direction only: the daemon reads the end of its input, and can still answer.
    func shutdownSending() { _ = Glibc.shutdown(self.descriptor, Int32(SHUT_WR)) }
}

enum ReliabilitySupport {
    /// The resident set of process `pid` in bytes, from `/proc/PID/status`.
    static func residentBytes(of pid: Int32) -> Int? { Self.statusBytes(of: pid, "VmRSS") }

    /// The largest resident set process `pid` has had so far, in bytes (`VmHWM`, its high-water mark).
    static func peakResidentBytes(of pid: Int32) -> Int? { Self.statusBytes(of: pid, "VmHWM") }

    /// A size in kB of `/proc/PID/status`, in bytes.
    private static func statusBytes(of pid: Int32, _ key: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(key + ":") {
            let digits = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
            return digits.map { $0 * 1024 }
        }
        return nil
    }

    /// How many descriptors process `pid` has open.
    static func openDescriptors(of pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    /// The soft limit on open files of this process.
    static func openFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return Int(clamping: limit.rlim_cur)
    }

    /// One JSON-RPC request line.
    static func requestLine(id: Int, method: String, params: JSONValue = [:]) -> [UInt8] {
        let request: JSONValue = ["jsonrpc": "2.0", "id": .integer(Int64(id)), "method": .string(method), "params": params]
        return JSONLine.encode(request) + [10]
    }

    /// The daemon answers `system.health` on a fresh connection within `seconds`.
    static func answersHealth(_ daemon: DaemonHarness, within seconds: Double = 10) -> Bool {
        guard let socket = try? RawSocket(path: daemon.socketPath) else { return false }
        let deadline = Date().addingTimeInterval(seconds)
        guard socket.send(Self.requestLine(id: 1, method: "system.health"), until: deadline) > 0 else { return false }
        return socket.readValue(until: deadline)?["result"]?.string("status") == "ok"
    }

    /// `ledger.verify` passes and `projections.verify` finds no difference.
    static func expectIntact(_ daemon: DaemonHarness, _ label: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let verify = try daemon.call("ledger.verify")
        #expect(verify["verified"] == true, "\(label): ledger.verify \(verify)", sourceLocation: sourceLocation)
        let projections = try daemon.call("projections.verify", ["name": "contacts"])
        let differences = projections["differences"]?.arrayValue
        #expect(differences?.isEmpty == true, "\(label): projections.verify \(projections)", sourceLocation: sourceLocation)
    }
}

/// A flag threads can read while another sets it.
final class StopFlag: @unchecked Sendable {
    // @unchecked: every access holds `lock`.
    private let lock = NSLock()
    private var stopped = false
    var isSet: Bool {
        self.lock.lock()
        defer { self.lock.unlock() }
        return self.stopped
    }
    func set() {
        self.lock.lock()
        self.stopped = true
        self.lock.unlock()
    }
}
