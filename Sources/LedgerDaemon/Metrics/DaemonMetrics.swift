// ContactLedger — metrics: what the daemon measures, in Prometheus form.
import Prometheus
import Synchronization

/// The daemon's metrics, kept in a ``PrometheusCollectorRegistry`` and rendered in the Prometheus text
/// exposition format.
///
/// Counters and histograms are recorded as things happen (``recordRequest(method:code:duration:)``,
/// ``recordCommit(batchSize:duration:syncDuration:)``); gauges (LMDB map and readers, log head,
/// projection lag, subscriptions) are sampled when scraped, by the sampler set with ``setSampler(_:)``.
/// Every method is thread-safe and cheap (a lock and a dictionary look-up); none touches LMDB except
/// the sampler, which ``exposition()`` runs on the caller's thread — never call it on an event loop.
///
/// Labels carry method names and error codes only, never params.
final class DaemonMetrics: Sendable {
    /// Figures read at scrape time.
    struct Sample: Sendable {
        var mapSizeBytes: Int
        var mapUsedBytes: Int
        var readersUsed: Int
        var readersMaximum: Int
        var headSeq: UInt64
        var projectionPosition: UInt64
        var isRebuilding: Bool
        var subscriptions: Int
        /// The most events any live subscription is behind the head.
        var subscriptionLag: UInt64
        /// Long calls running on their threads, and waiting for their turn (``LongCallThreads``).
        var longCallsRunning: Int
        var longCallsWaiting: Int
    }

    /// The registry everything is recorded in.
    let registry: PrometheusCollectorRegistry
    /// The method names used as labels; any other name is counted as `unknown` (bounded cardinality).
    private let knownMethods: Set<String>
    private let sampler = Mutex<(@Sendable () -> Sample?)?>(nil)
    /// Each (method, code)'s request counter and its method's latency histogram, once the registry made
    /// them: making them again through the registry, for every request, built their descriptors and
    /// label lists and took the registry's lock, about 7 µs of the event loop's time per call. Bounded:
    /// methods outside `knownMethods` count as `unknown`, and codes are the contract's.
    private let requestMetrics = Mutex<[RequestKey: (requests: Counter, latency: DurationHistogram)]>([:])

    private struct RequestKey: Hashable {
        var method: String
        var code: Int?
    }

    private let batchSizes: ValueHistogram
    private let commitDuration: DurationHistogram
    private let syncDuration: DurationHistogram
    private let mapSize: Gauge
    private let mapUsed: Gauge
    private let mapUsedRatio: Gauge
    private let readersUsed: Gauge
    private let readersMaximum: Gauge
    private let headSeq: Gauge
    private let projectionPosition: Gauge
    private let projectionLag: Gauge
    private let projectionRebuilding: Gauge
    private let subscriptions: Gauge
    private let subscriptionLag: Gauge
    private let longCallsRunning: Gauge
    private let longCallsWaiting: Gauge

    /// Latency buckets from 100 µs to 10 s.
    static let durationBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]
    /// Batch-size buckets: powers of two up to 4096 commands.
    static let batchBuckets: [Double] = (0...12).map { Double(1 << $0) }

    /// - Parameters:
    ///   - registry: where to record; the daemon passes the one its `MetricsSystem` factory uses.
    ///   - knownMethods: the method names the daemon serves.
    init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), knownMethods: Set<String>) {
        self.registry = registry
        self.knownMethods = knownMethods
        func descriptor(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
            MetricNameDescriptor(namespace: "contactledger", metricName: name, unitName: unit, helpText: help)
        }
        self.batchSizes = registry.makeValueHistogram(
            descriptor: descriptor("commit_batch", "commands", "Commands per group commit (one LMDB write transaction and one fsync)."),
            buckets: Self.batchBuckets
        )
        self.commitDuration = registry.makeDurationHistogram(
            descriptor: descriptor("commit_duration", "seconds", "Time to run and durably commit one batch."),
            buckets: Self.durationBuckets
        )
        self.syncDuration = registry.makeDurationHistogram(
            descriptor: descriptor("commit_sync_duration", "seconds", "Time in mdb_txn_commit (page writes and fsync) per batch."),
            buckets: Self.durationBuckets
        )
        self.mapSize = registry.makeGauge(descriptor: descriptor("lmdb_map_size", "bytes", "The LMDB map size (grows when full)."))
        self.mapUsed = registry.makeGauge(descriptor: descriptor("lmdb_map_used", "bytes", "Bytes of the LMDB map in use."))
        self.mapUsedRatio = registry.makeGauge(descriptor: descriptor("lmdb_map_used", "ratio", "Used fraction of the current LMDB map."))
        self.readersUsed = registry.makeGauge(descriptor: descriptor("lmdb_readers", "used", "LMDB reader slots in use."))
        self.readersMaximum = registry.makeGauge(descriptor: descriptor("lmdb_readers", "max", "LMDB reader slots available."))
        self.headSeq = registry.makeGauge(descriptor: descriptor("log_head", "seq", "Sequence number of the last event in the log."))
        self.projectionPosition = registry.makeGauge(
            descriptor: descriptor("projection_position", "seq", "The last event applied to the answering read models.")
        )
        self.projectionLag = registry.makeGauge(
            descriptor: descriptor("projection_lag", "events", "Events in the log not yet applied to the answering read models.")
        )
        self.projectionRebuilding = registry.makeGauge(
            descriptor: descriptor("projection_rebuilding", "", "1 while the read models are being rebuilt, else 0.")
        )
        self.subscriptions = registry.makeGauge(descriptor: descriptor("subscriptions", "", "Live events.subscribe subscriptions."))
        self.subscriptionLag = registry.makeGauge(
            descriptor: descriptor("subscription_lag", "events", "The most events any live subscription is behind the log's head.")
        )
        self.longCallsRunning = registry.makeGauge(
            descriptor: descriptor("long_calls", "running", "Long calls (searches, histories, audits, catch-up chunks...) running on their threads.")
        )
        self.longCallsWaiting = registry.makeGauge(
            descriptor: descriptor("long_calls", "waiting", "Long calls waiting for their turn on a thread.")
        )
    }

    /// Counts one answered call and its duration.
    ///
    /// - Parameters:
    ///   - method: the method name (names the daemon does not serve are counted as `unknown`).
    ///   - code: the JSON-RPC error code, or nil for a result (label `code="ok"`).
    func recordRequest(method: String, code: Int?, duration: Duration) {
        let key = RequestKey(method: self.knownMethods.contains(method) ? method : "unknown", code: code)
        let metrics = self.requestMetrics.withLock { made in
            if let metrics = made[key] { return metrics }
            let metrics = self.makeRequestMetrics(key)
            made[key] = metrics
            return metrics
        }
        metrics.requests.increment()
        metrics.latency.record(duration)
    }

    private func makeRequestMetrics(_ key: RequestKey) -> (requests: Counter, latency: DurationHistogram) {
        let requests = self.registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "contactledger", subsystem: "rpc", metricName: "requests", unitName: "total",
                helpText: "JSON-RPC calls answered, by method and code (ok or the JSON-RPC error code)."
            ),
            labels: [("method", key.method), ("code", key.code.map { String($0) } ?? "ok")]
        )
        let latency = self.registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                namespace: "contactledger", subsystem: "rpc", metricName: "request_duration", unitName: "seconds",
                helpText: "Time from a call's dispatch to its answer, by method."
            ),
            labels: [("method", key.method)],
            buckets: Self.durationBuckets
        )
        return (requests, latency)
    }

    /// Records one committed batch.
    func recordCommit(batchSize: Int, duration: Duration, syncDuration: Duration) {
        self.batchSizes.record(Double(batchSize))
        self.commitDuration.record(duration)
        self.syncDuration.record(syncDuration)
    }

    /// Counts a batch that could not be committed.
    func recordCommitFailure(reason: String) {
        self.registry.makeCounter(
            descriptor: MetricNameDescriptor(
                namespace: "contactledger", metricName: "commit_failures", unitName: "total",
                helpText: "Batches that could not be committed, by reason (map_full, disk_full, storage_error)."
            ),
            labels: [("reason", reason)]
        ).increment()
    }

    /// Sets what reads the gauges' figures at scrape time (it returns nil to leave them unchanged).
    func setSampler(_ sampler: @escaping @Sendable () -> Sample?) {
        self.sampler.withLock { $0 = sampler }
    }

    /// Samples the gauges, then renders every metric in the Prometheus text format (version 0.0.4).
    func exposition() -> [UInt8] {
        if let sample = self.sampler.withLock({ $0 })?() {
            self.mapSize.set(to: Double(sample.mapSizeBytes))
            self.mapUsed.set(to: Double(sample.mapUsedBytes))
            self.mapUsedRatio.set(to: Double(sample.mapUsedBytes) / Double(max(sample.mapSizeBytes, 1)))
            self.readersUsed.set(to: Double(sample.readersUsed))
            self.readersMaximum.set(to: Double(sample.readersMaximum))
            self.headSeq.set(to: Double(sample.headSeq))
            self.projectionPosition.set(to: Double(sample.projectionPosition))
            self.projectionLag.set(to: Double(sample.headSeq - min(sample.projectionPosition, sample.headSeq)))
            self.projectionRebuilding.set(to: sample.isRebuilding ? 1 : 0)
            self.subscriptions.set(to: Double(sample.subscriptions))
            self.subscriptionLag.set(to: Double(sample.subscriptionLag))
            self.longCallsRunning.set(to: Double(sample.longCallsRunning))
            self.longCallsWaiting.set(to: Double(sample.longCallsWaiting))
        }
        return self.registry.emitToBuffer()
    }
}
