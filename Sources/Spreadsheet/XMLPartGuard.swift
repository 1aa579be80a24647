// ContactLedger — spreadsheets.
import Foundation

/// Checks an XLSX part's bytes before the XML parser sees them, refusing what would make libxml2
/// slow or let it read beyond the part, with a specific ``SpreadsheetError/refused(reason:)``:
///
/// - `dtd_not_allowed`: a document type declaration, hence entities ("billion laughs", external
///   entities). Open Packaging forbids DTDs in parts.
/// - `unsupported_encoding`: an encoding other than UTF-8 or UTF-16 (the two Open Packaging allows),
///   declared or detected (UCS-4, EBCDIC), which could hide markup from this check.
/// - `too_many_attributes`: an element with more than ``SpreadsheetLimits/maximumAttributes``
///   attributes (libxml2 looks for duplicates in quadratic time).
/// - `nesting_too_deep`: elements nested more than ``SpreadsheetLimits/maximumNesting`` deep.
/// - `invalid_utf8`: bytes that are not UTF-8 (FoundationXML on Linux traps on an element or attribute
///   name that is not, taking the whole process down).
///
/// The part streams through it: ``feed(_:)`` takes each chunk as it is inflated and returns the UTF-8
/// that is checked and may go to the parser now, ``finish()`` what is left at the end. It holds back
/// only a few bytes at a time: the part's first 515 bytes (its encoding and XML declaration), a
/// character or markup opening split between chunks, the tail of a comment whose end may be split.
/// A UTF-16 part is returned as UTF-8, without its XML declaration; any other part is returned as is.
/// Malformed XML passes: the parser reports it.
struct XMLPartGuard {
    /// The first bytes, held until they tell the encoding: a UTF-8 byte order mark and the 512 bytes in
    /// which an XML declaration must end.
    static let prologBytes = 3 + 512

    private enum Encoding {
        case undecided
        case utf8
        case utf16(bigEndian: Bool)
    }

    private var encoding = Encoding.undecided
    /// Bytes not yet checked: the prolog while the encoding is undecided, then an incomplete character
    /// at the end of the last chunk.
    private var held: [UInt8] = []
    /// UTF-16: a high surrogate whose low half is in the next chunk.
    private var highSurrogate: UInt16?
    /// UTF-16: the UTF-8 start of the part, held until its XML declaration (which names UTF-16) is
    /// dropped; nil once it has been.
    private var declaration: [UInt8]? = []
    private var markup = MarkupScanner()

    /// Checks the next `bytes` of the part; returns the UTF-8 that may be parsed now.
    mutating func feed(_ bytes: [UInt8]) throws(SpreadsheetError) -> [UInt8] {
        try self.take(bytes, isLast: false)
    }

    /// Ends the part; returns the last UTF-8 that may be parsed.
    mutating func finish() throws(SpreadsheetError) -> [UInt8] {
        try self.take([], isLast: true)
    }

    private mutating func take(_ bytes: [UInt8], isLast: Bool) throws(SpreadsheetError) -> [UInt8] {
        let utf8: [UInt8]
        switch self.encoding {
        case .undecided:
            self.held += bytes
            guard isLast || self.held.count >= Self.prologBytes else { return [] }
            let head = self.held
            self.held = []
            if let bigEndian = Self.utf16ByteOrder(head) {
                self.encoding = .utf16(bigEndian: bigEndian)
                let hasMark = head.starts(with: [0xFF, 0xFE]) || head.starts(with: [0xFE, 0xFF])
                utf8 = try self.transcode(hasMark ? Array(head.dropFirst(2)) : head, bigEndian: bigEndian, isLast: isLast)
            } else {
                try Self.checkUTF8Prolog(head)
                self.encoding = .utf8
                utf8 = try self.validated(head, isLast: isLast)
            }
        case .utf8:
            utf8 = try self.validated(bytes, isLast: isLast)
        case .utf16(let bigEndian):
            utf8 = try self.transcode(bytes, bigEndian: bigEndian, isLast: isLast)
        }
        return try self.markup.scan(utf8, isLast: isLast)
    }

    // MARK: - UTF-8

    /// `bytes`, after what was held, when they are UTF-8; a character they end in the middle of is held
    /// for the next chunk.
    private mutating func validated(_ bytes: [UInt8], isLast: Bool) throws(SpreadsheetError) -> [UInt8] {
        var bytes = self.held.isEmpty ? bytes : self.held + bytes
        self.held = []
        if !isLast {
            let cut = Self.lastCharacterBoundary(bytes)
            if cut < bytes.count {
                self.held = Array(bytes[cut...])
                bytes.removeSubrange(cut...)
            }
        }
        guard Self.isValidUTF8(bytes) else { throw .refused(reason: "invalid_utf8") }
        return bytes
    }

    /// Where the last character of `bytes` starts when it is incomplete (its lead byte announces more
    /// continuation bytes than follow), else the end.
    static func lastCharacterBoundary(_ bytes: [UInt8]) -> Int {
        var index = bytes.count - 1
        // A character has at most three continuation bytes: its lead byte is among the last four.
        while index >= max(0, bytes.count - 4) {
            let byte = bytes[index]
            if byte & 0xC0 != 0x80 {
                let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                return bytes.count - index < length ? index : bytes.count
            }
            index -= 1
        }
        return bytes.count
    }

    /// Whether `bytes` are well-formed UTF-8: no stray continuation bytes, overlong forms, surrogates
    /// or code points past U+10FFFF.
    static func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { bytes in
            guard let base = bytes.baseAddress else { return true }
            let count = bytes.count
            var index = 0
            func continuation(_ offset: Int) -> Bool { bytes[index + offset] & 0xC0 == 0x80 }
            while index < count {
                let lead = bytes[index]
                if lead < 0x80 {
                    index += 1
                    // Markup is mostly ASCII: skip it eight bytes at a time.
                    while index + 8 <= count,
                        UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0
                    {
                        index += 8
                    }
                } else if lead < 0xC2 {
                    return false
                } else if lead < 0xE0 {
                    guard index + 1 < count, continuation(1) else { return false }
                    index += 2
                } else if lead < 0xF0 {
                    guard index + 2 < count, continuation(1), continuation(2) else { return false }
                    let second = bytes[index + 1]
                    if lead == 0xE0, second < 0xA0 { return false }  // overlong
                    if lead == 0xED, second >= 0xA0 { return false }  // surrogate
                    index += 3
                } else if lead < 0xF5 {
                    guard index + 3 < count, continuation(1), continuation(2), continuation(3) else { return false }
                    let second = bytes[index + 1]
                    if lead == 0xF0, second < 0x90 { return false }  // overlong
                    if lead == 0xF4, second >= 0x90 { return false }  // past U+10FFFF
                    index += 4
                } else {
                    return false
                }
            }
            return true
        }
    }

    // MARK: - Encoding

    /// The byte order of a UTF-16 part (from its byte order mark, or a `<` as one 16-bit unit), nil
    /// when it is not UTF-16.
    private static func utf16ByteOrder(_ bytes: [UInt8]) -> Bool? {
        guard bytes.count >= 2 else { return nil }
        switch (bytes[0], bytes[1]) {
        case (0xFF, 0xFE): return false
        case (0xFE, 0xFF): return true
        // `<` without a byte order mark; UCS-4 (`<` then three zero bytes) is not UTF-16.
        case (0x3C, 0x00): return bytes.count < 4 || bytes[2] != 0 || bytes[3] != 0 ? false : nil
        case (0x00, 0x3C): return true
        default: return nil
        }
    }

    /// UTF-16 `bytes` (after what was held) as UTF-8, with the part's XML declaration dropped (it names
    /// UTF-16); an odd byte or a high surrogate at the end is held for the next chunk.
    private mutating func transcode(_ bytes: [UInt8], bigEndian: Bool, isLast: Bool) throws(SpreadsheetError) -> [UInt8] {
        let bytes = self.held.isEmpty ? bytes : self.held + bytes
        self.held = []
        var utf8: [UInt8] = []
        utf8.reserveCapacity(bytes.count * 3 / 2)
        var index = 0
        while index + 1 < bytes.count {
            let unit = bigEndian ? UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]) : UInt16(bytes[index + 1]) << 8 | UInt16(bytes[index])
            index += 2
            let scalar: Unicode.Scalar?
            if let high = self.highSurrogate {
                self.highSurrogate = nil
                let isLow = (0xDC00...0xDFFF).contains(unit)
                scalar = isLow ? Unicode.Scalar(0x10000 + (UInt32(high - 0xD800) << 10) + UInt32(unit - 0xDC00)) : nil
            } else if (0xD800...0xDBFF).contains(unit) {
                self.highSurrogate = unit
                continue
            } else {
                scalar = Unicode.Scalar(unit)  // nil for a low surrogate alone
            }
            // A NUL would let libxml2 take the UTF-8 for UTF-16 again.
            guard let scalar, scalar.value != 0 else { throw .refused(reason: "unsupported_encoding") }
            if let encoded = UTF8.encode(scalar) { utf8.append(contentsOf: encoded) }
        }
        if index < bytes.count { self.held = [bytes[index]] }
        if isLast, !self.held.isEmpty || self.highSurrogate != nil { throw .refused(reason: "unsupported_encoding") }
        return try self.droppingDeclaration(utf8, isLast: isLast)
    }

    /// `utf8` without the XML declaration it starts with, if any: what starts the part is held until
    /// it shows whether it begins with a declaration and, if it does, where that ends (within
    /// ``prologBytes``, or the part is refused).
    private mutating func droppingDeclaration(_ utf8: [UInt8], isLast: Bool) throws(SpreadsheetError) -> [UInt8] {
        guard var start = self.declaration else { return utf8 }
        start += utf8
        let opening = Array("<?xml".utf8)
        if start.count < opening.count, !isLast, opening.starts(with: start) {
            self.declaration = start
            return []
        }
        guard start.starts(with: opening) else {
            self.declaration = nil
            return start
        }
        if let end = Self.find(Array("?>".utf8), in: start, from: opening.count, to: Self.prologBytes) {
            self.declaration = nil
            return Array(start[(end + 2)...])
        }
        guard !isLast, start.count < Self.prologBytes else { throw .refused(reason: "unsupported_encoding") }
        self.declaration = start
        return []
    }

    /// An 8-bit part must be UTF-8: no UCS-4 or EBCDIC signature, and a declared encoding, if any, of
    /// UTF-8.
    private static func checkUTF8Prolog(_ bytes: [UInt8]) throws(SpreadsheetError) {
        var start = 0
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { start = 3 }
        guard start < bytes.count else { return }
        // libxml2 guesses UCS-4 or UTF-16 from zero bytes among the first four, and EBCDIC from `<?xm`
        // in EBCDIC.
        if bytes[start..<min(bytes.count, start + 4)].contains(0x00) || bytes[start...].starts(with: [0x4C, 0x6F, 0xA7, 0x94]) {
            throw .refused(reason: "unsupported_encoding")
        }
        guard bytes[start...].starts(with: Array("<?xml".utf8)) else { return }
        let limit = min(bytes.count, start + Self.prologBytes - 3)
        guard let end = Self.find(Array("?>".utf8), in: bytes, from: start, to: limit) else { return }
        guard let name = Self.find(Array("encoding".utf8), in: bytes, from: start, to: end) else { return }
        var index = name + 8
        while index < end, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x3D {
            index += 1
        }
        guard index < end, bytes[index] == 0x22 || bytes[index] == 0x27 else { throw .refused(reason: "unsupported_encoding") }
        let quote = bytes[index]
        let valueStart = index + 1
        guard let valueEnd = bytes[valueStart..<end].firstIndex(of: quote) else { throw .refused(reason: "unsupported_encoding") }
        let value = String(decoding: bytes[valueStart..<valueEnd], as: UTF8.self).lowercased()
        guard value == "utf-8" || value == "utf8" else { throw .refused(reason: "unsupported_encoding") }
    }

    /// The index of the first `needle` in `bytes[from..<to]`.
    private static func find(_ needle: [UInt8], in bytes: [UInt8], from: Int, to: Int? = nil) -> Int? {
        let end = min(to ?? bytes.count, bytes.count)
        guard needle.count <= end - from, from >= 0 else { return nil }
        var position = from
        while position + needle.count <= end {
            if bytes[position..<(position + needle.count)].elementsEqual(needle) { return position }
            position += 1
        }
        return nil
    }
}

/// The guard's pass over the markup, chunk by chunk: declarations, attributes per start tag, nesting
/// depth. Comments, CDATA sections and processing instructions are skipped whole.
private struct MarkupScanner {
    private enum State {
        /// Character data, up to the next `<`.
        case text
        /// Inside markup that ends at `terminator` (a comment, CDATA, a processing instruction, an end
        /// tag).
        case skipping(terminator: [UInt8])
        /// Inside a start tag, up to its `>`.
        case startTag
    }

    /// The longest opening told apart after a `<`: `![CDATA[`.
    private static let longestOpening = 8

    private var state = State.text
    private var depth = 0
    // The start tag being read: the quote of the value it is in (0 outside), its attributes so far,
    // and its last byte outside values (`/` for an empty element).
    private var quote: UInt8 = 0
    private var attributes = 0
    private var previous: UInt8 = 0
    /// The end of the last chunk, not yet scanned: a `<` without the bytes that tell what it opens, or
    /// what could be the start of a split terminator.
    private var held: [UInt8] = []

    /// Scans `bytes` (after what was held); returns those scanned, which may be parsed. The rest is held.
    ///
    /// - Throws: ``SpreadsheetError/refused(reason:)`` `dtd_not_allowed`, `too_many_attributes` or
    ///   `nesting_too_deep`.
    mutating func scan(_ bytes: [UInt8], isLast: Bool) throws(SpreadsheetError) -> [UInt8] {
        var bytes = self.held.isEmpty ? bytes : self.held + bytes
        self.held = []
        let end = try bytes.withUnsafeBufferPointer { (buffer: UnsafeBufferPointer<UInt8>) throws(SpreadsheetError) -> Int in
            try self.scan(buffer, isLast: isLast)
        }
        if end < bytes.count {
            self.held = Array(bytes[end...])
            bytes.removeSubrange(end...)
        }
        return bytes
    }

    /// Scans `bytes`; returns where it stopped: their end, or the start of what must wait for more.
    private mutating func scan(_ bytes: UnsafeBufferPointer<UInt8>, isLast: Bool) throws(SpreadsheetError) -> Int {
        let count = bytes.count
        guard let base = bytes.baseAddress else { return 0 }
        /// The first `byte` at or after `start`, through `memchr`: most of a part is skipped this way.
        func first(_ byte: UInt8, from start: Int) -> Int? {
            guard start < count, let found = memchr(base + start, Int32(byte), count - start) else { return nil }
            return UnsafeRawPointer(found) - UnsafeRawPointer(base)
        }
        func starts(_ text: StaticString, at position: Int) -> Bool {
            text.withUTF8Buffer { text in
                guard position + text.count <= count else { return false }
                for offset in 0..<text.count where bytes[position + offset] != text[offset] { return false }
                return true
            }
        }
        var index = 0
        while index < count {
            switch self.state {
            case .text:
                guard let opening = first(UInt8(ascii: "<"), from: index) else { return count }
                // What the `<` opens is told by the bytes after it: wait for them.
                if !isLast, count - opening <= Self.longestOpening { return opening }
                let next = opening + 1
                if starts("!--", at: next) {
                    self.state = .skipping(terminator: Array("-->".utf8))
                    index = next + 3
                } else if starts("![CDATA[", at: next) {
                    self.state = .skipping(terminator: Array("]]>".utf8))
                    index = next + 8
                } else if starts("!", at: next) {
                    // <!DOCTYPE, <!ENTITY, <!ELEMENT…: markup declarations.
                    throw .refused(reason: "dtd_not_allowed")
                } else if starts("?", at: next) {
                    self.state = .skipping(terminator: Array("?>".utf8))
                    index = next + 1
                } else if starts("/", at: next) {
                    self.depth = max(0, self.depth - 1)
                    self.state = .skipping(terminator: [UInt8(ascii: ">")])
                    index = next + 1
                } else {
                    self.state = .startTag
                    (self.quote, self.attributes, self.previous) = (0, 0, 0)
                    index = next
                }
            case .skipping(let terminator):
                var position = index
                var found: Int?
                while let candidate = first(terminator[0], from: position) {
                    guard candidate + terminator.count <= count else { break }
                    if terminator.indices.allSatisfy({ bytes[candidate + $0] == terminator[$0] }) {
                        found = candidate
                        break
                    }
                    position = candidate + 1
                }
                guard let found else {
                    // The terminator may begin in the last bytes and end in the next chunk.
                    return isLast ? count : max(index, count - (terminator.count - 1))
                }
                self.state = .text
                index = found + terminator.count
            case .startTag:
                // Count `=` outside quoted values up to the closing `>`.
                while index < count {
                    let byte = bytes[index]
                    if self.quote != 0 {
                        if byte == self.quote { self.quote = 0 }
                    } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                        self.quote = byte
                    } else if byte == UInt8(ascii: "=") {
                        self.attributes += 1
                        if self.attributes > SpreadsheetLimits.maximumAttributes { throw .refused(reason: "too_many_attributes") }
                    } else if byte == UInt8(ascii: ">") {
                        break
                    }
                    if self.quote == 0 { self.previous = byte }
                    index += 1
                }
                guard index < count || isLast else { return count }
                try self.endStartTag()
                index += 1
            }
        }
        return count
    }

    /// A start tag has ended: an element opens unless it was empty (`/>`).
    private mutating func endStartTag() throws(SpreadsheetError) {
        self.state = .text
        guard self.previous != UInt8(ascii: "/") else { return }
        self.depth += 1
        if self.depth > SpreadsheetLimits.maximumNesting { throw .refused(reason: "nesting_too_deep") }
    }
}
