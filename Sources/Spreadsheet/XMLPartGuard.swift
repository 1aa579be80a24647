// ContactLedger — spreadsheets.

/// Checks an XLSX part's bytes before the XML parser sees them, refusing what would make libxml2
/// slow or let it read beyond the part, with a specific ``SpreadsheetError/corrupted(reason:)``:
///
/// - `dtd_not_allowed`: a document type declaration, hence entities ("billion laughs", external
///   entities). Open Packaging forbids DTDs in parts.
/// - `unsupported_encoding`: an encoding other than UTF-8 or UTF-16 (the two Open Packaging allows),
///   declared or detected (UCS-4, EBCDIC), which could hide markup from this check.
/// - `too_many_attributes`: an element with more than ``maximumAttributes`` attributes (libxml2 looks
///   for duplicates in quadratic time).
/// - `nesting_too_deep`: elements nested more than ``maximumDepth`` deep.
/// - `invalid_utf8`: bytes that are not UTF-8 (FoundationXML on Linux traps on an element or attribute
///   name that is not, taking the whole process down).
///
/// A UTF-16 part is returned as UTF-8, without its XML declaration; any other part is returned as is.
/// Malformed XML passes: the parser reports it.
enum XMLPartGuard {
    /// The most attributes (namespace declarations included) on one element.
    static let maximumAttributes = 100
    /// The deepest element nesting.
    static let maximumDepth = 256

    static func check(_ bytes: [UInt8]) throws(SpreadsheetError) -> [UInt8] {
        var bytes = bytes
        if Self.isUTF16(bytes) {
            bytes = try Self.transcodeUTF16(bytes)
        } else {
            try Self.checkUTF8Prolog(bytes)
            guard Self.isValidUTF8(bytes) else { throw .corrupted(reason: "invalid_utf8") }
        }
        try Self.scan(bytes)
        return bytes
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

    private static func isUTF16(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 2 else { return false }
        switch (bytes[0], bytes[1]) {
        case (0xFF, 0xFE), (0xFE, 0xFF): return true
        // `<` without a byte order mark; UCS-4 (`<` then three zero bytes) is not UTF-16.
        case (0x3C, 0x00): return bytes.count < 4 || bytes[2] != 0 || bytes[3] != 0
        case (0x00, 0x3C): return true
        default: return false
        }
    }

    /// UTF-16 (either byte order) as UTF-8, with its XML declaration dropped (it names UTF-16).
    private static func transcodeUTF16(_ bytes: [UInt8]) throws(SpreadsheetError) -> [UInt8] {
        let bigEndian = bytes[0] == 0xFE || bytes[0] == 0x00
        let hasMark = (bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF)
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count / 2)
        var index = hasMark ? 2 : 0
        while index + 1 < bytes.count {
            units.append(bigEndian ? UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]) : UInt16(bytes[index + 1]) << 8 | UInt16(bytes[index]))
            index += 2
        }
        guard index == bytes.count, let text = String(validating: units, as: UTF16.self) else {
            throw .corrupted(reason: "unsupported_encoding")
        }
        var utf8 = Array(text.utf8)
        if utf8.starts(with: Array("<?xml".utf8)), let end = Self.find(Array("?>".utf8), in: utf8, from: 5) {
            utf8.removeSubrange(0..<(end + 2))
        }
        // A NUL would let libxml2 take the UTF-8 for UTF-16 again.
        guard !utf8.contains(0) else { throw .corrupted(reason: "unsupported_encoding") }
        return utf8
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
            throw .corrupted(reason: "unsupported_encoding")
        }
        guard bytes[start...].starts(with: Array("<?xml".utf8)) else { return }
        let limit = min(bytes.count, start + 512)
        guard let end = Self.find(Array("?>".utf8), in: bytes, from: start, to: limit) else { return }
        guard let name = Self.find(Array("encoding".utf8), in: bytes, from: start, to: end) else { return }
        var index = name + 8
        while index < end, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x3D {
            index += 1
        }
        guard index < end, bytes[index] == 0x22 || bytes[index] == 0x27 else { throw .corrupted(reason: "unsupported_encoding") }
        let quote = bytes[index]
        let valueStart = index + 1
        guard let valueEnd = bytes[valueStart..<end].firstIndex(of: quote) else { throw .corrupted(reason: "unsupported_encoding") }
        let value = String(decoding: bytes[valueStart..<valueEnd], as: UTF8.self).lowercased()
        guard value == "utf-8" || value == "utf8" else { throw .corrupted(reason: "unsupported_encoding") }
    }

    // MARK: - Markup

    /// One pass over the markup: declarations, attributes per start tag, nesting depth. Comments,
    /// CDATA sections and processing instructions are skipped whole.
    private static func scan(_ bytes: [UInt8]) throws(SpreadsheetError) {
        try bytes.withUnsafeBufferPointer { (bytes: UnsafeBufferPointer<UInt8>) throws(SpreadsheetError) in
            let count = bytes.count
            var index = 0
            var depth = 0
            func skip(past terminator: [UInt8], from start: Int) -> Int {
                var position = start
                while position + terminator.count <= count {
                    if bytes[position] == terminator[0] {
                        var matches = true
                        for offset in 1..<terminator.count where bytes[position + offset] != terminator[offset] {
                            matches = false
                            break
                        }
                        if matches { return position + terminator.count }
                    }
                    position += 1
                }
                return count
            }
            func starts(_ text: StaticString, at position: Int) -> Bool {
                text.withUTF8Buffer { text in
                    guard position + text.count <= count else { return false }
                    for offset in 0..<text.count where bytes[position + offset] != text[offset] { return false }
                    return true
                }
            }
            while index < count {
                guard bytes[index] == UInt8(ascii: "<") else {
                    index += 1
                    continue
                }
                let next = index + 1
                if starts("!--", at: next) {
                    index = skip(past: Array("-->".utf8), from: next + 3)
                } else if starts("![CDATA[", at: next) {
                    index = skip(past: Array("]]>".utf8), from: next + 8)
                } else if starts("!", at: next) {
                    // <!DOCTYPE, <!ENTITY, <!ELEMENT…: markup declarations.
                    throw .corrupted(reason: "dtd_not_allowed")
                } else if starts("?", at: next) {
                    index = skip(past: Array("?>".utf8), from: next + 1)
                } else if starts("/", at: next) {
                    depth = max(0, depth - 1)
                    index = skip(past: [UInt8(ascii: ">")], from: next + 1)
                } else {
                    // A start tag: count `=` outside quoted values up to the closing `>`.
                    var position = next
                    var quote: UInt8 = 0
                    var attributes = 0
                    var previous: UInt8 = 0
                    while position < count {
                        let byte = bytes[position]
                        if quote != 0 {
                            if byte == quote { quote = 0 }
                        } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                            quote = byte
                        } else if byte == UInt8(ascii: "=") {
                            attributes += 1
                            if attributes > Self.maximumAttributes { throw .corrupted(reason: "too_many_attributes") }
                        } else if byte == UInt8(ascii: ">") {
                            break
                        }
                        previous = quote == 0 && byte != UInt8(ascii: ">") ? byte : previous
                        position += 1
                    }
                    if previous != UInt8(ascii: "/") {
                        depth += 1
                        if depth > Self.maximumDepth { throw .corrupted(reason: "nesting_too_deep") }
                    }
                    index = position + 1
                }
            }
        }
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
