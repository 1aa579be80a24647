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

extension Projector {
    /// Compares every read-model table of this generation with `rebuilt`, entry by entry, decoding
    /// records whose bytes may differ for equal values. At most `limit` differences.
    public func differences(from rebuilt: Projector, limit: Int = 100, in txn: Transaction) throws -> [ProjectionDifference] {
        var result: [ProjectionDifference] = []
        for ((name, live), (_, fresh)) in zip(self.tablesByBaseName, rebuilt.tablesByBaseName) where name != "rm.meta" {
            let liveEntries = try Self.entries(of: live, in: txn)
            let freshEntries = try Self.entries(of: fresh, in: txn)
            for key in Set(liveEntries.keys).union(freshEntries.keys).sorted(by: { $0.lexicographicallyPrecedes($1) }) {
                guard result.count < limit else { return result }
                let kind: String?
                switch (liveEntries[key], freshEntries[key]) {
                case (nil, _?): kind = "missing"
                case (_?, nil): kind = "unexpected"
                case (let a?, let b?) where a != b && !Self.equivalent(a, b, table: name): kind = "different"
                default: kind = nil
                }
                if let kind { result.append(ProjectionDifference(table: name, key: Self.describe(key, table: name), kind: kind)) }
            }
        }
        return result
    }

    private static func entries(of table: Table, in txn: Transaction) throws -> [[UInt8]: [UInt8]] {
        var entries: [[UInt8]: [UInt8]] = [:]
        try txn.withCursor(table) { cursor in
            try cursor.forEach(from: []) { entry in
                entries[Array(entry.key)] = Array(entry.value)
                return true
            }
        }
        return entries
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
