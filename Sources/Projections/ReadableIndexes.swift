// ContactLedger — read models.

/// Which indexes of a generation of read models this code may read, given the read-model version that
/// wrote the generation.
///
/// After an upgrade the old generation keeps answering while the new one is rebuilt online, and some
/// of its indexes are stored in a format this code does not read: read in the current format they find
/// nothing, and a query answered from them comes back confidently empty. A query whose index is not
/// readable here takes its unindexed path instead (every contact evaluated, the log scanned), which is
/// slower but right for any generation. This is the one place that knows when each index's format
/// began: bump it with ``Projector/version`` when an index's stored shape changes.
public struct ReadableIndexes: Sendable, Equatable {
    /// The URN trigrams of `~` queries (``ContactIndex/Term/urnTrigram(scheme:trigram:)``): posting
    /// blocks since version 10, an entry per contact and trigram before.
    public var urnTrigrams: Bool
    /// The audit index by actor, peer, type and field (``AuditIndex``): posting blocks since version 11,
    /// an entry per event before.
    public var audit: Bool
    /// Group membership (``ContactIndex/Term/group(_:)``): every live member of a group is listed, since
    /// version 4.
    public var groupMembers: Bool
    /// Every value of a field is under one of the field's text entries (``ContactIndex/Term/fieldText(key:text:)``),
    /// since version 12: before it, a value whose text folds to nothing (spaces only) had no text entry.
    public var fieldValues: Bool

    /// The first read-model version whose URN trigram index has the current format.
    static let urnTrigramsSince = 10
    /// The first read-model version whose audit index has the current format.
    static let auditSince = 11
    /// The first read-model version with a group membership index.
    static let groupMembersSince = 4
    /// The first read-model version whose text entries list every value of a field.
    static let fieldValuesSince = 12

    /// Every index, for a generation this code's version wrote.
    public static let all = ReadableIndexes(writtenBy: Projector.version)

    /// The indexes readable in a generation written by read-model `version`.
    public init(writtenBy version: Int) {
        // A version from a later build is as foreign as an earlier one: no format is assumed shared.
        let known = version <= Projector.version
        self.urnTrigrams = known && version >= Self.urnTrigramsSince
        self.audit = known && version >= Self.auditSince
        self.groupMembers = known && version >= Self.groupMembersSince
        self.fieldValues = known && version >= Self.fieldValuesSince
    }
}
