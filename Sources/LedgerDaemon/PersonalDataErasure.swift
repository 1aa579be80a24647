// ContactLedger — daemon wiring.
import ContactDomain
import LedgerStore
import Projections

/// What deleting a contact does to its past: the payloads holding its personal data are erased from the
/// log (their hashes keep the chain whole), and the audit index's field entries, which only an erased
/// payload named, go with them, so the live index equals one rebuilt from the erased log. A primary's
/// `contacts.delete` and a replica applying one do the same.
enum PersonalDataErasure {
    /// Types whose payload holds a contact's personal data.
    static let types: Set<String> = [
        "contact_created", "contact_name_changed", "contact_language_changed", "contact_field_changed",
        "contact_urns_changed", "msg_received", "msg_created",
    ]

    /// Erases the personal data of `stream`'s events before `seq`.
    ///
    /// - Returns: the identities (`scheme:path`) of the URNs the erased payloads held, earlier ones
    ///   included, so that what quotes them outside the log (an import's row errors) can be masked too:
    ///   after this call the log no longer knows them.
    @discardableResult
    static func erase(stream: String, before seq: UInt64, stores: LedgerStores, in txn: Transaction) throws -> Set<String> {
        var urns: Set<String> = []
        for earlier in try stores.log.seqs(of: stream, in: txn) where earlier < seq {
            guard let record = try stores.log.record(at: earlier, in: txn),
                let header = try? EventHeader.decode(record.header), Self.types.contains(header.type)
            else { continue }
            if let payload = record.payload,
                let event = try? LedgerEvent.decode(type: header.type, schemaVersion: header.schemaVersion, data: payload)
            {
                switch event {
                case .contactFieldChanged(let change):
                    try stores.projector(txn).audit.removeFieldEntry(workspace: header.workspace, key: change.field.key, seq: earlier, in: txn)
                    // A rebuild under way may have indexed the payload before it was erased.
                    try ProjectionRebuilder.recordErasedFieldEntry(workspace: header.workspace, key: change.field.key, seq: earlier, stores: stores, in: txn)
                case .contactCreated(let created):
                    urns.formUnion(created.urns.map(Self.identity))
                case .contactURNsChanged(let changed):
                    urns.formUnion(changed.map(Self.identity))
                default:
                    break
                }
            }
            try stores.log.erasePayload(at: earlier, in: txn)
        }
        return urns
    }

    /// The identity of stored URN text: row errors quote URNs by identity, without query or display.
    static func identity(_ stored: String) -> String {
        (try? URN(stored: stored))?.identity ?? stored
    }
}
