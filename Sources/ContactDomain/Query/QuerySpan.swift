// ContactLedger — contact domain.

/// A range of characters in the original query text.
///
/// Positions and lengths count Unicode scalars (code points), the unit goflow's limits use, and refer to
/// the text exactly as the caller passed it (before surrounding whitespace is trimmed).
public struct QuerySpan: Sendable, Hashable, Codable {
    /// The offset of the first character, from 0.
    public var position: Int
    /// The number of characters covered; 0 for the end of the text.
    public var length: Int

    /// Creates a span.
    public init(position: Int, length: Int) {
        self.position = position
        self.length = length
    }

    /// The offset just past the last character covered.
    public var end: Int { self.position + self.length }

    /// The smallest span covering both `self` and `other`.
    public func union(_ other: QuerySpan) -> QuerySpan {
        let start = min(self.position, other.position)
        return QuerySpan(position: start, length: max(self.end, other.end) - start)
    }
}
