// ContactLedger — command-line client.
import RPC

/// A table of aligned, left-justified columns separated by two spaces, with a header row.
///
/// Cells are single lines; a column may cap its width (longer cells end in `…`). The last column is not padded.
struct Table: Sendable {
    /// One column: its header and how to read its cell from a row object.
    struct Column: Sendable {
        /// The header, shown in capitals.
        var title: String
        /// The widest a cell may be, in terminal columns; nil for no limit.
        var maxWidth: Int?
        /// Reads the cell of one row.
        var cell: @Sendable (JSONValue) -> String

        /// A column showing `key` of each row as ``Output/text(_:)`` renders it.
        static func key(_ key: String, _ title: String? = nil, maxWidth: Int? = nil) -> Column {
            Column(title: title ?? key, maxWidth: maxWidth) { Output.text($0[key]) }
        }

        /// A column computed from the whole row.
        static func computed(
            _ title: String,
            maxWidth: Int? = nil,
            _ cell: @escaping @Sendable (JSONValue) -> String
        ) -> Column {
            Column(title: title, maxWidth: maxWidth, cell: cell)
        }
    }

    /// The columns, left to right.
    var columns: [Column]

    /// The table as text lines (header first), without a trailing newline.
    func render(_ rows: [JSONValue]) -> [String] {
        let cells = rows.map { row in
            self.columns.map { column in
                // A cell is one line whatever the values hold (a name may carry a newline or an escape).
                let text = Output.printable(column.cell(row))
                return column.maxWidth.map { Output.truncate(text, to: $0) } ?? text
            }
        }
        let titles = self.columns.map { $0.title.uppercased() }
        var widths = titles.map(Output.columns)
        for row in cells {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], Output.columns(cell)) }
        }
        func line(_ row: [String]) -> String {
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : Output.pad(cell, to: widths[index])
            }.joined(separator: "  ")
        }
        return [Output.bold(line(titles))] + cells.map(line)
    }

    /// Prints the table, or `empty` (e.g. `(no contacts)`) when there are no rows.
    func print(_ rows: [JSONValue], empty: String) {
        guard !rows.isEmpty else {
            Swift.print(empty)
            return
        }
        for line in self.render(rows) { Swift.print(line) }
    }
}
