// ContactLedger — daemon wiring.
import Foundation
import LedgerStore
import Logging
import Spreadsheet

/// At start, removes the temporary files of the exports an earlier run of the daemon did not end: a kill
/// (or a crash, or a machine going down) mid-export left its worksheet part or its CSV beside the
/// destination, `0600` but holding every row written so far (names, URNs, fields), and nothing else
/// ever removed them, not even a later export to the same path; a contact deleted afterwards stayed in
/// them.
///
/// Only the names the export recorded when it started are removed (``ExportJob/State/temporaryFiles``),
/// in the directory of its destination: the names are random, so no other file has them, and no other
/// `.spreadsheet-*` file is touched. `unlinkat` with no flags removes an entry, never a directory, and
/// never follows a link. A name that could not be removed (a directory that is not there now, perhaps
/// not mounted; a permission) stays recorded and is tried again at the next start.
enum InterruptedExports {
    /// Removes what the exports left and stores them ended (`failed`, `interrupted`, as `exports.status`
    /// already answered them). Runs before the daemon serves: no export of this run exists yet. A
    /// failure is logged, not fatal: the daemon serves, and the next start tries again.
    static func removeTemporaryFiles(_ stores: LedgerStores, logger: Logger) {
        let prefix = Array("export/".utf8)
        var cleaned: [ExportJob.State] = []
        do {
            let left = try stores.environment.read { txn in
                var states: [ExportJob.State] = []
                try txn.withCursor(stores.meta) { cursor in
                    try cursor.forEach(from: prefix) { entry in
                        guard entry.key.hasPrefix(prefix) else { return false }
                        if let state = try? JSONDecoder().decode(ExportJob.State.self, from: Data(entry.value)),
                            state.temporaryFiles?.isEmpty == false
                        {
                            states.append(state)
                        }
                        return true
                    }
                }
                return states
            }
            for var state in left {
                let names = state.temporaryFiles ?? []
                let remaining = Self.remove(names, besides: state.path, export: state.id, logger: logger)
                if state.state == "pending" || state.state == "running" {
                    state.state = "failed"
                    state.failure = "interrupted"
                }
                state.temporaryFiles = remaining.isEmpty ? nil : remaining
                cleaned.append(state)
            }
            guard !cleaned.isEmpty else { return }
            let records = try cleaned.map { (key: ExportJob.key($0.id), value: try $0.encoded()) }
            try stores.environment.write { txn in
                for record in records { try txn.put(stores.meta, key: record.key, value: record.value) }
            }
        } catch {
            logger.warning(
                "interrupted exports not recorded as cleaned up; the next start looks at them again",
                metadata: ["error.type": "\(String(reflecting: type(of: error)))", "lmdb.code": "\((error as? LMDBError)?.code.rawValue ?? 0)"]
            )
        }
    }

    /// Removes the files `names` from the directory of `destination`; returns the names left to try again.
    private static func remove(_ names: [String], besides destination: String, export id: String, logger: Logger) -> [String] {
        // A record that is not one of ours (damaged, edited) names nothing to remove.
        let names = names.filter(SpreadsheetTemporaryNames.isTemporaryName)
        guard !names.isEmpty else { return [] }
        let directory = open((destination as NSString).deletingLastPathComponent, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directory >= 0 else {
            let code = errno
            logger.warning(
                "an interrupted export's directory cannot be opened; its temporary files are tried again at the next start",
                metadata: ["export.id": "\(id)", "error.errno": "\(code)"]
            )
            return names
        }
        defer { close(directory) }
        var removed = 0
        let remaining = names.filter { name in
            if unlinkat(directory, name, 0) == 0 {
                removed += 1
                return false
            }
            let code = errno
            // Already gone, or never made (an XLSX's archive is made at its end).
            if code == ENOENT { return false }
            logger.warning(
                "an interrupted export's temporary file cannot be removed; it is tried again at the next start",
                metadata: ["export.id": "\(id)", "error.errno": "\(code)"]
            )
            return true
        }
        if removed > 0 {
            logger.notice("removed an interrupted export's temporary files", metadata: ["export.id": "\(id)", "export.files_removed": "\(removed)"])
        }
        return remaining
    }
}
