// ContactLedger — daemon wiring.
import ContactDomain
import Foundation

/// How the daemon runs. Every member has a default; ``DaemonSettings`` (flags, environment, config file)
/// makes one with ``DaemonSettings/makeConfiguration()``.
public struct DaemonConfiguration: Sendable {
    /// The data directory (LMDB files, lock file, default socket).
    public var dataDirectory: String
    /// The socket path; `<data-dir>/ledger.sock` by default.
    public var socketPath: String
    /// The longest request line accepted, in bytes.
    public var maximumLineBytes: Int
    /// The most bytes of answers one connection holds, made and not yet read by its peer
    /// (``RPC/AnswerBudget``).
    public var maximumUnreadAnswerBytes: Int
    /// The LMDB map size to start with (sparse).
    public var initialMapSize: Int
    /// The largest the LMDB map may grow to.
    public var maximumMapSize: Int
    /// The socket's file mode.
    public var socketMode: mode_t
    /// The group the socket is given (by name or number), so its members can connect.
    public var socketGroup: String?
    /// Who may call what; empty: anyone who can open the socket.
    public var access: AccessPolicy
    /// Where Prometheus metrics are served over HTTP (`GET /metrics`); nil: no listener.
    public var metricsAddress: MetricsAddress?
    /// Publishing the log to NATS JetStream (`--replicate`) or following a primary's stream as a read
    /// replica (`--follow`); nil: neither.
    public var replication: ReplicationSettings? = nil
    /// The most records one import may hold.
    public var importMaximumRecords: Int
    /// The read models are compacted once their free pages are a quarter of their file and at least
    /// this many bytes (``LedgerStore/Environment/Configuration/rebuildableCompactionMinimumFreeBytes``).
    public var readModelCompactionMinimumFreeBytes: Int
    /// Seconds an online rebuild's staging runs between commits (what an interrupted rebuild does again).
    public var rebuildCommitSeconds: Double
    /// The staging's commit interval when none is set.
    public static let defaultRebuildCommitSeconds: Double = 60
    /// Events a subscriber that has caught up once may fall behind the head before it is cut off
    /// (`events.error` with reason `too_slow`, then the connection is closed).
    public var subscriberMaximumLag: Int
    /// The subscribers' lag limit when none is set.
    public static let defaultSubscriberMaximumLag = 1_000_000

    public init(
        dataDirectory: String = "./.contactledger",
        socketPath: String? = nil,
        maximumLineBytes: Int = 16 << 20,
        maximumUnreadAnswerBytes: Int = 64 << 20,
        initialMapSize: Int = 1 << 30,
        maximumMapSize: Int = 1 << 40,
        socketMode: mode_t = 0o660,
        socketGroup: String? = nil,
        access: AccessPolicy = AccessPolicy(),
        metricsAddress: MetricsAddress? = nil,
        importMaximumRecords: Int = ImportPlan.maximumRecords,
        readModelCompactionMinimumFreeBytes: Int = 64 << 20,
        rebuildCommitSeconds: Double = DaemonConfiguration.defaultRebuildCommitSeconds,
        subscriberMaximumLag: Int = DaemonConfiguration.defaultSubscriberMaximumLag,
        replication: ReplicationSettings? = nil
    ) {
        self.replication = replication
        self.subscriberMaximumLag = subscriberMaximumLag
        self.rebuildCommitSeconds = rebuildCommitSeconds
        self.readModelCompactionMinimumFreeBytes = readModelCompactionMinimumFreeBytes
        self.importMaximumRecords = importMaximumRecords
        self.metricsAddress = metricsAddress
        self.socketGroup = socketGroup
        self.access = access
        self.dataDirectory = dataDirectory
        self.socketPath = socketPath ?? (dataDirectory as NSString).appendingPathComponent("ledger.sock")
        self.maximumLineBytes = maximumLineBytes
        self.maximumUnreadAnswerBytes = maximumUnreadAnswerBytes
        self.initialMapSize = initialMapSize
        self.maximumMapSize = maximumMapSize
        self.socketMode = socketMode
    }
}
