// ContactLedger — daemon wiring.
import Foundation
import LedgerStore
import NATSClient

/// Whether a ledger and a stream hold the same history where both hold an event: the stream's message
/// at a seq is the ledger's event there (the same hash). Counting messages alone took another ledger's
/// stream for one merely ahead or behind.
enum StreamHistory {
    /// Whether the message of `stream` at `seq` is the ledger's event at `seq`; nil when either does not
    /// hold it (the stream's limits dropped it, or a contact's deletion erased it): not checked then.
    ///
    /// - Throws: ``ReplicationError/malformedRecord(streamSequence:)`` for a message that is no record.
    static func matches(_ jetStream: JetStream, stream: String, stores: LedgerStores, at seq: UInt64) async throws -> Bool? {
        guard seq > 0 else { return nil }
        let message: StoredMessage
        do {
            message = try await jetStream.message(stream: stream, seq: seq)
        } catch let error as JetStreamError where error.isMessageNotFound {
            return nil
        }
        guard let published = try? JSONDecoder().decode(ReplicatedRecord.self, from: Data(message.payload)) else {
            throw ReplicationError.malformedRecord(streamSequence: seq)
        }
        guard let local = try stores.environment.read({ try stores.log.record(at: seq, in: $0) }) else { return false }
        return Data(local.hash) == published.hash
    }
}
