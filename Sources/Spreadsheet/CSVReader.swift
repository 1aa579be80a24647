// ContactLedger — spreadsheets.
import Foundation

/// Reads CSV (RFC 4180): quoted fields, `""` escapes, newlines inside quotes, CRLF or LF line ends, a
/// leading UTF-8 BOM. The separator is `,`, or `;` / tab when the first line has none of the others.
/// Text that is not valid UTF-8 is read as Windows-1252. Every non-empty field is ``Cell/text(_:)``,
/// without the quote a CSV export puts before a value that would run as a formula (`'=1+1` reads
/// `=1+1`, `''=1` reads `'=1`; ``CSVFormulaGuard``).
///
/// `rows[i]` is the i-th record (a record spanning lines by quoted newlines counts once).
public enum CSVReader {
    public static func read(_ data: Data, limits: SpreadsheetLimits = .init()) throws(SpreadsheetError) -> Sheet {
        guard data.count <= limits.maximumFileBytes else { throw .fileTooLarge(limit: limits.maximumFileBytes) }
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        if bytes.contains(0) { throw .corrupted(reason: "binary_content") }
        let text: String
        if let decoded = String(validating: bytes, as: UTF8.self) {
            text = decoded
        } else if let decoded = String(bytes: bytes, encoding: .windowsCP1252) {
            text = decoded
        } else {
            throw .corrupted(reason: "unknown_encoding")
        }
        let separator = Self.separator(of: text)
        var rows: [[Cell]] = []
        var row: [Cell] = []
        var field = ""
        var quoted = false
        var wasQuoted = false
        var scalars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil

        var cells = 0
        // Records that hold a value: only those count against `maximumRows` (an export of formatted,
        // empty rows is lines of separators); every record counts against `maximumRowNumber`.
        var valueRows = 0
        func endField() throws(SpreadsheetError) {
            guard row.count < limits.maximumColumns else { throw .tooLarge(what: "columns", limit: limits.maximumColumns) }
            cells += 1
            guard cells <= limits.maximumCells else { throw .tooLarge(what: "cells", limit: limits.maximumCells) }
            row.append(field.isEmpty ? .empty : .text(CSVFormulaGuard.unguarded(field)))
            field = ""
            wasQuoted = false
        }
        func endRow() throws(SpreadsheetError) {
            try endField()
            guard rows.count < limits.maximumRowNumber else { throw .tooLarge(what: "row number", limit: limits.maximumRowNumber) }
            while let last = row.last, case .empty = last { row.removeLast() }
            if !row.isEmpty {
                valueRows += 1
                guard valueRows <= limits.maximumRows else { throw .tooLarge(what: "rows", limit: limits.maximumRows) }
            }
            rows.append(row)
            row = []
        }

        var sawAnything = false
        while let scalar = pending ?? scalars.next() {
            pending = nil
            sawAnything = true
            if quoted {
                if scalar == "\"" {
                    let next = scalars.next()
                    if next == "\"" {
                        field.unicodeScalars.append("\"")
                    } else {
                        quoted = false
                        pending = next
                    }
                } else {
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"" where field.isEmpty && !wasQuoted:
                quoted = true
                wasQuoted = true
            case separator:
                try endField()
            case "\r":
                let next = scalars.next()
                if next != "\n" { pending = next }
                try endRow()
            case "\n":
                try endRow()
            default:
                // Text after a closing quote (`"a"b`) is kept, as spreadsheet programs do.
                field.unicodeScalars.append(scalar)
            }
        }
        if quoted { throw .corrupted(reason: "unterminated_quote") }
        if sawAnything, !(field.isEmpty && row.isEmpty && !wasQuoted) { try endRow() }
        while let last = rows.last, last.allSatisfy(\.isBlank) { rows.removeLast() }
        guard !rows.isEmpty else { throw .empty }
        return Sheet(name: "Sheet1", rows: rows)
    }

    /// `,` unless the first line has no comma but has `;` or a tab.
    static func separator(of text: String) -> Unicode.Scalar {
        var semicolons = 0
        var tabs = 0
        var quoted = false
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": quoted.toggle()
            case "," where !quoted: return ","
            case ";" where !quoted: semicolons += 1
            case "\t" where !quoted: tabs += 1
            case "\n" where !quoted, "\r" where !quoted:
                return semicolons > 0 ? ";" : (tabs > 0 ? "\t" : ",")
            default: break
            }
        }
        return semicolons > 0 ? ";" : (tabs > 0 ? "\t" : ",")
    }
}
