// ContactLedger — contact domain.
import Foundation
import JSONText

extension EventHeader {
    /// Reads header bytes laid out exactly as ``encoded()`` writes them, for replaying the log, without
    /// building a JSON tree; nil for any bytes it does not fully understand (white space, another key
    /// order, a backslash, control character or invalid UTF-8 in a string, a number with a sign, a
    /// leading zero, a fraction or out of range, a `created_on` not in ``Timestamp/description``'s form,
    /// trailing bytes…), which ``decode(_:)`` then judges.
    ///
    /// Returns what read models use: `id` is empty, `idempotencyKey` nil and `peer` keeps only its uid
    /// (gid and pid 0). Those members, and the header's own `seq`, are checked but not kept: making
    /// their strings would cost as much as the rest. `seq` is the one given (the record's key).
    ///
    /// Whenever it returns a header, ``decode(_:)`` of the same bytes gives the same header with
    /// those members blanked.
    ///
    /// - Parameters:
    ///   - bytes: A stored header.
    ///   - seq: The log position of the record the header belongs to.
    public static func readCanonical(_ bytes: [UInt8], seq: UInt64) -> EventHeader? {
        bytes.withUnsafeBytes { buffer in Self.readCanonical(buffer, seq: seq, previous: nil) }
    }

    /// The stream and version a stored header names (for the log's stream index, derived from the
    /// headers); nil when the bytes are no header. Headers this version wrote are read straight from
    /// their bytes, older shapes parsed.
    public static func streamAndVersion(of bytes: UnsafeRawBufferPointer, seq: UInt64) -> (stream: [UInt8], version: UInt64)? {
        var reader = CanonicalHeaderReader(bytes: bytes.assumingMemoryBound(to: UInt8.self))
        if let (stream, _, version) = reader.streamSeqAndVersion() { return (Array(stream), version) }
        guard let header = try? Self.decode(Array(bytes)) else { return nil }
        return (Array(header.stream.utf8), header.version)
    }

    /// The position a stored header names as its own `seq` (its record's key should be the same); nil
    /// when the bytes are no header. For checking the log (`ledger.verify`), which otherwise takes a
    /// record's position from its key.
    public static func storedSeq(of bytes: UnsafeRawBufferPointer) -> UInt64? {
        var reader = CanonicalHeaderReader(bytes: bytes.assumingMemoryBound(to: UInt8.self))
        if let (_, seq, _) = reader.streamSeqAndVersion() { return seq }
        return (try? Self.decode(Array(bytes)))?.seq
    }

    /// Reads header bytes as ``readCanonical(_:seq:)`` does; a string whose bytes are `previous`'s
    /// same member (the record before, in a replay), or a known event type, is that string rather than
    /// a new one: a contact's events come together, and making the same strings again (allocated, then
    /// retained and released at every step of the replay) cost more than comparing their bytes.
    ///
    /// - Parameter requiringSeq: when true, a header whose own `seq` is not `seq` gives nil as well (a
    ///   replay then judges it on its generic path, which refuses it).
    public static func readCanonical(_ bytes: UnsafeRawBufferPointer, seq: UInt64, previous: EventHeader?, requiringSeq: Bool = false) -> EventHeader? {
        var reader = CanonicalHeaderReader(bytes: bytes.assumingMemoryBound(to: UInt8.self))
        return reader.header(seq: seq, previous: previous, requiringSeq: requiringSeq)
    }
}

/// A position in header bytes; each step takes the next piece of ``EventHeader/encoded()``'s
/// layout, or fails.
private struct CanonicalHeaderReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    /// The header, its strings `previous`'s where the bytes are the same. `previous` is a parameter,
    /// not a stored property: storing it copied the header, retaining and releasing each of its
    /// strings, for every record of a replay.
    mutating func header(seq: UInt64, previous: EventHeader?, requiringSeq: Bool) -> EventHeader? {
        guard self.take("{\"actor\":"), let actor = self.nullOrString(reusing: previous?.actor),
            self.take(",\"created_on\":"), let createdOn = self.timestamp(),
            self.take(",\"id\":"), self.skipString()
        else { return nil }
        if self.take(",\"idempotency_key\":") {
            guard self.skipString() else { return nil }
        }
        guard self.take(",\"peer\":"), let peer = self.nullOrPeer(),
            self.take(",\"schema_version\":"), let schemaVersion = self.integer(Int.self),
            self.take(",\"seq\":"), let storedSeq = self.integer(UInt64.self), !requiringSeq || storedSeq == seq,
            self.take(",\"stream\":"), let stream = self.string(reusing: previous?.stream),
            self.take(",\"type\":"), let type = self.string(reusingOneOf: LedgerEvent.typeNames),
            self.take(",\"version\":"), let version = self.integer(UInt64.self),
            self.take(",\"workspace\":"), let workspace = self.string(reusing: previous?.workspace),
            self.take("}"), self.index == self.bytes.count
        else { return nil }
        return EventHeader(
            seq: seq, id: "", stream: stream, version: version, type: type, schemaVersion: schemaVersion,
            workspace: workspace, createdOn: createdOn, actor: actor, peer: peer, idempotencyKey: nil
        )
    }

    /// The stream's bytes, the header's own seq and the version, the layout checked as ``header(seq:)``
    /// checks it but nothing else made of it (an index of a log's streams reads millions of headers at
    /// once).
    mutating func streamSeqAndVersion() -> (stream: UnsafeBufferPointer<UInt8>, seq: UInt64, version: UInt64)? {
        guard self.take("{\"actor\":"), self.take("null") || self.stringBytes() != nil,
            self.take(",\"created_on\":"), self.stringBytes() != nil,
            self.take(",\"id\":"), self.stringBytes() != nil
        else { return nil }
        if self.take(",\"idempotency_key\":") {
            guard self.stringBytes() != nil else { return nil }
        }
        guard self.take(",\"peer\":"), self.nullOrPeer() != nil,
            self.take(",\"schema_version\":"), self.integer(Int.self) != nil,
            self.take(",\"seq\":"), let seq = self.integer(UInt64.self),
            self.take(",\"stream\":"), let stream = self.stringBytes(),
            self.take(",\"type\":"), self.stringBytes() != nil,
            self.take(",\"version\":"), let version = self.integer(UInt64.self),
            self.take(",\"workspace\":"), self.stringBytes() != nil,
            self.take("}"), self.index == self.bytes.count
        else { return nil }
        // Non-ASCII must be valid UTF-8, as the header's own string would be.
        guard stream.ascii || String(validUTF8: stream.text) != nil else { return nil }
        return (stream.text, seq, version)
    }

    /// Moves past `text` if the bytes continue with it; stays put otherwise.
    mutating func take(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard self.bytes.count - self.index >= count, let base = self.bytes.baseAddress else { return false }
        // One memcmp: a byte loop with bounds checks was a tenth of reading a header.
        guard memcmp(base + self.index, text.utf8Start, count) == 0 else { return false }
        self.index += count
        return true
    }

    /// The bytes between a string's quotes, and whether they are all ASCII; nil for a string with an
    /// escape (taken as it is it would read wrong) or a control character (not JSON).
    mutating func stringBytes() -> (text: UnsafeBufferPointer<UInt8>, ascii: Bool)? {
        guard self.take("\"") else { return nil }
        let start = self.index
        self.index = PlainStringRun.end(in: self.bytes, from: start)
        var ascii = true
        while self.index < self.bytes.count {
            let byte = self.bytes[self.index]
            if byte == UInt8(ascii: "\"") {
                self.index += 1
                return (UnsafeBufferPointer(rebasing: self.bytes[start..<self.index - 1]), ascii)
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
            if byte >= 0x80 { ascii = false }
            self.index += 1
        }
        return nil
    }

    /// The next string: `candidate` when its bytes are the same (then they are valid UTF-8 too).
    mutating func string(reusing candidate: String?) -> String? {
        guard let text = self.stringBytes()?.text else { return nil }
        if let candidate, Self.same(text, candidate) { return candidate }
        // Validating, as the generic parser does: invalid UTF-8 is refused there, not repaired.
        return String(validUTF8: text)
    }

    /// The next string: the one of `candidates` with the same bytes, else a new one.
    mutating func string(reusingOneOf candidates: [String]) -> String? {
        guard let text = self.stringBytes()?.text else { return nil }
        for candidate in candidates where Self.same(text, candidate) { return candidate }
        return String(validUTF8: text)
    }

    /// Whether `text` is `string`'s UTF-8.
    static func same(_ text: UnsafeBufferPointer<UInt8>, _ string: String) -> Bool {
        string.utf8.withContiguousStorageIfAvailable { stored in
            guard stored.count == text.count else { return false }
            guard let mine = stored.baseAddress, let theirs = text.baseAddress else { return true }
            return memcmp(mine, theirs, stored.count) == 0
        } ?? false
    }

    /// Moves past a string without making it; non-ASCII is left to the generic path, which checks
    /// its UTF-8.
    mutating func skipString() -> Bool { self.stringBytes()?.ascii == true }

    mutating func nullOrString(reusing candidate: String?) -> String?? {
        if self.take("null") { return .some(nil) }
        return self.string(reusing: candidate).map { .some($0) }
    }

    mutating func timestamp() -> Timestamp? {
        guard let text = self.stringBytes()?.text else { return nil }
        return Timestamp(canonical: text)
    }

    /// `null`, or the peer's uid with its gid and pid checked but left 0.
    mutating func nullOrPeer() -> Peer?? {
        if self.take("null") { return .some(nil) }
        guard self.take("{\"gid\":"), self.integer(UInt32.self) != nil,
            self.take(",\"pid\":"), self.integer(Int32.self) != nil,
            self.take(",\"uid\":"), let uid = self.integer(UInt32.self),
            self.take("}")
        else { return nil }
        return .some(Peer(uid: uid, gid: 0, pid: 0))
    }

    /// Unsigned decimal digits without a leading zero (as ``JSONTextOutput`` writes a non-negative
    /// integer) whose value fits in `type`.
    mutating func integer<Integer: FixedWidthInteger>(_ type: Integer.Type) -> Integer? {
        let start = self.index
        var value: UInt64 = 0
        while self.index < self.bytes.count {
            let digit = self.bytes[self.index] &- UInt8(ascii: "0")
            guard digit <= 9 else { break }
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = shifted.addingReportingOverflow(UInt64(digit))
            guard !overflowA, !overflowB else { return nil }
            value = sum
            self.index += 1
        }
        let digits = self.index - start
        guard digits == 1 || (digits > 1 && self.bytes[start] != UInt8(ascii: "0")) else { return nil }
        return Integer(exactly: value)
    }
}
