// ContactLedger — spreadsheet tests.
import Foundation
import Spreadsheet
import TestSupport
import Testing

@Suite struct SpreadsheetTests {
    static func date(_ text: String) -> Date {
        let formatter = ISO8601DateFormatter()
        return formatter.date(from: text)!
    }

    @Test func xlsxRoundTripKeepsEveryCellKind() throws {
        let sheet = Sheet(name: "Contacts 1", rows: [
            [.text("Name"), .text("Age"), .text("Joined"), .text("VIP"), .text("Note")],
            [.text("Ann <&> \"Smith\""), .number(23), .date(Self.date("2020-09-18T15:45:30Z")), .bool(true), .text("  spaced  ")],
            [.text("Bob"), .number(123.456), .empty, .bool(false), .text("line1\nline2")],
            [],
            [.empty, .empty, .empty, .empty, .text("sparse")],
        ])
        let data = try SpreadsheetWriter.xlsx([sheet])
        let read = try SpreadsheetReader.read(data)
        #expect(read.name == "Contacts 1")
        #expect(read.rows[0] == sheet.rows[0])
        #expect(read.rows[1] == sheet.rows[1])
        #expect(read.rows[2] == [.text("Bob"), .number(123.456), .empty, .bool(false), .text("line1\nline2")])
        #expect(read.rows[3] == [])
        #expect(read.rows[4] == [.empty, .empty, .empty, .empty, .text("sparse")])
    }

    /// Characters XML cannot hold travel as OOXML's `_xHHHH_` escape, and text that reads as an escape
    /// is escaped itself: both read back as written. The writer dropped such characters.
    @Test func xlsxKeepsCharactersXMLCannotHold() throws {
        let texts = ["ctl\u{1}char", "bell\u{7}\u{1F}", "odd\u{FFFE}", "_x0041_ literal", "a_b _x12 _x00zz_", "__x0001__"]
        let sheet = Sheet(name: "S", rows: [texts.map { .text($0) }])
        let read = try SpreadsheetReader.read(try SpreadsheetWriter.xlsx([sheet]))
        #expect(read.rows[0] == texts.map { .text($0) })
    }

    /// Numbers are written without an exponent: a number field takes none (§3.2), and `1E+16` from a
    /// sheet became the text `1e+16` instead of a number. Whole numbers never end in `.0` (§6.2: `1234`):
    /// from 1e15 up to 2^53 they did (`1234567890123456.0`).
    @Test(arguments: [
        (1e16, "10000000000000000"), (1e-7, "0.0000001"), (1.5e-3, "0.0015"), (-2.5e-8, "-0.000000025"),
        (1.2345678901234568e21, "1234567890123456800000"), (1.2345678901234567e19, "12345678901234567000"),
        (123.456, "123.456"), (1234, "1234"), (-0.5, "-0.5"), (1e300, "1" + String(repeating: "0", count: 300)),
        (999_999_999_999_999, "999999999999999"), (1e15, "1000000000000000"), (1_234_567_890_123_456, "1234567890123456"),
        (-1_234_567_890_123_456, "-1234567890123456"), (9_007_199_254_740_992, "9007199254740992"),
        (9_007_199_254_740_994, "9007199254740994"), (-9_007_199_254_740_994, "-9007199254740994"),
        (-1e16, "-10000000000000000"), (1e20, "100000000000000000000"), (-1e20, "-100000000000000000000"),
        (1_234_567_890_123.5, "1234567890123.5"), (-0.125, "-0.125"),
    ] as [(Double, String)])
    func decimalTextHasNoExponent(number: Double, text: String) {
        #expect(Cell.decimalText(number) == text)
        #expect(Double(Cell.decimalText(number)) == number)
    }

    /// A sheet of several megabytes reaches the XML parser in many chunks; values that straddle a chunk
    /// boundary (escaped text, non-ASCII, long strings) still read back whole.
    @Test func largeSheetsReadWholeAcrossParserChunks() throws {
        let rows: [[Cell]] = (0..<30_000).map { (index: Int) -> [Cell] in
            let padding = String(repeating: "x", count: index % 97)
            let text = "Ann <&> \"Smith\" é日本 \(index) \(padding)"
            let number = Double(index) / 4
            return [Cell.text(text), Cell.number(number), Cell.bool(index % 2 == 0)]
        }
        let data = try SpreadsheetWriter.xlsx([Sheet(name: "Big", rows: rows)])
        let read = try SpreadsheetReader.read(data)
        #expect(read.rows.count == rows.count)
        #expect(read.rows == rows)
    }

    @Test func csvRoundTripWithQuotesNewlinesAndBOM() throws {
        let sheet = Sheet(name: "x", rows: [
            [.text("URN:Tel"), .text("Name")],
            [.text("+250788123123"), .text("Smith, \"Ann\"\nSecond line")],
        ])
        let data = SpreadsheetWriter.csv(sheet)
        #expect(data.starts(with: [0xEF, 0xBB, 0xBF]))
        let read = try SpreadsheetReader.read(data, format: .csv)
        #expect(read.rows == sheet.rows)
    }

    /// Quoting is decided on scalars, as readers split: `\r\n`, and a comma, a quote or a semicolon
    /// followed by a combining mark, are single Swift characters, and such values were written bare (a row
    /// split in two, its second part an unguarded `=1+1`; a column too many).
    @Test func csvQuotesSeparatorsThatCombineIntoOneCharacter() throws {
        let values = ["line1\r\n=1+1", "a,\u{301}b", "x\"\u{301}y", "p;\u{301}q", "x\r\ny", "\u{301}, lead", "tail ,\u{301}"]
        let sheet = Sheet(name: "x", rows: [[.text("Value"), .text("Other")]] + values.map { [.text($0), .text("z")] })
        let data = SpreadsheetWriter.csv(sheet, byteOrderMark: false)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"line1\r\n=1+1\",z\r\n"))
        #expect(text.contains("\"x\"\"\u{301}y\",z\r\n"))
        let read = try SpreadsheetReader.read(data, format: .csv)
        #expect(read.rows == sheet.rows)
        // Python's csv module, a reader of its own, sees the same rows.
        let path = NSTemporaryDirectory() + "csv-\(UUID().uuidString).csv"
        try data.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let python = ChildProcess()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", "import csv, json, sys; print(json.dumps(list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))))", path]
        let output = Pipe()
        python.standardOutput = output
        try python.run()
        let json = output.fileHandleForReading.readDataToEndOfFile()
        python.waitUntilExit()
        let rows = try #require(try JSONSerialization.jsonObject(with: json) as? [[String]])
        #expect(rows == [["Value", "Other"]] + values.map { [$0, "z"] })
    }

    /// A carriage return is written as `&#13;`: written raw, XML parsing turned `\r\n` into `\n`, so
    /// re-importing an unchanged export changed the value. Tabs and line feeds stay raw and read back.
    @Test func xlsxKeepsCarriageReturnsTabsAndLineFeeds() throws {
        let texts = ["line1\r\nline2", "a\rb", "\r", "tab\there", "lf\nonly", "\r\n\r\n"]
        let data = try SpreadsheetWriter.xlsx([Sheet(name: "S", rows: [texts.map { .text($0) }])])
        #expect(try SpreadsheetReader.read(data).rows[0] == texts.map { .text($0) })
        let sheetXML = try Self.unzipped(data, "xl/worksheets/sheet1.xml")
        #expect(sheetXML.contains("line1&#13;\nline2"))
        #expect(!sheetXML.utf8.contains(UInt8(ascii: "\r")))
        #expect(sheetXML.contains("tab\there"))
    }

    /// One part of an archive, unzipped by Python's `zipfile` (not this module's reader).
    static func unzipped(_ archive: Data, _ part: String) throws -> String {
        let path = NSTemporaryDirectory() + "unzip-\(UUID().uuidString).xlsx"
        try archive.write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let python = ChildProcess()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = [
            "python3", "-c", "import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))",
            path, part,
        ]
        let output = Pipe()
        python.standardOutput = output
        try python.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        python.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// CSV injection: a value a spreadsheet program would run as a formula gets a `'` in front, a plain
    /// number does not, and reading removes exactly that quote, so every value reads back as written.
    @Test func csvQuotesFormulasAndReadsThemBack() throws {
        let cases: [(value: String, written: String)] = [
            ("=1+1", "'=1+1"),
            ("=HYPERLINK(\"http://x\",\"y\")", "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\""),
            ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
            ("@SUM(1)", "'@SUM(1)"),
            ("-2+3", "'-2+3"),
            ("--", "'--"),
            ("-", "'-"),
            ("+250 788 123 123", "'+250 788 123 123"),
            ("1e5", "1e5"),
            ("-1e5", "'-1e5"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
            ("'=already", "''=already"),
            ("'-5", "''-5"),
            ("''=twice", "'''=twice"),
            ("'", "'"),
            ("''x", "''x"),
            ("'plain", "'plain"),
            ("-5", "-5"),
            ("+250788123123", "+250788123123"),
            ("-0.5", "-0.5"),
            ("-.5", "-.5"),
            ("+1.", "+1."),
            ("-1.2.3", "'-1.2.3"),
            ("tel:+250788123123", "tel:+250788123123"),
            ("a=b", "a=b"),
        ]
        let sheet = Sheet(name: "x", rows: [[.text("Value"), .text("Other")]] + cases.map { [.text($0.value), .text("z")] })
        let data = SpreadsheetWriter.csv(sheet, byteOrderMark: false)
        let lines = String(decoding: data, as: UTF8.self).components(separatedBy: "\r\n")
        for (index, item) in cases.enumerated() {
            #expect(lines[index + 1] == item.written + ",z", "\(item.value.debugDescription)")
        }
        let read = try SpreadsheetReader.read(data, format: .csv)
        #expect(read.rows.count == sheet.rows.count)
        for (index, row) in sheet.rows.enumerated() where index < read.rows.count {
            #expect(read.rows[index] == row)
        }
        // Numbers and booleans are never quoted; a negative number stays a number.
        let typed = SpreadsheetWriter.csv(Sheet(name: "x", rows: [[.number(-5), .number(-0.25), .bool(true)]]), byteOrderMark: false)
        #expect(String(decoding: typed, as: UTF8.self) == "-5,-0.25,TRUE\r\n")
    }

    @Test func csvParsing() throws {
        let text = "\u{FEFF}a,b,c\r\n1,\"x,y\",\"he said \"\"hi\"\"\"\n\"multi\nline\",,last\n"
        let sheet = try CSVReader.read(Data(text.utf8))
        #expect(sheet.rows.count == 3)
        #expect(sheet.rows[0] == [.text("a"), .text("b"), .text("c")])
        #expect(sheet.rows[1] == [.text("1"), .text("x,y"), .text("he said \"hi\"")])
        #expect(sheet.rows[2] == [.text("multi\nline"), .empty, .text("last")])
        let semicolons = try CSVReader.read(Data("a;b\n1;2".utf8))
        #expect(semicolons.rows[1] == [.text("1"), .text("2")])
    }

    @Test func csvErrors() {
        #expect(throws: SpreadsheetError.corrupted(reason: "unterminated_quote")) { try CSVReader.read(Data("a,\"b\n".utf8)) }
        #expect(throws: SpreadsheetError.empty) { try CSVReader.read(Data("\u{FEFF}\n\n".utf8)) }
        #expect(throws: SpreadsheetError.fileTooLarge(limit: 4)) {
            try SpreadsheetReader.read(Data("a,b,c\n".utf8), limits: SpreadsheetLimits(maximumFileBytes: 4))
        }
    }

    @Test func xlsxErrors() throws {
        #expect(throws: SpreadsheetError.corrupted(reason: "not_a_zip_archive")) {
            try XLSXReader.read(Data([0x50, 0x4B, 0x03, 0x04, 1, 2, 3]))
        }
        let emptySheet = try SpreadsheetWriter.xlsx([Sheet(name: "S", rows: [])])
        #expect(throws: SpreadsheetError.empty) { try XLSXReader.read(emptySheet) }
        let many = Sheet(name: "S", rows: (0..<20).map { [.number(Double($0))] })
        #expect(throws: SpreadsheetError.tooLarge(what: "rows", limit: 10)) {
            try XLSXReader.read(try SpreadsheetWriter.xlsx([many]), limits: SpreadsheetLimits(maximumRows: 10))
        }
    }

    /// A number cell (`<v>` of a cell without `t`, or `t="n"`) holds a decimal number: optional sign, digits
    /// with an optional fraction, an optional exponent. Anything else, or one a double cannot hold, is text,
    /// as the same text in a CSV is: `NaN`, `1e309`, `45063,5` and `7&#10;` refused the whole file as
    /// corrupted, and `0x10` read as 16, `0x1p3` as 8 (Swift's `Double(String)` takes hex; audit 52, F3).
    @Test func numberCellsThatAreNoDecimalNumberAreText() throws {
        let values: [(value: String, cell: Cell)] = [
            ("12", .number(12)), (" -2.5e-3 ", .number(-0.0025)), ("+3", .number(3)), ("1E+16", .number(1e16)), (".5", .number(0.5)),
            ("7.", .number(7)), ("0", .number(0)), ("-0.0", .number(0)), ("1e-320", .number(Double("1e-320") ?? .nan)),
            ("NaN", .text("NaN")), ("nan", .text("nan")), ("inf", .text("inf")), ("-infinity", .text("-infinity")),
            ("1e309", .text("1e309")), ("1e-400", .text("1e-400")), ("45063,5", .text("45063,5")), ("7&#10;", .text("7\n")),
            ("0x10", .text("0x10")), ("0x1p3", .text("0x1p3")), ("1_000", .text("1_000")), ("1e", .text("1e")), (".", .text(".")),
            ("-", .text("-")), ("1.2.3", .text("1.2.3")), ("\u{0663}", .text("\u{0663}")), ("１２", .text("１２")),
            // A whole number longer than a double holds keeps every digit, as text (import audit: an ICCID
            // written as a number became another value), without its `+` and leading zeros, as Python's
            // int reads it; up to 15 significant digits it is a number.
            ("8925012345678901234", .text("8925012345678901234")), ("+0089250123456789012345", .text("89250123456789012345")),
            ("-1234567890123456", .text("-1234567890123456")), ("123456789012345", .number(123_456_789_012_345)),
            ("000000000000000000012", .number(12)), ("1234567890123456.0", .number(1_234_567_890_123_456)),
        ]
        var rows = ""
        for (index, entry) in values.enumerated() {
            rows += "<row r=\"\(index + 1)\"><c r=\"A\(index + 1)\"><v>\(entry.value)</v></c>"
            rows += "<c r=\"B\(index + 1)\" t=\"n\" s=\"1\"><v>\(entry.value)</v></c></row>"
        }
        let sheet = try XLSXReader.read(HostileXLSX.withSheetRows(rows))
        for (index, entry) in values.enumerated() {
            #expect(sheet[index, 0] == entry.cell, "\(entry.value)")
            // Styled as a date, the text is still text (and a number still a number, a date here).
            if case .text = entry.cell { #expect(sheet[index, 1] == entry.cell, "date-styled \(entry.value)") }
        }
    }

    @Test func dateFormatsAndSerials() {
        #expect(XLSXReader.isDateFormat("dd/mm/yyyy"))
        #expect(XLSXReader.isDateFormat("[$-409]h:mm AM/PM"))
        #expect(XLSXReader.isDateFormat("[mm]:ss"))
        #expect(XLSXReader.isDateFormat("[ss]"))
        #expect(!XLSXReader.isDateFormat("[Red]0.00"))
        #expect(!XLSXReader.isDateFormat("[>=100]0;0.0"))
        #expect(!XLSXReader.isDateFormat("0.00"))
        #expect(!XLSXReader.isDateFormat("General"))
        #expect(!XLSXReader.isDateFormat("\"day\" 0"))
        #expect(XLSXReader.date(fromSerial: 44092.65625) == Self.date("2020-09-18T15:45:00Z"))
        #expect(XLSXReader.date(fromSerial: 1) == Self.date("1900-01-01T00:00:00Z"))
        #expect(XLSXReader.date(fromSerial: 0, date1904: true) == Self.date("1904-01-01T00:00:00Z"))
        #expect(abs(XLSXReader.serial(of: Self.date("2020-09-18T15:45:00Z")) - 44092.65625) < 1e-9)
    }

    /// An ISO date cell (`t="d"`, as SheetJS writes dates) that names its offset (`Z`, `±hh:mm`, `±hhmm`)
    /// is that moment: the reader dropped what followed the clock time, so `10:30:00Z` and `10:30:00+05:00`
    /// were both the wall-clock time 10:30. Without an offset it is still a wall-clock time; a moment
    /// written back reads as itself.
    /// An ISO date cell of any year 0001–9999 is a date, read in the proleptic Gregorian calendar as field
    /// values are (`0001-01-01` was text, and so read with the current time of day filled in, where
    /// `2023-05-17` was a date at 00:00), and written back as the same day; a space or `t` may part date and
    /// time, and `±hh` is an offset, as in a CSV (found by the dates audit).
    @Test func isoDateCellsOfEveryYearAndSpelling() throws {
        let midnight = Date(timeIntervalSince1970: -62_135_596_800)  // 0001-01-01T00:00:00Z, proleptic
        #expect(ISODateCell.cell("0001-01-01") == .date(midnight))
        // A moment within two days of either end, where a zone can move its day out of the years, is text.
        #expect(ISODateCell.cell("0001-01-01T00:00:00Z") == nil)
        #expect(ISODateCell.cell("0001-01-03T00:00:00Z") == .instant(midnight.addingTimeInterval(2 * 86_400)))
        #expect(ISODateCell.text(instant: midnight) == "0001-01-01T00:00:00Z")
        #expect(ISODateCell.cell("1500-03-01") == .date(Date(timeIntervalSince1970: -14_826_672_000)))
        #expect(ISODateCell.cell("2023-05-17 10:30:00-08") == .instant(Self.date("2023-05-17T18:30:00Z")))
        #expect(ISODateCell.cell("2023-05-17t10:30:00z") == .instant(Self.date("2023-05-17T10:30:00Z")))
        #expect(ISODateCell.cell("0000-12-31") == nil)
    }

    @Test func isoDateCellsKeepTheirOffset() throws {
        let values = [
            "2023-05-17T10:30:00Z", "2023-05-17T10:30:00+05:00", "2023-05-17T10:30:00+0530", "2023-05-17T10:30:00-03:30",
            "2023-05-17T10:30Z", "2023-05-17T10:30:00", "2023-05-17", "2023-05-17T10:30:00.250Z",
        ]
        let cells = values.enumerated().map { "<c r=\"\(HostileXLSX.column($0.offset))1\" t=\"d\"><v>\($0.element)</v></c>" }
        let sheet = try XLSXReader.read(HostileXLSX.withSheetRows("<row r=\"1\">\(cells.joined())</row>"))
        #expect(Array(sheet.rows[0].prefix(7)) == [
            .instant(Self.date("2023-05-17T10:30:00Z")), .instant(Self.date("2023-05-17T05:30:00Z")),
            .instant(Self.date("2023-05-17T05:00:00Z")), .instant(Self.date("2023-05-17T14:00:00Z")),
            .instant(Self.date("2023-05-17T10:30:00Z")), .date(Self.date("2023-05-17T10:30:00Z")), .date(Self.date("2023-05-17T00:00:00Z")),
        ])
        guard case .instant(let fractional) = sheet[0, 7] else {
            Issue.record("\(sheet[0, 7]) is no instant")
            return
        }
        #expect(abs(fractional.timeIntervalSince(Self.date("2023-05-17T10:30:00Z")) - 0.25) < 1e-6)
        #expect(ISODateCell.text(instant: fractional) == "2023-05-17T10:30:00.25Z")
        let written = Sheet(name: "S", rows: sheet.rows)
        #expect(try SpreadsheetReader.read(try SpreadsheetWriter.xlsx([written])).rows == sheet.rows)
        #expect(try SpreadsheetReader.read(SpreadsheetWriter.csv(written)).rows[0][0] == .text("2023-05-17T10:30:00Z"))
    }

    /// SpreadsheetML under a prefix (as some producers write it), text in CDATA sections, and character
    /// and entity references: read as the same cells.
    @Test func readsPrefixedMarkupCDATAAndReferences() throws {
        let main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
        let parts: [String: String] = [
            "[Content_Types].xml": "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>",
            "xl/workbook.xml": """
                <?xml version="1.0"?><x:workbook xmlns:x="\(main)" \
                xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><x:sheets>\
                <x:sheet name="P&amp;L &amp;#38; &#233;" sheetId="1" r:id="rId1"/></x:sheets></x:workbook>
                """,
            "xl/_rels/workbook.xml.rels": """
                <?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
                <Relationship Id="rId1" Type="x" Target="worksheets/sheet1.xml"/></Relationships>
                """,
            "xl/sharedStrings.xml": """
                <?xml version="1.0"?><x:sst xmlns:x="\(main)"><x:si><x:t><![CDATA[a <b> & c]]></x:t></x:si>\
                <x:si><x:t>caf&#233; &lt;&amp;&gt; &#x1F600;</x:t></x:si></x:sst>
                """,
            "xl/worksheets/sheet1.xml": """
                <?xml version="1.0"?><x:worksheet xmlns:x="\(main)"><x:sheetData>\
                <x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="s"><x:v>1</x:v></x:c><x:c r="C1"><x:v>2.5</x:v></x:c></x:row>\
                </x:sheetData></x:worksheet>
                """,
        ]
        let sheet = try XLSXReader.read(try ZIPHelper.archive(parts))
        #expect(sheet.name == "P&L &#38; é")
        #expect(sheet.rows == [[.text("a <b> & c"), .text("café <&> 😀"), .number(2.5)]])
    }

    /// A workbook as Excel writes it: shared strings (one rich), date and time styles, sparse cells, a
    /// second sheet.
    @Test func readsHandWrittenWorkbook() throws {
        let parts: [String: String] = [
            "[Content_Types].xml": "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>",
            "xl/workbook.xml": """
                <?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
                xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>\
                <sheet name="First" sheetId="1" r:id="rId7"/><sheet name="Second" sheetId="2" r:id="rId8"/></sheets></workbook>
                """,
            "xl/_rels/workbook.xml.rels": """
                <?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
                <Relationship Id="rId7" Type="x" Target="worksheets/data.xml"/><Relationship Id="rId8" Type="x" Target="worksheets/other.xml"/></Relationships>
                """,
            "xl/sharedStrings.xml": """
                <?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
                <si><t>Name</t></si><si><r><t>Jo</t></r><r><t xml:space="preserve">hn </t></r><rPh><t>ジョン</t></rPh></si><si><t>When</t></si></sst>
                """,
            "xl/styles.xml": """
                <?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">\
                <numFmts><numFmt numFmtId="170" formatCode="d\\-mmm\\-yy"/></numFmts>\
                <cellXfs><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="170"/><xf numFmtId="2"/><xf numFmtId="21"/></cellXfs></styleSheet>
                """,
            "xl/worksheets/data.xml": """
                <?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>\
                <row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="s"><v>2</v></c></row>\
                <row r="3"><c r="A3" t="s"><v>1</v></c><c r="B3" s="3"><v>1.5</v></c><c r="C3" s="1"><v>44092</v></c><c r="D3" s="2"><v>44093.5</v></c>\
                <c r="E3" t="inlineStr"><is><t>inline</t></is></c><c r="F3" t="str"><f>A1</f><v>Name</v></c><c r="G3" t="e"><v>#N/A</v></c><c r="H3" t="b"><v>1</v></c>\
                <c r="I3" s="4"><v>0.65659722</v></c><c r="J3" s="1"><v>0</v></c><c r="K3" s="4"><v>1.25</v></c></row>\
                </sheetData></worksheet>
                """,
            "xl/worksheets/other.xml": "<?xml version=\"1.0\"?><worksheet/>",
        ]
        let archive = try ZIPHelper.archive(parts)
        let sheet = try XLSXReader.read(archive)
        #expect(sheet.name == "First")
        #expect(sheet.rows[0] == [.text("Name"), .empty, .text("When")])
        #expect(sheet.rows[1] == [])
        #expect(sheet.rows[2] == [
            .text("John "), .number(1.5), .date(Self.date("2020-09-18T00:00:00Z")), .date(Self.date("2020-09-19T12:00:00Z")),
            .text("inline"), .text("Name"), .text("#N/A"), .bool(true),
            // Times of day (a fraction of a day, no date) as their text, not 1899-12-31 at that time; a
            // serial of a day or more under a time format is a date and time.
            .text("15:45:30"), .text("00:00:00"), .date(Self.date("1900-01-01T06:00:00Z")),
        ])
    }

    /// The sheet read is the one the workbook opens on (its first view's `activeTab`), normally the first.
    @Test(arguments: [(nil, "First"), ("0", "First"), ("1", "Second"), ("7", "First")] as [(String?, String)])
    func readsTheActiveSheet(activeTab: String?, expected: String) throws {
        let view = activeTab.map { "<bookViews><workbookView activeTab=\"\($0)\"/></bookViews>" } ?? "<bookViews><workbookView/></bookViews>"
        let parts: [String: String] = [
            "[Content_Types].xml": "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>",
            "xl/workbook.xml": """
                <?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" \
                xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">\(view)<sheets>\
                <sheet name="First" sheetId="1" r:id="rId1"/><sheet name="Second" sheetId="2" r:id="rId2"/></sheets></workbook>
                """,
            "xl/_rels/workbook.xml.rels": """
                <?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
                <Relationship Id="rId1" Type="x" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="x" Target="worksheets/sheet2.xml"/></Relationships>
                """,
            "xl/worksheets/sheet1.xml": """
                <?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>\
                <row r="1"><c r="A1" t="inlineStr"><is><t>in first</t></is></c></row></sheetData></worksheet>
                """,
            "xl/worksheets/sheet2.xml": """
                <?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>\
                <row r="1"><c r="A1" t="inlineStr"><is><t>in second</t></is></c></row></sheetData></worksheet>
                """,
        ]
        let sheet = try XLSXReader.read(try ZIPHelper.archive(parts))
        #expect(sheet.name == expected)
        #expect(sheet.rows == [[.text(expected == "First" ? "in first" : "in second")]])
    }

    @Test func writesFileAtomically() throws {
        let path = NSTemporaryDirectory() + "sheet-\(UUID().uuidString).xlsx"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try SpreadsheetWriter.write(Sheet(name: "A", rows: [[.text("x")]]), format: .xlsx, to: path)
        try SpreadsheetWriter.write(Sheet(name: "A", rows: [[.text("y")]]), format: .xlsx, to: path)
        #expect(try SpreadsheetReader.read(path: path).rows == [[.text("y")]])
    }

    /// A sheet written row by row (several flushes of the buffer) is the sheet written whole, in both
    /// formats; nothing but the file is left beside it, and a writer given up leaves nothing.
    @Test(arguments: [SpreadsheetFormat.csv, .xlsx])
    func writesRowByRowAsWhole(format: SpreadsheetFormat) throws {
        let directory = NSTemporaryDirectory() + "rows-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let note = String(repeating: "é,\"\r\n", count: 150)
        var rows: [[Cell]] = [[.text("Name"), .text("Note"), .text("Age"), .text("Seen")]]
        for index in 0..<3_000 {
            let seen: Cell = index % 3 == 0 ? .empty : .bool(index % 2 == 0)
            rows.append([.text("p\(index)"), .text(note), .number(Double(index)), seen])
        }
        let path = directory + "/out." + format.rawValue
        let writer = try SpreadsheetFileWriter(path: path, format: format, sheetName: "Contacts 1", owner: nil)
        for row in rows { try writer.append(row) }
        try writer.finish()
        switch format {
        case .csv:
            // The same bytes (typed cells read back from CSV as text).
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == SpreadsheetWriter.csv(Sheet(name: "Contacts 1", rows: rows)))
        case .xlsx:
            // Read as the same workbook written whole reads (a row's empty cells at its end are not read).
            let read = try SpreadsheetReader.read(path: path)
            let whole = try SpreadsheetReader.read(try SpreadsheetWriter.xlsx([Sheet(name: "Contacts 1", rows: rows)]))
            #expect(read.name == "Contacts 1")
            #expect(read.rows.count == rows.count)
            #expect(read.rows == whole.rows)
            #expect(read.rows[1] == rows[1].dropLast())
            #expect(read.rows[2] == rows[2])
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["out." + format.rawValue])
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)

        do {
            let abandoned = try SpreadsheetFileWriter(path: directory + "/gone." + format.rawValue, format: format, sheetName: "S", owner: nil)
            try abandoned.append([.text("x")])
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["out." + format.rawValue])
    }
}
