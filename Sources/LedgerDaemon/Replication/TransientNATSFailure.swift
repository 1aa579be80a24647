// ContactLedger — daemon wiring.
import NATSClient

/// Failures of a JetStream request that say nothing about the stream or the consumer, only that the cluster
/// could not answer just then: a request that timed out, or was answered 503 (`JetStream system temporarily
/// unavailable`), while a killed node's streams and consumers elect new leaders. A replica that tore its
/// consumer down for one of these waited the whole timeout, then again for the metadata leader to make the
/// consumer anew: 6 to 12 s behind the primary after each node kill.
enum TransientNATSFailure {
    /// Whether `error` is one of these.
    static func matches(_ error: any Error) -> Bool {
        switch error {
        case NATSError.timeout, NATSError.noResponders: true
        case let error as JetStreamError: error.code == 503
        default: false
        }
    }

    /// Whether `error` is the connection itself going away (the client reconnects by itself).
    static func isConnectionLoss(_ error: any Error) -> Bool {
        switch error {
        case NATSError.disconnected, NATSError.notConnected: true
        default: false
        }
    }
}
