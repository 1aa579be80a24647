// ContactLedger — contact domain.

import Foundation

/// The reading of a field value that a field's type selects: what queries compare and the API shows.
public enum FieldReading: Sendable, Hashable {
    /// The raw text (type `text`).
    case text(String)
    /// The parsed number (type `number`).
    case number(Decimal)
    /// The parsed instant (type `datetime`).
    case datetime(Date)
    /// The full location path, e.g. `Rwanda > Kigali City` (types `state`, `district`, `ward`).
    ///
    /// Queries compare against the location's name, ``LocationHierarchy/name(ofPath:)``.
    case location(String)
}
