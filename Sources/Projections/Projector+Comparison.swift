// ContactLedger — read models.
import ContactDomain
import Crypto
import Foundation
import LedgerStore

/// A difference between two generations of the read models, named by ids (never personal data).
public struct ProjectionDifference: Sendable, Hashable {
    /// The read-model table, e.g. `rm.contacts`.
    public var table: String
    /// The entry's key, readable where it holds only ids; a hash where it could hold a URN.
    public var key: String
    /// `missing` (only in the rebuilt model), `unexpected` (only in the live one) or `different`.
    public var kind: String
}

/// A comparison ended before its end because its caller asked it to stop (``Projector/differences(from:limit:stoppingWhen:in:)``).
public struct ComparisonStopped: Error, Hashable, Sendable {}

extension Projector {
    /// Compares every read-model table of this generation with `rebuilt`, entry by entry, decoding
    /// records whose bytes may differ for equal values. At most `limit` differences, in key order.
    ///
    /// Both tables of a pair are walked together in key order (LMDB keeps them sorted), so the
    /// comparison holds two entries at a time, however large the read models: loading each table into a
    /// dictionary took gigabytes on a ledger of millions of events.
    ///
    /// - Throws: ``ComparisonStopped`` once `shouldStop` says so (asked every few thousand entries): the
    ///   comparison of a large ledger takes seconds, which a daemon stopping must not wait for.
    public func differences(
        from rebuilt: Projector, limit: Int = 100, stoppingWhen shouldStop: () -> Bool = { false }, in txn: Transaction
    ) throws -> [ProjectionDifference] {
        var result: [ProjectionDifference] = []
        var compared = 0
        for ((name, live), (_, fresh)) in zip(self.tablesByBaseName, rebuilt.tablesByBaseName) where name != "rm.meta" {
            try txn.withCursor(live) { liveCursor in
                try txn.withCursor(fresh) { freshCursor in
                    var liveEntry = try liveCursor.first()
                    var freshEntry = try freshCursor.first()
                    while result.count < limit {
                        compared += 1
                        if compared.isMultiple(of: 4_096), shouldStop() { throw ComparisonStopped() }
                        let kind: String
                        let key: [UInt8]
                        switch (liveEntry, freshEntry) {
                        case (nil, nil):
                            return
                        case (let only?, nil):
                            (kind, key) = ("unexpected", Array(only.key))
                            liveEntry = try liveCursor.next()
                        case (nil, let only?):
                            (kind, key) = ("missing", Array(only.key))
                            freshEntry = try freshCursor.next()
                        case (let a?, let b?):
                            if a.key.lexicographicallyPrecedes(b.key) {
                                (kind, key) = ("unexpected", Array(a.key))
                                liveEntry = try liveCursor.next()
                            } else if b.key.lexicographicallyPrecedes(a.key) {
                                (kind, key) = ("missing", Array(b.key))
                                freshEntry = try freshCursor.next()
                            } else {
                                let differs = !a.value.elementsEqual(b.value) && !Self.equivalent(Array(a.value), Array(b.value), table: name)
                                // Copied before the cursors move (an entry's bytes are the map's until then).
                                let differingKey = differs ? Array(a.key) : []
                                liveEntry = try liveCursor.next()
                                freshEntry = try freshCursor.next()
                                guard differs else { continue }
                                (kind, key) = ("different", differingKey)
                            }
                        }
                        result.append(ProjectionDifference(table: name, key: Self.describe(key, table: name), kind: kind))
                    }
                }
            }
            if result.count >= limit { return result }
        }
        return result
    }

    private static func equivalent(_ a: [UInt8], _ b: [UInt8], table: String) -> Bool {
        switch table {
        case "rm.contacts":
            return (try? ContactRecord.decode(a)) == (try? ContactRecord.decode(b))
        case "rm.workspaces":
            return (try? JSONCoding.decode(Workspace.self, from: a)) == (try? JSONCoding.decode(Workspace.self, from: b))
        default:
            return false
        }
    }

    private static func describe(_ key: [UInt8], table: String) -> String {
        if table == "rm.contact_urns" || table == "rm.audit" {
            return "sha256:" + SHA256.hash(data: key).prefix(8).map { String(format: "%02x", $0) }.joined()
        }
        if table == "rm.contact_ids", let id = BigEndian.uint64(key) { return String(id) }
        return key.map { $0 == 0 ? "/" : ($0 >= 32 && $0 < 127 ? String(UnicodeScalar($0)) : String(format: "\\x%02x", $0)) }.joined()
    }
}
