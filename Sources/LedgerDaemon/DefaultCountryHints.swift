// ContactLedger — daemon wiring.
import ContactDomain
import Synchronization

/// The default country each workspace had when a command last decided in it, so that a command's URNs
/// can be normalized on its connection's thread before it reaches the single writer.
///
/// Normalizing a `tel:` URN runs libphonenumber's parser, the costliest step of deciding a contact; on
/// the writer it holds up every command queued behind. A hint is only a guess: the table it prepares is
/// keyed by text and country, and the writer looks each URN up under its workspace's current country,
/// so a stale hint (the workspace was configured since) costs the writer its own normalization, never a
/// wrong answer.
final class DefaultCountryHints: Sendable {
    /// Past this many workspaces the hints start over (they are a cache, not a registry).
    static let capacity = 10_000

    private let countries = Mutex<[String: String?]>([:])

    /// The URNs of a command in `workspace` normalized under its hinted country; empty until the
    /// workspace's country is known.
    ///
    /// - Parameter includingNormalizedForms: also hold each URN's normalized text, for a command that
    ///   normalizes that again on the writer (the contact a message from an unknown URN creates is
    ///   created with it).
    func prepare(_ urns: [String], workspace: String, includingNormalizedForms: Bool = false) -> URNNormalizationTable {
        guard !urns.isEmpty, let country = self.countries.withLock({ $0[workspace] }) else { return URNNormalizationTable() }
        var table = URNNormalizationTable.normalizing(urns, defaultCountry: country)
        guard includingNormalizedForms else { return table }
        for text in urns {
            guard case .success(let urn)? = table.result(text, defaultCountry: country) else { continue }
            if table.result(urn.description, defaultCountry: country) == nil { table.normalize(urn.description, defaultCountry: country) }
        }
        return table
    }

    /// Records the country a command found its workspace with.
    func record(_ country: String?, for workspace: String) {
        self.countries.withLock { countries in
            if countries[workspace] == .some(country) { return }
            if countries.count >= Self.capacity { countries.removeAll() }
            countries[workspace] = .some(country)
        }
    }
}
