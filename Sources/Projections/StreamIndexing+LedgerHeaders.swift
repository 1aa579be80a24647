// ContactLedger — read models.
import ContactDomain
import LedgerStore

extension StreamIndexing {
    /// The ledger's records name their stream and version in their header (``EventHeader``): the log's
    /// stream index is derived from them, and kept with the read models.
    public static let ledgerHeaders = StreamIndexing { bytes, seq in EventHeader.streamAndVersion(of: bytes, seq: seq) }
}
