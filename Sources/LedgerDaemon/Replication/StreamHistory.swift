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

    /// The last seq from `agreed` up to `seq` at which `stream` holds the ledger's event, found by halving:
    /// the hashes chain, so both hold the same events up to any seq where they hold the same one. A seq whose
    /// message is gone (erased with its contact) is passed over for the one before it.
    ///
    /// A former primary restarted after a failover diverges from the stream right after what it had
    /// published; compared at its head alone, it showed as published only the position it had stored.
    static func lastAgreement(_ jetStream: JetStream, stream: String, stores: LedgerStores, from agreed: UInt64, to seq: UInt64) async throws -> UInt64 {
        var low = agreed
        var high = seq
        while low < high {
            var probe = low + (high - low + 1) / 2
            var verdict = try await Self.matches(jetStream, stream: stream, stores: stores, at: probe)
            while verdict == nil, probe > low + 1 {
                probe -= 1
                verdict = try await Self.matches(jetStream, stream: stream, stores: stores, at: probe)
            }
            if verdict == true { low = probe } else if verdict == false { high = probe - 1 } else { break }
        }
        return low
    }
}
