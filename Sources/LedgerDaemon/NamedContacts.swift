// ContactLedger — daemon wiring.
import ContactDomain
import Synchronization

/// The contacts a command's answer presents, in the order first presented: kept with the answer of a
/// command with an idempotency key (``IdempotencyRecord``), so deleting one of them replaces the
/// answer, whatever its shape. Filled by the ``ContactPresenter`` the command takes from its
/// transaction (``CommandTransaction/presenter(_:)``), the one way a command shows a contact's data.
final class NamedContacts: Sendable {
    private let named = Mutex<(order: [String], seen: Set<String>)>(([], []))

    func record(_ uuid: ContactUUID) {
        self.named.withLock { named in
            if named.seen.insert(uuid.rawValue).inserted { named.order.append(uuid.rawValue) }
        }
    }

    var uuids: [String] { self.named.withLock { $0.order } }
}
