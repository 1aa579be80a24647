// ContactLedger — daemon tests: hostile spreadsheets through imports.start.
import Foundation
import RPC
import TestSupport
import Testing

/// Hostile XLSX files sent to the real daemon's `imports.start` (as `content_base64`): each gets its
/// specific JSON-RPC error at once, and afterwards the daemon still answers `system.health` and its
/// chain verifies. The reader's own fuzzer (SpreadsheetTests) covers thousands of variants; this proves
/// the daemon's path for a handful, including the files that hung (an unfinished deflate stream) or
/// crashed (a name that is not UTF-8) before.
@Suite(.ownThreads, .serialized, .timeLimit(.minutes(3)))
struct HostileImportTests {
    /// What the daemon must answer to one file.
    struct Case {
        var name: String
        var file: Data
        var code: Int64
        var reason: String
        var limit: Int64?
        var message = "Import file appears to be corrupted."
    }

    static let partLimit: Int64 = 512 << 20

    static var cases: [Case] {
        func corrupted(_ name: String, _ file: Data) -> Case { Case(name: name, file: file, code: -32602, reason: "corrupted") }
        // What the XML guard refuses has a reason of its own: it is not a damaged file.
        func refused(_ name: String, _ file: Data, _ reason: String, _ message: String, limit: Int64? = nil) -> Case {
            Case(name: name, file: file, code: -32602, reason: reason, limit: limit, message: message)
        }
        let dtd = "Import file contains a document type declaration (DTD), which spreadsheet files may not have."
        return [
            refused("billion laughs", HostileXLSX.billionLaughs(), "dtd_not_allowed", dtd),
            refused("external entity", HostileXLSX.externalEntity(), "dtd_not_allowed", dtd),
            // Claims 1 KiB, inflates to 64 MiB: stopped after the first KiB.
            corrupted("lying ZIP bomb", HostileXLSX.zipBomb(inflatedBytes: 64 << 20)),
            Case(
                name: "honest ZIP bomb", file: HostileXLSX.zipBomb(inflatedBytes: 1024, declaredSize: 600 << 20), code: -32006,
                reason: "too_many_bytes_in_one_part", limit: Self.partLimit,
                message: "Import file has a part larger than 536,870,912 bytes uncompressed."
            ),
            corrupted("unfinished deflate stream", HostileXLSX.unfinishedStoredBlock()),
            corrupted("truncated deflate stream", HostileXLSX.truncatedDeflate()),
            corrupted("wrong checksum", HostileXLSX.wrongChecksum()),
            corrupted("unknown compression", HostileXLSX.unknownCompression()),
            corrupted("symlink part", HostileXLSX.symlinkWorksheet()),
            refused("invalid UTF-8", HostileXLSX.invalidUTF8(), "invalid_utf8", "Import file contains text that is not valid UTF-8."),
            refused(
                "foreign encoding", HostileXLSX.foreignEncoding(), "unsupported_encoding",
                "Import file uses a text encoding other than UTF-8 or UTF-16."
            ),
            refused(
                "deep nesting", HostileXLSX.deepNesting(depth: 100_000), "nesting_too_deep", "Import file nests elements more than 256 deep.",
                limit: 256
            ),
            refused(
                "many attributes", HostileXLSX.manyAttributes(count: 50_000), "too_many_attributes",
                "Import file has an element with more than 100 attributes.", limit: 100
            ),
            corrupted("no workbook", HostileXLSX.missing("xl/workbook.xml")),
            corrupted("no worksheet", HostileXLSX.missing("xl/worksheets/sheet1.xml")),
            corrupted("bogus shared string index", HostileXLSX.sharedStringIndex("99999999")),
            corrupted("truncated archive", HostileXLSX.archive(HostileXLSX.smallParts()).prefix(300)),
            Case(
                name: "row past the sheet", file: HostileXLSX.cellReference("XFD1048577"), code: -32006, reason: "row_number_too_large",
                limit: 1_048_576, message: "Import files can use rows up to row 1,048,576."
            ),
            Case(
                name: "column past XFD", file: HostileXLSX.cellReference("AAAAAA1"), code: -32006, reason: "too_many_columns", limit: 16_384,
                message: "Import file has more than 16,384 columns."
            ),
            // 700 rows of one cell in column XFD: 11 million padded cells.
            Case(
                name: "cell padding bomb", file: HostileXLSX.cellPaddingBomb(rows: 700), code: -32006, reason: "too_many_cells",
                limit: 10_000_000, message: "Import file has more than 10,000,000 cells."
            ),
        ]
    }

    @Test func hostileFilesGetTheirErrorAndTheDaemonStaysUp() throws {
        let daemon = try DaemonHarness()
        try daemon.call("workspace.configure", ["default_country": "RW"])
        try daemon.call("fields.create", ["key": "age", "name": "Age", "type": "number"])
        for test in Self.cases {
            let started = Date()
            let error = try daemon.error("imports.start", ["content_base64": .string(test.file.base64EncodedString())])
            let seconds = Date().timeIntervalSince(started)
            #expect(error.code == test.code, "\(test.name): \(error)")
            #expect(error.data("field")?.stringValue == "content_base64", "\(test.name): \(error)")
            #expect(error.data("reason")?.stringValue == test.reason, "\(test.name): \(error)")
            #expect(error.data("message")?.stringValue == test.message, "\(test.name): \(error)")
            #expect(error.data("limit")?.integerValue == test.limit, "\(test.name): \(error)")
            // A guard against a daemon that grinds through the bomb, not a benchmark: the padding bomb
            // takes 7.8 s in a debug build alone, 10.8 s beside three other tests on 2 cores.
            #expect(seconds < 30, "\(test.name) took \(seconds) s")
            #expect(ReliabilitySupport.answersHealth(daemon), "no system.health after \(test.name)")
        }
        #expect(daemon.process?.isRunning == true, "the daemon died: \(daemon.log().suffix(2000))")
        #expect(try daemon.call("ledger.verify")["verified"] == true)
        // A valid workbook is still imported.
        let valid = HostileXLSX.archive(HostileXLSX.smallParts(rows: 3))
        let started = try daemon.call("imports.start", ["content_base64": .string(valid.base64EncodedString())])
        let status = try ImportExportTests.wait(daemon, "imports.status", ["import": .string(try #require(started.string("import")))])
        #expect(status.string("state") == "complete", "\(status)")
        #expect((status.int("created") ?? 0) >= 1, "\(status)")
    }

    /// A valid file of a few MiB whose worksheet inflates to 320 MiB of white space is read a chunk at a
    /// time: the daemon's peak resident memory stays far below the part's size. Each part was inflated
    /// whole into memory: 446 MB at the peak for 400 MiB of padding, 1.5 GB for four such imports at once.
    @Test func aPartThatInflatesToHundredsOfMiBIsStreamed() throws {
        let padding = 320
        let file = HostileXLSX.paddedWorksheet(mebibytes: padding)
        let daemon = try DaemonHarness()
        let pid = try #require(daemon.process?.processIdentifier)
        let before = try #require(ReliabilitySupport.peakResidentBytes(of: pid))
        let started = try daemon.call("imports.start", ["content_base64": .string(file.base64EncodedString()), "dry_run": true])
        let status = try ImportExportTests.wait(daemon, "imports.status", ["import": .string(try #require(started.string("import")))])
        #expect(status.string("state") == "complete", "\(status)")
        let peak = try #require(ReliabilitySupport.peakResidentBytes(of: pid))
        print("padded worksheet: \(file.count) bytes on the wire, \(padding) MiB inflated; peak RSS \(before >> 20) → \(peak >> 20) MiB")
        // The request itself (base64 text, its JSON, the decoded file) costs a few times the file: the
        // bound leaves room for that, and none for a tenth of the part.
        #expect(peak - before < 96 << 20, "peak RSS grew by \((peak - before) >> 20) MiB")
    }

    /// Random byte flips and garbled parts of valid workbooks: every one is imported or refused with
    /// -32602 or -32006, never -32603, never silence.
    @Test func mutatedWorkbooksGetAClearAnswer() throws {
        let seed = SeededGenerator.announcedSeed("hostile imports")
        var random = SeededGenerator(seed: seed)
        let daemon = try DaemonHarness()
        var outcomes: [String: Int] = [:]
        for index in 0..<60 {
            var bytes = TestZIP(parts: HostileXLSX.validParts(rows: Int.random(in: 1...10, using: &random), using: &random)).bytes()
            for _ in 0..<Int.random(in: 1...6, using: &random) {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] ^= UInt8.random(in: 1...255, using: &random)
            }
            let what = "mutation \(index) [seed \(seed)]"
            do {
                let answer = try daemon.call("imports.start", ["content_base64": .string(Data(bytes).base64EncodedString())])
                #expect(answer.string("import") != nil, "\(what): \(answer)")
                outcomes["started", default: 0] += 1
            } catch let error as RPCError {
                #expect(error.code == -32602 || error.code == -32006, "\(what): \(error)")
                outcomes["\(error.code) \(error.data("reason")?.stringValue ?? "-")", default: 0] += 1
            }
        }
        print("hostile imports [seed \(seed)]: \(outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        #expect(ReliabilitySupport.answersHealth(daemon), "no system.health after the mutated workbooks")
        #expect(daemon.process?.isRunning == true, "the daemon died: \(daemon.log().suffix(2000))")
    }
}
