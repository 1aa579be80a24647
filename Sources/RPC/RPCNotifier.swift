// ContactLedger — JSON-RPC layer.
import NIOCore

/// Writes server-initiated notifications to one connection.
public struct RPCNotifier: Sendable {
    private let write: @Sendable ([UInt8]) async throws -> Void
    private let close: @Sendable () -> Void
    private let writeLast: @Sendable ([UInt8], Duration) -> Void

    /// Makes a notifier that hands each encoded line to `write`, and calls `close` to disconnect.
    ///
    /// - Parameter writeLast: queues a last line past back-pressure and closes the connection once the
    ///   line has been written, or when the grace period given runs out; without it, `close` at once.
    public init(
        write: @escaping @Sendable ([UInt8]) async throws -> Void,
        close: @escaping @Sendable () -> Void = {},
        writeLast: (@Sendable ([UInt8], Duration) -> Void)? = nil
    ) {
        self.write = write
        self.close = close
        self.writeLast = writeLast ?? { _, _ in close() }
    }

    /// Closes the connection: lines not yet written are dropped, and a `notify` waiting for the peer to
    /// read fails.
    public func disconnect() {
        self.close()
    }

    /// Sends `{"jsonrpc":"2.0","method":method,"params":params}`; `params` is encoded JSON.
    ///
    /// Suspends while the peer is not reading (back-pressure).
    public func notify(method: String, params: [UInt8]) async throws {
        try await self.write(Self.line(method: method, params: params))
    }

    /// Queues a last notification behind the lines the peer has not read yet, past back-pressure (one
    /// line more, whatever the peer holds up), and closes the connection once the peer has read up to
    /// it, or after `grace`: a peer that stopped reading still learns why it was cut off if it reads
    /// again in time.
    public func notifyAndDisconnect(method: String, params: [UInt8], grace: Duration) {
        self.writeLast(Self.line(method: method, params: params), grace)
    }

    private static func line(method: String, params: [UInt8]) -> [UInt8] {
        var line: [UInt8] = Array(#"{"jsonrpc":"2.0","method":"#.utf8)
        line += JSONLine.encodeString(method)
        line += Array(#","params":"#.utf8)
        line += params
        line += Array("}\n".utf8)
        return line
    }
}
