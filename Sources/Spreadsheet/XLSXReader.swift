// ContactLedger — spreadsheets.
import CivilTime
import Foundation

/// Reads the active sheet of an XLSX workbook, normally its first (Office Open XML: a ZIP of XML parts).
///
/// Understands shared strings (plain and rich text), inline strings, formula string results, numbers (a
/// number cell that holds no decimal number, ``Cell/decimalNumber(_:)``, is read as its text, and so is a
/// whole number longer than a double holds, ``Cell/longWholeNumber(_:)``),
/// booleans, error cells (read as their text, e.g. `#N/A`), ISO dates (`t="d"`: ``ISODateCell``), and numbers styled
/// as dates or times (built-in formats 14–22 and 45–47, or a custom format with day, month, year or
/// hour parts), which become ``Cell/date(_:)`` on the 1900 or 1904 date system. Rows and cells may be
/// sparse and out of order: each cell's `r` reference places it.
///
/// Hostile files end in a specific ``SpreadsheetError``, in time bounded by the limits and memory
/// bounded by the sheet's contents, not its parts' sizes: the ZIP layer (``ZIPArchiveReader``) streams
/// each part in chunks, no more than it declares, and checks its CRC; each chunk passes
/// ``XMLPartGuard`` (no DTD, no foreign encoding, bounded attributes and nesting) before the parser;
/// and the sheet's rows, columns, cells and shared strings are counted against ``SpreadsheetLimits``.
public enum XLSXReader {
    public static func read(_ data: Data, limits: SpreadsheetLimits = .init()) throws(SpreadsheetError) -> Sheet {
        let archive = try ZIPArchiveReader(data)
        let parse = { (path: String, handler: PartHandler, part: String) throws(SpreadsheetError) -> Bool in
            try Self.parse(path, in: archive, with: handler, part: part, limits: limits)
        }

        let workbook = WorkbookHandler()
        guard try parse("xl/workbook.xml", workbook, "workbook") else { throw .corrupted(reason: "no_workbook") }
        guard let active = workbook.activeSheet else { throw .empty }

        var sheetPath = "xl/worksheets/sheet1.xml"
        let rels = RelationshipsHandler(wanted: active.relationship)
        if try parse("xl/_rels/workbook.xml.rels", rels, "relationships"), let target = rels.target {
            sheetPath = target.hasPrefix("/") ? String(target.dropFirst()) : "xl/" + target
        }
        let strings = SharedStringsHandler(limit: limits.maximumCells)
        _ = try parse("xl/sharedStrings.xml", strings, "shared_strings")
        let styles = StylesHandler()
        _ = try parse("xl/styles.xml", styles, "styles")
        let handler = SheetHandler(
            sharedStrings: strings.strings, dateStyles: styles.dateStyles, date1904: workbook.date1904, limits: limits
        )
        guard try parse(sheetPath, handler, "worksheet") else { throw .corrupted(reason: "no_worksheet") }
        // Trailing empty rows say nothing.
        var rows = handler.rows
        while let last = rows.last, last.allSatisfy(\.isBlank) { rows.removeLast() }
        guard !rows.isEmpty else { throw .empty }
        return Sheet(name: active.name, rows: rows)
    }

    /// Parses the part at `path` with `handler`, streaming it from the archive through ``XMLPartGuard``
    /// into the parser a chunk at a time, so that a part costs a chunk of memory whatever its size.
    /// `part` names it in the `malformed_…` reason. False when the archive has no such part.
    ///
    /// - Throws: what the ZIP layer finds first (the part is inflated and checked to its end even when
    ///   its XML is refused, so that a damaged archive reads as such); else the guard's refusal, the
    ///   handler's error, or ``SpreadsheetError/corrupted(reason:)`` `malformed_<part>`.
    private static func parse(
        _ path: String,
        in archive: ZIPArchiveReader,
        with handler: PartHandler,
        part: String,
        limits: SpreadsheetLimits
    ) throws(SpreadsheetError) -> Bool {
        guard let entry = archive.entry(named: path) else { return false }
        var partGuard = XMLPartGuard()
        let parser = XMLEventParser(handler: handler)
        func parsed(_ wellFormed: Bool) throws(SpreadsheetError) {
            if let failure = handler.failure { throw failure }
            if !wellFormed { throw .corrupted(reason: "malformed_\(part)") }
        }
        try archive.stream(entry, limit: limits.maximumPartBytes) { (chunk: [UInt8]) throws(SpreadsheetError) in
            try parsed(parser.push(try partGuard.feed(chunk)))
        }
        try parsed(parser.push(try partGuard.finish()))
        try parsed(parser.finish())
        return true
    }

    // MARK: - Dates

    /// Built-in number formats that show dates or times.
    static let builtInDateFormats: Set<Int> = Set(14...22).union(45...47)

    /// Whether a custom number format code shows a date or time: after dropping quoted text, escapes
    /// and bracketed sections (colours, conditions, locales), it has a d, m, y or h part, or it has an
    /// elapsed time in brackets (`[h]`, `[mm]`, `[ss]`: `[mm]:ss` has no other).
    public static func isDateFormat(_ code: String) -> Bool {
        if code.lowercased() == "general" { return false }
        var inQuote = false
        var bracket: String?
        var escaped = false
        for character in code.lowercased() {
            if escaped { escaped = false; continue }
            switch character {
            case "\\": escaped = true
            case "\"": inQuote.toggle()
            case "[" where !inQuote: bracket = ""
            case "]" where !inQuote:
                if let section = bracket, !section.isEmpty, section.allSatisfy({ "hms".contains($0) }) { return true }
                bracket = nil
            case _ where bracket != nil: bracket?.append(character)
            case "d", "m", "y", "h": if !inQuote { return true }
            default: break
            }
        }
        return false
    }

    /// The wall-clock date of an Excel serial, as UTC; millisecond precision.
    public static func date(fromSerial serial: Double, date1904: Bool = false) -> Date {
        // 1900 system: serial 1 = 1900-01-01, and Lotus's phantom 1900-02-29 (serial 60) is skipped.
        let base: Double
        if date1904 {
            base = -2_082_844_800  // 1904-01-01T00:00:00Z
        } else {
            base = serial < 60 ? -2_209_075_200 : -2_209_161_600  // 1899-12-31 / 1899-12-30
        }
        let seconds = (serial * 86_400 * 1000).rounded() / 1000
        return Date(timeIntervalSince1970: base + seconds)
    }

    /// The Excel serial (1900 system) of a wall-clock date given as UTC.
    public static func serial(of date: Date) -> Double {
        let seconds = date.timeIntervalSince1970 + 2_209_161_600
        let serial = seconds / 86_400
        return serial < 61 ? serial - 1 : serial
    }

    /// The largest column and row numbers ``reference(_:)`` tells apart: beyond them, a reference
    /// reads as that number, which is past every limit.
    static let referenceCeiling = 100_000_000

    /// `A1` → (row 0, column 0); `AB12` → (11, 27). Nil for a malformed reference. Columns and rows
    /// past ``referenceCeiling`` read as the ceiling (so `AAAAAAAA1` is too many columns, not malformed).
    static func reference(_ text: String) -> (row: Int, column: Int)? {
        var column = 0
        var row = 0
        var sawLetter = false
        var sawDigit = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z") where !sawDigit:
                column = min(Self.referenceCeiling, column * 26 + Int(byte - UInt8(ascii: "A")) + 1)
                sawLetter = true
            case UInt8(ascii: "a")...UInt8(ascii: "z") where !sawDigit:
                column = min(Self.referenceCeiling, column * 26 + Int(byte - UInt8(ascii: "a")) + 1)
                sawLetter = true
            case UInt8(ascii: "$"):
                continue
            case UInt8(ascii: "0")...UInt8(ascii: "9") where sawLetter:
                row = min(Self.referenceCeiling, row * 10 + Int(byte - UInt8(ascii: "0")))
                sawDigit = true
            default:
                return nil
            }
        }
        guard sawLetter, sawDigit, row >= 1 else { return nil }
        return (row - 1, column - 1)
    }
}

// MARK: - Part handlers

/// A part's event handler that can stop the parse with a specific error; each part's handler
/// overrides the callbacks it uses.
class PartHandler: XMLEventHandler {
    /// The error that stopped the parse, if one did.
    private(set) var failure: SpreadsheetError?

    /// Records `error` (the first one wins); the parser stops after the current callback.
    final func fail(_ error: SpreadsheetError) {
        if self.failure == nil { self.failure = error }
    }

    func start(_ name: String, attributes: XMLAttributes) {}

    func end(_ name: String) {}

    func characters(_ text: String) {}
}

/// `xl/workbook.xml`: the sheets' names and relationship ids, the active one, and the date system.
private final class WorkbookHandler: PartHandler {
    private var sheets: [(name: String, relationship: String)] = []
    /// The first workbook view's `activeTab`: the sheet the workbook opens on.
    private var activeTab: Int?
    var date1904 = false

    /// The sheet the workbook opens on (the behaviour reference's "active (normally first) sheet"): its
    /// active tab, or the first sheet when that names none.
    var activeSheet: (name: String, relationship: String)? {
        if let tab = self.activeTab, self.sheets.indices.contains(tab) { return self.sheets[tab] }
        return self.sheets.first
    }

    override func start(_ name: String, attributes: XMLAttributes) {
        switch name {
        case "sheet":
            let relationship = attributes.first { localName($0.key) == "id" && $0.key != "sheetId" }?.value ?? ""
            self.sheets.append((attributes["name"] ?? "Sheet1", relationship))
        case "workbookView" where self.activeTab == nil:
            self.activeTab = attributes["activeTab"].flatMap { Int($0) } ?? 0
        case "workbookPr":
            if let value = attributes["date1904"] { self.date1904 = value == "1" || value == "true" }
        default: break
        }
    }
}

/// `xl/_rels/workbook.xml.rels`: the target part of one relationship id.
private final class RelationshipsHandler: PartHandler {
    let wanted: String
    var target: String?

    init(wanted: String) {
        self.wanted = wanted
    }

    override func start(_ name: String, attributes: XMLAttributes) {
        if self.target == nil, name == "Relationship", attributes["Id"] == self.wanted, let target = attributes["Target"] {
            self.target = target
        }
    }
}

/// `xl/sharedStrings.xml`: each `si`'s text (its `t`, or its rich-text runs' `t`s; phonetic runs
/// skipped), at most `limit` of them (a sheet cannot use more strings than it has cells).
private final class SharedStringsHandler: PartHandler {
    let limit: Int
    var strings: [String] = []
    private var current = ""
    private var inText = false
    private var phonetic = 0

    init(limit: Int) {
        self.limit = limit
    }

    override func start(_ name: String, attributes: XMLAttributes) {
        switch name {
        case "si": self.current = ""
        case "t": self.inText = self.phonetic == 0
        case "rPh": self.phonetic += 1
        default: break
        }
    }

    override func characters(_ string: String) {
        if self.inText { self.current += string }
    }

    override func end(_ name: String) {
        switch name {
        case "si":
            guard self.strings.count < self.limit else { return self.fail(.tooLarge(what: "shared strings", limit: self.limit)) }
            self.strings.append(self.current)
        case "t": self.inText = false
        case "rPh": self.phonetic -= 1
        default: break
        }
    }
}

/// `xl/styles.xml`: which cell formats (`cellXfs` indexes) show dates. Formats past the 65,536th
/// (Excel's own limit is 64,000) are ignored: cells using them read as numbers.
private final class StylesHandler: PartHandler {
    static let maximumFormats = 65_536
    private var customDateFormats: Set<Int> = []
    private var formatIDs: [Int] = []
    private var inCellXfs = false

    var dateStyles: Set<Int> {
        var result: Set<Int> = []
        for (index, id) in self.formatIDs.enumerated()
        where XLSXReader.builtInDateFormats.contains(id) || self.customDateFormats.contains(id) {
            result.insert(index)
        }
        return result
    }

    override func start(_ name: String, attributes: XMLAttributes) {
        switch name {
        case "numFmt" where self.customDateFormats.count < Self.maximumFormats:
            if let id = attributes["numFmtId"].flatMap(Int.init), let code = attributes["formatCode"], XLSXReader.isDateFormat(code) {
                self.customDateFormats.insert(id)
            }
        case "cellXfs": self.inCellXfs = true
        case "xf" where self.inCellXfs && self.formatIDs.count < Self.maximumFormats:
            self.formatIDs.append(attributes["numFmtId"].flatMap(Int.init) ?? 0)
        default: break
        }
    }

    override func end(_ name: String) {
        if name == "cellXfs" { self.inCellXfs = false }
    }
}

/// A worksheet's `sheetData`: rows of typed cells, padded up to each row's last stored cell, all the
/// cells together (padding included) at most ``SpreadsheetLimits/maximumCells``, the rows that hold a
/// value at most ``SpreadsheetLimits/maximumRows``, and no row past
/// ``SpreadsheetLimits/maximumRowNumber``. Cells and rows without a value are read and dropped:
/// spreadsheet programs write them for formatting alone (a column formatted as text gets a styled,
/// empty cell in every row down to the last one formatted).
private final class SheetHandler: PartHandler {
    let sharedStrings: [String]
    let dateStyles: Set<Int>
    let date1904: Bool
    let limits: SpreadsheetLimits
    var rows: [[Cell]] = []
    private var cells = 0
    /// The rows that hold a value so far.
    private var valueRows = 0

    private var rowIndex = -1
    private var nextColumn = 0
    private var cellColumn = 0
    private var cellType = "n"
    private var cellStyle = 0
    private var value = ""
    private var inlineText = ""
    private var capture: Capture = .none
    private var inInline = false
    private var phonetic = 0

    private enum Capture { case none, value, inlineText }

    init(sharedStrings: [String], dateStyles: Set<Int>, date1904: Bool, limits: SpreadsheetLimits) {
        self.sharedStrings = sharedStrings
        self.dateStyles = dateStyles
        self.date1904 = date1904
        self.limits = limits
    }

    override func start(_ name: String, attributes: XMLAttributes) {
        switch name {
        case "row":
            if let number = attributes["r"].flatMap(Int.init), number >= 1 {
                self.rowIndex = number - 1
            } else {
                self.rowIndex += 1
            }
            guard self.rowIndex < self.limits.maximumRowNumber else { return self.failRowNumber() }
            self.nextColumn = 0
        case "c":
            if self.rowIndex < 0 { self.rowIndex = 0 }
            if let reference = attributes["r"] {
                guard let position = XLSXReader.reference(reference) else {
                    return self.fail(.corrupted(reason: "bad_cell_reference"))
                }
                self.cellColumn = position.column
                if position.row != self.rowIndex {
                    guard position.row < self.limits.maximumRowNumber else { return self.failRowNumber() }
                    self.rowIndex = position.row
                }
            } else {
                self.cellColumn = self.nextColumn
            }
            guard self.cellColumn < self.limits.maximumColumns else {
                return self.fail(.tooLarge(what: "columns", limit: self.limits.maximumColumns))
            }
            self.nextColumn = self.cellColumn + 1
            self.cellType = attributes["t"] ?? "n"
            self.cellStyle = attributes["s"].flatMap(Int.init) ?? 0
            self.value = ""
            self.inlineText = ""
        case "v": self.capture = .value
        case "is": self.inInline = true
        case "rPh": self.phonetic += 1
        case "t" where self.inInline && self.phonetic == 0: self.capture = .inlineText
        default: break
        }
    }

    override func characters(_ string: String) {
        switch self.capture {
        case .none: break
        case .value: self.value += string
        case .inlineText: self.inlineText += string
        }
    }

    override func end(_ name: String) {
        switch name {
        case "v", "t": self.capture = .none
        case "is": self.inInline = false
        case "rPh": self.phonetic -= 1
        case "c":
            let cell: Cell
            switch self.cellType {
            case "s":
                // No index (`<c t="s"/>`, `<v></v>`) is an empty cell, as spreadsheet programs read it.
                let text = Self.trimmed(self.value)
                if text.isEmpty {
                    cell = .empty
                } else if let index = Int(text), index >= 0, index < self.sharedStrings.count {
                    cell = Self.text(XStringEscape.decode(self.sharedStrings[index]))
                } else {
                    return self.fail(.corrupted(reason: "bad_shared_string_index"))
                }
            case "inlineStr": cell = Self.text(XStringEscape.decode(self.inlineText))
            case "str", "e": cell = Self.text(self.value)
            case "b": cell = self.value.isEmpty ? .empty : .bool(self.value == "1" || self.value.lowercased() == "true")
            case "d":
                let text = Self.trimmed(self.value)
                cell = ISODateCell.cell(text) ?? Self.text(text)
            default:
                let text = Self.trimmed(self.value)
                if text.isEmpty {
                    cell = .empty
                } else if let digits = Cell.longWholeNumber(text) {
                    // Every digit, as text: a double would change the last ones (and no date has a serial
                    // that long).
                    cell = .text(digits)
                } else if let number = Cell.decimalNumber(text) {
                    // A date-styled serial outside Excel's dates (1900-01-00 to 9999-12-31) stays a number.
                    let lastSerial: Double = self.date1904 ? 2_957_003 : 2_958_465
                    if !self.dateStyles.contains(self.cellStyle) || number < 0 || number >= lastSerial + 1 {
                        cell = .number(number)
                    } else if number < 1 {
                        // A time of day: Excel stores one as a fraction of a day with no date. Read as a
                        // date it became 1899-12-31 at that time.
                        cell = .text(Self.timeOfDay(fraction: number))
                    } else {
                        // The last serial's fraction can round, to the millisecond, to 10000-01-01, which would
                        // be imported as a text with a five-digit year: a number, as a serial past the end is.
                        let date = XLSXReader.date(fromSerial: number, date1904: self.date1904)
                        cell = CivilCalendar.fourDigitYears.contains(date) ? .date(date) : .number(number)
                    }
                } else {
                    // Not a decimal number (`NaN`, `0x10`, `45063,5`, `1e309`): its text, as the same text in
                    // a CSV is, for the field's parser to read. The value is wrong, not the file, whose other
                    // rows import (a broken archive or malformed XML is what is corrupted).
                    cell = Self.text(text)
                }
            }
            if case .empty = cell { return }
            while self.rows.count <= self.rowIndex { self.rows.append([]) }
            if self.rows[self.rowIndex].isEmpty {
                // The row's first value: it counts.
                self.valueRows += 1
                guard self.valueRows <= self.limits.maximumRows else {
                    return self.fail(.tooLarge(what: "rows", limit: self.limits.maximumRows))
                }
            }
            if self.rows[self.rowIndex].count <= self.cellColumn {
                let added = self.cellColumn - self.rows[self.rowIndex].count + 1
                self.cells += added
                guard self.cells <= self.limits.maximumCells else {
                    return self.fail(.tooLarge(what: "cells", limit: self.limits.maximumCells))
                }
                self.rows[self.rowIndex].append(contentsOf: repeatElement(.empty, count: added))
            }
            self.rows[self.rowIndex][self.cellColumn] = cell
        default: break
        }
    }

    private static func text(_ text: String) -> Cell { text.isEmpty ? .empty : .text(text) }

    /// A fraction of a day as the time of day it is, `HH:MM:SS`, to the nearest second.
    static func timeOfDay(fraction: Double) -> String {
        let seconds = min(Int((fraction * 86_400).rounded()), 86_399)
        let parts = [seconds / 3_600, seconds / 60 % 60, seconds % 60].map { $0 < 10 ? "0\($0)" : "\($0)" }
        return parts.joined(separator: ":")
    }

    private func failRowNumber() {
        self.fail(.tooLarge(what: "row number", limit: self.limits.maximumRowNumber))
    }

    /// A `<v>` value without white space at either end (Foundation's `.whitespaces`). Values are
    /// written without it: one that begins and ends with a printable ASCII character is returned as it
    /// is, since Foundation's trimming (through `NSString` on Linux) was the reader's largest cost.
    private static func trimmed(_ value: String) -> String {
        let isPrintableASCII = { (byte: UInt8) in byte > 0x20 && byte < 0x7F }
        if let first = value.utf8.first, let last = value.utf8.last, isPrintableASCII(first), isPrintableASCII(last) { return value }
        return value.trimmingCharacters(in: .whitespaces)
    }
}

/// `x:row` → `row`.
private func localName(_ name: String) -> Substring {
    if let colon = name.lastIndex(of: ":") { return name[name.index(after: colon)...] }
    return Substring(name)
}
