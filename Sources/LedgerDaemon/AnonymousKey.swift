// ContactLedger — daemon wiring.
import ContactDomain
import LedgerStore
import Synchronization

/// The key of the anonymous refs (behaviour reference §8.2): one per ledger, so a contact shows the same
/// ref on every node of it. Made at the first start and kept in `ledger.meta`; a replica takes its
/// primary's from the stream's claim (``StreamClaim``), and keeps it when it is promoted.
final class AnonymousKey: Sendable {
    private static let metaKey = Array("anonymous_key".utf8)

    private let current: Mutex<UInt64>

    /// The stored key, made and stored first if there is none.
    init(stores: LedgerStores) throws {
        if let existing = try stores.environment.read({ try $0.get(stores.meta, key: Self.metaKey) }).flatMap({ BigEndian.uint64($0) }) {
            self.current = Mutex(existing)
            return
        }
        let fresh = UInt64.random(in: 1...UInt64.max)
        try stores.environment.write { try $0.put(stores.meta, key: Self.metaKey, value: BigEndian.bytes(fresh)) }
        self.current = Mutex(fresh)
    }

    /// The key in use.
    var value: UInt64 { self.current.withLock { $0 } }

    /// The refs it makes.
    var reference: AnonymousReference { AnonymousReference(key: self.value) }

    /// Makes `key` this ledger's (stored through the writer, then used); returns whether it changed.
    func adopt(_ key: UInt64, ledger: Ledger) async throws -> Bool {
        guard key != 0, key != self.value else { return false }
        let meta = ledger.stores.meta
        _ = try await ledger.execute(.daemonRecord) { tx in
            try tx.txn.put(meta, key: Self.metaKey, value: BigEndian.bytes(key))
            return []
        }
        self.current.withLock { $0 = key }
        return true
    }
}
