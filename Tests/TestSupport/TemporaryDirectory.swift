// ContactLedger — shared test support.
import Foundation

/// A fresh directory under the system's temporary directory, for a test's store; removed by
/// ``remove()`` (call it in a `defer`, so the directory outlives everything opened in it).
public struct TemporaryDirectory: Sendable {
    /// The directory's path.
    public let path: String

    /// Creates `<tmp>/<prefix>-<uuid>`.
    public init(prefix: String) throws {
        self.path = NSTemporaryDirectory() + "\(prefix)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: self.path, withIntermediateDirectories: true)
    }

    /// Removes the directory and everything in it.
    public func remove() {
        try? FileManager.default.removeItem(atPath: self.path)
    }
}
