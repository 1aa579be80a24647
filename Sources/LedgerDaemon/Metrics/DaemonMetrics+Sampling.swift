// ContactLedger — metrics: reading the gauges' figures from the store.
import LedgerStore
import Projections
import RPC

extension DaemonMetrics {
    /// A sampler reading the LMDB map and readers (`mdb_env_info`, no transaction), the log head and the
    /// answering read models' position (one short read transaction), the rebuild state and the live
    /// subscriptions, the long calls' threads. Returns nil when the store cannot be read.
    static func makeSampler(
        stores: LedgerStores,
        rebuilder: ProjectionRebuilder,
        subscriptions: Subscriptions
    ) -> @Sendable () -> Sample? {
        {
            let storage = stores.environment.statistics()
            guard
                let (head, position) = try? stores.environment.read({ txn in
                    (try stores.log.head(in: txn).seq, try stores.projector(txn).state(in: txn)?.position ?? 0)
                })
            else { return nil }
            let longCalls = LongCallThreads.statistics
            return Sample(
                mapSizeBytes: storage.mapSize,
                mapUsedBytes: storage.usedBytes,
                readersUsed: storage.readersUsed,
                readersMaximum: storage.maximumReaders,
                headSeq: head,
                projectionPosition: position,
                isRebuilding: rebuilder.status.isRebuilding,
                subscriptions: subscriptions.count,
                subscriptionLag: subscriptions.maximumLag(head: head),
                longCallsRunning: longCalls.running,
                longCallsWaiting: longCalls.waiting
            )
        }
    }
}
