// ContactLedger — spreadsheets.

/// The names of the temporary files a ``SpreadsheetFileWriter`` writes beside its destination, in the
/// destination's directory. They are chosen before the writer starts so that its caller can record them:
/// a writer stopped by a kill never removes them itself, they hold every row written so far, and only a
/// recorded name can be removed later without guessing which `.spreadsheet-*` files are whose.
///
/// Each is a name of its own (`.spreadsheet-<16 hex digits>.part` or `.tmp`), not the destination's
/// with more around it, which was too long for a destination name of 242 bytes or more, which the file
/// system takes.
public struct SpreadsheetTemporaryNames: Sendable, Equatable {
    /// The file the rows go to: the CSV itself (renamed into place), or the XLSX's worksheet part.
    public let rows: String
    /// The XLSX archive before it is renamed into place; nil for a CSV.
    public let archive: String?

    /// New random names for a file of `format`.
    public init(format: SpreadsheetFormat) {
        switch format {
        case .csv:
            self.rows = Self.randomName(suffix: "tmp")
            self.archive = nil
        case .xlsx:
            self.rows = Self.randomName(suffix: "part")
            self.archive = Self.randomName(suffix: "tmp")
        }
    }

    /// Every name, in the order the writer creates them.
    public var all: [String] { [self.rows] + (self.archive.map { [$0] } ?? []) }

    /// Whether `name` has the shape these names have: a stored list read back is checked with it, so a
    /// damaged or edited record cannot name `..`, a path, or someone else's file to remove.
    public static func isTemporaryName(_ name: String) -> Bool {
        let prefix = ".spreadsheet-"
        guard name.hasPrefix(prefix) else { return false }
        let rest = name.dropFirst(prefix.count)
        let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[1] == "part" || parts[1] == "tmp" else { return false }
        return (1...16).contains(parts[0].count) && parts[0].allSatisfy { "0123456789abcdef".contains($0) }
    }

    private static func randomName(suffix: String) -> String {
        ".spreadsheet-\(String(UInt64.random(in: .min ... .max), radix: 16)).\(suffix)"
    }
}
