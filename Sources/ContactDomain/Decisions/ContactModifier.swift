// ContactLedger — contact domain.

/// One change to a contact, as `contacts.modify` lists them. All of a command's modifiers apply
/// atomically or none do.
public enum ContactModifier: Sendable, Hashable {
    /// How a URN modifier changes the list.
    public enum URNAction: String, Sendable, Hashable {
        case append, remove, set
    }

    /// How a groups modifier changes memberships.
    public enum GroupAction: String, Sendable, Hashable {
        case add, remove
    }

    case name(String?)
    case language(String?)
    case status(ContactStatus)
    case field(key: String, value: String?)
    case urns(action: URNAction, urns: [String])
    case groups(action: GroupAction, groups: [GroupUUID])
}
