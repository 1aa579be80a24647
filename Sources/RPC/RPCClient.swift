// ContactLedger — JSON-RPC layer.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A small blocking JSON-RPC client over a Unix socket, for the CLI, tools and tests.
///
/// One instance is one connection; it is not meant to be shared between threads.
public final class RPCClient {
    /// Failures of the transport (not JSON-RPC errors, which come back as ``RPCError``).
    public enum TransportError: Error, CustomStringConvertible {
        case socketPathTooLong
        case connectFailed(errno: Int32)
        case closed
        case ioFailed(errno: Int32)
        case malformedAnswer
        /// Nothing came from the daemon for ``RPCClient/timeout`` seconds (while connecting or waiting for
        /// an answer): a daemon stopped (`SIGSTOP`), wedged or overloaded.
        case timedOut(seconds: Double)
        /// The daemon did not take the whole request within ``RPCClient/timeout`` seconds: a daemon
        /// stopped, wedged or overloaded, and the request not (all) sent.
        case requestNotTaken(seconds: Double)

        public var description: String {
            switch self {
            case .socketPathTooLong: "the socket path is too long for a Unix socket"
            case .connectFailed(let code): "cannot connect to the daemon's socket: \(String(cString: strerror(code)))"
            case .closed: "the daemon closed the connection"
            case .ioFailed(let code): "socket I/O failed: \(String(cString: strerror(code)))"
            case .malformedAnswer: "the daemon sent an answer that is not JSON-RPC"
            case .timedOut(let seconds): "no answer from the daemon within \(String(format: "%g", seconds)) s"
            case .requestNotTaken(let seconds): "the daemon did not take the request within \(String(format: "%g", seconds)) s"
            }
        }
    }

    private let descriptor: Int32
    /// How the daemon's fractions are read: as the nearest doubles (tools and tests compute with them), or
    /// with every digit (the CLI prints them as the daemon wrote them).
    private let fractions: JSONTextParser.Fractions
    private var buffer: [UInt8] = []
    private var nextID: Int64 = 1

    /// How long each step may wait for the daemon, in seconds: to accept the connection, to take all of a
    /// request's bytes, to send the next bytes of an answer or notification. Nil waits as long as it takes.
    /// Setting it applies from the next step on, e.g. nil once a subscription is answered, since a quiet log
    /// sends nothing for as long as it is quiet.
    public var timeout: Double? {
        didSet { Self.setTimeout(self.timeout, on: self.descriptor) }
    }

    /// Connects to the daemon's socket, waiting at most `timeout` seconds (nil: as long as it takes) for the
    /// daemon to accept, and that long for each later step (``timeout``); answers' fractions are read as
    /// `fractions` says.
    ///
    /// - Throws: ``TransportError/timedOut(seconds:)`` when the daemon's backlog stays full for `timeout`.
    /// The longest socket path a Unix socket address holds, in bytes: `sun_path` less its terminating NUL.
    public static let maximumSocketPathBytes = MemoryLayout.size(ofValue: sockaddr_un().sun_path) - 1

    public init(socketPath: String, timeout: Double? = nil, fractions: JSONTextParser.Fractions = .double) throws {
        self.fractions = fractions
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TransportError.connectFailed(errno: errno) }
        // A Unix socket's connect waits for room in a full backlog for as long as the send timeout.
        Self.setTimeout(timeout, on: fd)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count <= Self.maximumSocketPathBytes else {
            close(fd)
            throw TransportError.socketPathTooLong
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let rc = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            let code = errno
            close(fd)
            if let timeout, code == EAGAIN { throw TransportError.timedOut(seconds: timeout) }
            throw TransportError.connectFailed(errno: code)
        }
        self.descriptor = fd
        self.timeout = timeout
    }

    /// Sets the socket's receive and send timeouts (`SO_RCVTIMEO`, `SO_SNDTIMEO`); nil clears them.
    private static func setTimeout(_ seconds: Double?, on descriptor: Int32) {
        let whole = seconds.map { $0.rounded(.down) } ?? 0
        var value = timeval(tv_sec: Int(whole), tv_usec: Int(((seconds ?? 0) - whole) * 1_000_000))
        for option in [SO_RCVTIMEO, SO_SNDTIMEO] {
            _ = setsockopt(descriptor, SOL_SOCKET, option, &value, socklen_t(MemoryLayout<timeval>.size))
        }
    }

    /// The error for a failed socket call's `errno`: a timeout when ``timeout`` ran out, else the failure.
    private func failure(_ code: Int32) -> TransportError {
        if let timeout = self.timeout, code == EAGAIN || code == EWOULDBLOCK { return .timedOut(seconds: timeout) }
        return .ioFailed(errno: code)
    }

    deinit {
        close(self.descriptor)
    }

    /// Sends raw bytes as they are (tests use this for malformed input), within ``timeout`` as a whole.
    ///
    /// With a timeout the bytes go out as the socket takes them, without blocking; when it has no room,
    /// `poll` waits for some, until one deadline: the socket's send timeout ran afresh for each part sent,
    /// so a request larger than its buffer waited twice the timeout or more for a stopped daemon. A request
    /// the socket takes at once (nearly all) costs one `send`: a `poll` before each one took a sixth of a
    /// single client's creates per second in the append benchmark.
    ///
    /// - Throws: ``TransportError/requestNotTaken(seconds:)`` when the daemon has not taken them all by
    ///   then; ``TransportError/ioFailed(errno:)`` when the connection fails.
    public func send(raw bytes: [UInt8]) throws {
        let deadline = self.timeout.map { ContinuousClock.now + .seconds($0) }
        // MSG_NOSIGNAL: a daemon that closed the connection is an error here, not a SIGPIPE that kills the
        // caller (the CLI, a test, a tool). MSG_DONTWAIT: with a deadline, the wait is poll's.
        let flags = Int32(MSG_NOSIGNAL) | (deadline == nil ? 0 : Int32(MSG_DONTWAIT))
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(self.descriptor, $0.baseAddress, $0.count, flags) }
            if written < 0 {
                if errno == EINTR { continue }
                guard let deadline, errno == EAGAIN || errno == EWOULDBLOCK else { throw self.failure(errno) }
                try self.waitForRoom(until: deadline)
                continue
            }
            offset += written
            // A daemon taking a long request a little at a time takes it within the deadline too.
            if offset < bytes.count, let deadline, ContinuousClock.now >= deadline {
                throw TransportError.requestNotTaken(seconds: self.timeout ?? 0)
            }
        }
    }

    /// Waits until the socket can take more bytes (or has failed, which the next send reports).
    ///
    /// - Throws: ``TransportError/requestNotTaken(seconds:)`` once `deadline` has passed.
    private func waitForRoom(until deadline: ContinuousClock.Instant) throws {
        while true {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw TransportError.requestNotTaken(seconds: self.timeout ?? 0) }
            // Whole milliseconds, rounded up: rounded down, the last wait would spin at 0.
            let milliseconds = left.components.seconds * 1_000 + (left.components.attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
            var ready = pollfd(fd: self.descriptor, events: Int16(POLLOUT), revents: 0)
            let count = poll(&ready, 1, Int32(clamping: milliseconds))
            if count > 0 { return }
            if count < 0, errno != EINTR { throw TransportError.ioFailed(errno: errno) }
        }
    }

    /// Shuts down the sending side: the daemon sees the end of the requests and still sends their answers.
    public func finishSending() throws {
        guard shutdown(self.descriptor, Int32(SHUT_WR)) == 0 else { throw TransportError.ioFailed(errno: errno) }
    }

    /// Reads the next line (without `\n`).
    public func readLine() throws -> [UInt8] {
        while true {
            if let newline = self.buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(self.buffer[..<newline])
                self.buffer.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 65_536)
            let count = chunk.withUnsafeMutableBytes { read(self.descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw self.failure(errno)
            }
            if count == 0 { throw TransportError.closed }
            self.buffer += chunk[..<count]
        }
    }

    /// Reads the next line as a JSON value.
    public func readValue() throws -> JSONValue {
        let line = try self.readLine()
        guard let value = try? JSONTextParser.parse(line, fractions: self.fractions) else {
            throw TransportError.malformedAnswer
        }
        return value
    }

    /// Calls `method` and waits for its answer, passing any notifications that arrive first to
    /// `onNotification`.
    ///
    /// - Returns: the `result` member.
    /// - Throws: ``RPCError`` when the daemon answers with an error, ``TransportError`` otherwise.
    @discardableResult
    public func call(
        _ method: String,
        _ params: JSONValue = [:],
        onNotification: (JSONValue) -> Void = { _ in }
    ) throws -> JSONValue {
        let id = self.nextID
        self.nextID += 1
        let request: JSONValue = ["jsonrpc": "2.0", "id": .integer(id), "method": .string(method), "params": params]
        do {
            try self.send(raw: JSONLine.encode(request) + [UInt8(ascii: "\n")])
        } catch TransportError.ioFailed(let code) where code == EPIPE || code == ECONNRESET {
            // The daemon closed the connection before the request went out: a connection refused past
            // its limit is answered one line and closed at once. That line, if it came, says why.
            if let answer = try? self.readValue(), answer["id"] == .null, let error = answer["error"], let refusal = RPCError(jsonValue: error) {
                throw refusal
            }
            throw TransportError.ioFailed(errno: code)
        }
        while true {
            let answer = try self.readValue()
            if answer["id"] == nil, answer["method"] != nil {
                onNotification(answer)
                continue
            }
            // An error answered with id null is about the connection, not this call (a connection refused
            // past the daemon's limit, a line the daemon could not read): it is the answer all the same.
            if answer["id"] == .null, let error = answer["error"] {
                throw RPCError(jsonValue: error) ?? TransportError.malformedAnswer
            }
            guard answer["id"] == .integer(id) else { throw TransportError.malformedAnswer }
            if let error = answer["error"] {
                throw RPCError(jsonValue: error) ?? TransportError.malformedAnswer
            }
            return answer["result"] ?? .null
        }
    }
}
