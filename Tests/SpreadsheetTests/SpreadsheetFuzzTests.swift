// ContactLedger — spreadsheet tests.
import Foundation
import Spreadsheet
import TestSupport
import Testing

/// A seeded fuzzer for the XLSX and CSV readers: valid generated workbooks, mutated many ways (byte
/// flips, truncation, garbled XML, missing parts, ZIP bombs, entity expansion, huge references…).
/// Every execution must end, quickly, in a sheet that respects the limits or in a ``SpreadsheetError``
/// from the list below, the one its mutation calls for where it calls for one.
/// `CONTACTLEDGER_FUZZ_SEED` replays a run (the seed is printed).
@Suite struct SpreadsheetFuzzTests {
    /// Small limits, so that bombs and oversized parts cost little.
    static let limits = SpreadsheetLimits(
        maximumFileBytes: 2 << 20, maximumPartBytes: 1 << 20, maximumRows: 5_000, maximumColumns: 16_384, maximumCells: 20_000
    )

    /// Every reason a reader may give for a corrupted file: each names what is wrong.
    static let corruptedReasons: Set<String> = [
        "not_a_zip_archive", "no_workbook", "no_worksheet", "malformed_workbook", "malformed_relationships",
        "malformed_shared_strings", "malformed_styles", "malformed_worksheet", "bad_cell_reference", "bad_shared_string_index",
        "part_checksum_mismatch", "unsupported_compression", "part_not_a_file", "corrupted_part_data",
        "bad_part_header", "truncated_part", "encrypted_part", "part_size_mismatch",
        "unterminated_quote", "binary_content", "unknown_encoding",
    ]
    /// Every reason the XML guard may give for refusing a part.
    static let refusedReasons: Set<String> = [
        "dtd_not_allowed", "unsupported_encoding", "invalid_utf8", "too_many_attributes", "nesting_too_deep",
    ]
    /// Every limit a reader may report as exceeded.
    static let limitNames: Set<String> = ["bytes in one part", "rows", "row number", "columns", "cells", "shared strings"]

    /// What an execution may end in.
    enum Expectation {
        /// A sheet.
        case sheet
        /// One of these errors.
        case error(Set<SpreadsheetError>)
        /// A sheet, or any error of the lists above.
        case anything
    }

    /// How one execution ended.
    enum Outcome: Hashable, Comparable {
        case sheet
        case error(String)
    }

    // MARK: - XLSX

    /// The mutations, each run in turn.
    enum Mutation: String, CaseIterable {
        case valid, byteFlips, truncation, garbledPart, oversizedPart, missingWorkbook, missingWorksheet, missingSharedStrings
        case missingRelationships, bogusSharedIndex, hugeReference, badReference, cellPadding, deepNesting, manyAttributes
        case billionLaughs, externalEntity, invalidUTF8, zipBomb, honestBomb, truncatedDeflate, unfinishedStoredBlock
        case wrongChecksum, unknownCompression, symlinkPart, foreignEncoding, utf16Worksheet, hostileValues, tooManySharedStrings
    }

    /// Mutations whose files cost a megabyte or more to make: run in one cycle of ten.
    static let costly: Set<Mutation> = [.oversizedPart, .zipBomb, .honestBomb, .tooManySharedStrings, .cellPadding]
    /// Random mutations, which find new things, run several times a cycle; fixed hostile files once.
    static let weights: [Mutation: Int] = [.byteFlips: 8, .garbledPart: 8, .truncation: 2, .hostileValues: 2, .bogusSharedIndex: 2]

    /// The mutations of cycle `cycle`, in order.
    static func cycle(_ cycle: Int) -> [Mutation] {
        Mutation.allCases.flatMap { mutation -> [Mutation] in
            if Self.costly.contains(mutation), cycle % 10 != 0 { return [] }
            return Array(repeating: mutation, count: Self.weights[mutation] ?? 1)
        }
    }

    @Test(.timeLimit(.minutes(5))) func xlsxReaderSurvivesMutatedWorkbooks() throws {
        let seed = SeededGenerator.announcedSeed("xlsx fuzz")
        var random = SeededGenerator(seed: seed)
        let executions = 3_000
        // A pool of valid workbooks to mutate.
        let pool = (0..<12).map { _ in HostileXLSX.validParts(rows: Int.random(in: 1...30, using: &random), using: &random) }
        var tally: [Mutation: [Outcome: Int]] = [:]
        var slowest = (seconds: 0.0, what: "")
        let watchdog = Watchdog(label: "xlsx fuzz [seed \(seed)]")
        defer { watchdog.stop() }
        let started = Date()
        var schedule: [Mutation] = []
        var cycles = 0
        var timeByMutation: [Mutation: Double] = [:]
        for index in 0..<executions {
            if schedule.isEmpty {
                schedule = Self.cycle(cycles).reversed()
                cycles += 1
            }
            let mutation = schedule.removeLast()
            let made = Date()
            let parts = pool[Int.random(in: 0..<pool.count, using: &random)]
            let (data, expectation) = Self.mutate(mutation, parts, using: &random)
            let what = "execution \(index) \(mutation) [seed \(seed)]"
            watchdog.begin(what)
            let clock = Date()
            let result = Result { () throws(SpreadsheetError) -> Sheet in try SpreadsheetReader.read(data, format: .xlsx, limits: Self.limits) }
            let seconds = Date().timeIntervalSince(clock)
            watchdog.end()
            if seconds > slowest.seconds { slowest = (seconds, what) }
            let outcome = Self.check(result, expectation, what)
            tally[mutation, default: [:]][outcome, default: 0] += 1
            timeByMutation[mutation, default: 0] += Date().timeIntervalSince(made)
        }
        let elapsed = Date().timeIntervalSince(started)
        let rows = tally.map { mutation, outcomes in ("\(mutation.rawValue) (\(String(format: "%.2f", timeByMutation[mutation] ?? 0)) s)", outcomes) }
        Self.report("xlsx", rows, executions: executions, elapsed: elapsed, slowest: slowest)
        #expect(tally.values.reduce(0) { $0 + $1.values.reduce(0, +) } == executions)
        #expect(slowest.seconds < 2, "slowest execution took \(slowest.seconds) s: \(slowest.what)")
    }

    /// The bytes of one mutated workbook, and what reading them must give.
    static func mutate(_ mutation: Mutation, _ parts: [String: String], using random: inout SeededGenerator) -> (Data, Expectation) {
        let limits = Self.limits
        func corrupted(_ reasons: String...) -> Expectation { .error(Set(reasons.map { SpreadsheetError.corrupted(reason: $0) })) }
        func refused(_ reason: String) -> Expectation { .error([.refused(reason: reason)]) }
        func tooLarge(_ what: String, _ limit: Int) -> Expectation { .error([.tooLarge(what: what, limit: limit)]) }
        var parts = parts
        switch mutation {
        case .valid:
            return (TestZIP(parts: parts, method: Bool.random(using: &random) ? .stored : .deflated).data(), .sheet)
        case .byteFlips:
            var bytes = TestZIP(parts: parts, method: Bool.random(using: &random) ? .stored : .deflated).bytes()
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            }
            return (Data(bytes), .anything)
        case .truncation:
            let bytes = TestZIP(parts: parts).bytes()
            return (Data(bytes.prefix(Int.random(in: 0..<bytes.count, using: &random))), .anything)
        case .garbledPart:
            let path = parts.keys.sorted()[Int.random(in: 0..<parts.count, using: &random)]
            var archive = TestZIP(parts: parts)
            if let index = archive.entries.firstIndex(where: { $0.name == path }) {
                archive.entries[index].bytes = Self.garble(archive.entries[index].bytes, using: &random)
            }
            return (archive.data(), .anything)
        case .oversizedPart:
            let path = ["xl/workbook.xml", "xl/sharedStrings.xml", "xl/styles.xml", "xl/worksheets/sheet1.xml"][Int.random(in: 0..<4, using: &random)]
            parts[path, default: ""] += String(repeating: " ", count: limits.maximumPartBytes)
            return (HostileXLSX.archive(parts), tooLarge("bytes in one part", limits.maximumPartBytes))
        case .missingWorkbook:
            parts["xl/workbook.xml"] = nil
            return (HostileXLSX.archive(parts), corrupted("no_workbook"))
        case .missingWorksheet:
            parts["xl/worksheets/sheet1.xml"] = nil
            return (HostileXLSX.archive(parts), corrupted("no_worksheet"))
        case .missingSharedStrings:
            parts["xl/sharedStrings.xml"] = nil
            return (HostileXLSX.archive(parts), corrupted("bad_shared_string_index"))
        case .missingRelationships:
            // Without relationships the reader falls back to xl/worksheets/sheet1.xml, which is there.
            parts["xl/_rels/workbook.xml.rels"] = nil
            return (HostileXLSX.archive(parts), .sheet)
        case .bogusSharedIndex:
            // No index at all is an empty cell, not a bogus one.
            let indexes = ["-1", "99999999", "99999999999999999999999", "abc", "1.5", " 7 x", "0x10", "\u{0663}"]
            let index = indexes[Int.random(in: 0..<indexes.count, using: &random)]
            return (HostileXLSX.sharedStringIndex(index), corrupted("bad_shared_string_index"))
        case .hugeReference:
            let cases: [(String, Expectation)] = [
                ("XFD1048577", tooLarge("row number", limits.maximumRowNumber)),
                // Far down, but only the second row with a value.
                ("A\(limits.maximumRows + 1)", .sheet),
                ("A99999999999999999999999", tooLarge("row number", limits.maximumRowNumber)),
                ("XFE1", tooLarge("columns", limits.maximumColumns)),
                ("AAAAAA1", tooLarge("columns", limits.maximumColumns)),
                (String(repeating: "Z", count: 40) + "2", tooLarge("columns", limits.maximumColumns)),
                ("$XFD$2", .sheet),  // the last column is a column
            ]
            let (reference, expectation) = cases[Int.random(in: 0..<cases.count, using: &random)]
            return (HostileXLSX.cellReference(reference), expectation)
        case .badReference:
            let reference = ["A0", "1A", "A1B2", "", "A-1", "Ä1", "A 1", "$$", "A1.5", "A\u{0661}"][Int.random(in: 0..<10, using: &random)]
            return (HostileXLSX.cellReference(reference), corrupted("bad_cell_reference"))
        case .cellPadding:
            return (HostileXLSX.cellPaddingBomb(rows: Int.random(in: 2...40, using: &random)), tooLarge("cells", limits.maximumCells))
        case .deepNesting:
            return (HostileXLSX.deepNesting(depth: Int.random(in: 300...3_000, using: &random)), refused("nesting_too_deep"))
        case .manyAttributes:
            return (HostileXLSX.manyAttributes(count: Int.random(in: 101...1_500, using: &random)), refused("too_many_attributes"))
        case .billionLaughs:
            return (HostileXLSX.billionLaughs(), refused("dtd_not_allowed"))
        case .externalEntity:
            return (HostileXLSX.externalEntity(), refused("dtd_not_allowed"))
        case .invalidUTF8:
            return (HostileXLSX.invalidUTF8(), refused("invalid_utf8"))
        case .zipBomb:
            // The headers claim 1 KiB: inflating stops there.
            let inflated = limits.maximumPartBytes * Int.random(in: 2...3, using: &random)
            return (HostileXLSX.zipBomb(inflatedBytes: inflated), corrupted("part_size_mismatch"))
        case .honestBomb:
            let inflated = limits.maximumPartBytes * 2
            return (HostileXLSX.zipBomb(inflatedBytes: inflated, declaredSize: UInt32(inflated)), tooLarge("bytes in one part", limits.maximumPartBytes))
        case .truncatedDeflate:
            return (HostileXLSX.truncatedDeflate(), corrupted("corrupted_part_data"))
        case .unfinishedStoredBlock:
            return (HostileXLSX.unfinishedStoredBlock(), corrupted("corrupted_part_data"))
        case .wrongChecksum:
            return (HostileXLSX.wrongChecksum(), corrupted("part_checksum_mismatch"))
        case .unknownCompression:
            return (HostileXLSX.unknownCompression(), corrupted("unsupported_compression"))
        case .symlinkPart:
            return (HostileXLSX.symlinkWorksheet(), corrupted("part_not_a_file"))
        case .foreignEncoding:
            return (HostileXLSX.foreignEncoding(), refused("unsupported_encoding"))
        case .utf16Worksheet:
            return (HostileXLSX.utf16Worksheet(), .sheet)
        case .hostileValues:
            let values = [
                "<c r=\"B1\"><v>nan</v></c>", "<c r=\"B1\"><v>inf</v></c>", "<c r=\"B1\"><v>-infinity</v></c>", "<c r=\"B1\"><v>1e999</v></c>",
                "<c r=\"B1\" s=\"1\"><v>1e300</v></c>", "<c r=\"B1\" s=\"1\"><v>-5</v></c>", "<c r=\"B1\" s=\"2\"><v>99999999</v></c>",
                "<c r=\"B1\" t=\"d\"><v>2020-01-01T00:00:99999999999999999999999</v></c>", "<c r=\"B1\" t=\"d\"><v>99999999999-01-01</v></c>",
                "<c r=\"B1\" t=\"d\"><v>2020-13-45T25:61:61</v></c>", "<c r=\"B1\" t=\"d\"><v>-0-0-0</v></c>", "<c r=\"B1\" t=\"b\"><v>maybe</v></c>",
                "<c r=\"B1\" s=\"99999999999999999999\"><v>1</v></c>", "<c r=\"B1\" t=\"zzz\"><v>1</v></c>",
            ]
            let cell = values[Int.random(in: 0..<values.count, using: &random)]
            let data = HostileXLSX.withSheetRows("<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>URN:Tel</t></is></c>\(cell)</row>")
            return (data, .anything)
        case .tooManySharedStrings:
            let count = limits.maximumCells + 1
            parts["xl/sharedStrings.xml"] = "<sst xmlns=\"x\">" + String(repeating: "<si/>", count: count) + "</sst>"
            return (HostileXLSX.archive(parts), tooLarge("shared strings", limits.maximumCells))
        }
    }

    /// `bytes` with one to four random edits: a range deleted or duplicated, or markup, entities or
    /// invalid UTF-8 inserted.
    static func garble(_ bytes: [UInt8], using random: inout SeededGenerator) -> [UInt8] {
        let snippets: [[UInt8]] = [
            Array("<".utf8), Array(">".utf8), Array("&".utf8), Array("&#0;".utf8), Array("&#xFFFF;".utf8), Array("]]>".utf8),
            Array("<![CDATA[".utf8), Array("<!--".utf8), Array("\"".utf8), Array("=".utf8), Array("</c>".utf8),
            Array("<c r=\"ZZZZ9\">".utf8), Array("<v>".utf8), Array(" t=\"s\"".utf8), Array("<row r=\"0\">".utf8),
            Array("<!DOCTYPE x>".utf8), [0xFF], [0xC3], [0xED, 0xA0, 0x80], [0], Array("\u{FEFF}".utf8),
        ]
        var bytes = bytes
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let at = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &random)
            switch Int.random(in: 0..<4, using: &random) {
            case 0:
                let end = min(bytes.count, at + Int.random(in: 1...64, using: &random))
                bytes.removeSubrange(at..<end)
            case 1:
                let end = min(bytes.count, at + Int.random(in: 1...256, using: &random))
                bytes.insert(contentsOf: bytes[at..<end], at: at)
            default:
                bytes.insert(contentsOf: snippets[Int.random(in: 0..<snippets.count, using: &random)], at: at)
            }
        }
        return bytes
    }

    // MARK: - CSV

    @Test(.timeLimit(.minutes(5))) func csvReaderSurvivesMutatedFiles() throws {
        let seed = SeededGenerator.announcedSeed("csv fuzz")
        var random = SeededGenerator(seed: seed)
        let executions = 3_000
        let pieces: [[UInt8]] = [
            Array(",".utf8), Array(";".utf8), Array("\t".utf8), Array("\"".utf8), Array("\"\"".utf8), Array("\r".utf8), Array("\n".utf8),
            Array("\r\n".utf8), [0], [0xFF], [0xC3], [0x81], Array("\u{FEFF}".utf8), Array("Zoë".utf8), Array("+250788123123".utf8),
        ]
        var tally: [String: [Outcome: Int]] = [:]
        var slowest = (seconds: 0.0, what: "")
        let watchdog = Watchdog(label: "csv fuzz [seed \(seed)]")
        defer { watchdog.stop() }
        let started = Date()
        for index in 0..<executions {
            var rows = [HostileXLSX.header.joined(separator: ",")]
            for row in 0..<Int.random(in: 0...20, using: &random) {
                rows.append("+25078800\(row),\"Name \(row), \"\"Q\"\"\",\(row),2021-01-0\(row % 9 + 1),\"multi\nline\"")
            }
            var bytes = Array(rows.joined(separator: Bool.random(using: &random) ? "\r\n" : "\n").utf8)
            let kind: String
            switch index % 16 == 15 ? 3 : index % 3 {
            case 0:
                kind = "insertions"
                for _ in 0..<Int.random(in: 1...12, using: &random) {
                    bytes.insert(contentsOf: pieces[Int.random(in: 0..<pieces.count, using: &random)], at: Int.random(in: 0...bytes.count, using: &random))
                }
            case 1:
                kind = "byteFlips"
                for _ in 0..<Int.random(in: 1...8, using: &random) where !bytes.isEmpty {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
                }
            case 2:
                kind = "truncation"
                bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &random)))
            default:
                // Around the column limit: 16,384 cells pass, one more does not.
                kind = "wide"
                let commas = Self.limits.maximumColumns + Int.random(in: -8...8, using: &random)
                bytes = Array(String(repeating: ",", count: commas).utf8) + [UInt8(ascii: "x")]
            }
            let what = "execution \(index) \(kind) [seed \(seed)]"
            watchdog.begin(what)
            let clock = Date()
            let result = Result { () throws(SpreadsheetError) -> Sheet in try SpreadsheetReader.read(Data(bytes), format: .csv, limits: Self.limits) }
            let seconds = Date().timeIntervalSince(clock)
            watchdog.end()
            if seconds > slowest.seconds { slowest = (seconds, what) }
            let expectation: Expectation = kind == "wide" ? .error([.tooLarge(what: "columns", limit: Self.limits.maximumColumns)]) : .anything
            let outcome = kind == "wide" && bytes.count <= Self.limits.maximumColumns
                ? Self.check(result, .sheet, what) : Self.check(result, expectation, what)
            tally[kind, default: [:]][outcome, default: 0] += 1
        }
        Self.report("csv", tally.map { ($0.key, $0.value) }, executions: executions, elapsed: Date().timeIntervalSince(started), slowest: slowest)
        #expect(slowest.seconds < 2, "slowest execution took \(slowest.seconds) s: \(slowest.what)")
    }

    // MARK: - Checks

    /// Checks one result against its expectation and the limits; returns its outcome for the tally.
    static func check(_ result: Result<Sheet, SpreadsheetError>, _ expectation: Expectation, _ what: String) -> Outcome {
        switch result {
        case .success(let sheet):
            switch expectation {
            case .sheet, .anything: break
            case .error(let errors): Issue.record("\(what): read a sheet, expected one of \(errors)")
            }
            Self.checkSheet(sheet, what)
            return .sheet
        case .failure(let error):
            switch expectation {
            case .sheet: Issue.record("\(what): expected a sheet, got \(error)")
            case .error(let errors): #expect(errors.contains(error), "\(what): got \(error), expected one of \(errors)")
            case .anything: break
            }
            switch error {
            case .corrupted(let reason):
                #expect(Self.corruptedReasons.contains(reason), "\(what): unlisted reason \(reason)")
                return .error(reason)
            case .refused(let reason):
                #expect(Self.refusedReasons.contains(reason), "\(what): unlisted refusal \(reason)")
                return .error(reason)
            case .tooLarge(let name, let limit):
                #expect(Self.limitNames.contains(name), "\(what): unlisted limit \(name)")
                return .error("too many \(name) (\(limit))")
            case .empty: return .error("empty")
            case .fileTooLarge: return .error("file too large")
            case .io(let reason):
                Issue.record("\(what): an I/O error reading bytes in memory: \(reason)")
                return .error("io \(reason)")
            }
        }
    }

    /// A sheet read from hostile bytes still respects the limits and holds only sane values.
    static func checkSheet(_ sheet: Sheet, _ what: String) {
        #expect(!sheet.rows.isEmpty, "\(what): a sheet without rows")
        #expect(sheet.rows.count <= Self.limits.maximumRowNumber, "\(what): \(sheet.rows.count) rows")
        let valueRows = sheet.rows.count { !$0.isEmpty }
        #expect(valueRows <= Self.limits.maximumRows, "\(what): \(valueRows) rows with values")
        let cells = sheet.rows.reduce(0) { $0 + $1.count }
        #expect(cells <= Self.limits.maximumCells, "\(what): \(cells) cells")
        // Excel's dates run from 1900-01-01 to 9999-12-31.
        let earliest = -2_209_161_600.0
        let latest = 253_402_300_800.0
        for row in sheet.rows {
            #expect(row.count <= Self.limits.maximumColumns, "\(what): a row of \(row.count) cells")
            for cell in row {
                switch cell {
                case .number(let number): #expect(number.isFinite, "\(what): a non-finite number")
                case .date(let date):
                    let seconds = date.timeIntervalSince1970
                    #expect(seconds.isFinite && seconds >= earliest && seconds < latest, "\(what): a date out of range")
                case .instant(let moment):
                    // Such a date with its offset (up to a day) taken off.
                    let seconds = moment.timeIntervalSince1970
                    #expect(seconds.isFinite && seconds >= earliest - 86_400 && seconds < latest + 86_400, "\(what): a moment out of range")
                case .text(let text): #expect(!text.contains("root:"), "\(what): a local file's content in a cell")
                case .empty, .bool: break
                }
            }
        }
    }

    /// Prints the executions per mutation and outcome.
    static func report(
        _ label: String, _ tally: [(String, [Outcome: Int])], executions: Int, elapsed: Double, slowest: (seconds: Double, what: String)
    ) {
        let timing = "\(String(format: "%.2f", elapsed)) s; slowest \(String(format: "%.3f", slowest.seconds)) s"
        var lines = ["\(label) fuzz: \(executions) executions in \(timing)"]
        for (name, outcomes) in tally.sorted(by: { $0.0 < $1.0 }) {
            let parts = outcomes.sorted { $0.key < $1.key }.map { outcome, count -> String in
                switch outcome {
                case .sheet: "sheet \(count)"
                case .error(let reason): "\(reason) \(count)"
                }
            }
            lines.append("  \(name): " + parts.joined(separator: ", "))
        }
        print(lines.joined(separator: "\n"))
    }
}
