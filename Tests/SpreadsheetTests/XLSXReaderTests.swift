// ContactLedger — spreadsheet tests.
import Foundation
import Spreadsheet
import TestSupport
import Testing

/// The XLSX reader on the shapes real producers write and on parts streamed in chunks: empty rows and
/// cells that only carry formatting, empty shared-string cells, and guard checks and values that
/// straddle the boundary between two inflated chunks.
@Suite struct XLSXReaderTests {
    static let mainNamespace = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

    /// A header row and one record, in inline strings.
    static let twoRows = """
        <row r="1"><c r="A1" t="inlineStr"><is><t>URN:Tel</t></is></c><c r="B1" t="inlineStr"><is><t>Name</t></is></c></row>\
        <row r="2"><c r="A2" t="inlineStr"><is><t>+250788000001</t></is></c><c r="B2" t="inlineStr"><is><t>Ann</t></is></c></row>
        """

    /// Rows below the data that hold only styled, empty cells (xlsxwriter and Excel write one per row of
    /// a column formatted as text) are not rows of the sheet, however many: they were counted against
    /// `maximumRows`, and a file of two rows was refused as too many.
    @Test func formattedEmptyRowsAreNotCounted() throws {
        let empty = (3...150_000).map { "<row r=\"\($0)\" s=\"1\" customFormat=\"1\"><c r=\"A\($0)\" s=\"1\"/><c r=\"B\($0)\" t=\"s\" s=\"1\"/></row>" }
        let data = HostileXLSX.withSheetRows(Self.twoRows + empty.joined())
        let sheet = try SpreadsheetReader.read(data, limits: SpreadsheetLimits(maximumRows: 5))
        #expect(sheet.rows == [[.text("URN:Tel"), .text("Name")], [.text("+250788000001"), .text("Ann")]])
        // Empty rows up to Excel's last row are read too.
        let last = HostileXLSX.withSheetRows(Self.twoRows + "<row r=\"1048576\" s=\"1\"><c r=\"A1048576\" s=\"1\"/></row>")
        #expect(try SpreadsheetReader.read(last, limits: SpreadsheetLimits(maximumRows: 5)).rows.count == 2)
    }

    /// Rows that hold a value count, wherever they are; rows past Excel's last row are refused, empty or
    /// not, as a row number over its limit.
    @Test func rowsWithValuesAndRowNumbersHaveTheirOwnLimits() throws {
        let limits = SpreadsheetLimits(maximumRows: 5)
        let value = { (row: Int) in "<row r=\"\(row)\"><c r=\"A\(row)\"><v>\(row)</v></c></row>" }
        // Five rows with values, spread over 900,000 row numbers.
        let five = try SpreadsheetReader.read(HostileXLSX.withSheetRows([1, 2, 10, 50_000, 900_000].map(value).joined()), limits: limits)
        #expect(five.rows.count == 900_000)
        #expect(five.rows.count { !$0.isEmpty } == 5)
        let six = HostileXLSX.withSheetRows((1...6).map(value).joined())
        #expect(throws: SpreadsheetError.tooLarge(what: "rows", limit: 5)) { try SpreadsheetReader.read(six, limits: limits) }
        for rows in ["<row r=\"1048577\"/>", "<row r=\"1\"><c r=\"A1\"><v>1</v></c></row><row r=\"1048577\"><c r=\"A1048577\" s=\"1\"/></row>"] {
            #expect(throws: SpreadsheetError.tooLarge(what: "row number", limit: 1_048_576)) {
                try SpreadsheetReader.read(HostileXLSX.withSheetRows(rows), limits: limits)
            }
        }
        // CSV the same: lines of separators alone are not rows with values.
        let csv = "URN:Tel,Name\n+250788000001,Ann\n" + String(repeating: ",\n", count: 200_000)
        #expect(try SpreadsheetReader.read(Data(csv.utf8), format: .csv, limits: limits).rows.count == 2)
        let long = String(repeating: "x\n", count: 6)
        #expect(throws: SpreadsheetError.tooLarge(what: "rows", limit: 5)) {
            try SpreadsheetReader.read(Data(long.utf8), format: .csv, limits: limits)
        }
    }

    /// A shared-string cell without an index (`<c t="s"/>`, `<v></v>`) is an empty cell, as spreadsheet
    /// programs read it; it made the whole file corrupted.
    @Test(arguments: ["<c r=\"C2\" t=\"s\"/>", "<c r=\"C2\" t=\"s\"><v></v></c>", "<c r=\"C2\" t=\"s\"><v/></c>", "<c r=\"C2\" t=\"s\"><v> </v></c>"])
    func sharedStringCellsWithoutIndexAreEmpty(cell: String) throws {
        let rows = """
            <row r="1"><c r="A1" t="inlineStr"><is><t>URN:Tel</t></is></c><c r="C1" t="inlineStr"><is><t>Field:F</t></is></c></row>\
            <row r="2"><c r="A2" t="inlineStr"><is><t>+250788000001</t></is></c>\(cell)<c r="D2" t="s"><v>0</v></c></row>
            """
        let sheet = try SpreadsheetReader.read(HostileXLSX.withSheetRows(rows))
        #expect(sheet.rows[1][2] == .empty)
        #expect(sheet.rows[1][3] != .empty)
    }

    // MARK: - Streaming

    /// A worksheet of several 64 KiB chunks whose markup, characters and comments land on the boundaries
    /// at every offset (a comment of `shift` bytes moves them): every value reads back whole, in UTF-8,
    /// stored or deflated, and in UTF-16.
    @Test(arguments: [0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144])
    func valuesReadWholeAcrossChunkBoundaries(shift: Int) throws {
        var rows = ""
        var expected: [[Cell]] = []
        for index in 1...1_500 {
            let text = "é日🎉 <x> & \(index)"
            rows += "<row r=\"\(index)\"><!-- row \(index) --><?note \(index)?><c r=\"A\(index)\" t=\"inlineStr\"><is><t><![CDATA[é日🎉 <x> ]]>&amp; \(index)</t></is></c>"
            rows += "<c r=\"B\(index)\"><v>\(index)</v></c></row>"
            expected.append([.text(text), .number(Double(index))])
        }
        let text = """
            <?xml version="1.0" encoding="UTF-8"?><!--\(String(repeating: "-x", count: shift / 2))\(shift % 2 == 1 ? "y" : "")-->\
            <worksheet xmlns="\(Self.mainNamespace)"><sheetData>\(rows)</sheetData></worksheet>
            """
        let units = text.replacingOccurrences(of: "UTF-8", with: "UTF-16").utf16
        let utf16: [UInt8] = [0xFF, 0xFE] + units.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] }
        let variants: [(String, [UInt8], TestZIP.Method)] = [
            ("stored", Array(text.utf8), .stored), ("deflated", Array(text.utf8), .deflated), ("utf-16", utf16, .deflated),
        ]
        for (name, bytes, method) in variants {
            let sheet = try SpreadsheetReader.read(Self.workbook(worksheet: bytes, method: method))
            #expect(sheet.rows == expected, "\(name), shift \(shift)")
        }
    }

    /// The guard checks each chunk before the parser gets it, whichever chunk holds what it refuses, and
    /// however it straddles a boundary: each refused construct starts `shift - 4` bytes after the end of
    /// the first 64 KiB chunk.
    @Test(arguments: [0, 1, 2, 3, 4, 5, 6, 8, 9, 12, 50, 99])
    func refusalsAreFoundInAnyChunk(shift: Int) throws {
        let start = "<worksheet xmlns=\"\(Self.mainNamespace)\"><sheetData>"
        let row = "<row><c><v>1</v></c></row>"
        let before = 65_536 - 4 + shift - start.utf8.count
        let filler = String(repeating: row, count: before / row.utf8.count) + String(repeating: " ", count: before % row.utf8.count)
        let cases: [(String, String)] = [
            ("<!DOCTYPE x [<!ENTITY e \"e\">]>", "dtd_not_allowed"),
            (String(repeating: "<x>", count: 300) + String(repeating: "</x>", count: 300), "nesting_too_deep"),
            ("<row " + (0..<101).map { "a\($0)=\"1\"" }.joined(separator: " ") + "/>", "too_many_attributes"),
        ]
        for (hostile, reason) in cases {
            let text = start + filler + hostile + "</sheetData></worksheet>"
            #expect(throws: SpreadsheetError.refused(reason: reason), "\(reason), shift \(shift)") {
                try SpreadsheetReader.read(Self.workbook(worksheet: Array(text.utf8), method: .stored))
            }
        }
        // Bytes that are not UTF-8 past the first chunk.
        let invalid = Array((start + filler + "<row><c t=\"inlineStr\"><is><t>").utf8) + [0xC3, 0x28]
            + Array("</t></is></c></row></sheetData></worksheet>".utf8)
        #expect(throws: SpreadsheetError.refused(reason: "invalid_utf8"), "shift \(shift)") {
            try SpreadsheetReader.read(Self.workbook(worksheet: invalid, method: .stored))
        }
    }

    /// A part whose CRC-32 is wrong reads as a damaged archive even when the parser refuses its XML
    /// first: the rest of the part is inflated and checked before the parser's error is given.
    @Test func aDamagedPartReadsAsDamagedWhateverItsXML() throws {
        let text = "<worksheet xmlns=\"\(Self.mainNamespace)\"><sheetData><row><!DOCTYPE x></row></sheetData></worksheet>"
        var archive = TestZIP(parts: HostileXLSX.smallParts())
        let index = try #require(archive.entries.firstIndex { $0.name == "xl/worksheets/sheet1.xml" })
        archive.entries[index].bytes = Array(text.utf8)
        archive.entries[index].declaredCRC = TestZIP.crc32(Array(text.utf8)) ^ 1
        #expect(throws: SpreadsheetError.corrupted(reason: "part_checksum_mismatch")) { try SpreadsheetReader.read(archive.data()) }
        archive.entries[index].declaredCRC = nil
        #expect(throws: SpreadsheetError.refused(reason: "dtd_not_allowed")) { try SpreadsheetReader.read(archive.data()) }
    }

    /// A valid worksheet padded with MiBs of white space reads as the one without.
    @Test func aPaddedWorksheetReadsAsTheSmallOne() throws {
        let padded = try SpreadsheetReader.read(HostileXLSX.paddedWorksheet(mebibytes: 3))
        #expect(padded == (try SpreadsheetReader.read(HostileXLSX.archive(HostileXLSX.smallParts()))))
    }

    /// The small workbook with `worksheet` as its worksheet's bytes.
    static func workbook(worksheet: [UInt8], method: TestZIP.Method) -> Data {
        var archive = TestZIP(parts: HostileXLSX.smallParts())
        if let index = archive.entries.firstIndex(where: { $0.name == "xl/worksheets/sheet1.xml" }) {
            archive.entries[index].bytes = worksheet
            archive.entries[index].method = method
        }
        return archive.data()
    }
}
