// ContactLedger — daemon wiring.
import ContactDomain
import Foundation
import JSONText
import LedgerStore
import Logging
import ParallelWork
import Projections
import RPC
import Spreadsheet

struct ImportStartParams: MethodParams {
    static let memberNames: Set<String> = [
        "workspace", "actor", "idempotency_key", "path", "content_base64", "format", "dry_run", "group",
    ]
    var path: String?
    var contentBase64: String?
    var format: String?
    var dryRun: Bool?
    var group: String?

    enum CodingKeys: String, CodingKey {
        case path, format, group
        case contentBase64 = "content_base64"
        case dryRun = "dry_run"
    }
}

struct ImportStatusParams: MethodParams {
    static let memberNames: Set<String> = ["workspace", "actor", "import"]
    var `import`: String
}

/// Everything a started import needs; immutable.
struct ImportSpec: Sendable {
    var id: String
    var plan: ImportPlan
    var dryRun: Bool
    /// The import group: an existing manual group, or one to create (by name) at the start.
    var groupUUID: GroupUUID?
    var newGroupName: String?
    var caller: LedgerMethods.Caller
}

extension LedgerMethods {
    /// The largest import file for the most records an import may hold: 20 MiB at the reference's
    /// 25,000, and as much again for each 25,000 more, so that raising `import_max_records` for a bulk
    /// load also lets in the file that holds them (a workspace's own export of 200,000 contacts is
    /// 21–38 MB).
    static func maximumImportBytes(records: Int) -> Int {
        let base = 20 << 20
        return max(base, (records * base + ImportPlan.maximumRecords - 1) / ImportPlan.maximumRecords)
    }

    /// How an import cut short is finished, for its failure message. A retry with the import's own
    /// idempotency key answers that import again and starts nothing (the idempotency rule), so the re-run
    /// needs a new key or none. The message quotes nothing of the file.
    static let importRerun =
        "Re-running the file finishes it, \(LedgerMethods.importRetryKey): rows match by UUID or URN, so nothing is "
        + "created twice."

    /// The key a re-run of a failed import is sent with.
    static let importRetryKey =
        "with a new idempotency key or none (the same key answers this import again and starts nothing)"

    /// `imports.start`: reads and checks the file now (so a bad file is refused at once), then writes
    /// its records in the background, in commands of ``ImportPlan/batchSize`` records.
    func importsStart(_ call: RPCCall, _ caller: Caller) async throws -> any MethodAnswer {
        let params = try self.params(ImportStartParams.self, call)
        // A retry with the same idempotency key answers as the first call did and starts nothing, even
        // if the file has changed since (its params are the same: the same path).
        if let earlier = try self.earlierAnswer(call, caller) { return earlier }
        var format: SpreadsheetFormat?
        if let raw = params.format {
            guard let parsed = SpreadsheetFormat(rawValue: raw) else { throw RPCError.invalidParams(field: "format", reason: "unknown_format") }
            format = parsed
        }
        let maximumBytes = Self.maximumImportBytes(records: self.importMaximumRecords)
        let limits = SpreadsheetLimits(maximumFileBytes: maximumBytes, maximumRows: self.importMaximumRecords * 4 + 1)
        let data: Data
        let field: String
        switch (params.path, params.contentBase64) {
        case (let path?, nil):
            field = "path"
            guard path.hasPrefix("/") else { throw RPCError.invalidParams(field: "path", reason: "must_be_absolute") }
            do {
                data = try SpreadsheetReader.load(path: path, limits: limits)
            } catch {
                throw Self.importError(error, field: field)
            }
            if format == nil, path.lowercased().hasSuffix(".csv") { format = .csv }
        case (nil, let content?):
            field = "content_base64"
            guard content.utf8.count / 4 * 3 <= maximumBytes + 3 else {
                throw Self.importError(.fileTooLarge(limit: maximumBytes), field: field)
            }
            guard let decoded = Data(base64Encoded: content) else { throw RPCError.invalidParams(field: "content_base64", reason: "invalid_base64") }
            data = decoded
        case (nil, nil):
            throw RPCError.invalidParams(field: "path", reason: "required")
        case (.some, .some):
            throw RPCError.invalidParams(field: "content_base64", reason: "path_and_content_exclusive")
        }

        let sheet: Sheet
        do {
            sheet = try SpreadsheetReader.read(data, format: format, limits: limits)
        } catch {
            throw Self.importError(error, field: field)
        }
        let (workspace, head) = try self.read { txn in
            (try self.presenter(caller.workspace, in: txn).workspace, try self.stores.log.head(in: txn).seq)
        }
        let timeZone = workspace.timeZone
        let cells = sheet.rows
        let rows = Array(
            ParallelSlices.map(count: cells.count, minimumPerSlice: 2_048) { slice in
                cells[slice].map { row in row.map { ImportCells.text($0, timeZone: timeZone) } }
            }.joined()
        )
        let plan: ImportPlan
        do {
            plan = try ImportPlan.plan(rows: rows, workspace: workspace, maximumRecords: self.importMaximumRecords)
        } catch {
            if let limit = error.limit {
                // A limit, -32006 with its `reason` as the reader's limits and fields.create's (which
                // answers `too_many_fields` too); the records' is named by what it counts, as it always was.
                throw RPCError(
                    code: -32006, message: "Limit exceeded",
                    data: [
                        "limit": .integer(Int64(limit)), "field": .string(error.code == .tooManyRecords ? "records" : field),
                        "reason": .string(error.code.rawValue), "message": .string(error.message),
                    ]
                )
            }
            var data: [String: JSONValue] = ["field": .string(field), "reason": .string(error.code.rawValue), "message": .string(error.message)]
            if let row = error.row { data["row"] = .integer(Int64(row)) }
            if let column = error.column { data["column"] = .string(column) }
            throw RPCError(code: -32602, message: "Invalid params", data: .object(data))
        }

        var groupUUID: GroupUUID?
        var newGroupName: String?
        if let raw = params.group {
            let existing = GroupUUID(raw).flatMap { workspace.group($0) } ?? workspace.group(named: raw)
            if let existing {
                guard !existing.isSmart else {
                    throw ContactError(.invalidState, reason: "smart_group", field: "group")
                }
                groupUUID = existing.uuid
            } else {
                if GroupUUID(raw) != nil { throw ContactError.notFound("group", id: raw.lowercased()) }
                try WorkspaceDecider.validateGroupName(raw, workspace: workspace, field: "group")
                // Checked now, as groups.create would: at the limit the import was accepted, then failed
                // creating its group, and said re-running the file would finish it (§6.4: only existing
                // groups can be chosen then).
                do {
                    try WorkspaceDecider.checkRoomForGroup(workspace: workspace, field: "group")
                } catch {
                    var refusal = error
                    refusal.details["message"] = .text(
                        "This workspace has reached its limit of \(ImportPlan.grouped(Group.maximumPerWorkspace)) groups: only existing groups can be chosen.")
                    throw refusal
                }
                newGroupName = raw
                groupUUID = GroupUUID.random()
            }
        }

        let id = UUID.random().lowercasedString
        let spec = ImportSpec(id: id, plan: plan, dryRun: params.dryRun ?? false, groupUUID: groupUUID, newGroupName: newGroupName, caller: caller)
        let batches = (plan.records.count + ImportPlan.batchSize - 1) / ImportPlan.batchSize
        let state = ImportJobState(
            id: id, workspace: caller.workspace, state: "pending", dryRun: spec.dryRun, rowsTotal: plan.records.count, rowsDone: 0,
            created: 0, updated: 0, batchesDone: 0, batchesTotal: batches, startedOn: .now, finishedOn: nil, progressOn: nil,
            columns: plan.columns.map(Self.columnInfo), newFields: plan.newFields.map(\.key),
            group: params.group, failure: nil
        )
        var reply: any MethodAnswer = JSONValue.object(["import": .string(id), "seq": .integer(Int64(head))])
        if caller.idempotencyKey != nil || !spec.dryRun {
            // An acknowledged command is durable: the job's record is committed (synced) before the
            // import is answered, so its status survives a restart even if no batch ever commits (a full
            // disk answers -32005 here, and nothing starts). A dry run writes nothing and keeps its
            // status in memory only.
            // The key is kept with the first answer before the import starts. Two calls with one key that
            // raced past the look-up above both get here: the writer keeps the first one's answer and
            // gives it to the second, which then records and starts nothing. The first call answers what
            // is kept, so a retry answers the same (its seq is the head when the key was kept).
            let answer = try await self.command(call, caller) { tx in
                if !spec.dryRun { try self.persist(state, in: tx) }
                return ["import": .string(id)]
            }
            guard try answer.decoded()["import"]?.stringValue == id else { return answer }
            reply = answer
        }
        let job = ImportJob(state)
        ImportJob.register(job)
        self.logger.info(
            "import started",
            metadata: ["import.id": "\(id)", "import.records": "\(plan.records.count)", "import.dry_run": "\(spec.dryRun)", "workspace": "\(caller.workspace)"]
        )
        let run = Task.detached { await self.runImport(spec, job: job) }
        // Once the import's task, which holds its records, is gone.
        Task.detached {
            await run.value
            FreedMemory.returnToSystem()
        }
        return reply
    }

    private static func columnInfo(_ column: ImportColumn) -> ImportJobState.Column {
        switch column.kind {
        case .uuid: .init(header: column.header, kind: "uuid")
        case .name: .init(header: column.header, kind: "name")
        case .language: .init(header: column.header, kind: "language")
        case .status: .init(header: column.header, kind: "status")
        case .urn(let scheme): .init(header: column.header, kind: "urn", key: scheme.rawValue)
        case .field(let key, let isNew): .init(header: column.header, kind: "field", key: key, new: isNew)
        case .ignored: .init(header: column.header, kind: "ignored")
        }
    }

    /// A file that cannot be read: -32602 with the reference's text, or -32006 for the limits; each with
    /// a `reason` and a `message` that says what is wrong (and, for a limit, what the limit is).
    static func importError(_ error: SpreadsheetError, field: String) -> RPCError {
        switch error {
        case .corrupted:
            return RPCError(code: -32602, message: "Invalid params", data: ["field": .string(field), "reason": "corrupted", "message": "Import file appears to be corrupted."])
        case .refused(let reason):
            // Well-formed, perhaps, but refused on principle: the reason tells which rule.
            var data: [String: JSONValue] = ["field": .string(field), "reason": .string(reason)]
            switch reason {
            case "dtd_not_allowed":
                data["message"] = "Import file contains a document type declaration (DTD), which spreadsheet files may not have."
            case "unsupported_encoding":
                data["message"] = "Import file uses a text encoding other than UTF-8 or UTF-16."
            case "invalid_utf8":
                data["message"] = "Import file contains text that is not valid UTF-8."
            case "too_many_attributes":
                data["limit"] = .integer(Int64(SpreadsheetLimits.maximumAttributes))
                data["message"] = .string("Import file has an element with more than \(SpreadsheetLimits.maximumAttributes) attributes.")
            case "nesting_too_deep":
                data["limit"] = .integer(Int64(SpreadsheetLimits.maximumNesting))
                data["message"] = .string("Import file nests elements more than \(SpreadsheetLimits.maximumNesting) deep.")
            default:
                data["message"] = "Import file contains content that cannot be read."
            }
            return RPCError(code: -32602, message: "Invalid params", data: .object(data))
        case .empty:
            return RPCError(code: -32602, message: "Invalid params", data: ["field": .string(field), "reason": "empty", "message": "Import file appears to be empty."])
        case .fileTooLarge(let limit):
            return RPCError(
                code: -32006, message: "Limit exceeded",
                data: [
                    "limit": .integer(Int64(limit)), "field": .string(field), "reason": "file_too_large",
                    "message": .string("Import files can be at most \(ImportPlan.grouped(limit)) bytes."),
                ]
            )
        case .tooLarge(let what, let limit):
            let grouped = ImportPlan.grouped(limit)
            let (reason, message): (String, String) =
                switch what {
                case "rows": ("too_many_rows", "Import files can contain a maximum of \(grouped) rows with values.")
                case "row number": ("row_number_too_large", "Import files can use rows up to row \(grouped).")
                case "bytes in one part": ("too_many_bytes_in_one_part", "Import file has a part larger than \(grouped) bytes uncompressed.")
                default: ("too_many_\(what.replacingOccurrences(of: " ", with: "_"))", "Import file has more than \(grouped) \(what).")
                }
            return RPCError(
                code: -32006, message: "Limit exceeded",
                data: ["limit": .integer(Int64(limit)), "field": .string(field), "reason": .string(reason), "message": .string(message)]
            )
        case .io(let reason):
            return RPCError.invalidParams(field: field, reason: reason == "not_found" ? "file_not_found" : "file_unreadable")
        }
    }

    // MARK: - Running

    /// The meta-table key of an import's summary, and the prefix of its batches' errors.
    static func importKey(_ id: String) -> [UInt8] { Array("import/\(id)".utf8) }
    static func importErrorsKey(_ id: String, batch: Int) -> [UInt8] {
        Array("import/\(id)/errors/".utf8) + BigEndian.bytes(UInt64(batch))
    }

    /// A command of the import: idempotency key `import:<id>:<part>`, so the import id is on every
    /// event, and a batch retried after a failure of its answer is not applied twice.
    private func importCommand(
        _ spec: ImportSpec,
        part: String,
        _ body: @escaping @Sendable (CommandTransaction) throws -> JSONValue
    ) async throws -> JSONValue {
        var caller = spec.caller
        caller.idempotencyKey = spec.dryRun ? nil : "import:\(spec.id):\(part)"
        let call = RPCCall(method: "imports.batch", params: ["import": .string(spec.id), "part": .string(part)], id: nil)
        return try await self.command(call, caller, isBulk: true, body).decoded()
    }

    /// Persists the job's summary in the command's transaction.
    private func persist(_ state: ImportJobState, in tx: CommandTransaction) throws {
        try tx.txn.put(self.stores.meta, key: Self.importKey(state.id), value: try SortedKeysJSON.encode(state))
    }

    func runImport(_ started: ImportSpec, job: ImportJob) async {
        job.update { $0.state = "running" }
        let plan = started.plan
        var spec = started
        do {
            // New fields and the new group first (a dry run does this inside every batch, rolled back).
            if !spec.dryRun {
                let running = job.snapshot
                let answer = try await self.importCommand(started, part: "start") { tx in
                    let prepared = try self.prepareImport(started, in: tx)
                    try self.persist(running, in: tx)
                    return ["group": prepared.groupUUID.map { .string($0.rawValue) } ?? .null]
                }
                // The group it joins: its own new one, or one of the name made since it was started.
                spec.groupUUID = answer["group"]?.stringValue.flatMap(GroupUUID.init) ?? started.groupUUID
            }
            let prepared = spec  // as the batches' closures take it
            var batch = 0
            for start in stride(from: 0, to: plan.records.count, by: ImportPlan.batchSize) {
                let records = Array(plan.records[start..<min(start + ImportPlan.batchSize, plan.records.count)])
                let index = batch
                let isLast = start + records.count >= plan.records.count
                let before = job.snapshot
                let result: JSONValue
                do {
                    result = try await self.importCommand(spec, part: "\(index)") { tx in
                        let spec = prepared.dryRun ? try self.prepareImport(prepared, in: tx) : prepared
                        let outcome = try tx.batchingProjections { try self.importBatch(records, spec: spec, in: tx) }
                        if spec.dryRun { throw DryRunRollback(result: outcome.json) }
                        var after = before
                        after.rowsDone += records.count
                        after.created += outcome.created
                        after.updated += outcome.updated
                        after.batchesDone = index + 1
                        after.progressOn = tx.now
                        if isLast {
                            after.state = "complete"
                            after.finishedOn = tx.now
                        }
                        try self.persist(after, in: tx)
                        if !outcome.errors.isEmpty {
                            try tx.txn.put(
                                self.stores.meta, key: Self.importErrorsKey(spec.id, batch: index), value: Array(try JSONEncoder().encode(outcome.errors))
                            )
                        }
                        return outcome.json
                    }
                } catch let rollback as DryRunRollback {
                    result = rollback.result
                }
                let outcome = BatchOutcome(json: result)
                job.update { state in
                    state.rowsDone += records.count
                    state.created += outcome.created
                    state.updated += outcome.updated
                    state.errors += outcome.errors
                    state.batchesDone = index + 1
                }
                batch += 1
            }
            // The time the last batch stored (its commit's), so that the status answers the same before
            // and after a restart; a dry run stores nothing and finishes now.
            let stored = spec.dryRun ? nil : try self.read { txn in try txn.get(self.stores.meta, key: Self.importKey(spec.id)) }
            let finishedOn = stored.flatMap { try? JSONDecoder().decode(ImportJobState.self, from: Data($0)) }?.finishedOn ?? .now
            job.update { state in
                state.state = "complete"
                state.finishedOn = finishedOn
            }
            let done = job.snapshot
            self.logger.info(
                "import complete",
                metadata: ["import.id": "\(spec.id)", "import.created": "\(done.created)", "import.updated": "\(done.updated)", "import.errors": "\(done.errors.count)"]
            )
        } catch {
            // Only codes and reasons are logged: never a cell value.
            let rpc = ErrorMapping.rpcError(error)
            let reason = rpc?.data?["reason"]?.stringValue ?? "internal_error"
            job.update { state in
                state.state = "failed"
                state.finishedOn = .now
                // A smart group took the new group's name after the start: the same file and group would
                // be refused again, so the message does not send the user back to re-run them.
                let rerun = reason == "smart_group"
                    ? "The group named is now a smart group, which imports cannot add to: re-run the file naming another "
                        + "group, \(Self.importRetryKey)."
                    : Self.importRerun
                state.failure = .init(
                    reason: reason,
                    message: "The import stopped after \(state.rowsDone) of \(state.rowsTotal) records (\(reason)); the records before were imported. \(rerun)"
                )
            }
            self.logger.error("import failed", metadata: ["import.id": "\(spec.id)", "error.reason": "\(reason)", "error.code": "\(rpc?.code ?? -32603)"])
            if !spec.dryRun {
                let failed = job.snapshot
                _ = try? await self.importCommand(spec, part: "failed") { tx in
                    try self.persist(failed, in: tx)
                    return [:]
                }
            }
        }
    }

    /// Creates the import's new fields (text) and its new group, skipping any created meanwhile.
    ///
    /// Returns the spec its batches use: a group named as the new one, made since the import was
    /// started (by another import naming it too, or by anybody), is the one it adds its contacts to, as a
    /// field of a new key made meanwhile is the one it writes; two imports naming one new group at once
    /// made the second one fail on the name, having imported nothing.
    private func prepareImport(_ spec: ImportSpec, in tx: CommandTransaction) throws -> ImportSpec {
        for field in spec.plan.newFields {
            let workspace = try tx.workspace()
            guard workspace.field(field.key) == nil else { continue }
            var name = field.name
            if workspace.fields.contains(where: { $0.name.simpleLowercased() == name.simpleLowercased() }) { name = field.key }
            try tx.append(try WorkspaceDecider.createField(key: field.key, name: name, type: "text", workspace: workspace), to: EventHeader.workspaceStream(tx.workspaceName))
        }
        var prepared = spec
        if let name = spec.newGroupName, let uuid = spec.groupUUID {
            let workspace = try tx.workspace()
            if workspace.group(uuid) == nil {
                if let made = workspace.group(named: name) {
                    guard !made.isSmart else { throw ContactError(.invalidState, reason: "smart_group", field: "group") }
                    prepared.groupUUID = made.uuid
                } else {
                    try tx.append(try WorkspaceDecider.createGroup(uuid: uuid, name: name, query: nil, workspace: workspace), to: EventHeader.workspaceStream(tx.workspaceName))
                }
            }
        }
        return prepared
    }

    struct BatchOutcome {
        var created = 0
        var updated = 0
        var errors: [ImportCellError] = []

        init() {}

        init(json: JSONValue) {
            self.created = Int(json["created"]?.integerValue ?? 0)
            self.updated = Int(json["updated"]?.integerValue ?? 0)
            self.errors = (json["errors"]?.arrayValue ?? []).map { error in
                ImportCellError(
                    row: Int(error["row"]?.integerValue ?? 0), column: error["column"]?.stringValue, message: error["message"]?.stringValue ?? ""
                )
            }
        }

        var json: JSONValue {
            [
                "created": .integer(Int64(self.created)),
                "updated": .integer(Int64(self.updated)),
                "errors": .array(self.errors.map { error in
                    ["row": .integer(Int64(error.row)), "column": error.column.map { .string($0) } ?? .null, "message": .string(error.message)]
                }),
            ]
        }
    }

    /// Applies up to ``ImportPlan/batchSize`` records in one command: each is matched, then created or updated; a bad
    /// record is reported and skipped.
    private func importBatch(_ records: [ImportRecord], spec: ImportSpec, in tx: CommandTransaction) throws -> BatchOutcome {
        // The plan normalized every URN of the file already: the writer does not parse them again.
        let context = try tx.decisionContext(normalizedURNs: spec.plan.normalizedURNs)
        // Every record's target first, in row order. Importing a record changes the owners of its own
        // URNs only, and the plan refuses files whose records share a URN or a UUID, so no record
        // changes a later one's target.
        let targets = records.map { ImportDecider.target(of: $0, context: context) }
        let creations = try self.decideCreations(records, targets: targets, spec: spec, in: tx)
        var outcome = BatchOutcome()
        for (index, record) in records.enumerated() {
            switch targets[index] {
            case .failed(let error):
                outcome.errors.append(error)
            case .existing(let uuid):
                let contact: Contact
                do {
                    contact = try tx.contact(uuid)
                } catch {
                    outcome.errors.append(ImportDecider.missingContact(record))
                    continue
                }
                let result = ImportDecider.decide(record, contact: contact, newUUID: uuid, newID: contact.id, group: spec.groupUUID, context: context)
                outcome.errors += result.errors
                guard result.result != .failed else { continue }
                try tx.append(result.events, to: EventHeader.contactStream(uuid), expectedVersion: contact.version)
                outcome.updated += 1
            case .create:
                guard let creation = creations[index] else { continue }
                outcome.errors += creation.outcome.errors
                guard creation.outcome.result != .failed else { continue }
                try tx.append(
                    creation.outcome.events, to: EventHeader.contactStream(creation.uuid), expectedVersion: 0,
                    encodedPayloads: creation.payloads
                )
                outcome.created += 1
            }
        }
        return outcome
    }

    /// A record's new contact as decided, with its events' payloads encoded.
    private struct Creation: Sendable {
        var uuid: ContactUUID
        var outcome: ImportOutcome
        var payloads: [[UInt8]]?
    }

    /// Decides the batch's records that create contacts, by record index, in slices over the cores:
    /// deciding and encoding a new contact is most of a create's work, and depends on nothing the
    /// batch changes. Its URNs have no owner (that is why it creates) and no other record has them, so
    /// every owner lookup answers none, as it would on the writer's thread; ids are taken in row order,
    /// as one by one.
    private func decideCreations(
        _ records: [ImportRecord],
        targets: [ImportDecider.Target],
        spec: ImportSpec,
        in tx: CommandTransaction
    ) throws -> [Int: Creation] {
        let indices = targets.indices.filter { targets[$0] == .create }
        guard !indices.isEmpty else { return [:] }
        let ids = try tx.nextContactIDs(indices.count)
        let workspace = try tx.workspace()
        let now = tx.now
        let smartGroups = SmartGroups(workspace: workspace, reference: tx.reference)
        let normalizedURNs = spec.plan.normalizedURNs
        let group = spec.groupUUID
        let slices = ParallelSlices.map(count: indices.count, minimumPerSlice: 64) { slice in
            let context = DecisionContext(
                workspace: workspace, now: now, lookup: UnownedURNs(), smartGroupsMatching: { smartGroups.matching($0) },
                normalizedURNs: normalizedURNs
            )
            return slice.map { position -> (Int, Creation) in
                let uuid = ContactUUID.random()
                let id = ids.lowerBound + Int64(position)
                let outcome = ImportDecider.decide(records[indices[position]], contact: nil, newUUID: uuid, newID: id, group: group, context: context)
                // A payload that fails to encode here is encoded (and its error raised) by the append.
                let payloads = try? outcome.events.map { try $0.encodedData(timeZone: workspace.timeZone) }
                return (indices[position], Creation(uuid: uuid, outcome: outcome, payloads: payloads))
            }
        }
        return Dictionary(slices.joined()) { first, _ in first }
    }

    // MARK: - Status

    func importsStatus(_ call: RPCCall, _ caller: Caller) async throws -> JSONValue {
        let params = try self.params(ImportStatusParams.self, call)
        // As the schema has it (`minLength: 1`): an id left empty is a malformed call, not an unknown import.
        guard !params.import.isEmpty else { throw RPCError.invalidParams(field: "import", reason: "empty") }
        let id = params.import.lowercased()
        if let job = ImportJob.job(id) {
            let state = job.snapshot
            guard state.workspace == caller.workspace else { throw ContactError.notFound("import", id: params.import) }
            return try self.read { txn in try self.shownAsTheWorkspaceIsNow(state, in: txn).answer() }
        }
        // Not in memory: an import of an earlier run of the daemon.
        return try self.read { txn in
            guard let bytes = try txn.get(self.stores.meta, key: Self.importKey(id)),
                var state = try? JSONDecoder().decode(ImportJobState.self, from: Data(bytes)),
                state.workspace == caller.workspace
            else {
                throw ContactError.notFound("import", id: params.import)
            }
            let prefix = Array("import/\(id)/errors/".utf8)
            try txn.withCursor(self.stores.meta) { cursor in
                try cursor.forEach(from: prefix) { entry in
                    guard entry.key.hasPrefix(prefix) else { return false }
                    if let errors = try? JSONDecoder().decode([ImportCellError].self, from: Data(entry.value)) { state.errors += errors }
                    return true
                }
            }
            if state.state == "running" || state.state == "pending" {
                state.state = "failed"
                state.failure = .init(
                    reason: "interrupted",
                    message: "The daemon stopped during the import, after \(state.rowsDone) of \(state.rowsTotal) records; those were imported, the rest were not. \(Self.importRerun)"
                )
            }
            return try self.shownAsTheWorkspaceIsNow(state, in: txn).answer()
        }
    }

    /// The import's row errors as its workspace shows them now: they are kept with the URNs they quote
    /// whole, which an anonymous workspace masks in every answer (``ImportCellError/maskingEveryURN()``).
    private func shownAsTheWorkspaceIsNow(_ state: ImportJobState, in txn: Transaction) throws -> ImportJobState {
        guard try self.stores.projector(txn).workspaces.workspace(state.workspace, in: txn).anonymous else { return state }
        var shown = state
        shown.errors = state.errors.map { $0.maskingEveryURN() }
        return shown
    }
}

/// The owner lookups of an import's creation decided off the writer's thread: none of its URNs has an
/// owner (``LedgerMethods`` decides creations only for records whose URNs have none).
private struct UnownedURNs: ContactLookup {
    func owner(ofURN identity: String) throws -> ContactUUID? { nil }
}
