// ContactLedger — storage layer.
import Foundation

/// An environment's data file that exists but holds nothing (0 bytes): emptied, where LMDB would open
/// it as a new environment and say nothing.
public struct EmptyDataFile: Error, Hashable, Sendable, CustomStringConvertible {
    /// The data file's path.
    public var path: String

    /// The error for the data file at `path` when it exists and is empty; nil otherwise.
    public init?(_ path: String) {
        guard let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber, size.intValue == 0 else { return nil }
        self.path = path
    }

    public var description: String { "\(self.path) is empty (0 bytes): the file was emptied" }
}
