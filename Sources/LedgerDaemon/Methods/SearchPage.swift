// ContactLedger — daemon wiring.
import ContactDomain

/// One page of `contacts.search`: its contacts in order, the total of matches, whether more follow.
struct SearchPage {
    var contacts: [Contact]
    var total: Int
    /// Whether matches follow the page.
    var hasMore: Bool
}
