// ContactLedger — daemon wiring.
import Logging
import NATSClient
import ServiceLifecycle

extension ReplicationSettings {
    /// Runs `loop` with a NATS client for these settings until graceful shutdown, then closes the client.
    /// The one lifecycle shared by the publisher and the replica.
    func runClient(named name: String, logger: Logger, _ loop: @escaping @Sendable (NATSClient) async -> Void) async throws {
        var configuration = try NATSClient.Configuration(url: self.url)
        configuration.name = name
        let client = NATSClient(configuration: configuration, logger: logger)
        await cancelWhenGracefulShutdown { await loop(client) }
        await client.close()
    }
}
