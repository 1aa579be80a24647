// ContactLedger — daemon wiring.
import ContactDomain

/// Who issued a command and how: recorded on every event it appends.
struct CommandContext: Sendable {
    var workspace: String
    var actor: String?
    var peer: Peer?
    var idempotencyKey: String?
    /// SHA-256 of the command's params, to tell a retry from a reuse of the key.
    var paramsHash: [UInt8]
    /// Whether the read models may take the command's events after its batch's log commit (the
    /// answer does not wait for the index writes). Only for commands that read contacts and URN owners
    /// through ``CommandTransaction`` alone, never the read models' tables directly: those see what
    /// earlier commands of the batch did only through the batch's held projections.
    var defersProjection = false
}
