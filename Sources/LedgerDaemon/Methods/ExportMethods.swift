// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import LedgerStore
import Logging
import NIOPosix
import Projections
import RPC
import Spreadsheet

struct ExportStartParams: MethodParams {
    static let memberNames: Set<String> = ["workspace", "actor", "idempotency_key", "group", "query", "format", "path"]
    var group: String?
    var query: String?
    var format: String
    var path: String
}

struct ExportStatusParams: MethodParams {
    static let memberNames: Set<String> = ["workspace", "actor", "export"]
    var export: String
}

extension LedgerMethods {
    /// The most contacts one export takes (behaviour reference §7).
    static let maximumExportContacts = 1_000_000

    /// `exports.start`: a group (UUID or name), a query, or else the active contacts, to XLSX or CSV
    /// at `path` (absolute; written by the daemon, replaced atomically). Checks the params now and
    /// writes in the background. A retry with the same idempotency key answers the first call's export
    /// and starts none (a client whose answer a crash or timeout lost started a second export, with
    /// another id, of the same file).
    func exportsStart(_ call: RPCCall, _ caller: Caller) async throws -> any MethodAnswer {
        let params = try self.params(ExportStartParams.self, call)
        if let earlier = try self.earlierAnswer(call, caller) { return earlier }
        guard let format = SpreadsheetFormat(rawValue: params.format) else { throw RPCError.invalidParams(field: "format", reason: "unknown_format") }
        let path = try OutputPath.checked(params.path, field: "path", dataDirectory: self.stores.environment.directory)
        // Opened now and written through until the export ends: the directory checked is the one written
        // (-32602 `directory_not_found` when it is missing or no directory).
        let directory = try PinnedDirectory(
            opening: (path as NSString).deletingLastPathComponent, field: "path", dataDirectory: self.stores.environment.directory
        )
        // NAME_MAX: a longer name was taken here and failed only once every row was built.
        let name = (path as NSString).lastPathComponent
        guard name.utf8.count <= 255 else { throw RPCError.invalidParams(field: "path", reason: "name_too_long") }
        let file = directory.path + "/" + name
        var isDirectory: ObjCBool = false
        guard !FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory) || !isDirectory.boolValue else {
            throw RPCError.invalidParams(field: "path", reason: "is_a_directory")
        }
        // The file is written beside the path and renamed over it: it replaces a file, never a socket,
        // a device or a pipe that is there.
        // FileManager reads the entry itself (lstat): a link is a link. `struct stat`'s members broke
        // incremental builds here (MemberImportVisibility found them in CoreFoundation).
        if let type = (try? FileManager.default.attributesOfItem(atPath: file))?[.type] as? FileAttributeType,
            type != .typeRegular, type != .typeSymbolicLink
        {
            throw RPCError.invalidParams(field: "path", reason: "not_a_regular_file")
        }
        if params.group != nil, params.query != nil { throw RPCError.invalidParams(field: "query", reason: "group_and_query_exclusive") }
        // Check the scope now: an unknown group or a bad query is refused before any work.
        let workspace = try self.read { txn in try self.presenter(caller.workspace, in: txn).workspace }
        var groupUUID: GroupUUID?
        if let raw = params.group {
            guard !raw.isEmpty else { throw RPCError.invalidParams(field: "group", reason: "empty") }
            guard let group = GroupUUID(raw).flatMap({ workspace.group($0) }) ?? workspace.group(named: raw) else {
                throw ContactError.notFound("group", id: raw)
            }
            groupUUID = group.uuid
        }
        if let text = params.query { _ = try Self.parseQuery(text, workspace: workspace) }

        let id = UUID.random().lowercasedString
        // Chosen now and stored with the start: a kill leaves the files, and the next start removes them
        // by these names (``InterruptedExports``).
        let temporaryNames = SpreadsheetTemporaryNames(format: format)
        let job = ExportJob(
            .init(
                id: id, workspace: caller.workspace, state: "pending", rowsTotal: 0, rowsDone: 0, path: path, format: format.rawValue,
                temporaryFiles: temporaryNames.all
            )
        )
        // Stored (with the idempotency key and the answer) before it is answered. Two calls with one key
        // that raced past the look-up above both get here: the writer keeps the first one's answer and
        // gives it to the second, which starts nothing.
        let started = try job.snapshot.encoded()
        let answer = try await self.command(call, caller) { tx in
            try tx.txn.put(self.stores.meta, key: ExportJob.key(id), value: started)
            return ["export": .string(id)]
        }
        guard try answer.decoded()["export"]?.stringValue == id else { return answer }
        ExportJob.register(job)
        self.logger.info("export started", metadata: ["export.id": "\(id)", "export.format": "\(format.rawValue)", "workspace": "\(caller.workspace)"])
        let query = params.query
        let group = groupUUID
        let run = Task.detached {
            // The contacts are read and the file written on NIO's threads for blocking work: on the
            // cooperative pool, whose threads (one a core) every connection needs, two exports held them.
            let end: @Sendable (inout ExportJob.State) -> Void
            do {
                end = try await NIOThreadPool.singleton.runIfActive {
                    self.runExport(
                        job, workspaceName: caller.workspace, group: group, query: query, format: format, file: file,
                        temporaryNames: temporaryNames, peer: caller.peer
                    )
                }
            } catch {
                end = {
                    $0.state = "failed"
                    $0.failure = "shutting_down"
                }
            }
            // `file` goes through the directory's descriptor: held open until the file is written.
            withExtendedLifetime(directory) {}
            // Its end is stored before it is shown: an export answered `complete` is still complete after
            // a kill. A daemon stopping meanwhile stops it (``ExportStopper``) and stores this end before
            // the writer stops; a kill leaves it running, read back as interrupted.
            var ended = job.snapshot
            end(&ended)
            // Its files are gone: renamed into place, or removed by the writer given up (or never made).
            ended.temporaryFiles = nil
            do {
                try await self.store(ended, caller)
            } catch {
                self.logger.notice("export state not stored", metadata: ["export.id": "\(id)"])
            }
            job.update(end)
            FreedMemory.returnToSystem()
        }
        job.attach(run)
        return answer
    }

    func exportsStatus(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(ExportStatusParams.self, call)
        // As the schema has it (`minLength: 1`): an id left empty is a malformed call, not an unknown export.
        guard !params.export.isEmpty else { throw RPCError.invalidParams(field: "export", reason: "empty") }
        let id = params.export.lowercased()
        if let job = ExportJob.job(id) {
            guard job.snapshot.workspace == caller.workspace else { throw ContactError.notFound("export", id: params.export) }
            return job.snapshot.answer
        }
        // Not in memory: an export of an earlier run of the daemon.
        let stored = try self.read { txn in try txn.get(self.stores.meta, key: ExportJob.key(id)) }
        guard let state = stored.flatMap(ExportJob.State.stored), state.workspace == caller.workspace else {
            throw ContactError.notFound("export", id: params.export)
        }
        return state.answer
    }

    /// Stores an export's end state durably, through the writer (not under the call's idempotency key,
    /// which keeps the start's answer).
    private func store(_ state: ExportJob.State, _ caller: Caller) async throws {
        let bytes = try state.encoded()
        let context = CommandContext(workspace: caller.workspace, actor: caller.actor, peer: caller.peer, idempotencyKey: nil, paramsHash: [])
        _ = try await self.ledger.execute(context) { tx in
            try tx.txn.put(self.stores.meta, key: ExportJob.key(state.id), value: bytes)
            return []
        }
    }

    /// Writes the export's file, updating its progress; returns how its state ends (complete or failed),
    /// for the caller to store before it is shown. A stop asked for (``ExportJob/requestStop()``) ends it
    /// between two rows, `failed` with reason `interrupted`, its temporary files removed by the writer.
    private func runExport(
        _ job: ExportJob, workspaceName: String, group: GroupUUID?, query: String?, format: SpreadsheetFormat, file: String,
        temporaryNames: SpreadsheetTemporaryNames, peer: Peer?
    ) -> @Sendable (inout ExportJob.State) -> Void {
        job.update { $0.state = "running" }
        do {
            // The file is `0600`: a daemon running as root gives it to the peer who asked for it, who
            // could not read it otherwise.
            let owner = geteuid() == 0 ? peer.map { (uid: $0.uid, gid: $0.gid) } : nil
            // One snapshot: the file shows the contacts as of one moment. The contacts are read twice in
            // it, not held: first which are exported (and the URN columns they need), then each in turn
            // as its row is written; the file is written as it goes (``SpreadsheetFileWriter``). Held,
            // with every row's cells and the whole file, an export of 40,000 took 255 MB.
            let rows = try self.read { txn -> Int? in
                let workspace = try self.presenter(workspaceName, in: txn).workspace
                let contacts = try self.stores.projector(txn).contacts
                let parsed = try query.flatMap { try Self.parseQuery($0, workspace: workspace) }
                var exported: [(id: Int64, uuid: ContactUUID)] = []
                var urnColumns = ContactExport.URNColumns()
                try self.forEachMatchingContact(parsed, workspace: workspace, in: txn) { contact in
                    try job.checkNotStopped()
                    // Without a query: the group's members, or else the active contacts.
                    if query == nil, !(group.map { contact.groups.contains($0) } ?? (contact.status == .active)) { return }
                    exported.append((contact.id, contact.uuid))
                    if !workspace.anonymous { urnColumns.count(contact) }
                }
                guard exported.count <= Self.maximumExportContacts else { return nil }
                exported.sort { $0.id < $1.id }
                job.update { $0.rowsTotal = exported.count }
                let layout = ContactExport(workspace: workspace, urnColumns: urnColumns, reference: self.reference)
                let writer = try SpreadsheetFileWriter(path: file, format: format, sheetName: "Contacts 1", owner: owner, temporaryNames: temporaryNames)
                try writer.append(layout.header)
                for (index, member) in exported.enumerated() {
                    // The writer, given up, removes what it wrote.
                    try job.checkNotStopped()
                    // In the same snapshot, so still there.
                    guard let contact = try contacts.contact(member.uuid, workspace: workspace.name, in: txn) else {
                        throw ReadModelError.missingContact(member.uuid.rawValue)
                    }
                    try writer.append(layout.row(contact))
                    if (index + 1) % 1000 == 0 { job.update { $0.rowsDone = index + 1 } }
                }
                try writer.finish()
                return exported.count
            }
            guard let rows else {
                return {
                    $0.state = "failed"
                    $0.failure = "too_many_contacts"
                }
            }
            self.logger.info("export complete", metadata: ["export.id": "\(job.snapshot.id)", "export.rows": "\(rows)"])
            return {
                $0.rowsDone = rows
                $0.state = "complete"
            }
        } catch is ExportJob.Stopped {
            self.logger.notice("export stopped by the daemon's stop", metadata: ["export.id": "\(job.snapshot.id)"])
            return {
                $0.state = "failed"
                $0.failure = "interrupted"
            }
        } catch {
            let reason: String
            if let error = error as? SpreadsheetError, case .io(let why) = error { reason = why } else {
                reason = ErrorMapping.rpcError(error)?.data?["reason"]?.stringValue ?? "internal_error"
            }
            self.logger.error("export failed", metadata: ["export.id": "\(job.snapshot.id)", "error.reason": "\(reason)"])
            return {
                $0.state = "failed"
                $0.failure = reason
            }
        }
    }
}

/// The columns and rows of a contact export (behaviour reference §7): the header, then a row per contact.
struct ContactExport {
    /// URN columns: one per scheme in use, as many times as the most URNs of that scheme one contact has.
    struct URNColumns {
        fileprivate var counts: [String: Int] = [:]

        /// Makes room for `contact`'s URNs.
        mutating func count(_ contact: Contact) {
            var own: [String: Int] = [:]
            for urn in contact.urns { own[ContactExport.scheme(of: urn), default: 0] += 1 }
            for (scheme, count) in own { self.counts[scheme] = max(self.counts[scheme] ?? 0, count) }
        }
    }

    private let workspace: Workspace
    private let urnColumns: URNColumns
    private let schemes: [String]
    private let fields: [FieldDefinition]
    private let reference: AnonymousReference

    /// The layout of an export of `workspace`'s contacts whose URNs `urnColumns` counted (none when the
    /// workspace is anonymous: it exports no URNs).
    init(workspace: Workspace, urnColumns: URNColumns, reference: AnonymousReference) {
        self.workspace = workspace
        self.urnColumns = workspace.anonymous ? URNColumns() : urnColumns
        self.schemes = self.urnColumns.counts.keys.sorted()
        self.fields = workspace.fields.enumerated().sorted { ($0.element.priority, -$0.offset) > ($1.element.priority, -$1.offset) }.map(\.element)
        self.reference = reference
    }

    /// The first row: the columns' titles.
    var header: [Cell] {
        var header: [Cell] = [.text("Contact UUID")]
        if self.workspace.anonymous { header += [.text("Ref"), .text("Legacy ID"), .text("Scheme")] } else { header.append(.text("Name")) }
        header += [.text("Language"), .text("Status"), .text("Created On"), .text("Last Seen On")]
        for scheme in self.schemes {
            let title = "URN:" + scheme.prefix(1).uppercased() + scheme.dropFirst()
            header += Array(repeating: .text(title), count: self.urnColumns.counts[scheme] ?? 0)
        }
        header += self.fields.map { .text("Field:\($0.name)") }
        header += self.workspace.groups.map { .text("Group:\($0.name)") }
        return header
    }

    /// `contact`'s row.
    func row(_ contact: Contact) -> [Cell] {
        var row: [Cell] = [.text(contact.uuid.rawValue)]
        if self.workspace.anonymous {
            row += [
                .text(self.reference.encode(contact.id)), .number(Double(contact.id)),
                contact.urns.first.map { .text(Self.scheme(of: $0)) } ?? .empty,
            ]
        } else {
            row.append(contact.name.map { .text($0) } ?? .empty)
        }
        row += [
            contact.language.map { .text($0) } ?? .empty,
            .text(contact.status.rawValue.prefix(1).uppercased() + contact.status.rawValue.dropFirst()),
            self.local(contact.createdOn),
            contact.lastSeenOn.map(self.local) ?? .empty,
        ]
        for scheme in self.schemes {
            let paths = contact.urns.filter { Self.scheme(of: $0) == scheme }.map(Self.path(of:))
            for slot in 0..<(self.urnColumns.counts[scheme] ?? 0) { row.append(slot < paths.count ? .text(paths[slot]) : .empty) }
        }
        for field in self.fields { row.append(Self.cell(contact.fields[field.key.rawValue], of: field, in: self.workspace)) }
        for group in self.workspace.groups { row.append(.bool(contact.groups.contains(group.uuid))) }
        return row
    }

    /// The wall-clock time in the workspace timezone, as a cell date.
    private func local(_ timestamp: Timestamp) -> Cell {
        .date(timestamp.date.addingTimeInterval(TimeInterval(self.workspace.timeZone.secondsFromGMT(for: timestamp.date))))
    }

    /// A field's cell: the value as the workspace displays it (§7 "values as displayed", §3.2), empty when
    /// it is not set for the field's type. A number is a number cell when the cell holds it exactly (a
    /// spreadsheet's numbers are doubles), otherwise its text; either reads back as the same number.
    /// A datetime is its display text (`20-12-2015 08:30`), as §7 shows it, in CSV and XLSX alike.
    static func cell(_ value: FieldValue?, of field: FieldDefinition, in workspace: Workspace) -> Cell {
        guard let text = value?.displayText(for: field.type, timeZone: workspace.timeZone, dateFormat: workspace.dateFormat) else {
            return .empty
        }
        if field.type == .number, let number = Double(text), Cell.decimalText(number) == text { return .number(number) }
        return .text(text)
    }

    static func scheme(of urn: String) -> String {
        (try? URN(stored: urn).scheme.rawValue) ?? String(urn.prefix { $0 != ":" })
    }

    /// The bare path: `tel:+250788123123` → `+250788123123`.
    static func path(of urn: String) -> String {
        (try? URN(stored: urn).path) ?? String(urn.drop { $0 != ":" }.dropFirst())
    }
}
