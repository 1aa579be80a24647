// ContactLedger — read models.
import ContactDomain
import Foundation
import JSONText
import LedgerStore

/// Picks, for a parsed query, the contacts an index says may match, so a selective query reads only
/// those instead of every contact. The evaluator still checks each candidate: a plan may be broader
/// than the query, never narrower.
///
/// Indexed: `uuid =`, `id =`, `status =`, `group =`, `name ~`, a tel/mailto/twitter/whatsapp/telegram
/// URN `=`, URN `~` (by trigrams), and a field's `=` (any type) or ordering comparison (numbers,
/// datetimes). `AND` intersects
/// its indexed parts, `OR` unites them when every branch is indexed; anything else falls back to a scan.
/// An index the answering generation keeps in another format (``ReadableIndexes``) narrows nothing.
public struct QueryPlanner {
    private let contacts: ContactReadModel
    private let indexes: ReadableIndexes
    private let workspace: Workspace
    private let evaluator: QueryEvaluator
    /// Schemes whose stored paths are lowercase (their normalization lowercases them), so a lookup of
    /// the lowercased path finds whatever the evaluator, which compares without case, would match.
    private static let lowercasedSchemes: Set<String> = ["mailto", "twitter"]
    /// Schemes whose paths are looked up as the query names them when the query's path has no letters
    /// of either case (a phone number, a numeric id). Their paths may hold letters of both cases (a
    /// sender id, a WhatsApp business-scoped id `BR.AbC1`), which an equality matches without case:
    /// those go to the trigram index, which is folded.
    private static let identitySchemes: Set<String> = ["tel", "whatsapp", "telegram"]

    /// - Parameter indexes: the indexes of `contacts`' generation this code reads
    ///   (``Projector/readableIndexes(in:)``).
    public init(contacts: ContactReadModel, indexes: ReadableIndexes, workspace: Workspace) {
        self.contacts = contacts
        self.indexes = indexes
        self.workspace = workspace
        self.evaluator = QueryEvaluator(workspace: workspace)
    }

    /// The candidates for `node`, or nil when no index narrows it.
    public func candidates(for node: QueryNode, in txn: Transaction) throws -> Set<ContactUUID>? {
        switch node {
        case .condition(let condition):
            return try self.candidates(for: condition, in: txn)
        case .and(let children):
            // Likely-narrow parts first; once the candidates are few, the evaluator checks the remaining
            // parts on them for less than reading a broad index (a range, a status) would cost.
            var result: Set<ContactUUID>?
            for child in children.sorted(by: { Self.breadth(of: $0) < Self.breadth(of: $1) }) {
                if let current = result, current.count <= Self.fewCandidates { break }
                guard let part = try self.candidates(for: child, in: txn) else { continue }
                result = result.map { $0.intersection(part) } ?? part
                if result?.isEmpty == true { break }
            }
            return result
        case .or(let children):
            var result: Set<ContactUUID> = []
            for child in children {
                guard let part = try self.candidates(for: child, in: txn) else { return nil }
                result.formUnion(part)
            }
            return result
        }
    }

    /// Candidates few enough that an `AND` stops reading indexes and lets the evaluator check the rest.
    static let fewCandidates = 1000

    /// How many contacts a part is likely to match, as a rank (lower is narrower), judged from its shape
    /// alone: identities match one contact, equalities on values few, URN substrings more, ranges,
    /// statuses and groups a large share.
    static func breadth(of node: QueryNode) -> Int {
        switch node {
        case .and(let children): return children.map(Self.breadth).min() ?? 0
        case .or(let children): return children.map(Self.breadth).max() ?? 0
        case .condition(let condition):
            switch (condition.property, condition.comparator) {
            case (.attribute(.uuid), .equal), (.attribute(.id), .equal), (.scheme, .equal): return 0
            case (.field(_, _), .equal), (.attribute(.name), .contains): return 1
            case (.scheme, .contains), (.attribute(.urn), .contains): return 2
            case (.attribute(.group), .equal): return 3
            case (.field(_, _), _): return 4
            default: return 5
            }
        }
    }

    private func candidates(for condition: QueryCondition, in txn: Transaction) throws -> Set<ContactUUID>? {
        let name = self.workspace.name
        let index = self.contacts.index
        if case .empty = condition.typedValue { return nil }
        switch (condition.property, condition.comparator) {
        case (.attribute(.uuid), .equal):
            return Set([ContactUUID(condition.value)].compactMap { $0 })
        case (.attribute(.id), .equal):
            guard let id = Int64(condition.value), let found = try self.contacts.contact(id: id, in: txn), found.workspace == name else {
                return []
            }
            return [found.uuid]
        case (.attribute(.status), .equal):
            guard case .status(let status) = condition.typedValue else { return nil }
            return Set(try index.contacts(matching: .status(status), workspace: name, in: txn))
        case (.attribute(.group), .equal):
            guard let group = self.workspace.group(named: condition.value) else { return [] }
            return Set(try index.contacts(matching: .group(group.uuid), workspace: name, in: txn))
        case (.attribute(.name), .contains):
            var result: Set<ContactUUID> = []
            for word in QueryNameTokenizer.matchKeys(in: QueryEvaluator.fold(condition.value)) {
                result.formUnion(try index.contacts(withNameWordStarting: word, workspace: name, in: txn))
            }
            return result
        case (.scheme(let scheme), .equal):
            let path = condition.value.trimmingWhitespaceAndNewlines()
            let lowercased = path.simpleLowercased()
            let caseless = lowercased == path.uppercased()
            guard Self.lowercasedSchemes.contains(scheme) || (caseless && Self.identitySchemes.contains(scheme)) else {
                return try self.urnCandidates(scheme: scheme, containing: path, in: txn)
            }
            return Set([try self.contacts.owner(ofURN: "\(scheme):\(lowercased)", workspace: name, in: txn)].compactMap { $0 })
        case (.scheme(let scheme), .contains):
            return try self.urnCandidates(scheme: scheme, containing: condition.value, in: txn)
        case (.attribute(.urn), .contains):
            return try self.urnCandidates(scheme: nil, containing: condition.value, in: txn)
        case (.field(let key, _), let comparator):
            return try self.fieldCandidates(key: key, comparator: comparator, condition: condition, in: txn)
        default:
            return nil
        }
    }

    /// Contacts with a URN path (of `scheme`, or of any scheme when nil) that may contain `value`: every
    /// trigram of the value is in the path. Trigram lists are long (a digit trigram is in thousands of
    /// phone numbers), so they are intersected as sorted ids read from index keys, and only the few
    /// survivors are turned into contacts; the evaluator is exact.
    private func urnCandidates(scheme: String?, containing value: String, in txn: Transaction) throws -> Set<ContactUUID>? {
        // An older generation's trigrams, read in this format, would say no contact matches.
        guard self.indexes.urnTrigrams else { return nil }
        let trigrams = ContactIndex.trigrams(of: value.trimmingWhitespaceAndNewlines())
        guard !trigrams.isEmpty else { return nil }
        let index = self.contacts.index
        let name = self.workspace.name
        var ids: [Int64]?
        for trigram in trigrams.sorted() {
            let part = try scheme.map { try index.ids(matching: .urnTrigram(scheme: $0, trigram: trigram), workspace: name, in: txn) }
                ?? index.ids(withURNTrigram: trigram, workspace: name, in: txn)
            let narrowed = ids.map { Self.intersection(of: $0, and: part) } ?? part
            ids = narrowed
            if narrowed.count <= Self.fewURNCandidates { break }
        }
        var result: Set<ContactUUID> = []
        for id in ids ?? [] {
            if let found = try self.contacts.contact(id: id, in: txn), found.workspace == name { result.insert(found.uuid) }
        }
        return result
    }

    /// Candidates few enough that reading another trigram's list costs more than evaluating them.
    static let fewURNCandidates = 16

    /// The ids in both ascending lists.
    static func intersection(of left: [Int64], and right: [Int64]) -> [Int64] {
        var result: [Int64] = []
        var i = 0
        var j = 0
        while i < left.count, j < right.count {
            if left[i] < right[j] {
                i += 1
            } else if left[i] > right[j] {
                j += 1
            } else {
                result.append(left[i])
                i += 1
                j += 1
            }
        }
        return result
    }

    private func fieldCandidates(
        key: String,
        comparator: QueryComparator,
        condition: QueryCondition,
        in txn: Transaction
    ) throws -> Set<ContactUUID>? {
        let name = self.workspace.name
        let index = self.contacts.index
        let type = self.workspace.field(key)?.type ?? .text
        switch type {
        case .text:
            guard comparator == .equal else { return nil }
            return Set(try index.contacts(matching: .fieldText(key: key, text: QueryEvaluator.fold(condition.value)), workspace: name, in: txn))
        case .state, .district, .ward:
            guard comparator == .equal else { return nil }
            return Set(try index.contacts(matching: .fieldLocation(key: key, name: QueryEvaluator.fold(condition.value)), workspace: name, in: txn))
        case .number:
            guard case .number(let decimal) = condition.typedValue else { return nil }
            let value = NSDecimalNumber(decimal: decimal).doubleValue
            // Doubles only approximate 36-digit decimals: widen by one step each way; the evaluator is exact.
            let low = value.nextDown
            let high = value.nextUp
            let (from, to): (Double, Double)
            switch comparator {
            case .equal: (from, to) = (low, high)
            case .greaterThan, .greaterThanOrEqual: (from, to) = (low, .infinity)
            case .lessThan, .lessThanOrEqual: (from, to) = (-.infinity, high)
            case .notEqual, .contains: return nil
            }
            return Set(try index.contacts(between: .fieldNumber(key: key, value: from), and: .fieldNumber(key: key, value: to), workspace: name, in: txn))
        case .datetime:
            guard case .date(let day) = condition.typedValue, let (start, end) = self.evaluator.interval(of: day) else { return nil }
            let startMicros = Timestamp(start).microseconds
            let endMicros = Timestamp(end).microseconds
            let (from, to): (Int64, Int64)
            switch comparator {
            case .equal: (from, to) = (startMicros, endMicros)
            case .greaterThan: (from, to) = (endMicros, .max)
            case .greaterThanOrEqual: (from, to) = (startMicros, .max)
            case .lessThan: (from, to) = (.min, startMicros)
            case .lessThanOrEqual: (from, to) = (.min, endMicros)
            case .notEqual, .contains: return nil
            }
            return Set(try index.contacts(between: .fieldDate(key: key, microseconds: from), and: .fieldDate(key: key, microseconds: to), workspace: name, in: txn))
        }
    }
}
