// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import LedgerStore
import NIOPosix
import Projections
import RPC

extension LedgerMethods {
    private static func checkProjection(_ name: String) throws {
        // As the schema has it (`minLength: 1`): a name left empty is a malformed call, not an unknown projection.
        guard !name.isEmpty else { throw RPCError.invalidParams(field: "name", reason: "empty") }
        guard name == Projector.name else { throw ContactError.notFound("projection", id: name) }
    }

    func projectionsStatus(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        _ = try self.params(EmptyParams.self, call)
        let (state, head, lastTime) = try self.read { txn -> ((version: Int, position: UInt64)?, UInt64, Timestamp?) in
            let projector = try self.stores.projector(txn)
            let state = try projector.state(in: txn)
            let head = try self.stores.log.head(in: txn).seq
            let lastTime = try self.stores.log.record(at: head, in: txn).flatMap { try? EventHeader.decode($0.header).createdOn }
            return (state, head, lastTime)
        }
        let rebuild = self.rebuilder.status
        let position = state?.position ?? 0
        var entry: [String: JSONValue] = [
            "name": .string(Projector.name),
            "version": .integer(Int64(Projector.version)),
            "stored_version": state.map { .integer(Int64($0.version)) } ?? .null,
            "position": .integer(Int64(position)),
            "head_seq": .integer(Int64(head)),
            "lag": ["events": .integer(Int64(head - min(position, head))), "seconds": .double(0)],
            "mode": "inline",
        ]
        if let lastTime, position < head {
            entry["lag"] = ["events": .integer(Int64(head - position)), "seconds": .double(Timestamp.now.date.timeIntervalSince(lastTime.date))]
        }
        if rebuild.isRebuilding {
            // Measured against the live head: the rebuild's own head is where it began, and a rebuild
            // under writes showed 1.0 there while it still caught up with the log's tail.
            let end = max(head, rebuild.head)
            let remaining = Double(end > rebuild.position ? end - rebuild.position : 0)
            let total = Double(max(end, 1))
            entry["state"] = "rebuilding"
            entry["progress"] = .double(min(1, Double(rebuild.position) / total))
            // The copy's duration does not follow from events left, nor does what follows the last event
            // (staging's last commit, the swap): no ETA rather than a wrong one (it showed 0 for half of
            // a rebuild of 200,000 events while staging committed).
            let estimable = rebuild.eventsPerSecond > 0 && rebuild.phase != .copying && remaining > 0
            entry["rebuild"] = [
                "phase": .string(rebuild.phase.rawValue),
                "position": .integer(Int64(rebuild.position)),
                "events_per_s": .double(rebuild.eventsPerSecond.rounded()),
                "eta_s": estimable ? .double((remaining / rebuild.eventsPerSecond * 10).rounded() / 10) : .null,
                "started_on": rebuild.startedAt.map { .string(Timestamp($0).description) } ?? .null,
            ]
        } else {
            entry["state"] = state.map { $0.version == Projector.version ? "ready" : "stale" } ?? "stale"
            entry["progress"] = .double(head == 0 ? 1 : min(1, Double(position) / Double(head)))
        }
        // While another rebuild runs too: the last one that completed is still the last (it vanished then).
        if let completed = rebuild.lastCompletedAt { entry["last_rebuilt_on"] = .string(Timestamp(completed).description) }
        // Shown while a new rebuild runs too, until one completes.
        if let failure = rebuild.lastFailure {
            var lastError: [String: JSONValue] = ["reason": .string(failure.reason), "at": .string(Timestamp(failure.at).description)]
            if let seq = failure.seq { lastError["seq"] = .integer(Int64(clamping: seq)) }
            entry["last_error"] = .object(lastError)
        }
        // Publisher or replica: position, stream and lag.
        if let replication = try self.replication.json(stores: self.stores) {
            return ["projections": [.object(entry)], "replication": replication]
        }
        return ["projections": [.object(entry)]]
    }

    /// Starts an online rebuild, unless one runs (`started: false`). A retry with the same idempotency key
    /// answers the first call's answer and starts none: a client whose answer a timeout lost would
    /// otherwise start a second rebuild once the first is done.
    func projectionsRebuild(_ call: RPCCall, _ caller: Caller) async throws -> any MethodAnswer {
        let params = try self.params(RebuildParams.self, call)
        // The key first, as every command does: a key reused with other params is -32002 whatever they
        // name (an unknown projection answered -32001 here).
        if let earlier = try self.earlierAnswer(call, caller) { return earlier }
        try Self.checkProjection(params.name)
        guard caller.idempotencyKey != nil else {
            let started = self.rebuilder.requestRebuild()
            return try await self.answerAppendingNothing(["name": .string(params.name), "state": "rebuilding", "started": .bool(started)], call, caller)
        }
        // With a key, the answer is stored first and the rebuild asked for once it is durable: started
        // first, an answer that could not be stored (a full map) left a rebuild running behind an error,
        // and every retry started another. (Not asked in the writer's turn: a batch the writer runs again
        // after growing the map would ask twice.)
        let answer: JSONValue = ["name": .string(params.name), "state": "rebuilding", "started": .bool(!self.rebuilder.status.isRebuilding)]
        let stored = try await self.answerAppendingNothing(answer, call, caller)
        // A call with the same key that raced past the look-up above asks too, while the first one's
        // rebuild runs: that asks for nothing.
        if answer["started"] == true { _ = self.rebuilder.requestRebuild() }
        return stored
    }

    /// Rebuilds the projection from the log into scratch tables with the running code and lists every
    /// difference from the live read model; the scratch tables are dropped afterwards.
    ///
    /// The scratch tables catch up through the writer in chunks, then, between two batches, with the
    /// last events and a snapshot of both models at that one position. The comparison, which reads every
    /// table, runs on that snapshot off the writer: run in the writer's last chunk, it held every command
    /// for seconds (tens of seconds under writes). One verification runs at a time: they share the scratch
    /// tables.
    func projectionsVerify(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(ProjectionParams.self, call)
        try Self.checkProjection(params.name)
        let stores = self.stores
        let scratch = stores.projectors[Projector.verificationGeneration]
        let context = CommandContext.readModelMaintenance
        return try await self.verifications.inTurn {
            try await self.verify(scratch, stores: stores, context: context, name: params.name)
        }
    }

    private func verify(_ scratch: Projector, stores: LedgerStores, context: CommandContext, name: String) async throws -> JSONValue {
        _ = try await self.ledger.execute(context) { tx in
            try scratch.reset(in: tx.txn)
            try ProjectionRebuilder.markVerification(underWay: true, stores, in: tx.txn)
            return []
        }
        while true {
            let reachedHead = try await self.ledger.execute(context) { tx in
                // A command that has taken its budget stops after the next deletion of a field or a group.
                let deadline = DispatchTime.now().uptimeNanoseconds + ProjectionRebuilder.chunkBudgetNanoseconds
                return [try scratch.catchUp(log: stores.log, limit: ProjectionRebuilder.chunkSize, until: deadline, in: tx.txn).reachedHead ? 1 : 0]
            }
            if reachedHead == [1] { break }
        }
        let snapshot = try await self.ledger.betweenBatches {
            while try !stores.environment.write({ txn in try scratch.catchUp(log: stores.log, limit: ProjectionRebuilder.chunkSize, in: txn).reachedHead }) {}
            try stores.environment.write { txn in try ProjectionRebuilder.dropErasedEntries(fromVerification: scratch, stores, in: txn) }
            return try stores.environment.openSnapshot()
        }
        let compared: Result<(UInt64, [ProjectionDifference]), any Error>
        do {
            compared = .success(
                try await NIOThreadPool.singleton.runIfActive {
                    try snapshot.read { txn in
                        let position = try scratch.state(in: txn)?.position ?? 0
                        let ledger = self.ledger
                        return (position, try stores.projector(txn).differences(from: scratch, stoppingWhen: { ledger.isStopping }, in: txn))
                    }
                }
            )
        } catch {
            compared = .failure(error)
        }
        snapshot.close()
        _ = try await self.ledger.execute(context) { tx in
            try scratch.drop(in: tx.txn)
            try ProjectionRebuilder.markVerification(underWay: false, stores, in: tx.txn)
            return []
        }
        let (position, differences): (UInt64, [ProjectionDifference])
        do {
            (position, differences) = try compared.get()
        } catch is ComparisonStopped {
            throw StorageUnavailable(reason: "shutting_down")
        }
        return [
            "name": .string(name),
            "checked_through_seq": .integer(Int64(position)),
            "differences": .array(differences.map { ["table": .string($0.table), "key": .string($0.key), "kind": .string($0.kind)] }),
        ]
    }
}
