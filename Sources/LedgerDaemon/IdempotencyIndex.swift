// ContactLedger — daemon wiring.
import LedgerStore

/// Which stored idempotent answers name which contact: one entry per (workspace, contact, answer), so
/// deleting a contact finds the answers to replace (``Ledger/eraseIdempotentAnswers(mentioning:workspace:in:)``)
/// without reading every answer the workspace keeps. Read them all, a deletion held the writer, and
/// every other client's commands, for a second with 15,000 keys stored and six with more.
///
/// Durable like the answers (`ledger.idempotency_by_contact`, beside `ledger.idempotency`), written in
/// the transaction that stores the answer. An entry's key is the workspace, `0`, the contact's uuid,
/// `0`, and the 32-byte hash the answer's own key ends with; its value is empty. A data directory of an
/// earlier version, or one an earlier version has written answers to since, gets the missing entries at
/// the next start (``indexStoredAnswers(_:)``); until then (a start on a full disk cannot write them) a
/// deletion reads every answer, as before the index.
enum IdempotencyIndex {
    static let tableName = "ledger.idempotency_by_contact"
    /// In `ledger.meta`: how many stored answers the index covers (``isComplete(_:in:)``).
    private static let builtKey = Array("idempotency_index_built".utf8)

    /// Records that the answer stored at `recordKey` (``Ledger/idempotencyRecord(workspace:key:)``) names
    /// the contacts `uuids`.
    static func add(_ uuids: some Sequence<String>, answerAt recordKey: [UInt8], workspace: String, stores: LedgerStores, in txn: Transaction) throws {
        let hash = recordKey.suffix(32)
        for uuid in uuids {
            try txn.put(stores.idempotencyByContact, key: self.prefix(workspace: workspace, contact: uuid) + hash, value: [])
        }
    }

    /// The keys of the answers of `workspace` that name `uuid`, and forgets them: the caller replaces
    /// those answers, which then name nobody.
    static func takeAnswers(naming uuid: String, workspace: String, stores: LedgerStores, in txn: Transaction) throws -> [[UInt8]] {
        let prefix = self.prefix(workspace: workspace, contact: uuid)
        var entries: [[UInt8]] = []
        try txn.withCursor(stores.idempotencyByContact) { cursor in
            try cursor.forEach(from: prefix) { entry in
                guard entry.key.hasPrefix(prefix) else { return false }
                entries.append(Array(entry.key))
                return true
            }
        }
        for entry in entries { _ = try txn.delete(stores.idempotencyByContact, key: entry) }
        let workspacePrefix = Array(workspace.utf8) + [0]
        return entries.map { workspacePrefix + $0.suffix(32) }
    }

    /// Whether every stored answer is in the index: the mark counts the answers indexed, and an earlier
    /// version writes answers without indexing them (a data directory it has opened since has more),
    /// as it did before the index existed (no mark). ``indexStoredAnswers(_:)`` brings it up to date.
    static func isComplete(_ stores: LedgerStores, in txn: Transaction) throws -> Bool {
        guard let mark = try txn.get(stores.meta, key: self.builtKey), let indexed = BigEndian.uint64(mark) else { return false }
        return indexed == UInt64(try txn.count(stores.idempotency))
    }

    /// Counts an answer stored and indexed in `txn` (``add(_:answerAt:workspace:stores:in:)``) in the
    /// mark, when the index was complete before it.
    static func countStoredAnswer(_ stores: LedgerStores, in txn: Transaction) throws {
        guard let mark = try txn.get(stores.meta, key: self.builtKey), let indexed = BigEndian.uint64(mark),
            indexed + 1 == UInt64(try txn.count(stores.idempotency))
        else { return }
        try txn.put(stores.meta, key: self.builtKey, value: BigEndian.bytes(indexed + 1))
    }

    /// Indexes the stored answers when the index is not complete (a data directory of an earlier
    /// version, or one an earlier version has written to since): each by the contacts it lists, or,
    /// for a record of a version before those lists, by every uuid its text holds (what
    /// ``IdempotencyRecord/names(contact:)`` matches). Entries already there are written again.
    static func indexStoredAnswers(_ stores: LedgerStores) throws {
        guard try !stores.environment.read({ txn in try self.isComplete(stores, in: txn) }) else { return }
        try stores.environment.write { txn in
            var additions: [(uuids: [String], key: [UInt8], workspace: String)] = []
            try txn.withCursor(stores.idempotency) { cursor in
                try cursor.forEach(from: []) { entry in
                    let key = Array(entry.key)
                    guard let separator = key.firstIndex(of: 0), key.count == separator + 33,
                        let record = IdempotencyRecord(decoding: entry.value),
                        case .answer(let answer, let named) = record.content
                    else { return true }
                    let uuids = named.isEmpty ? Self.uuids(in: answer) : named
                    if !uuids.isEmpty { additions.append((uuids, key, String(decoding: key[..<separator], as: UTF8.self))) }
                    return true
                }
            }
            for addition in additions {
                try self.add(addition.uuids, answerAt: addition.key, workspace: addition.workspace, stores: stores, in: txn)
            }
            try txn.put(stores.meta, key: self.builtKey, value: BigEndian.bytes(UInt64(try txn.count(stores.idempotency))))
        }
    }

    private static func prefix(workspace: String, contact uuid: String) -> [UInt8] {
        Array(workspace.utf8) + [0] + Array(uuid.utf8) + [0]
    }

    /// Every distinct text of the form `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (lower-case hex, as the
    /// daemon writes uuids) in `bytes`.
    static func uuids(in bytes: [UInt8]) -> [String] {
        func isHex(_ byte: UInt8) -> Bool { (byte >= 48 && byte <= 57) || (byte >= 97 && byte <= 102) }
        let hyphens: Set<Int> = [8, 13, 18, 23]
        var found: [String] = []
        var seen: Set<[UInt8]> = []
        var start = 0
        while start + 36 <= bytes.count {
            let window = bytes[start..<(start + 36)]
            let matches = window.indices.allSatisfy { index in
                hyphens.contains(index - start) ? window[index] == UInt8(ascii: "-") : isHex(window[index])
            }
            if matches {
                if seen.insert(Array(window)).inserted { found.append(String(decoding: window, as: UTF8.self)) }
                start += 36
            } else {
                start += 1
            }
        }
        return found
    }
}
