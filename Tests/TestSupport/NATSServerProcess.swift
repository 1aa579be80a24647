// ContactLedger — shared test support.
import Foundation

/// A real `nats-server` with JetStream on a free loopback port, its store in a temporary directory.
public final class NATSServerProcess: @unchecked Sendable {
    // @unchecked: each test owns its server and uses it from one task.
    public private(set) var port: Int
    public let storeDirectory: String
    private var process: ChildProcess?

    /// The server's URL.
    public var url: String { "nats://127.0.0.1:\(self.port)" }

    public init(port: Int? = nil) throws {
        self.port = port ?? Self.freePort()
        self.storeDirectory = NSTemporaryDirectory() + "nats-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: self.storeDirectory, withIntermediateDirectories: true)
        // Another test may take the same free port between the check and the bind: try a few.
        var attempts = 0
        while true {
            do {
                try self.start()
                return
            } catch {
                attempts += 1
                guard port == nil, attempts < 5 else { throw error }
                self.port = Self.freePort()
            }
        }
    }

    /// Starts (or restarts) the server on the same port and store, and waits until it accepts connections.
    public func start() throws {
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: Self.executable)
        process.arguments = ["-js", "-a", "127.0.0.1", "-p", String(self.port), "-sd", self.storeDirectory]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            guard process.isRunning else { throw ServerError.notReady }
            if Self.accepts(port: self.port) {
                // The port may be another server's: ours must still be running once it accepts.
                usleep(100_000)
                guard process.isRunning else { throw ServerError.notReady }
                return
            }
            usleep(20_000)
        }
        throw ServerError.notReady
    }

    /// SIGKILL, and waits for the exit.
    public func kill() {
        guard let process = self.process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit {
        self.kill()
        try? FileManager.default.removeItem(atPath: self.storeDirectory)
    }

    public static var executable: String {
        ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"].first { FileManager.default.fileExists(atPath: $0) }
            ?? "/usr/sbin/nats-server"
    }

    /// Whether `nats-server` is installed (tests are skipped without it).
    public static var isAvailable: Bool { FileManager.default.fileExists(atPath: Self.executable) }

    /// A port nobody listens on now, on 127.0.0.1.
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress -> Bool in
                bind(fd, socketAddress, length) == 0 && getsockname(fd, socketAddress, &length) == 0
            }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : 14222
    }

    /// Whether a NATS server listens on 127.0.0.1:`port` (it greets with `INFO`; another test's listener
    /// may hold the port).
    public static func accepts(port: Int) -> Bool {
        guard let fd = LoopbackSocket.connect(port: port) else { return false }
        defer { close(fd) }
        var greeting = [UInt8](repeating: 0, count: 4)
        let count = greeting.withUnsafeMutableBytes { read(fd, $0.baseAddress, 4) }
        return count == 4 && greeting == Array("INFO".utf8)
    }

    enum ServerError: Error { case notReady }
}
