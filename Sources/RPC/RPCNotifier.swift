// ContactLedger — JSON-RPC layer.
import NIOCore

/// Writes server-initiated notifications to one connection.
public struct RPCNotifier: Sendable {
    private let write: @Sendable ([UInt8]) async throws -> Void
    private let close: @Sendable () -> Void

    /// Makes a notifier that hands each encoded line to `write`, and calls `close` to disconnect.
    public init(write: @escaping @Sendable ([UInt8]) async throws -> Void, close: @escaping @Sendable () -> Void = {}) {
        self.write = write
        self.close = close
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
        var line: [UInt8] = Array(#"{"jsonrpc":"2.0","method":"#.utf8)
        line += JSONLine.encodeString(method)
        line += Array(#","params":"#.utf8)
        line += params
        line += Array("}\n".utf8)
        try await self.write(line)
    }
}
