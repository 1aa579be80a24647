// ContactLedger — spreadsheets.
import Foundation
import ZIPFoundation

/// Writes one sheet to a file row by row, as XLSX or CSV, holding only the rows it has not flushed yet:
/// built whole in memory (every row's cells, then the XML, then the archive), an export of 40,000
/// contacts took 255 MB as XLSX, gigabytes at the million an export may hold.
///
/// The file is written beside its destination and renamed into place by ``finish()``, so a reader never
/// sees half a file; it is readable by its owner only (`0600`). A CSV is written to that file as rows
/// come. An XLSX's worksheet is written to a part file of its own beside it, then compressed from there
/// into the archive, which is held in memory compressed (a tenth of the XML or less) and written out.
/// A writer given up before ``finish()`` (an error, a thrown row) removes what it wrote; a process killed
/// meanwhile cannot, so its caller may choose the temporary files' names first and record them
/// (``SpreadsheetTemporaryNames``).
public final class SpreadsheetFileWriter {
    private let destination: String
    private let format: SpreadsheetFormat
    private let sheetName: String
    private let owner: (uid: UInt32, gid: UInt32)?
    /// The file rows go to: the temporary CSV itself, or the XLSX's worksheet part.
    private let rowsPath: String
    /// The XLSX archive before its rename (nil for a CSV).
    private let archivePath: String?
    private let rowsFile: FileHandle
    private var buffer: [UInt8] = []
    private var rowCount = 0
    private var isDone = false

    /// Bytes gathered before they are written out.
    private static let flushSize = 1 << 20

    /// Starts the file `path` (its directory must exist) of one sheet named `sheetName`.
    ///
    /// - Parameters:
    ///   - owner: the user and group to give the file (the writer must be privileged to give it away);
    ///     nil keeps the writer's.
    ///   - temporaryNames: the names of its temporary files in `path`'s directory, for a caller that
    ///     records them before it starts (they must be for `format`); new ones by default.
    public init(
        path: String, format: SpreadsheetFormat, sheetName: String, owner: (uid: UInt32, gid: UInt32)? = nil,
        temporaryNames: SpreadsheetTemporaryNames? = nil
    ) throws(SpreadsheetError) {
        self.destination = path
        self.format = format
        self.sheetName = sheetName
        self.owner = owner
        let names = temporaryNames ?? SpreadsheetTemporaryNames(format: format)
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        self.rowsPath = directory + "/" + names.rows
        self.archivePath = names.archive.map { directory + "/" + $0 }
        // The worksheet part is read back into the archive.
        let descriptor = try SpreadsheetWriter.createFile(self.rowsPath, owner: format == .csv ? owner : nil, readable: format == .xlsx)
        self.rowsFile = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        switch format {
        case .csv: self.buffer = Array("\u{FEFF}".utf8)
        case .xlsx: self.buffer = Array(SpreadsheetWriter.worksheetHead.utf8)
        }
    }

    deinit {
        guard !self.isDone else { return }
        unlink(self.rowsPath)
    }

    /// Appends the next row.
    public func append(_ row: [Cell]) throws(SpreadsheetError) {
        self.rowCount += 1
        switch self.format {
        case .csv: self.buffer += SpreadsheetWriter.csvLine(row).utf8
        case .xlsx: self.buffer += SpreadsheetWriter.worksheetRow(row, number: self.rowCount).utf8
        }
        if self.buffer.count >= Self.flushSize { try self.flush() }
    }

    /// Completes the file and renames it into place (replacing what was there, atomically).
    public func finish() throws(SpreadsheetError) {
        defer { self.isDone = true }
        do throws(SpreadsheetError) {
            switch self.format {
            case .csv:
                try self.flush()
                guard rename(self.rowsPath, self.destination) == 0 else { throw .io(reason: "cannot_write") }
            case .xlsx:
                self.buffer += SpreadsheetWriter.worksheetTail.utf8
                try self.flush()
                defer { unlink(self.rowsPath) }
                try self.writeArchive()
            }
        } catch {
            unlink(self.rowsPath)
            throw error
        }
    }

    private func flush() throws(SpreadsheetError) {
        guard !self.buffer.isEmpty else { return }
        do {
            try self.rowsFile.write(contentsOf: self.buffer)
        } catch {
            throw .io(reason: "cannot_write")
        }
        self.buffer.removeAll(keepingCapacity: true)
    }

    /// Compresses the worksheet part into a workbook's archive and writes it to the destination.
    private func writeArchive() throws(SpreadsheetError) {
        let archive = try SpreadsheetWriter.archive(sheetNames: [self.sheetName])
        let rows = self.rowsFile
        do {
            let size = try rows.seekToEnd()
            try archive.addEntry(
                with: SpreadsheetWriter.worksheetPart(0), type: .file, uncompressedSize: Int64(size), compressionMethod: .deflate
            ) { position, length in
                try rows.seek(toOffset: UInt64(position))
                return try rows.read(upToCount: length) ?? Data()
            }
        } catch {
            throw .io(reason: "cannot_write_archive")
        }
        guard let data = archive.data, let temporary = self.archivePath else { throw .io(reason: "cannot_write_archive") }
        let descriptor = try SpreadsheetWriter.createFile(temporary, owner: self.owner)
        do {
            defer { close(descriptor) }
            try FileHandle(fileDescriptor: descriptor, closeOnDealloc: false).write(contentsOf: data)
            // rename(2) replaces the destination atomically.
            guard rename(temporary, self.destination) == 0 else { throw SpreadsheetError.io(reason: "cannot_write") }
        } catch {
            unlink(temporary)
            throw .io(reason: "cannot_write")
        }
    }
}
