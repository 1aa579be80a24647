// ContactLedger — storage layer.

/// What is wrong with the ``EventLog`` at a position: the reason ``EventLog/verify(range:environment:headerSeq:progress:)``
/// gives for the first broken seq, and the one a read or an append that meets the damage refuses with
/// (``LogError/damaged(seq:_:)``).
///
/// The raw values are the names `ledger.verify` answers (`reason`); they never change.
public enum LogDamage: String, Sendable, Hashable, CaseIterable {
    /// The record's stored hash is not the hash of its parts (its header was edited, say).
    case hash
    /// The record's stored `prev_hash` is not the stored hash of the record before it: records were
    /// swapped, replaced, or one before it was changed and rehashed.
    case prevHash = "prev_hash"
    /// The record's payload is not the one its stored payload hash was computed from.
    case payloadHash = "payload_hash"
    /// The record's header names another position than the one it is stored at.
    case seqMismatch = "seq_mismatch"
    /// No record is stored at a position up to the head (deleted, or moved elsewhere).
    case missing
    /// The log's table holds an entry whose key is no position.
    case strayKey = "stray_key"
    /// Records are stored past the head the log recorded: nothing the log appended puts them there.
    case beyondHead = "beyond_head"
    /// The stored bytes are not a record, or its header cannot be read.
    case undecodable
    /// The stored head's hash is not the hash of the record at the head.
    case head
}
