// ContactLedger — daemon wiring.
import LedgerStore

/// What an idempotency key keeps: the hash of its first call's params and that call's answer, with the
/// contacts the answer names, so deleting one of them finds every answer to replace whatever its shape
/// (a `messages.send` answer names its contact only through the message's URN and text).
///
/// Stored as the 32-byte params hash followed by one of:
/// - `0x01`, a big-endian `UInt16` count, that many length-prefixed contact uuids, then the answer;
/// - ``erasedMarker`` and the uuid of the deleted contact the answer named;
/// - the answer alone (JSON, so never starting with `0x00` or `0x01`): a record of an earlier version,
///   which named no contacts.
struct IdempotencyRecord {
    enum Content {
        /// The first answer, as sent, and the uuids of the contacts it names.
        case answer([UInt8], namedContacts: [String])
        /// The first answer named this contact, since deleted: a retry answers -32001 `deleted`.
        case erased(contact: String)
    }

    var paramsHash: [UInt8]
    var content: Content

    /// Stands in for a stored answer that named a contact since deleted.
    static let erasedMarker: [UInt8] = [0] + Array("erased:".utf8)
    private static let namedContactsTag: UInt8 = 1

    init(paramsHash: [UInt8], content: Content) {
        self.paramsHash = paramsHash
        self.content = content
    }

    /// Reads a stored record; nil when it is too short to hold a params hash or its list is cut short.
    init?<Bytes: Collection<UInt8>>(decoding stored: Bytes) where Bytes.Index == Int {
        guard stored.count >= 32 else { return nil }
        let start = stored.startIndex
        self.paramsHash = Array(stored[start..<(start + 32)])
        let rest = stored[(start + 32)...]
        if rest.starts(with: Self.erasedMarker) {
            self.content = .erased(contact: String(decoding: rest.dropFirst(Self.erasedMarker.count), as: UTF8.self))
            return
        }
        guard rest.first == Self.namedContactsTag else {
            self.content = .answer(Array(rest), namedContacts: [])
            return
        }
        var index = rest.startIndex + 1
        guard index + 2 <= rest.endIndex else { return nil }
        let count = Int(rest[index]) << 8 | Int(rest[index + 1])
        index += 2
        var named: [String] = []
        named.reserveCapacity(count)
        for _ in 0..<count {
            guard index < rest.endIndex else { return nil }
            let length = Int(rest[index])
            index += 1
            guard index + length <= rest.endIndex else { return nil }
            named.append(String(decoding: rest[index..<(index + length)], as: UTF8.self))
            index += length
        }
        self.content = .answer(Array(rest[index...]), namedContacts: named)
    }

    /// The bytes to store.
    func encoded() -> [UInt8] {
        switch self.content {
        case .erased(let contact):
            return self.paramsHash + Self.erasedMarker + Array(contact.utf8)
        case .answer(let answer, let named):
            // An answer presents a contact or two (a command's answer is never a page of contacts);
            // the count's two bytes bound the list all the same.
            let kept = named.prefix(Int(UInt16.max))
            var bytes = self.paramsHash
            bytes.reserveCapacity(32 + 3 + kept.count * 37 + answer.count)
            bytes.append(Self.namedContactsTag)
            bytes.append(UInt8(kept.count >> 8))
            bytes.append(UInt8(kept.count & 0xFF))
            for uuid in kept {
                let utf8 = Array(uuid.utf8.prefix(255))
                bytes.append(UInt8(utf8.count))
                bytes += utf8
            }
            return bytes + answer
        }
    }

    /// Whether the answer names the contact `uuid`: listed, or (for a record of an earlier version,
    /// which lists none) its uuid appears in the answer's text.
    func names(contact uuid: String) -> Bool {
        guard case .answer(let answer, let named) = self.content else { return false }
        return named.contains(uuid) || answer.firstRange(of: Array(uuid.utf8)) != nil
    }
}

extension IdempotencyRecord {
    /// Stores the record at `key` in `ledger.idempotency`, and queues it for the replicas while the daemon
    /// publishes (``IdempotencyOutbox``); `replacingPersonalData` when it replaces an answer that held
    /// personal data since erased.
    func store(at key: [UInt8], replacingPersonalData: Bool, stores: LedgerStores, in txn: Transaction) throws {
        try txn.put(stores.idempotency, key: key, value: self.encoded())
        try IdempotencyOutbox.queue(key, replacingPersonalData: replacingPersonalData, stores: stores, in: txn)
    }
}
