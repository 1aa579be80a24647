// ContactLedger — contact domain.
import Foundation
import JSONText
import ParallelWork

/// What one header column of an import means (behaviour reference §6.1).
public enum ImportColumnKind: Sendable, Hashable {
    case uuid
    case name
    case language
    case status
    /// A URN of this scheme; the column may repeat.
    case urn(URNScheme)
    /// A custom field; `isNew` when the import creates it.
    case field(key: String, isNew: Bool)
    /// Not understood, so not imported (`Created On`, `Group:X`, `123`…).
    case ignored
}

/// One header column, as understood.
public struct ImportColumn: Sendable, Hashable {
    /// 0-based column index.
    public var index: Int
    /// The header as written.
    public var header: String
    public var kind: ImportColumnKind
}

/// A field the import creates before writing rows: always of type text.
public struct ImportNewField: Sendable, Hashable {
    public var key: String
    public var name: String
}

/// A file-level refusal with the exact text of the reference (§6.1). Its text may quote a header or a
/// cell: it is for the person importing, never for logs.
public struct ImportFileError: Error, Sendable, Hashable {
    public enum Code: String, Sendable {
        case corrupted, empty, emptyHeader = "empty_header", invalidURNHeader = "invalid_urn_header"
        case invalidFieldHeader = "invalid_field_header", repeatedField = "repeated_field", noMatchColumn = "no_match_column"
        case onlyUUID = "only_uuid", noRecords = "no_records", duplicateURN = "duplicate_urn"
        case duplicateUUID = "duplicate_uuid", tooManyRecords = "too_many_records", tooManyFields = "too_many_fields"
        case fieldNameTaken = "field_name_taken"
    }
    public var code: Code
    public var message: String
    /// The 1-based sheet row at fault, where there is one.
    public var row: Int?
    /// The header of the column at fault, where there is one.
    public var column: String?
    /// The limit the file goes over, for the refusals that are limits (records, fields): the RPC layer
    /// answers those -32006 with it, as every other limit.
    public var limit: Int?

    public init(_ code: Code, _ message: String, row: Int? = nil, column: String? = nil, limit: Int? = nil) {
        self.code = code
        self.message = message
        self.row = row
        self.column = column
        self.limit = limit
    }
}

/// A cell value of a record: set it, or clear it (`--`).
public enum ImportValue: Sendable, Hashable {
    case set(String)
    case clear
}

/// One record of an import: a row with a UUID or at least one URN.
public struct ImportRecord: Sendable, Hashable {
    /// The 1-based sheet row (the header is row 1).
    public var row: Int
    public var uuid: String?
    public var name: ImportValue?
    public var language: ImportValue?
    public var status: ImportValue?
    /// `(header, scheme:value)` in column order.
    public var urns: [(header: String, urn: String)]
    /// `(header, key, value)` in column order.
    public var fields: [(header: String, key: String, value: ImportValue)]
    /// The headers of the uuid/name/language/status columns, for error reports.
    public var headers: [ImportColumnKind: String]

    public static func == (lhs: ImportRecord, rhs: ImportRecord) -> Bool {
        lhs.row == rhs.row && lhs.uuid == rhs.uuid && lhs.name == rhs.name && lhs.language == rhs.language
            && lhs.status == rhs.status && lhs.urns.map(\.urn) == rhs.urns.map(\.urn)
            && lhs.fields.map(\.key) == rhs.fields.map(\.key) && lhs.fields.map(\.value) == rhs.fields.map(\.value)
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(self.row) }
}

/// The header row understood, and the records of a sheet (behaviour reference §6.1–6.2).
public struct ImportPlan: Sendable, Hashable {
    /// The most records one import takes.
    public static let maximumRecords = 25_000
    /// Records are written in commands of this many. A command of 500 holds the writer for about a
    /// tenth of a second on two cores; commands of 100 paid five times the syncs and rewrote the same
    /// index pages five times as often (the 100,000-row import took a quarter longer).
    public static let batchSize = 500

    public var columns: [ImportColumn]
    public var newFields: [ImportNewField]
    public var records: [ImportRecord]
    /// Every URN of the records, normalized with the workspace's default country when planned.
    public var normalizedURNs: URNNormalizationTable

    /// Understands the header row; refuses the file as §6.1 says.
    ///
    /// - Parameters:
    ///   - headers: row 1's cells as text (`nil` for an empty cell).
    public static func columns(headers: [String?], workspace: Workspace) throws(ImportFileError) -> (columns: [ImportColumn], newFields: [ImportNewField]) {
        var headers = headers.map { $0?.trimmingWhitespaceAndNewlines() }
        while let last = headers.last, last?.isEmpty ?? true { headers.removeLast() }
        guard !headers.isEmpty else { throw ImportFileError(.empty, "Import file appears to be empty.") }
        var columns: [ImportColumn] = []
        var newFields: [ImportNewField] = []
        var fieldKeys: Set<String> = []
        for (index, raw) in headers.enumerated() {
            guard let header = raw, !header.isEmpty else {
                throw ImportFileError(.emptyHeader, "Import file contains an empty header.", row: 1)
            }
            let kind: ImportColumnKind
            if let colon = header.firstIndex(of: ":") {
                let prefix = header[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
                let name = header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                switch prefix {
                case "urn":
                    guard let scheme = URNScheme(rawValue: name.lowercased()), !scheme.isInternal else {
                        throw ImportFileError(.invalidURNHeader, "Header '\(header)' is not a valid URN type.", row: 1, column: header)
                    }
                    kind = .urn(scheme)
                case "field":
                    let invalid = ImportFileError(.invalidFieldHeader, "Header '\(header)' is not a valid field name.", row: 1, column: header)
                    guard !name.isEmpty else { throw invalid }
                    let folded = name.simpleLowercased()
                    if let existing = workspace.fields.first(where: { $0.name.simpleLowercased() == folded }) {
                        kind = .field(key: existing.key.rawValue, isNew: false)
                    } else {
                        let key: FieldKey
                        do { key = try FieldKey.fromName(name) } catch { throw invalid }
                        if workspace.field(key.rawValue) != nil {
                            kind = .field(key: key.rawValue, isNew: false)
                        } else {
                            let fieldName = Self.fieldName(fromHeader: name)
                            do { try FieldDefinition.validateName(fieldName) } catch { throw invalid }
                            // The name un-snake-cased from the header (`Date_of_Birth` → `Date Of Birth`) can be
                            // another field's, which the import could not create once started: it failed then,
                            // and failed again when re-run. The reference's preview refuses it (§6.1).
                            if workspace.fields.contains(where: { $0.name.simpleLowercased() == fieldName.simpleLowercased() }) {
                                throw ImportFileError(
                                    .fieldNameTaken, "Field name for '\(header)' matches an existing field.", row: 1, column: header)
                            }
                            if !newFields.contains(where: { $0.key == key.rawValue }) {
                                if newFields.contains(where: { $0.name.simpleLowercased() == fieldName.simpleLowercased() }) {
                                    throw ImportFileError(.repeatedField, "Field name '\(fieldName)' is repeated.", row: 1, column: header)
                                }
                                newFields.append(ImportNewField(key: key.rawValue, name: fieldName))
                            }
                            kind = .field(key: key.rawValue, isNew: true)
                        }
                    }
                    if case .field(let key, _) = kind, !fieldKeys.insert(key).inserted {
                        throw ImportFileError(.repeatedField, "Field name '\(name)' is repeated.", row: 1, column: header)
                    }
                default:
                    kind = .ignored
                }
            } else {
                var name = header.lowercased()
                if name.hasPrefix("contact ") { name = name.dropFirst(8).trimmingCharacters(in: .whitespaces) }
                switch name {
                case "uuid": kind = .uuid
                case "name": kind = .name
                case "language": kind = .language
                case "status": kind = .status
                default: kind = .ignored
                }
            }
            columns.append(ImportColumn(index: index, header: header, kind: kind))
        }
        let hasUUID = columns.contains { $0.kind == .uuid }
        let hasURN = columns.contains { if case .urn = $0.kind { true } else { false } }
        guard hasUUID || hasURN else {
            throw ImportFileError(.noMatchColumn, "Import files must contain either UUID or a URN header.", row: 1)
        }
        guard columns.contains(where: { $0.kind != .uuid && $0.kind != .ignored }) else {
            throw ImportFileError(.onlyUUID, "Import files must contain columns besides UUID.", row: 1)
        }
        guard workspace.fields.count + newFields.count <= FieldDefinition.maxFieldsPerWorkspace else {
            throw ImportFileError(.tooManyFields, "This workspace has reached its limit of fields.", limit: FieldDefinition.maxFieldsPerWorkspace)
        }
        return (columns, newFields)
    }

    /// 25000 → "25,000": numbers as the reference's messages write them.
    public static func grouped(_ number: Int) -> String {
        let digits = Array(String(number))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }

    /// "joined_on" → "Joined On"; other names stay as written.
    static func fieldName(fromHeader name: String) -> String {
        guard name.contains("_") else { return name }
        return name.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined(separator: " ")
    }

    /// Understands the sheet: headers, then the records of rows 2…, refusing duplicated UUIDs and URNs
    /// and files without records or with too many.
    ///
    /// - Parameter rows: the sheet's rows as cell texts (`nil` for empty cells), row 1 first.
    public static func plan(rows: [[String?]], workspace: Workspace, maximumRecords: Int = Self.maximumRecords) throws(ImportFileError) -> ImportPlan {
        guard let headerRow = rows.first else { throw ImportFileError(.empty, "Import file appears to be empty.") }
        let (columns, newFields) = try Self.columns(headers: headerRow, workspace: workspace)
        // The records first (a slice of rows per core; one past the limit kept at most), then every URN
        // of them normalized at once (spread over the cores), then the duplicates, in row order.
        let records = Array(
            ParallelSlices.map(count: rows.count - 1, minimumPerSlice: 2_048) { slice in
                slice.compactMap { offset in Self.record(row: offset + 2, cells: rows[offset + 1], columns: columns) }
            }.joined().prefix(maximumRecords + 1)
        )
        let defaultCountry = workspace.defaultCountry
        let normalizedURNs = URNNormalizationTable.normalizing(records.flatMap { $0.urns.map(\.urn) }, defaultCountry: defaultCountry)
        var seenURNs: Set<String> = []
        var seenUUIDs: Set<String> = []
        for (index, record) in records.enumerated() {
            if let uuid = record.uuid, !seenUUIDs.insert(uuid).inserted {
                throw ImportFileError(
                    .duplicateUUID, "Import file contains duplicated contact UUID '\(uuid)' on row \(record.row).",
                    row: record.row, column: record.headers[.uuid])
            }
            var rowIdentities: Set<String> = []
            for entry in record.urns {
                guard case .success(let urn) = normalizedURNs.result(entry.urn, defaultCountry: defaultCountry) else { continue }
                guard rowIdentities.insert(urn.identity).inserted else { continue }
                if !seenURNs.insert(urn.identity).inserted {
                    // Answered now, never kept: masked as the workspace's answers are (row errors are kept
                    // whole, and masked when shown).
                    let shown = workspace.anonymous ? URN.masked(text: urn.identity) : urn.identity
                    throw ImportFileError(
                        .duplicateURN, "Import file contains duplicated contact URN '\(shown)' on row \(record.row).",
                        row: record.row, column: entry.header)
                }
            }
            if index + 1 > maximumRecords {
                throw ImportFileError(
                    .tooManyRecords, "Import files can contain a maximum of \(Self.grouped(maximumRecords)) records.", limit: maximumRecords)
            }
        }
        guard !records.isEmpty else { throw ImportFileError(.noRecords, "Import file doesn't contain any records.") }
        return ImportPlan(columns: columns, newFields: newFields, records: records, normalizedURNs: normalizedURNs)
    }

    /// The record of sheet row `row`, or nil when it has neither a UUID nor a URN.
    private static func record(row rowNumber: Int, cells: [String?], columns: [ImportColumn]) -> ImportRecord? {
        var record = ImportRecord(row: rowNumber, uuid: nil, name: nil, language: nil, status: nil, urns: [], fields: [], headers: [:])
        for column in columns {
            guard column.index < cells.count, let raw = cells[column.index] else { continue }
            let text = raw.trimmingWhitespaceAndNewlines()
            guard !text.isEmpty else { continue }
            let value: ImportValue = text == "--" ? .clear : .set(text)
            switch column.kind {
            case .uuid:
                if case .set = value { record.uuid = text.lowercased() }
                record.headers[.uuid] = column.header
            case .name:
                record.name = value
                record.headers[.name] = column.header
            case .language:
                record.language = value == .clear ? .clear : .set(text.lowercased())
                record.headers[.language] = column.header
            case .status:
                record.status = value == .clear ? .clear : .set(text.lowercased())
                record.headers[.status] = column.header
            case .urn(let scheme):
                guard case .set = value else { continue }
                let urn = text.lowercased().hasPrefix(scheme.rawValue + ":") ? text : "\(scheme.rawValue):\(text)"
                record.urns.append((column.header, urn))
            case .field(let key, _):
                record.fields.append((column.header, key, value))
            case .ignored:
                continue
            }
        }
        guard record.uuid != nil || !record.urns.isEmpty else { return nil }
        return record
    }
}
