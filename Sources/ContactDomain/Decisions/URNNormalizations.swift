// ContactLedger — contact domain.

/// URN normalizations memoized for one decision context (one command, or one batch of an import).
///
/// Normalizing a `tel:` URN runs libphonenumber's parser, the costliest step of deciding a contact, and
/// an imported row has each of its URNs normalized by the import's matching, its decision and the
/// create it leads to. Normalization depends only on the text and the default country, so each pair is
/// normalized once. Used by one thread at a time, like the context that holds it.
final class URNNormalizations {
    private struct Key: Hashable {
        var text: String
        var defaultCountry: String?
    }

    /// Past this many entries the memo starts over (a batch is bounded; a runaway one must not grow it).
    private static let capacity = 20_000
    private var results: [Key: Result<URN, URNError>] = [:]

    func normalized(_ text: String, defaultCountry: String?) throws(URNError) -> URN {
        let key = Key(text: text, defaultCountry: defaultCountry)
        if let known = self.results[key] { return try known.get() }
        if self.results.count >= Self.capacity { self.results.removeAll(keepingCapacity: true) }
        let result: Result<URN, URNError>
        do {
            result = .success(try URN.normalized(text, defaultCountry: defaultCountry))
        } catch {
            result = .failure(error)
        }
        self.results[key] = result
        return try result.get()
    }
}
