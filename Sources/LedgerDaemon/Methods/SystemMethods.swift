// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import LedgerStore
import Projections
import RPC

extension LedgerMethods {
    func systemHealth(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        _ = try self.params(EmptyParams.self, call)
        let head = try self.read { try self.stores.log.head(in: $0).seq }
        return [
            "status": "ok",
            "version": .string(Self.version),
            "head_seq": .integer(Int64(head)),
            "uptime_s": .double(Double(self.startedAt.duration(to: .now) / .milliseconds(1)).rounded() / 1000),
        ]
    }

    func systemStats(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        _ = try self.params(EmptyParams.self, call)
        let (head, contacts, workspaces) = try self.read { txn in
            let projector = try self.stores.projector(txn)
            // Every workspace that has anything: settings, fields or groups, or contacts only.
            let withContacts = try projector.contacts.workspaceNames(in: txn)
            let names = Set(try projector.workspaces.names(in: txn)).union(withContacts)
            // Live contacts, as `workspace.get` counts them (a deleted contact's tombstone is not one).
            let live = try withContacts.reduce(0) { $0 + (try projector.contacts.index.liveContacts(of: $1, in: txn)) }
            return (try self.stores.log.head(in: txn).seq, live, names.count)
        }
        let storage = self.stores.environment.statistics()
        let commits = self.ledger.statistics.snapshot()
        let longCalls = LongCallThreads.statistics
        var stats: JSONValue = [
            "counts": ["contacts": .integer(Int64(contacts)), "events": .integer(Int64(head)), "workspaces": .integer(Int64(workspaces))],
            "head_seq": .integer(Int64(head)),
            "map_size": .integer(Int64(storage.mapSize)),
            "map_max_size": .integer(Int64(storage.maximumMapSize)),
            "map_used": .integer(Int64(storage.usedBytes)),
            "map_used_ratio": .double(Double(storage.usedBytes) / Double(max(storage.mapSize, 1))),
            "readers": ["used": .integer(Int64(storage.readersUsed)), "max": .integer(Int64(storage.maximumReaders))],
            "commits": .integer(Int64(commits.commits)),
            "commit_latency_ms": Self.percentilesInMilliseconds(of: commits.latencyMicroseconds),
            "commit_log_sync_ms": Self.percentilesInMilliseconds(of: commits.logSyncMicroseconds),
            "commit_batch_avg": .double(commits.commits == 0 ? 0 : Double(commits.commands) / Double(commits.commits)),
            "commit_batch_max": .integer(Int64(commits.batchMaximum)),
            "long_calls": [
                "threads": .integer(Int64(longCalls.threads)), "running": .integer(Int64(longCalls.running)),
                "waiting": .integer(Int64(longCalls.waiting)), "completed": .integer(Int64(longCalls.completed)),
                "dropped": .integer(Int64(longCalls.dropped)),
            ],
        ]
        // Publisher or replica: position, stream and lag.
        if case .object(var members) = stats, let replication = try self.replication.json(stores: self.stores) {
            members["replication"] = replication
            stats = .object(members)
        }
        return stats
    }

    /// p50, p90, p99 and max of latencies in microseconds, in milliseconds (null when there are none).
    private static func percentilesInMilliseconds(of microseconds: [Int64]) -> JSONValue {
        let sorted = microseconds.sorted()
        func percentile(_ fraction: Double) -> JSONValue {
            guard !sorted.isEmpty else { return .null }
            let index = min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)
            return .double(Double(sorted[max(index, 0)]) / 1000)
        }
        return ["p50": percentile(0.5), "p90": percentile(0.9), "p99": percentile(0.99), "max": percentile(1.0)]
    }
}
