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
}
