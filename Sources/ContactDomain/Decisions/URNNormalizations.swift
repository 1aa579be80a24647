// ContactLedger — contact domain.
import Foundation
import ParallelWork

/// URNs normalized, keyed by their text and the default country they were normalized with (so a result
/// is never used under another default country).
///
/// An import's plan normalizes every URN of the file to find the duplicates, on every core, and hands
/// the table to the batches that decide its records: the writer then never runs libphonenumber's
/// parser for them again.
public struct URNNormalizationTable: Sendable, Hashable {
    struct Key: Hashable, Sendable {
        var text: String
        var defaultCountry: String?
    }

    private var results: [Key: Result<URN, URNError>] = [:]

    public init() {}

    /// The number of texts held.
    public var count: Int { self.results.count }

    /// Each distinct text of `texts` normalized with `defaultCountry`, the work spread over the cores.
    public static func normalizing(_ texts: [String], defaultCountry: String?) -> URNNormalizationTable {
        let distinct = Array(Set(texts))
        // Below a few thousand texts a second thread costs more than it saves.
        let tables = ParallelSlices.map(count: distinct.count, minimumPerSlice: 2_048) { slice in
            var table = URNNormalizationTable()
            for text in distinct[slice] { table.normalize(text, defaultCountry: defaultCountry) }
            return table
        }
        var merged = tables.first ?? URNNormalizationTable()
        for table in tables.dropFirst() { merged.results.merge(table.results) { first, _ in first } }
        return merged
    }

    /// The result for `text` under `defaultCountry`, if held.
    public func result(_ text: String, defaultCountry: String?) -> Result<URN, URNError>? {
        self.results[Key(text: text, defaultCountry: defaultCountry)]
    }

    /// Normalizes `text` (``URN/normalized(_:defaultCountry:)``), keeps the result and returns it.
    @discardableResult
    public mutating func normalize(_ text: String, defaultCountry: String?) -> Result<URN, URNError> {
        let result: Result<URN, URNError>
        do {
            result = .success(try URN.normalized(text, defaultCountry: defaultCountry))
        } catch {
            result = .failure(error)
        }
        self.results[Key(text: text, defaultCountry: defaultCountry)] = result
        return result
    }

    mutating func removeAll() { self.results.removeAll(keepingCapacity: true) }

}

/// URN normalizations memoized for one decision context (one command, or one batch of an import).
///
/// Normalizing a `tel:` URN runs libphonenumber's parser, the costliest step of deciding a contact, and
/// an imported row has each of its URNs normalized by the import's matching, its decision and the
/// create it leads to. Normalization depends only on the text and the default country, so each pair is
/// normalized once; a table made ahead (an import's plan) is consulted first. Used by one thread at a
/// time, like the context that holds it.
final class URNNormalizations {
    /// Past this many entries the memo starts over (a batch is bounded; a runaway one must not grow it).
    private static let capacity = 20_000
    private let prepared: URNNormalizationTable
    private var made = URNNormalizationTable()

    init(prepared: URNNormalizationTable) { self.prepared = prepared }

    func normalized(_ text: String, defaultCountry: String?) throws(URNError) -> URN {
        if let known = self.prepared.result(text, defaultCountry: defaultCountry) ?? self.made.result(text, defaultCountry: defaultCountry) {
            return try known.get()
        }
        if self.made.count >= Self.capacity { self.made.removeAll() }
        return try self.made.normalize(text, defaultCountry: defaultCountry).get()
    }
}
