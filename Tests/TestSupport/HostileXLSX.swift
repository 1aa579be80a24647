// ContactLedger — shared test support.
import Foundation

/// Valid generated XLSX workbooks, and hostile ones made from them: ZIP bombs, entity expansion, huge
/// cell references, missing parts, broken compressed data. Shared by the reader's fuzzer and the
/// daemon's import tests; each hostile file is small on the wire.
public enum HostileXLSX {
    static let mainNamespace = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    static let relationshipsNamespace = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

    /// The header row of every generated workbook.
    public static let header = ["URN:Tel", "Name", "Field: Age", "Field: Joined", "Note"]

    /// The parts of a valid workbook: the header row, then `rows` contact rows mixing shared strings,
    /// inline strings, numbers, date-styled serials, ISO dates, booleans, errors and formula results,
    /// sometimes without `r` references, with a rich-text shared string and a custom date format.
    public static func validParts(rows: Int, using random: inout some RandomNumberGenerator) -> [String: String] {
        var strings: [String] = []
        func shared(_ text: String) -> Int {
            if let index = strings.firstIndex(of: text) { return index }
            strings.append(text)
            return strings.count - 1
        }
        let names = ["Ann", "Zoë Ünal", "İsmail", "日本 太郎", "Ben <&> \"Q\"", "O'Brien", "  spaced  ", "Émile"]
        var sheetRows = "<row r=\"1\">"
        for (column, title) in Self.header.enumerated() {
            sheetRows += "<c r=\"\(Self.column(column))1\" t=\"s\"><v>\(shared(title))</v></c>"
        }
        sheetRows += "</row>"
        for index in 0..<rows {
            let number = index + 2
            let withReferences = Bool.random(using: &random)
            sheetRows += withReferences ? "<row r=\"\(number)\">" : "<row>"
            var cells: [String] = []
            let phone = 250_788_000_000 + index
            cells.append(Bool.random(using: &random) ? "><v>\(phone)</v>" : "t=\"s\"><v>\(shared("+\(phone)"))</v>")
            cells.append("t=\"s\"><v>\(shared(names[Int.random(in: 0..<names.count, using: &random)]))</v>")
            cells.append("><v>\(Int.random(in: 0...120, using: &random))</v>")
            switch Int.random(in: 0..<3, using: &random) {
            case 0: cells.append("s=\"1\"><v>\(Int.random(in: 1...60_000, using: &random))</v>")
            case 1: cells.append("s=\"2\"><v>\(Double(Int.random(in: 1...6_000_000, using: &random)) / 100)</v>")
            default: cells.append("t=\"d\"><v>2021-0\(Int.random(in: 1...9, using: &random))-1\(Int.random(in: 0...9, using: &random))T10:30:00</v>")
            }
            switch Int.random(in: 0..<5, using: &random) {
            case 0: cells.append("t=\"inlineStr\"><is><t xml:space=\"preserve\">note \(index) &amp; more</t></is>")
            case 1: cells.append("t=\"b\"><v>\(Int.random(in: 0...1, using: &random))</v>")
            case 2: cells.append("t=\"e\"><v>#N/A</v>")
            case 3: cells.append("t=\"str\"><f>B\(number)</f><v>formula</v>")
            default: cells.append("t=\"s\"><v>1</v>")  // "Name", the rich string's neighbour
            }
            for (column, cell) in cells.enumerated() {
                let attributes = withReferences ? "<c r=\"\(Self.column(column))\(number)\"" : "<c"
                sheetRows += attributes + (cell.hasPrefix(">") ? "" : " ") + cell + "</c>"
            }
            sheetRows += "</row>"
        }
        _ = shared("rich")
        let sharedXML = strings.map { text -> String in
            text == "rich" ? "<si><r><t>ri</t></r><r><t>ch</t></r><rPh><t>リッチ</t></rPh></si>" : "<si><t xml:space=\"preserve\">\(Self.escape(text))</t></si>"
        }.joined()
        return [
            "[Content_Types].xml": """
                <?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>
                """,
            "xl/workbook.xml": """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="\(Self.mainNamespace)" \
                xmlns:r="\(Self.relationshipsNamespace)"><workbookPr/><sheets><sheet name="Contacts" sheetId="1" r:id="rId1"/>\
                </sheets></workbook>
                """,
            "xl/_rels/workbook.xml.rels": """
                <?xml version="1.0" encoding="UTF-8"?>\
                <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">\
                <Relationship Id="rId1" Type="worksheet" Target="worksheets/sheet1.xml"/></Relationships>
                """,
            "xl/sharedStrings.xml": """
                <?xml version="1.0" encoding="UTF-8"?>\
                <sst xmlns="\(Self.mainNamespace)" count="\(strings.count)" uniqueCount="\(strings.count)">\(sharedXML)</sst>
                """,
            "xl/styles.xml": """
                <?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="\(Self.mainNamespace)"><numFmts count="1">\
                <numFmt numFmtId="170" formatCode="dd/mm/yyyy\\ hh:mm"/></numFmts><cellXfs count="3"><xf numFmtId="0"/>\
                <xf numFmtId="14"/><xf numFmtId="170"/></cellXfs></styleSheet>
                """,
            "xl/worksheets/sheet1.xml": Self.worksheet(sheetRows),
        ]
    }

    /// A worksheet part around `rows` (the `row` elements).
    public static func worksheet(_ rows: String) -> String {
        """
        <?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="\(Self.mainNamespace)" \
        xmlns:r="\(Self.relationshipsNamespace)"><dimension ref="A1"/><sheetData>\(rows)</sheetData></worksheet>
        """
    }

    /// `0` → `A`, `27` → `AB`.
    public static func column(_ index: Int) -> String {
        var index = index
        var name = ""
        repeat {
            name = String(UnicodeScalar(UInt8(65 + index % 26))) + name
            index = index / 26 - 1
        } while index >= 0
        return name
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    /// A small valid workbook (seeded, so every call gives the same parts).
    public static func smallParts(rows: Int = 3) -> [String: String] {
        var random = SeededGenerator(seed: 7)
        return Self.validParts(rows: rows, using: &random)
    }

    /// `parts` zipped (deflated).
    public static func archive(_ parts: [String: String]) -> Data {
        TestZIP(parts: parts).data()
    }

    /// An inline-string cell at `reference` holding `text` (written as is: escape it first if it needs it).
    public static func inlineCell(_ reference: String, _ text: String) -> String {
        "<c r=\"\(reference)\" t=\"inlineStr\"><is><t>\(text)</t></is></c>"
    }

    /// A small valid workbook whose worksheet holds `rows` (the `row` elements) instead.
    public static func withSheetRows(_ rows: String) -> Data {
        var parts = Self.smallParts()
        parts["xl/worksheets/sheet1.xml"] = Self.worksheet(rows)
        return Self.archive(parts)
    }

    // MARK: - Hostile files

    /// Entity expansion ("billion laughs"): ten levels of ten references each, in the shared strings.
    public static func billionLaughs() -> Data {
        var dtd = "<!DOCTYPE sst [<!ENTITY lol \"lol\">"
        dtd += "<!ENTITY lol1 \"" + String(repeating: "&lol;", count: 10) + "\">"
        for level in 2...9 { dtd += "<!ENTITY lol\(level) \"" + String(repeating: "&lol\(level - 1);", count: 10) + "\">" }
        dtd += "]>"
        var parts = Self.smallParts()
        parts["xl/sharedStrings.xml"] = "<?xml version=\"1.0\"?>\(dtd)<sst xmlns=\"\(Self.mainNamespace)\"><si><t>&lol9;</t></si></sst>"
        return Self.archive(parts)
    }

    /// An external entity naming a local file (XXE), used in a cell.
    public static func externalEntity(path: String = "/etc/passwd") -> Data {
        var parts = Self.smallParts()
        parts["xl/worksheets/sheet1.xml"] = """
            <?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file://\(path)">]>\
            <worksheet xmlns="\(Self.mainNamespace)"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&xxe;</t></is></c>\
            </row></sheetData></worksheet>
            """
        return Self.archive(parts)
    }

    /// A ZIP bomb: the worksheet is `inflatedBytes` zero bytes, deflated, while both headers claim
    /// `declaredSize` bytes (and a CRC-32 no reader should get as far as checking).
    public static func zipBomb(inflatedBytes: Int, declaredSize: UInt32 = 1024) -> Data {
        var parts = Self.smallParts()
        parts["xl/worksheets/sheet1.xml"] = nil
        var archive = TestZIP(parts: parts)
        let stream = TestZIP.deflatedZeros(count: inflatedBytes)
        archive.entries.append(TestZIP.Entry("xl/worksheets/sheet1.xml", [], method: .rawDeflate(stream), declaredSize: declaredSize, declaredCRC: 0))
        return archive.data()
    }

    /// The small workbook, valid, with `mebibytes` MiB of spaces before its worksheet's closing tag: a
    /// file of a few MiB whose worksheet inflates to hundreds.
    public static func paddedWorksheet(mebibytes: Int) -> Data {
        var parts = Self.smallParts()
        let text = parts.removeValue(forKey: "xl/worksheets/sheet1.xml") ?? ""
        let closing = "</worksheet>"
        let before = Array(text.utf8.dropLast(closing.utf8.count))
        let after = Array(closing.utf8)
        let count = mebibytes << 20
        var archive = TestZIP(parts: parts)
        archive.entries.append(
            TestZIP.Entry(
                "xl/worksheets/sheet1.xml", [], method: .rawDeflate(TestZIP.deflate(before, run: 0x20, count: count, after)),
                declaredSize: UInt32(before.count + count + after.count),
                declaredCRC: TestZIP.crc32(before, run: 0x20, count: count, after)
            )
        )
        return archive.data()
    }

    /// `rows` rows whose one cell sits in the last column (`XFD`): tiny XML, a huge padded grid.
    public static func cellPaddingBomb(rows: Int) -> Data {
        Self.withSheetRows((1...rows).map { "<row r=\"\($0)\"><c r=\"XFD\($0)\"><v>1</v></c></row>" }.joined())
    }

    /// A cell at `reference` (e.g. `XFD1048577`, `AAAAAA1`) after a valid header row.
    public static func cellReference(_ reference: String) -> Data {
        Self.withSheetRows("<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>URN:Tel</t></is></c></row><row><c r=\"\(reference)\"><v>1</v></c></row>")
    }

    /// The small workbook without `path`.
    public static func missing(_ path: String) -> Data {
        var parts = Self.smallParts()
        parts[path] = nil
        return Self.archive(parts)
    }

    /// A shared-string cell whose index is `index` (`-1`, `99999999`, `abc`…).
    public static func sharedStringIndex(_ index: String) -> Data {
        Self.withSheetRows("<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>\(index)</v></c></row>")
    }

    /// A cell nested `depth` unknown elements deep.
    public static func deepNesting(depth: Int) -> Data {
        Self.withSheetRows(
            "<row r=\"1\"><c r=\"A1\"><v>1</v></c>" + String(repeating: "<x>", count: depth) + String(repeating: "</x>", count: depth) + "</row>"
        )
    }

    /// One element with `count` attributes (libxml2 checks them for duplicates in quadratic time).
    public static func manyAttributes(count: Int) -> Data {
        let attributes = (0..<count).map { "a\($0)=\"1\"" }.joined(separator: " ")
        return Self.withSheetRows("<row r=\"1\" \(attributes)><c r=\"A1\"><v>1</v></c></row>")
    }

    /// The small workbook (`rows` rows) with its worksheet's entry changed by `change`.
    static func changingWorksheetEntry(rows: Int = 3, _ change: (inout TestZIP.Entry) -> Void) -> Data {
        var archive = TestZIP(parts: Self.smallParts(rows: rows))
        if let index = archive.entries.firstIndex(where: { $0.name == "xl/worksheets/sheet1.xml" }) { change(&archive.entries[index]) }
        return archive.data()
    }

    /// A worksheet with bytes that are not UTF-8 (`C3 28 FF`) inside a cell.
    public static func invalidUTF8() -> Data {
        Self.changingWorksheetEntry { entry in
            let text = Self.worksheet("<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>@@@</t></is></c></row>")
            let pieces = text.components(separatedBy: "@@@")
            entry.bytes = Array(pieces[0].utf8) + [0xC3, 0x28, 0xFF] + Array(pieces[pieces.count - 1].utf8)
        }
    }

    /// The worksheet's deflate stream cut in half (headers consistent with the cut stream).
    public static func truncatedDeflate() -> Data {
        Self.changingWorksheetEntry(rows: 40) { entry in
            let stream = TestZIP.deflate(entry.bytes)
            entry.method = .rawDeflate(Array(stream.prefix(stream.count / 2)))
        }
    }

    /// A stored deflate block announcing 65535 bytes, followed by too few.
    public static func unfinishedStoredBlock() -> Data {
        Self.changingWorksheetEntry { $0.method = .rawDeflate([0x00, 0xFF, 0xFF, 0x00, 0x00] + Array("<?xml version".utf8)) }
    }

    /// The worksheet written as a Unix symlink entry.
    public static func symlinkWorksheet() -> Data {
        Self.changingWorksheetEntry { $0.externalAttributes = 0o120777 << 16 }
    }

    /// The worksheet with a CRC-32 that does not match its bytes.
    public static func wrongChecksum() -> Data {
        Self.changingWorksheetEntry { $0.declaredCRC = TestZIP.crc32($0.bytes) ^ 0x5A5A }
    }

    /// The worksheet compressed with an unknown method (99).
    public static func unknownCompression() -> Data {
        Self.changingWorksheetEntry { $0.method = .other(99) }
    }

    /// The worksheet declared in an encoding other than UTF-8 or UTF-16 (`UTF-7`, where `+ADw-` is `<`).
    public static func foreignEncoding() -> Data {
        var parts = Self.smallParts()
        parts["xl/worksheets/sheet1.xml"] = "<?xml version=\"1.0\" encoding=\"UTF-7\"?>+ADw-worksheet/+AD4-"
        return Self.archive(parts)
    }

    /// The small workbook with its worksheet in UTF-16LE with a byte order mark (valid).
    public static func utf16Worksheet() -> Data {
        Self.changingWorksheetEntry { entry in
            let text = String(decoding: entry.bytes, as: UTF8.self).replacingOccurrences(of: "encoding=\"UTF-8\"", with: "encoding=\"UTF-16\"")
            entry.bytes = [0xFF, 0xFE] + text.utf16.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] }
        }
    }
}
