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
        /// The member the column shows, for a column of one member (nil: computed from the whole row).
        var key: String? = nil

        /// A column showing `key` of each row as ``Output/text(_:)`` renders it.
        static func key(_ key: String, _ title: String? = nil, maxWidth: Int? = nil) -> Column {
            Column(title: title ?? key, maxWidth: maxWidth, cell: { Output.text($0[key]) }, key: key)
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

    /// The table without the columns of members that no row has: a method that answers fewer members
    /// than the table shows elsewhere (`fields.usage`'s groups, without query, status or count) would
    /// fill them with `-`, which reads as "none".
    func keepingColumns(presentIn rows: [JSONValue]) -> Table {
        Table(columns: self.columns.filter { column in
            guard let key = column.key else { return true }
            return rows.contains { $0[key] != nil }
        })
    }

    /// The table as text lines (header first), without a trailing newline.
    func render(_ rows: [JSONValue]) -> [String] {
        let cells = rows.map(self.cells)
        let titles = self.columns.map { $0.title.uppercased() }
        var widths = titles.map(Output.columns)
        for row in cells {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], Output.columns(cell)) }
        }
        return [Output.bold(Self.line(titles, widths: widths))] + cells.map { Self.line($0, widths: widths) }
    }

    /// One row on its own, without a header, its cells padded to `widths` (the last not): rows printed as
    /// they arrive (`tail`), which cannot be measured together first, made safe for a terminal as a
    /// table's are.
    func line(_ row: JSONValue, widths: [Int]) -> String {
        Self.line(self.cells(row), widths: widths)
    }

    /// The cells of `row`, one per column: each one line, cut to its column's width.
    private func cells(_ row: JSONValue) -> [String] {
        self.columns.map { column in
            // A cell is one line whatever the values hold (a name may carry a newline or an escape).
            let text = Output.printable(column.cell(row))
            return column.maxWidth.map { Output.truncate(text, to: $0) } ?? text
        }
    }

    /// `cells` joined by two spaces, each but the last padded to its width in `widths` (none past its end).
    private static func line(_ cells: [String], widths: [Int]) -> String {
        cells.enumerated().map { index, cell in
            index == cells.count - 1 || index >= widths.count ? cell : Output.pad(cell, to: widths[index])
        }.joined(separator: "  ")
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
