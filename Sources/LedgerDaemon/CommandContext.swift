// ContactLedger — daemon wiring.
import ContactDomain

/// Who issued a command and how: recorded on every event it appends.
struct CommandContext: Sendable {
    var workspace: String
    var actor: String?
    var peer: Peer?
    var idempotencyKey: String?
    /// SHA-256 of the command's params as a retry compares them (``CommandParamsHash``), to tell a retry
    /// from a reuse of the key; stored with the key.
    var paramsHash: [UInt8]
    /// SHA-256 of the params as sent, when it differs from ``paramsHash``: what versions before stop 52
    /// stored, so that a key first used before an upgrade still answers its retry.
    var paramsHashAsSent: [UInt8]? = nil
    /// Whether the read models may take the command's events after its batch's log commit (the
    /// answer does not wait for the index writes). Only for commands that read contacts and URN owners
    /// through ``CommandTransaction`` alone, never the read models' tables directly: those see what
    /// earlier commands of the batch did only through the batch's held projections.
    var defersProjection = false
    /// Whether the command is the daemon's own work on its read models (a rebuild's steps, a
    /// verification's scratch tables): it appends no event and answers no client, so its batch may use
    /// the map's last quarter, kept for the read models' share of acknowledged commands.
    var isReadModelMaintenance = false
    /// Whether the command does the work of many (an import's batch of rows, a bulk modify, a step of a
    /// smart group's evaluation, a field's or a group's deletion): it takes a write batch alone
    /// (``takesABatchAlone``), so that the small commands that arrive meanwhile wait for one such
    /// command, not for every one queued. Six imports at once had each of
    /// their 500-row commands in every batch, and another client's create waited up to 3.5 s.
    var isBulk = false
    /// The connection the command came on (``RPCContext/connectionID``), nil for the daemon's own: a
    /// write batch takes the commands of the connections waiting in turn (``Ledger/mostPerBatch``).
    var connection: UInt64? = nil

    /// Whether the command takes a write batch alone, such batches alternating with batches of the
    /// other commands while both wait (``Ledger``'s queue): bulk commands, and the daemon's own work on
    /// its read models (a catch-up step may replay a field's deletion, seconds at 60,000 contacts).
    var takesABatchAlone: Bool { self.isBulk || self.isReadModelMaintenance }

    /// The context of the daemon's own records (replication's positions and claim, the anonymous refs'
    /// key): no workspace, actor, peer or idempotency key.
    static let daemonRecord = CommandContext(workspace: "", actor: nil, peer: nil, idempotencyKey: nil, paramsHash: [])

    /// The context of the daemon's own work on its read models.
    static let readModelMaintenance = CommandContext(
        workspace: "", actor: nil, peer: nil, idempotencyKey: nil, paramsHash: [], isReadModelMaintenance: true
    )
}
