// ContactLedger — spreadsheets.
import Foundation
import ZIPFoundation

/// Writes workbooks: XLSX (one or more sheets, inline strings, dates styled `yyyy-mm-dd hh:mm:ss`)
/// and CSV (the first sheet; RFC 4180 quoting, CRLF, UTF-8 with a BOM so spreadsheet programs pick
/// the encoding, a quote before values a spreadsheet program would run as formulas:
/// ``CSVFormulaGuard``).
///
/// Files are written next to their destination and renamed into place, so a reader never sees half
/// a file. They are readable by their owner only (`0600`): a workbook of contacts is personal data.
public enum SpreadsheetWriter {
    /// Writes `sheet` to `path` as `format`, through ``SpreadsheetFileWriter``.
    ///
    /// - Parameter owner: the user and group to give the file (the writer must be privileged to give
    ///   it away); nil keeps the writer's.
    public static func write(
        _ sheet: Sheet,
        format: SpreadsheetFormat,
        to path: String,
        owner: (uid: UInt32, gid: UInt32)? = nil
    ) throws(SpreadsheetError) {
        let writer = try SpreadsheetFileWriter(path: path, format: format, sheetName: sheet.name, owner: owner)
        for row in sheet.rows { try writer.append(row) }
        try writer.finish()
    }

    /// Creates a new file (never one that exists, nor through a symbolic link) `0600`, given to `owner`,
    /// and returns its descriptor, open for reading too when `readable`.
    static func createFile(_ path: String, owner: (uid: UInt32, gid: UInt32)?, readable: Bool = false) throws(SpreadsheetError) -> Int32 {
        let descriptor = open(path, (readable ? O_RDWR : O_WRONLY) | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw .io(reason: "cannot_write") }
        if let owner, fchown(descriptor, owner.uid, owner.gid) != 0 {
            close(descriptor)
            unlink(path)
            throw .io(reason: "cannot_write")
        }
        return descriptor
    }

    // MARK: - CSV

    /// The CSV bytes of `sheet`.
    public static func csv(_ sheet: Sheet, byteOrderMark: Bool = true) -> Data {
        var out = byteOrderMark ? "\u{FEFF}" : ""
        for row in sheet.rows { out += Self.csvLine(row) }
        return Data(out.utf8)
    }

    /// One CSV record, its line end included.
    static func csvLine(_ row: [Cell]) -> String {
        row.map { Self.csvField(CSVFormulaGuard.guarded(Self.csvText($0))) }.joined(separator: ",") + "\r\n"
    }

    static func csvText(_ cell: Cell) -> String {
        switch cell {
        case .empty: ""
        case .text(let text): text
        case .number(let number): Cell.decimalText(number)
        case .bool(let value): value ? "TRUE" : "FALSE"
        case .date(let date): Self.wallClock(date)
        case .instant(let moment): ISODateCell.text(instant: moment)
        }
    }

    /// `text` as one RFC 4180 field. Decided and escaped scalar by scalar, as a reader splits: compared
    /// as Swift characters, `\r\n` is one character (neither `\r` nor `\n`), as is a comma or a quote
    /// followed by a combining mark, so such values were written bare and split rows and columns.
    static func csvField(_ text: String) -> String {
        let scalars = text.unicodeScalars
        let needsQuotes = scalars.contains { Self.csvSpecial.contains($0) }
            || scalars.first.map(\.properties.isWhitespace) == true || scalars.last.map(\.properties.isWhitespace) == true
        guard needsQuotes else { return text }
        var quoted = "\""
        quoted.unicodeScalars.reserveCapacity(scalars.count + 2)
        for scalar in scalars {
            if scalar == "\"" { quoted.unicodeScalars.append("\"") }
            quoted.unicodeScalars.append(scalar)
        }
        quoted.unicodeScalars.append("\"")
        return quoted
    }

    /// The scalars that make a CSV field need quotes (`;`: spreadsheet programs set to it split there).
    private static let csvSpecial: Set<Unicode.Scalar> = [",", "\"", "\n", "\r", ";"]

    /// `2020-09-18 15:45:30` (the date's UTC wall-clock, proleptic Gregorian as ``ISODateCell`` reads it).
    static func wallClock(_ date: Date) -> String {
        let c = ISODateCell.components(seconds: ISODateCell.split(date).seconds)
        func two(_ value: Int?) -> String { let v = value ?? 0; return v < 10 ? "0\(v)" : "\(v)" }
        return "\(c.year ?? 0)-\(two(c.month))-\(two(c.day)) \(two(c.hour)):\(two(c.minute)):\(two(c.second))"
    }

    // MARK: - XLSX

    /// The XLSX bytes of `sheets` (at least one sheet is written).
    public static func xlsx(_ sheets: [Sheet]) throws(SpreadsheetError) -> Data {
        let sheets = sheets.isEmpty ? [Sheet(name: "Sheet1", rows: [])] : sheets
        let archive = try Self.archive(sheetNames: sheets.map(\.name))
        do {
            for (index, sheet) in sheets.enumerated() {
                let data = Self.worksheet(sheet)
                try archive.addEntry(
                    with: Self.worksheetPart(index), type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate
                ) { position, size in
                    data.subdata(in: Int(position)..<Int(position) + size)
                }
            }
        } catch {
            throw .io(reason: "cannot_write_archive")
        }
        guard let data = archive.data else { throw .io(reason: "cannot_write_archive") }
        return data
    }

    /// An archive in memory holding every part of a workbook of sheets named `sheetNames` but their
    /// worksheets (``worksheetPart(_:)``), which the caller adds.
    static func archive(sheetNames: [String]) throws(SpreadsheetError) -> Archive {
        let archive: Archive
        do { archive = try Archive(data: Data(), accessMode: .create) } catch { throw .io(reason: "cannot_create_archive") }
        let parts: [(String, Data)] = [
            ("[Content_Types].xml", Data(Self.contentTypes(sheetCount: sheetNames.count).utf8)),
            ("_rels/.rels", Data(Self.rootRelationships.utf8)),
            ("docProps/app.xml", Data(Self.appProperties.utf8)),
            ("docProps/core.xml", Data(Self.coreProperties.utf8)),
            ("xl/workbook.xml", Data(Self.workbook(sheetNames).utf8)),
            ("xl/_rels/workbook.xml.rels", Data(Self.workbookRelationships(sheetCount: sheetNames.count).utf8)),
            ("xl/styles.xml", Data(Self.styles.utf8)),
        ]
        do {
            for (path, data) in parts {
                try archive.addEntry(
                    with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate
                ) { position, size in
                    data.subdata(in: Int(position)..<Int(position) + size)
                }
            }
        } catch {
            throw .io(reason: "cannot_write_archive")
        }
        return archive
    }

    /// The archive path of worksheet `index` (from 0).
    static func worksheetPart(_ index: Int) -> String { "xl/worksheets/sheet\(index + 1).xml" }

    /// What a worksheet's XML starts with, before its rows.
    static let worksheetHead = """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
        xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheetData>
        """

    /// What a worksheet's XML ends with, after its rows.
    static let worksheetTail = "</sheetData></worksheet>"

    static func worksheet(_ sheet: Sheet) -> Data {
        var out = Self.worksheetHead
        out.reserveCapacity(sheet.rows.count * 200)
        for (rowIndex, row) in sheet.rows.enumerated() { out += Self.worksheetRow(row, number: rowIndex + 1) }
        out += Self.worksheetTail
        return Data(out.utf8)
    }

    /// Row `number` (from 1) of a worksheet's XML.
    static func worksheetRow(_ row: [Cell], number: Int) -> String {
        var out = "<row r=\"\(number)\">"
        for (columnIndex, cell) in row.enumerated() {
            let reference = Self.columnName(columnIndex) + String(number)
            switch cell {
            case .empty:
                continue
            case .text(let text):
                out += "<c r=\"\(reference)\" t=\"inlineStr\"><is><t xml:space=\"preserve\">\(Self.escape(text))</t></is></c>"
            case .number(let value):
                guard value.isFinite else { continue }
                out += "<c r=\"\(reference)\"><v>\(Cell.decimalText(value))</v></c>"
            case .bool(let value):
                out += "<c r=\"\(reference)\" t=\"b\"><v>\(value ? 1 : 0)</v></c>"
            case .date(let date):
                out += "<c r=\"\(reference)\" s=\"1\"><v>\(XLSXReader.serial(of: date))</v></c>"
            case .instant(let moment):
                // A serial has no zone: the moment travels as ISO text in UTC, which reads back as itself.
                out += "<c r=\"\(reference)\" t=\"d\"><v>\(ISODateCell.text(instant: moment))</v></c>"
            }
        }
        out += "</row>"
        return out
    }

    /// 0 → `A`, 25 → `Z`, 26 → `AA`.
    static func columnName(_ index: Int) -> String {
        var index = index + 1
        var name: [Character] = []
        while index > 0 {
            let remainder = (index - 1) % 26
            name.append(Character(Unicode.Scalar(UInt8(65 + remainder))))
            index = (index - 1) / 26
        }
        return String(name.reversed())
    }

    /// XML text: escapes markup, and writes the characters XML 1.0 cannot hold as OOXML's `_xHHHH_`
    /// (``XStringEscape``).
    ///
    /// A carriage return is written as the character reference `&#13;`: XML parsers turn a raw CR (or
    /// CR LF) into a line feed, so `line1\r\nline2` read back as `line1\nline2`; a reference survives
    /// that normalisation. Tabs and line feeds stay raw: element text keeps them (cell text is element
    /// text; the one attribute written through here, a sheet name, is the exporter's own).
    static func escape(_ text: String) -> String {
        var out = ""
        out.unicodeScalars.reserveCapacity(text.unicodeScalars.count)
        for scalar in XStringEscape.encode(text).unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "\r": out += "&#13;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func sheetName(_ name: String) -> String {
        let cleaned = name.filter { !"[]:*?/\\".contains($0) }
        return String((cleaned.isEmpty ? "Sheet" : cleaned).prefix(31))
    }

    static func contentTypes(sheetCount: Int) -> String {
        var sheets = ""
        for index in 1...sheetCount {
            sheets += "<Override PartName=\"/xl/worksheets/sheet\(index).xml\" "
                + "ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>"
        }
        return """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
            <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>\
            <Default Extension="xml" ContentType="application/xml"/>\
            <Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>\
            <Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>\
            <Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>\
            <Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>\
            \(sheets)</Types>
            """
    }

    static let rootRelationships = """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
        <Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>\
        <Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>\
        <Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>\
        </Relationships>
        """

    static let appProperties = """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">\
        <Application>ContactLedger</Application></Properties>
        """

    static let coreProperties = """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" \
        xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" \
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:creator>ContactLedger</dc:creator></cp:coreProperties>
        """

    static func workbook(_ names: [String]) -> String {
        var sheets = ""
        var used: Set<String> = []
        for (index, name) in names.enumerated() {
            var unique = Self.sheetName(name)
            if !used.insert(unique.lowercased()).inserted {
                unique = String(unique.prefix(27)) + " \(index + 1)"
                used.insert(unique.lowercased())
            }
            sheets += "<sheet name=\"\(Self.escape(unique))\" sheetId=\"\(index + 1)\" r:id=\"rId\(index + 1)\"/>"
        }
        return """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
            xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\
            <workbookPr/><bookViews><workbookView/></bookViews><sheets>\(sheets)</sheets></workbook>
            """
    }

    static func workbookRelationships(sheetCount: Int) -> String {
        var relationships = ""
        for index in 1...sheetCount {
            relationships += "<Relationship Id=\"rId\(index)\" "
                + "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" "
                + "Target=\"worksheets/sheet\(index).xml\"/>"
        }
        relationships += "<Relationship Id=\"rId\(sheetCount + 1)\" "
            + "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/>"
        return """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\(relationships)</Relationships>
            """
    }

    /// Style 0: general; style 1: `yyyy-mm-dd hh:mm:ss` (custom format 164).
    static let styles = """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
        <styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
        <numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>\
        <fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>\
        <fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>\
        <borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
        <cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
        <cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
        <xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>\
        <cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>\
        </styleSheet>
        """
}
