// ContactLedger — read models.
import ContactDomain
import Crypto
import Foundation
import JSONText
import LedgerStore

/// Secondary indexes of the contacts, so selective queries read only their candidates: field values
/// by type (numbers and datetimes ordered), location names, name words, status and group membership.
///
/// Every entry is `workspace NUL term id` → `uuid`, with the contact's numeric id big-endian: ids grow
/// with creation, so the entries of contacts created together sit together at the end of each term's
/// run, and a batch of creates (a rebuild chunk, an import) touches a few pages per term rather than
/// a page per entry, as UUID-ordered entries did. The query planner reads candidates from it and the
/// evaluator still checks each candidate, so an index only needs to never miss a match.
public struct ContactIndex: Sendable {
    static let tableNames = ["rm.index"]
    private let table: Table

    init(tables: [String: Table]) throws(ReadModelError) {
        guard let table = tables["rm.index"] else { throw ReadModelError.missingTables }
        self.table = table
    }

    var allTables: [Table] { [self.table] }

    /// What an index entry stands for.
    public enum Term: Sendable, Hashable {
        /// A field's text (trimmed, lowercased; long texts hashed).
        case fieldText(key: String, text: String)
        /// A field's number, ordered.
        case fieldNumber(key: String, value: Double)
        /// A field's number that its double (the `fieldNumber` entry) only approximates: the double's
        /// shortest text reads back as another decimal. Ordered walks read a run of equal doubles whole
        /// only when it holds such an entry; otherwise every entry of the run has the same exact value.
        case fieldNumberApproximate(key: String, value: Double)
        /// A field's datetime, ordered.
        case fieldDate(key: String, microseconds: Int64)
        /// A location field's place name (trimmed, lowercased).
        case fieldLocation(key: String, name: String)
        /// A word of the name, as matched: lowercased, its first 8 characters.
        case nameWord(String)
        case status(ContactStatus)
        case group(GroupUUID)
        /// Three consecutive characters of a URN path (lowercased), under its scheme, for `~`
        /// (contains) queries on URNs; a query on any scheme unites the schemes' entries
        /// (``ids(withURNTrigram:workspace:in:)``) rather than every trigram being stored twice.
        case urnTrigram(scheme: String, trigram: String)

        /// The bytes before the value: one per indexed property.
        var prefix: [UInt8] {
            var bytes: [UInt8] = []
            self.appendPrefix(to: &bytes)
            return bytes
        }

        /// The value's bytes, ordered like the values for numbers and datetimes.
        var value: [UInt8] {
            var bytes: [UInt8] = []
            self.appendValue(to: &bytes)
            return bytes
        }

        /// Appends ``prefix`` to `bytes`: written in place, because a rebuild builds a key for every term
        /// of every contact, and making each part an array of its own was most of what building it cost.
        func appendPrefix(to bytes: inout [UInt8]) {
            // Byte by byte: `bytes += [tag, 0]` allocated an array for every key.
            func bare(_ tag: UInt8) {
                bytes.append(tag)
                bytes.append(0)
            }
            func tagged(_ tag: UInt8, _ key: String) {
                bare(tag)
                bytes += key.utf8
                bytes.append(0)
            }
            switch self {
            case .fieldText(let key, _): tagged(UInt8(ascii: "t"), key)
            case .fieldNumber(let key, _): tagged(UInt8(ascii: "n"), key)
            case .fieldNumberApproximate(let key, _): tagged(UInt8(ascii: "a"), key)
            case .fieldDate(let key, _): tagged(UInt8(ascii: "d"), key)
            case .fieldLocation(let key, _): tagged(UInt8(ascii: "l"), key)
            case .nameWord: bare(UInt8(ascii: "w"))
            case .status: bare(UInt8(ascii: "s"))
            case .group: bare(UInt8(ascii: "g"))
            case .urnTrigram(let scheme, _): tagged(UInt8(ascii: "u"), scheme)
            }
        }

        /// Appends ``value`` to `bytes`.
        func appendValue(to bytes: inout [UInt8]) {
            func terminated(_ text: String) {
                bytes += text.utf8
                bytes.append(0)
            }
            switch self {
            case .fieldText(_, let text), .fieldLocation(_, let text):
                bytes += Term.textBytes(text)
                bytes.append(0)
            case .fieldNumber(_, let value), .fieldNumberApproximate(_, let value): bytes += Term.orderedBytes(value)
            case .fieldDate(_, let microseconds): bytes += BigEndian.bytes(UInt64(bitPattern: microseconds) ^ (1 << 63))
            case .nameWord(let word): terminated(word)
            case .status(let status): terminated(status.rawValue)
            case .group(let uuid): terminated(uuid.rawValue)
            case .urnTrigram(_, let trigram): terminated(trigram)
            }
        }

        /// Text keys stay well under LMDB's 511-byte limit: long texts are hashed.
        static func textBytes(_ text: String) -> [UInt8] {
            let bytes = Array(text.utf8)
            guard bytes.count > 160 else { return bytes }
            return Array("#".utf8) + Array(SHA256.hash(data: bytes))
        }

        /// IEEE-754 bits turned so that byte order is numeric order.
        static func orderedBytes(_ value: Double) -> [UInt8] {
            let bits = value.bitPattern
            return BigEndian.bytes(value.sign == .minus ? ~bits : bits | (1 << 63))
        }
    }

    /// The terms a contact is found under (none once deleted).
    static func terms(of contact: Contact) -> Set<Term> {
        guard !contact.isDeleted else { return [] }
        var terms: Set<Term> = []
        terms.reserveCapacity(1 + contact.groups.count + 4 + contact.fields.count * 2)
        terms.insert(.status(contact.status))
        for group in contact.groups { terms.insert(.group(group)) }
        for word in QueryNameTokenizer.matchKeys(in: contact.name ?? "") { terms.insert(.nameWord(word)) }
        for (key, value) in contact.fields {
            // Every value has a text entry, one whose text folds to nothing (spaces) under the empty text:
            // the key's text entries then list every contact with a value (``contacts(withValueOf:workspace:in:)``).
            terms.insert(.fieldText(key: key, text: QueryEvaluator.fold(value.text)))
            if let number = value.number {
                let double = NSDecimalNumber(decimal: number).doubleValue
                terms.insert(.fieldNumber(key: key, value: double))
                if !Self.isExactlyNamed(number, by: double) { terms.insert(.fieldNumberApproximate(key: key, value: double)) }
            }
            if let date = value.datetime { terms.insert(.fieldDate(key: key, microseconds: Timestamp(date).microseconds)) }
            for path in [value.state, value.district, value.ward].compactMap({ $0 }) {
                terms.insert(.fieldLocation(key: key, name: QueryEvaluator.fold(LocationHierarchy.name(ofPath: path))))
            }
        }
        return terms
    }

    /// The URN trigram terms a contact is found under (none once deleted), kept as posting blocks
    /// (``PostingBlocks``) rather than an entry each.
    static func trigramTerms(of contact: Contact) -> Set<Term> {
        guard !contact.isDeleted else { return [] }
        var terms: Set<Term> = []
        // Sized once: a contact's trigrams outgrow a set's first few sizes.
        terms.reserveCapacity(contact.urns.count * 16)
        for text in contact.urns {
            guard let urn = try? URN(stored: text) else { continue }
            for trigram in Self.trigramWindows(of: urn.path) {
                terms.insert(.urnTrigram(scheme: urn.scheme.rawValue, trigram: trigram))
            }
        }
        return terms
    }

    /// The locale a double's text is read back in (made once: this runs for every indexed number).
    private static let posix = Locale(identifier: "en_US_POSIX")

    /// Whether `double`'s shortest text reads back as exactly `decimal`: then no other decimal with
    /// that property shares the double, and equal doubles mean equal values.
    static func isExactlyNamed(_ decimal: Decimal, by double: Double) -> Bool {
        // Whole numbers a double holds exactly are most values: a decimal with no fractional digits
        // below 2^53 converts exactly. (A decimal written with fraction digits takes the text path.)
        if decimal.exponent >= 0, abs(double) < 9.0e15 { return true }
        return Decimal(string: "\(double)", locale: Self.posix) == decimal
    }

    /// Whether any entry of `key`'s numbers at exactly `orderedValue` (a ``Term/orderedBytes(_:)``
    /// value) is approximate (``Term/fieldNumberApproximate(key:value:)``).
    public func hasApproximateNumbers(key: String, orderedValue: [UInt8], workspace: String, in txn: Transaction) throws -> Bool {
        let prefix = KeyEncoding.prefix(workspace) + Term.fieldNumberApproximate(key: key, value: 0).prefix + orderedValue
        return try txn.withCursor(self.table) { cursor in
            guard let entry = try cursor.seek(atLeast: prefix) else { return false }
            return entry.key.hasPrefix(prefix)
        }
    }

    /// The distinct three-character windows of `text`, lowercased.
    public static func trigrams(of text: String) -> Set<String> {
        Set(Self.trigramWindows(of: text))
    }

    /// Every three-character window of `text`, lowercased, repeats included (the caller's set dedups:
    /// building a set here too hashed every window twice).
    static func trigramWindows(of text: String) -> [String] {
        // ASCII without CR (CR LF is one character) is one character a byte: window the bytes, which
        // costs a fraction of splitting into characters.
        if text.utf8.allSatisfy({ $0 < 0x80 && $0 != 0x0D }) {
            let bytes = text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
            guard bytes.count >= 3 else { return [] }
            return (0...(bytes.count - 3)).map { String(decoding: bytes[$0..<($0 + 3)], as: UTF8.self) }
        }
        let characters = Array(text.simpleLowercased())
        guard characters.count >= 3 else { return [] }
        return (0...(characters.count - 3)).map { String(characters[$0..<($0 + 3)]) }
    }

    /// One posting block of a trigram term: the workspace, the term and the block's number.
    struct TrigramBlock: Hashable, Sendable {
        var workspace: String
        var term: Term
        var number: UInt64

        /// All but the workspace, which a batch's blocks nearly always share (hashing its text added only
        /// cost); equal blocks still compare it.
        func hash(into hasher: inout Hasher) {
            hasher.combine(self.term)
            hasher.combine(self.number)
        }
    }

    /// The key of `term`'s posting block `block` (a trigram term's).
    private func postingKey(_ workspace: String, _ term: Term, block: UInt64) -> [UInt8] {
        self.key(workspace, term, Int64(bitPattern: block))
    }

    private func key(_ workspace: String, _ term: Term, _ id: Int64) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(workspace.utf8.count + 64)
        key += workspace.utf8
        key.append(0)
        term.appendPrefix(to: &key)
        term.appendValue(to: &key)
        key += BigEndian.bytes(UInt64(bitPattern: id))
        return key
    }

    /// Moves a contact's entries from what `old` was found under to what `new` is.
    func update(from old: Contact?, to new: Contact, workspace: String, in txn: Transaction) throws {
        var writes = SortedWrites()
        var postings = PostingChanges<TrigramBlock>()
        self.update(from: old, to: new, workspace: workspace, into: &writes, postings: &postings)
        try self.apply(&writes, postings: postings, in: txn)
    }

    /// Applies index changes gathered by ``update(from:to:workspace:into:postings:)``: the entries, then
    /// each changed posting block read once and written once.
    func apply(_ writes: inout SortedWrites, postings: PostingChanges<TrigramBlock>, in txn: Transaction) throws {
        try writes.apply(to: self.table, in: txn)
        try postings.apply(to: self.table, in: txn) { self.postingKey($0.workspace, $0.term, block: $0.number) }
    }

    /// Gathers the entry changes of `old` becoming `new` into `writes`, and its trigram changes into
    /// `postings`, to be applied to this index's table with a batch's others (``SortedWrites``).
    func update(from old: Contact?, to new: Contact, workspace: String, into writes: inout SortedWrites, postings: inout PostingChanges<TrigramBlock>) {
        let uuid = Array(new.uuid.rawValue.utf8)
        // Most changes leave the URNs (and so their trigrams) alone: then neither side is computed.
        let trigramsUnchanged = old.map { $0.urns == new.urns && $0.isDeleted == new.isDeleted && $0.id == new.id } ?? false
        let trigramsBefore = trigramsUnchanged ? [] : old.map(Self.trigramTerms) ?? []
        let trigramsAfter = trigramsUnchanged ? [] : Self.trigramTerms(of: new)
        func remove(_ trigrams: some Sequence<Term>, id: Int64) {
            let position = PostingBlocks.position(of: id)
            for term in trigrams { postings.remove(position.offset, from: TrigramBlock(workspace: workspace, term: term, number: position.block)) }
        }
        func add(_ trigrams: some Sequence<Term>, id: Int64) {
            let position = PostingBlocks.position(of: id)
            postings.reserveCapacity(whileEmpty: trigrams.underestimatedCount)
            for term in trigrams { postings.add(position.offset, to: TrigramBlock(workspace: workspace, term: term, number: position.block)) }
        }
        let before = old.map(Self.terms) ?? []
        let after = Self.terms(of: new)
        // A contact replayed from an erased creation has id 0 until its deletion restores the id.
        if let old, old.id != new.id {
            for term in before { writes.delete(key: self.key(workspace, term, old.id)) }
            for term in after { writes.put(key: self.key(workspace, term, new.id), value: uuid) }
            remove(trigramsBefore, id: old.id)
            add(trigramsAfter, id: new.id)
            return
        }
        // A new contact (the bulk of an import or a rebuild) has nothing to take away.
        guard !before.isEmpty || !trigramsBefore.isEmpty || trigramsUnchanged else {
            for term in after { writes.put(key: self.key(workspace, term, new.id), value: uuid) }
            add(trigramsAfter, id: new.id)
            return
        }
        for term in before.subtracting(after) { writes.delete(key: self.key(workspace, term, new.id)) }
        for term in after.subtracting(before) { writes.put(key: self.key(workspace, term, new.id), value: uuid) }
        remove(trigramsBefore.subtracting(trigramsAfter), id: new.id)
        add(trigramsAfter.subtracting(trigramsBefore), id: new.id)
    }

    /// The contacts indexed under exactly `term`.
    public func contacts(matching term: Term, workspace: String, in txn: Transaction) throws -> [ContactUUID] {
        try self.scan(from: KeyEncoding.prefix(workspace) + term.prefix + term.value, while: KeyEncoding.prefix(workspace) + term.prefix + term.value, in: txn)
    }

    /// The contacts with a value of field `key`, whatever its type: each value has one text entry.
    /// Read only in a generation whose ``ReadableIndexes/fieldValues`` holds.
    public func contacts(withValueOf key: String, workspace: String, in txn: Transaction) throws -> [ContactUUID] {
        let prefix = KeyEncoding.prefix(workspace) + Term.fieldText(key: key, text: "").prefix
        return try self.scan(from: prefix, while: prefix, in: txn)
    }

    /// The ids of the contacts indexed under exactly `term`, ascending (a term's entries are in id order),
    /// read from the keys alone: cheaper than ``contacts(matching:workspace:in:)`` for lists that are only
    /// intersected.
    public func ids(matching term: Term, workspace: String, in txn: Transaction) throws -> [Int64] {
        let prefix = KeyEncoding.prefix(workspace) + term.prefix + term.value
        if case .urnTrigram = term { return try self.ids(under: prefix, posted: true, in: txn) }
        return try self.ids(under: prefix, in: txn)
    }

    /// The ids of the contacts with `trigram` in a URN of any scheme, ascending and distinct.
    public func ids(withURNTrigram trigram: String, workspace: String, in txn: Transaction) throws -> [Int64] {
        let base = KeyEncoding.prefix(workspace) + Term.urnTrigram(scheme: "", trigram: "").prefix.dropLast()
        var schemes: [[UInt8]] = []
        try txn.withCursor(self.table) { cursor in
            var next = try cursor.seek(atLeast: base)
            while let entry = next, entry.key.hasPrefix(base) {
                guard let end = entry.key[base.count...].firstIndex(of: 0) else { return }
                let scheme = Array(entry.key[base.count...end])
                schemes.append(scheme)
                next = try cursor.seek(atLeast: base + scheme.dropLast() + [1])
            }
        }
        var result: [Int64] = []
        for scheme in schemes {
            result += try self.ids(under: base + scheme + Term.urnTrigram(scheme: "", trigram: trigram).value, posted: true, in: txn)
        }
        return schemes.count > 1 ? Array(Set(result)).sorted() : result
    }

    /// The ids under the keys that start with `prefix` (the prefix then 8 bytes), ascending: the bytes
    /// are the id, or, for a trigram's posting blocks (`posted`), the block whose value lists its ids.
    private func ids(under prefix: [UInt8], posted: Bool = false, in txn: Transaction) throws -> [Int64] {
        var result: [Int64] = []
        try txn.withCursor(self.table) { cursor in
            try cursor.forEach(from: prefix) { entry in
                guard entry.key.hasPrefix(prefix) else { return false }
                if entry.key.count == prefix.count + 8, let number = BigEndian.uint64(entry.key, at: prefix.count) {
                    if posted {
                        result += PostingBlocks.ids(in: entry.value, block: number)
                    } else {
                        result.append(Int64(bitPattern: number))
                    }
                }
                return true
            }
        }
        return result
    }

    /// The contacts whose name has a word starting with `prefix` (already folded and cut).
    public func contacts(withNameWordStarting prefix: String, workspace: String, in txn: Transaction) throws -> [ContactUUID] {
        let start = KeyEncoding.prefix(workspace) + Term.nameWord("").prefix + Array(prefix.utf8)
        return try self.scan(from: start, while: start, in: txn)
    }

    /// The contacts whose ordered value of `low`'s kind lies in `[low, high]` (either end open when nil).
    public func contacts(between low: Term, and high: Term, workspace: String, in txn: Transaction) throws -> [ContactUUID] {
        let prefix = KeyEncoding.prefix(workspace) + low.prefix
        let end = high.value
        var result: [ContactUUID] = []
        try txn.withCursor(self.table) { cursor in
            try cursor.forEach(from: prefix + low.value) { entry in
                guard entry.key.hasPrefix(prefix), entry.key.count >= prefix.count + 8 else { return false }
                let value = Array(entry.key[prefix.count..<(prefix.count + 8)])
                guard value.lexicographicallyPrecedes(end) || value == end else { return false }
                if let uuid = Self.uuid(entry.value) { result.append(uuid) }
                return true
            }
        }
        return result
    }

    /// The key of a workspace's live-contact count: `c` is no term's prefix.
    private static func liveCountKey(_ workspace: String) -> [UInt8] {
        KeyEncoding.prefix(workspace) + Array("c\u{0}live".utf8)
    }

    /// How many live (not deleted) contacts `workspace` has: kept as contacts are created and deleted
    /// (``ContactWriteBack``), so a total of everyone is one read, not a count of a million keys. Where
    /// no count is stored (none live, or a read model that predates the counts: a generation of an older
    /// version still answers while a rebuild runs), the status entries are counted: every live contact
    /// has exactly one.
    public func liveContacts(of workspace: String, in txn: Transaction) throws -> Int {
        if let bytes = try txn.get(self.table, key: Self.liveCountKey(workspace)), let count = BigEndian.uint64(bytes) { return Int(count) }
        return try ContactStatus.allCases.reduce(0) { $0 + (try self.count(matching: .status($1), workspace: workspace, in: txn)) }
    }

    /// Adds `change` (negative for deletions) to the live-contact count of `workspace`. A count of 0 is
    /// not stored: a rebuild, which adds up each batch's changes, stores none where a workspace's contacts
    /// were all deleted, and the live model must hold the same keys (`projections.verify`).
    func adjustLiveCount(of workspace: String, by change: Int, in txn: Transaction) throws {
        let key = Self.liveCountKey(workspace)
        let stored = try txn.get(self.table, key: key).flatMap { BigEndian.uint64($0) }.map { Int($0) } ?? 0
        let count = max(0, stored + change)
        if count == 0 {
            try txn.delete(self.table, key: key)
        } else {
            try txn.put(self.table, key: key, value: BigEndian.bytes(UInt64(count)))
        }
    }

    /// Whether the contact with `id` is indexed under exactly `term`.
    public func contains(_ term: Term, id: Int64, workspace: String, in txn: Transaction) throws -> Bool {
        guard case .urnTrigram = term else { return try txn.contains(self.table, key: self.key(workspace, term, id)) }
        let position = PostingBlocks.position(of: id)
        return try txn.withValue(self.table, key: self.postingKey(workspace, term, block: position.block)) { value in
            value.map { PostingBlocks.contains(position.offset, in: $0) } ?? false
        }
    }

    /// How many contacts are indexed under exactly `term`, counted from the keys alone.
    public func count(matching term: Term, workspace: String, in txn: Transaction) throws -> Int {
        let prefix = KeyEncoding.prefix(workspace) + term.prefix + term.value
        if case .urnTrigram = term { return try self.ids(under: prefix, posted: true, in: txn).count }
        var count = 0
        try txn.withCursor(self.table) { cursor in
            try cursor.forEach(from: prefix) { entry in
                guard entry.key.hasPrefix(prefix) else { return false }
                count += 1
                return true
            }
        }
        return count
    }

    /// One entry of an ordered walk (``walk(_:from:descending:workspace:in:_:)``).
    public struct OrderedEntry: Sendable {
        /// The value's ordered bytes: equal bytes, equal index value.
        public var value: [UInt8]
        public var id: Int64
        public var uuid: ContactUUID
    }

    /// Visits the contacts indexed under an ordered kind of term (a field's numbers or datetimes: `kind`'s
    /// value is ignored) in value order, ties by id, or in the reverse of that order, while `body` returns
    /// true. With `from`, the walk starts at that value's entries (all of them, either way).
    public func walk(
        _ kind: Term,
        from start: Term?,
        descending: Bool,
        workspace: String,
        in txn: Transaction,
        _ body: (OrderedEntry) throws -> Bool
    ) throws {
        let prefix = KeyEncoding.prefix(workspace) + kind.prefix
        // Keys are the prefix, 8 value bytes and 8 id bytes: 17 0xFF bytes pass every one of them.
        let beyond = [UInt8](repeating: 0xFF, count: 17)
        func visit(_ entry: Cursor.Entry) throws -> Bool {
            guard entry.key.hasPrefix(prefix), entry.key.count == prefix.count + 16 else { return false }
            let value = Array(entry.key[prefix.count..<(prefix.count + 8)])
            guard let id = BigEndian.uint64(Array(entry.key[(prefix.count + 8)...])), let uuid = Self.uuid(entry.value) else { return true }
            return try body(OrderedEntry(value: value, id: Int64(bitPattern: id), uuid: uuid))
        }
        try txn.withCursor(self.table) { cursor in
            if descending {
                try cursor.forEachReversed(before: prefix + (start.map { $0.value + beyond.prefix(9) } ?? beyond), visit)
            } else {
                try cursor.forEach(from: prefix + (start?.value ?? []), visit)
            }
        }
    }

    /// The uuids of entries starting with `start` and keeping `prefix`.
    private func scan(from start: [UInt8], while prefix: [UInt8], in txn: Transaction) throws -> [ContactUUID] {
        var result: [ContactUUID] = []
        try txn.withCursor(self.table) { cursor in
            try cursor.forEach(from: start) { entry in
                guard entry.key.hasPrefix(prefix) else { return false }
                if let uuid = Self.uuid(entry.value) { result.append(uuid) }
                return true
            }
        }
        return result
    }

    /// The contact UUID an entry's value holds.
    private static func uuid(_ value: UnsafeRawBufferPointer) -> ContactUUID? {
        ContactUUID(String(decoding: value, as: UTF8.self))
    }
}
