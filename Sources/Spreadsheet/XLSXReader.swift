// ContactLedger — spreadsheets.
import Foundation
import ZIPFoundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reads the first sheet of an XLSX workbook (Office Open XML: a ZIP of XML parts).
///
/// Understands shared strings (plain and rich text), inline strings, formula string results, numbers,
/// booleans, error cells (read as their text, e.g. `#N/A`), ISO dates (`t="d"`), and numbers styled
/// as dates or times (built-in formats 14–22 and 45–47, or a custom format with day, month, year or
/// hour parts), which become ``Cell/date(_:)`` on the 1900 or 1904 date system. Rows and cells may be
/// sparse and out of order: each cell's `r` reference places it.
public enum XLSXReader {
    public static func read(_ data: Data, limits: SpreadsheetLimits = .init()) throws(SpreadsheetError) -> Sheet {
        let archive: Archive
        do { archive = try Archive(data: data, accessMode: .read) } catch { throw .corrupted(reason: "not_a_zip_archive") }
        let part = { (path: String) throws(SpreadsheetError) -> Data? in try Self.part(path, in: archive, limits: limits) }

        guard let workbookData = try part("xl/workbook.xml") else { throw .corrupted(reason: "no_workbook") }
        let workbook = WorkbookHandler()
        try Self.parse(workbookData, with: workbook, part: "workbook")
        guard let first = workbook.sheets.first else { throw .empty }

        var sheetPath = "xl/worksheets/sheet1.xml"
        if let relsData = try part("xl/_rels/workbook.xml.rels") {
            let rels = RelationshipsHandler()
            try Self.parse(relsData, with: rels, part: "relationships")
            if let target = rels.targets[first.relationship] {
                sheetPath = target.hasPrefix("/") ? String(target.dropFirst()) : "xl/" + target
            }
        }
        var sharedStrings: [String] = []
        if let stringsData = try part("xl/sharedStrings.xml") {
            let handler = SharedStringsHandler()
            try Self.parse(stringsData, with: handler, part: "shared_strings")
            sharedStrings = handler.strings
        }
        var dateStyles: Set<Int> = []
        if let stylesData = try part("xl/styles.xml") {
            let handler = StylesHandler()
            try Self.parse(stylesData, with: handler, part: "styles")
            dateStyles = handler.dateStyles
        }
        guard let sheetData = try part(sheetPath) else { throw .corrupted(reason: "no_worksheet") }
        let handler = SheetHandler(
            sharedStrings: sharedStrings, dateStyles: dateStyles, date1904: workbook.date1904, limits: limits
        )
        try Self.parse(sheetData, with: handler, part: "worksheet")
        if let failure = handler.failure { throw failure }
        // Trailing empty rows say nothing.
        var rows = handler.rows
        while let last = rows.last, last.allSatisfy(\.isBlank) { rows.removeLast() }
        guard !rows.isEmpty else { throw .empty }
        return Sheet(name: first.name, rows: rows)
    }

    private static func part(_ path: String, in archive: Archive, limits: SpreadsheetLimits) throws(SpreadsheetError) -> Data? {
        guard let entry = archive[path] else { return nil }
        guard entry.uncompressedSize <= UInt64(limits.maximumPartBytes) else {
            throw .tooLarge(what: "bytes in one part", limit: limits.maximumPartBytes)
        }
        var data = Data()
        data.reserveCapacity(Int(entry.uncompressedSize))
        do {
            _ = try archive.extract(entry, skipCRC32: false) { chunk in
                data.append(chunk)
                if data.count > limits.maximumPartBytes { throw SpreadsheetError.tooLarge(what: "bytes in one part", limit: limits.maximumPartBytes) }
            }
        } catch let error as SpreadsheetError {
            throw error
        } catch {
            throw .corrupted(reason: "unreadable_part")
        }
        return data
    }

    private static func parse(_ data: Data, with delegate: some XMLParserDelegate, part: String) throws(SpreadsheetError) {
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = false
        parser.shouldResolveExternalEntities = false
        parser.delegate = delegate
        if !parser.parse() {
            if let handler = delegate as? SheetHandler, let failure = handler.failure { throw failure }
            throw .corrupted(reason: "malformed_\(part)")
        }
    }

    // MARK: - Dates

    /// Built-in number formats that show dates or times.
    static let builtInDateFormats: Set<Int> = Set(14...22).union(45...47)

    /// Whether a custom number format code shows a date or time: after dropping quoted text, escapes
    /// and bracketed sections (colours, conditions, locales), it has a d, m, y or h part.
    public static func isDateFormat(_ code: String) -> Bool {
        if code.lowercased() == "general" { return false }
        var inQuote = false
        var inBracket = false
        var escaped = false
        for character in code.lowercased() {
            if escaped { escaped = false; continue }
            switch character {
            case "\\": escaped = true
            case "\"": inQuote.toggle()
            case "[" where !inQuote: inBracket = true
            case "]" where !inQuote: inBracket = false
            case "d", "m", "y", "h": if !inQuote && !inBracket { return true }
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

    /// `A1` → (row 0, column 0); `AB12` → (11, 27). Nil for a malformed reference.
    static func reference(_ text: String) -> (row: Int, column: Int)? {
        var column = 0
        var row = 0
        var sawLetter = false
        var sawDigit = false
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z") where !sawDigit:
                column = column * 26 + Int(byte - UInt8(ascii: "A")) + 1
                sawLetter = true
                if column > 1_000_000 { return nil }
            case UInt8(ascii: "a")...UInt8(ascii: "z") where !sawDigit:
                column = column * 26 + Int(byte - UInt8(ascii: "a")) + 1
                sawLetter = true
                if column > 1_000_000 { return nil }
            case UInt8(ascii: "$"):
                continue
            case UInt8(ascii: "0")...UInt8(ascii: "9") where sawLetter:
                row = row * 10 + Int(byte - UInt8(ascii: "0"))
                sawDigit = true
                if row > 100_000_000 { return nil }
            default:
                return nil
            }
        }
        guard sawLetter, sawDigit, row >= 1 else { return nil }
        return (row - 1, column - 1)
    }
}

// MARK: - Part handlers

/// `xl/workbook.xml`: sheet names and relationship ids, and the date system.
private final class WorkbookHandler: NSObject, XMLParserDelegate {
    var sheets: [(name: String, relationship: String)] = []
    var date1904 = false

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String]) {
        switch localName(name) {
        case "sheet":
            let relationship = attributes.first { localName($0.key) == "id" && $0.key != "sheetId" }?.value ?? ""
            self.sheets.append((attributes["name"] ?? "Sheet1", relationship))
        case "workbookPr":
            if let value = attributes["date1904"] { self.date1904 = value == "1" || value == "true" }
        default: break
        }
    }
}

/// `xl/_rels/workbook.xml.rels`: relationship id → target part.
private final class RelationshipsHandler: NSObject, XMLParserDelegate {
    var targets: [String: String] = [:]

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String]) {
        if localName(name) == "Relationship", let id = attributes["Id"], let target = attributes["Target"] {
            self.targets[id] = target
        }
    }
}

/// `xl/sharedStrings.xml`: each `si`'s text (its `t`, or its rich-text runs' `t`s; phonetic runs skipped).
private final class SharedStringsHandler: NSObject, XMLParserDelegate {
    var strings: [String] = []
    private var current = ""
    private var inText = false
    private var phonetic = 0

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String]) {
        switch localName(name) {
        case "si": self.current = ""
        case "t": self.inText = self.phonetic == 0
        case "rPh": self.phonetic += 1
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if self.inText { self.current += string }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        switch localName(name) {
        case "si": self.strings.append(self.current)
        case "t": self.inText = false
        case "rPh": self.phonetic -= 1
        default: break
        }
    }
}

/// `xl/styles.xml`: which cell formats (`cellXfs` indexes) show dates.
private final class StylesHandler: NSObject, XMLParserDelegate {
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

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String]) {
        switch localName(name) {
        case "numFmt":
            if let id = attributes["numFmtId"].flatMap(Int.init), let code = attributes["formatCode"], XLSXReader.isDateFormat(code) {
                self.customDateFormats.insert(id)
            }
        case "cellXfs": self.inCellXfs = true
        case "xf" where self.inCellXfs: self.formatIDs.append(attributes["numFmtId"].flatMap(Int.init) ?? 0)
        default: break
        }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if localName(name) == "cellXfs" { self.inCellXfs = false }
    }
}

/// A worksheet's `sheetData`: rows of typed cells.
private final class SheetHandler: NSObject, XMLParserDelegate {
    let sharedStrings: [String]
    let dateStyles: Set<Int>
    let date1904: Bool
    let limits: SpreadsheetLimits
    var rows: [[Cell]] = []
    var failure: SpreadsheetError?

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

    private func fail(_ parser: XMLParser, _ error: SpreadsheetError) {
        if self.failure == nil { self.failure = error }
        parser.abortParsing()
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String]) {
        switch localName(name) {
        case "row":
            if let number = attributes["r"].flatMap(Int.init), number >= 1 {
                self.rowIndex = number - 1
            } else {
                self.rowIndex += 1
            }
            guard self.rowIndex < self.limits.maximumRows else {
                return self.fail(parser, .tooLarge(what: "rows", limit: self.limits.maximumRows))
            }
            self.nextColumn = 0
        case "c":
            if self.rowIndex < 0 { self.rowIndex = 0 }
            if let reference = attributes["r"] {
                guard let position = XLSXReader.reference(reference) else {
                    return self.fail(parser, .corrupted(reason: "bad_cell_reference"))
                }
                self.cellColumn = position.column
                if position.row != self.rowIndex {
                    guard position.row < self.limits.maximumRows else {
                        return self.fail(parser, .tooLarge(what: "rows", limit: self.limits.maximumRows))
                    }
                    self.rowIndex = position.row
                }
            } else {
                self.cellColumn = self.nextColumn
            }
            guard self.cellColumn < self.limits.maximumColumns else {
                return self.fail(parser, .tooLarge(what: "columns", limit: self.limits.maximumColumns))
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

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        switch self.capture {
        case .none: break
        case .value: self.value += string
        case .inlineText: self.inlineText += string
        }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        switch localName(name) {
        case "v", "t": self.capture = .none
        case "is": self.inInline = false
        case "rPh": self.phonetic -= 1
        case "c":
            let cell: Cell
            switch self.cellType {
            case "s":
                guard let index = Int(self.value.trimmingCharacters(in: .whitespaces)), index >= 0, index < self.sharedStrings.count else {
                    return self.fail(parser, .corrupted(reason: "bad_shared_string_index"))
                }
                cell = Self.text(self.sharedStrings[index])
            case "inlineStr": cell = Self.text(self.inlineText)
            case "str", "e": cell = Self.text(self.value)
            case "b": cell = self.value.isEmpty ? .empty : .bool(self.value == "1" || self.value.lowercased() == "true")
            case "d":
                let text = self.value.trimmingCharacters(in: .whitespaces)
                cell = Self.isoDate(text).map { .date($0) } ?? Self.text(text)
            default:
                let text = self.value.trimmingCharacters(in: .whitespaces)
                if text.isEmpty {
                    cell = .empty
                } else if let number = Double(text) {
                    cell = self.dateStyles.contains(self.cellStyle)
                        ? .date(XLSXReader.date(fromSerial: number, date1904: self.date1904)) : .number(number)
                } else {
                    return self.fail(parser, .corrupted(reason: "bad_number"))
                }
            }
            if case .empty = cell { return }
            while self.rows.count <= self.rowIndex { self.rows.append([]) }
            if self.rows[self.rowIndex].count <= self.cellColumn {
                self.rows[self.rowIndex].append(contentsOf: repeatElement(.empty, count: self.cellColumn - self.rows[self.rowIndex].count + 1))
            }
            self.rows[self.rowIndex][self.cellColumn] = cell
        default: break
        }
    }

    private static func text(_ text: String) -> Cell { text.isEmpty ? .empty : .text(text) }

    /// `2020-09-18`, `2020-09-18T15:45:30`, with optional fraction and zone (ignored: wall-clock).
    private static func isoDate(_ text: String) -> Date? {
        let parts = text.split(separator: "T", maxSplits: 1)
        let day = parts.first.map { $0.split(separator: "-").compactMap { Int($0) } } ?? []
        guard day.count == 3 else { return nil }
        var components = DateComponents(year: day[0], month: day[1], day: day[2], hour: 0, minute: 0, second: 0)
        if parts.count == 2 {
            let clock = parts[1].prefix { $0.isNumber || $0 == ":" || $0 == "." }
            let fields = clock.split(separator: ":")
            components.hour = fields.count > 0 ? Int(fields[0]) : 0
            components.minute = fields.count > 1 ? Int(fields[1]) : 0
            if fields.count > 2, let seconds = Double(fields[2]) {
                components.second = Int(seconds)
                components.nanosecond = Int((seconds - Double(Int(seconds))) * 1e9)
            }
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        return calendar.date(from: components)
    }
}

/// `x:row` → `row`.
private func localName(_ name: String) -> Substring {
    if let colon = name.lastIndex(of: ":") { return name[name.index(after: colon)...] }
    return Substring(name)
}
