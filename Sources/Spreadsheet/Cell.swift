// ContactLedger — spreadsheets.
import Foundation

/// One cell as a spreadsheet stores it, typed.
///
/// Dates carry the wall-clock time the sheet shows, expressed as if it were UTC: a spreadsheet has no
/// timezone, so `2020-09-18 15:45` in a cell becomes the `Date` of `2020-09-18T15:45:00Z`, and the
/// reader of the sheet decides which zone that wall-clock time belongs to. An ISO date cell that names its
/// offset (`2023-05-17T10:30:00Z`, `…+05:00`) is the exception: it is an ``instant(_:)``, one moment
/// whatever the reader's zone.
public enum Cell: Sendable, Hashable {
    case empty
    case text(String)
    case number(Double)
    case bool(Bool)
    /// A wall-clock time without a zone, as if it were UTC.
    case date(Date)
    /// A moment: the sheet said which offset its time of day is in.
    case instant(Date)

    /// Whether the cell holds nothing (an empty cell, or text that is only whitespace).
    public var isBlank: Bool {
        switch self {
        case .empty: true
        case .text(let text): text.allSatisfy(\.isWhitespace)
        default: false
        }
    }

    /// The number's shortest decimal text: `1234`, `123.456`; integral values never get `.0`, and no
    /// value gets an exponent (`1E+16` is `10000000000000000`, `1E-7` is `0.0000001`): a number field
    /// takes no exponent.
    public static func decimalText(_ number: Double) -> String {
        guard number.isFinite else { return "\(number)" }
        if number == number.rounded(), abs(number) < 1e15 {
            return String(Int64(number))
        }
        // Swift's description has the shortest digits that read back as the same double; only its
        // exponent, if any, is written out. Without one, a whole number from 1e15 up still ends in `.0`
        // (`1234567890123456.0`), which is dropped.
        let shortest = "\(number)"
        guard let exponentMark = shortest.firstIndex(where: { $0 == "e" || $0 == "E" }),
            let exponent = Int(shortest[shortest.index(after: exponentMark)...])
        else { return shortest.hasSuffix(".0") ? String(shortest.dropLast(2)) : shortest }
        var mantissa = shortest[..<exponentMark]
        let sign = mantissa.hasPrefix("-") ? "-" : ""
        if !sign.isEmpty { mantissa = mantissa.dropFirst() }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let whole = parts.first ?? ""
        let digits = String(whole) + (parts.count > 1 ? String(parts[1]) : "")
        let point = whole.count + exponent
        if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + digits }
        if point >= digits.count { return sign + digits + String(repeating: "0", count: point - digits.count) }
        return sign + String(digits.prefix(point)) + "." + String(digits.dropFirst(point))
    }
}

/// One sheet: its name and its rows, in order; `rows[i]` is the sheet's row `i + 1`.
///
/// Rows are as long as their last stored cell; missing cells of a sparse row are ``Cell/empty``.
public struct Sheet: Sendable, Hashable {
    public var name: String
    public var rows: [[Cell]]

    public init(name: String, rows: [[Cell]]) {
        self.name = name
        self.rows = rows
    }

    /// The cell at a 0-based row and column, or ``Cell/empty`` past the end.
    public subscript(row: Int, column: Int) -> Cell {
        guard row >= 0, row < self.rows.count, column >= 0, column < self.rows[row].count else { return .empty }
        return self.rows[row][column]
    }
}

/// The file formats read and written.
public enum SpreadsheetFormat: String, Sendable, Hashable, CaseIterable {
    case xlsx
    case csv

    /// The format the bytes look like: a ZIP archive is XLSX, anything else is taken as CSV.
    public static func sniff(_ data: Data) -> SpreadsheetFormat {
        data.prefix(4).elementsEqual([0x50, 0x4B, 0x03, 0x04]) ? .xlsx : .csv
    }
}

/// Bounds on what a reader accepts, so a hostile file cannot exhaust memory.
public struct SpreadsheetLimits: Sendable, Hashable {
    /// The largest file, in bytes.
    public var maximumFileBytes: Int
    /// The largest uncompressed XML part of an XLSX. Parts are streamed, never held whole, so this
    /// bounds the time a ZIP bomb costs, not memory.
    public var maximumPartBytes: Int
    /// The most rows that hold a value, header included. Rows without one (as spreadsheet programs
    /// write for formatted but empty rows) are not counted: only their row number is bounded, by
    /// ``maximumRowNumber``.
    public var maximumRows: Int
    /// The last row number a sheet may use, empty rows included: Excel's own last row, 1,048,576.
    public var maximumRowNumber: Int
    /// The most columns per row.
    public var maximumColumns: Int
    /// The most cells of the whole sheet, counting the empty cells that pad a sparse row up to its last
    /// stored cell (one cell in column `XFD` makes a row of 16,384), and the most shared strings.
    public var maximumCells: Int

    public init(
        maximumFileBytes: Int = 20 << 20,
        maximumPartBytes: Int = 512 << 20,
        maximumRows: Int = 1_048_576,
        maximumRowNumber: Int = 1_048_576,
        maximumColumns: Int = 16_384,
        maximumCells: Int = 10_000_000
    ) {
        self.maximumFileBytes = maximumFileBytes
        self.maximumPartBytes = maximumPartBytes
        self.maximumRows = maximumRows
        self.maximumRowNumber = maximumRowNumber
        self.maximumColumns = maximumColumns
        self.maximumCells = maximumCells
    }

    /// The most attributes (namespace declarations included) on one XML element of an XLSX part:
    /// libxml2 looks for duplicates in quadratic time.
    public static let maximumAttributes = 100
    /// The deepest element nesting of an XLSX part.
    public static let maximumNesting = 256
}

/// Why a spreadsheet could not be read or written. Never carries cell contents.
public enum SpreadsheetError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not a readable file of its format (bad ZIP, missing part, malformed XML, unterminated quote).
    case corrupted(reason: String)
    /// An XLSX part holds what the reader refuses to parse, however well-formed: `dtd_not_allowed` (a
    /// document type declaration, hence entities), `unsupported_encoding` (other than UTF-8 or UTF-16),
    /// `invalid_utf8`, `too_many_attributes` (over ``SpreadsheetLimits/maximumAttributes`` on one
    /// element), `nesting_too_deep` (over ``SpreadsheetLimits/maximumNesting``).
    case refused(reason: String)
    /// No sheet, or a sheet without a single row.
    case empty
    /// The file is larger than ``SpreadsheetLimits/maximumFileBytes``.
    case fileTooLarge(limit: Int)
    /// A part, the rows or the columns exceed their limit.
    case tooLarge(what: String, limit: Int)
    /// Reading or writing the file itself failed.
    case io(reason: String)

    public var description: String {
        switch self {
        case .corrupted(let reason): "the file appears to be corrupted (\(reason))"
        case .refused(let reason): "the file holds content that is refused (\(reason))"
        case .empty: "the file appears to be empty"
        case .fileTooLarge(let limit): "the file is larger than \(limit) bytes"
        case .tooLarge(let what, let limit): "the file has too many \(what) (limit \(limit))"
        case .io(let reason): "cannot access the file (\(reason))"
        }
    }
}

/// Reads the first sheet of a spreadsheet of either format.
public enum SpreadsheetReader {
    /// Reads `data` as `format` (sniffed from the bytes when nil).
    public static func read(_ data: Data, format: SpreadsheetFormat? = nil, limits: SpreadsheetLimits = .init()) throws(SpreadsheetError) -> Sheet {
        guard data.count <= limits.maximumFileBytes else { throw .fileTooLarge(limit: limits.maximumFileBytes) }
        switch format ?? SpreadsheetFormat.sniff(data) {
        case .xlsx: return try XLSXReader.read(data, limits: limits)
        case .csv: return try CSVReader.read(data, limits: limits)
        }
    }

    /// Reads the file at `path`, refusing it before reading when it is too large.
    public static func read(path: String, format: SpreadsheetFormat? = nil, limits: SpreadsheetLimits = .init()) throws(SpreadsheetError) -> Sheet {
        try Self.read(try Self.load(path: path, limits: limits), format: format, limits: limits)
    }

    /// The bytes of the file at `path`, refused when larger than the limit.
    public static func load(path: String, limits: SpreadsheetLimits = .init()) throws(SpreadsheetError) -> Data {
        let attributes: [FileAttributeKey: Any]
        do { attributes = try FileManager.default.attributesOfItem(atPath: path) } catch { throw .io(reason: "not_found") }
        if let size = attributes[.size] as? NSNumber, size.intValue > limits.maximumFileBytes {
            throw .fileTooLarge(limit: limits.maximumFileBytes)
        }
        if let type = attributes[.type] as? FileAttributeType, type != .typeRegular { throw .io(reason: "not_a_regular_file") }
        do { return try Data(contentsOf: URL(fileURLWithPath: path)) } catch { throw .io(reason: "unreadable") }
    }
}
