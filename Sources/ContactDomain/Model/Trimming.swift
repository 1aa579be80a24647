// ContactLedger — contact domain.
import Foundation

extension String {
    /// The text without white space and newlines at either end (Foundation's `.whitespacesAndNewlines`).
    ///
    /// Foundation's trimming goes through `NSString` on Linux, which showed in import and write
    /// profiles; most values have a printable ASCII character at both ends and are returned as they are.
    public func trimmingWhitespaceAndNewlines() -> String {
        let isPrintableASCII = { (byte: UInt8) in byte > 0x20 && byte < 0x7F }
        if let first = self.utf8.first, let last = self.utf8.last, isPrintableASCII(first), isPrintableASCII(last) {
            return self
        }
        return self.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
