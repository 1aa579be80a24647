// ContactLedger — spreadsheet tests.
import Foundation
import Spreadsheet
import TestSupport
import Testing

/// The XLSX reader on the shapes real producers write: empty shared-string cells.
@Suite struct XLSXReaderTests {
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
}
