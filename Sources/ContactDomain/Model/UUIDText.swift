// ContactLedger — contact domain.

/// The canonical text of a UUID: 36 characters, `8-4-4-4-12` hexadecimal digits, lowercase.
///
/// Foundation's `UUID(uuidString:)` on Linux parses with `sscanf` and `uuidString` formats with
/// `snprintf`; a replay parses the contact UUID of every event, and the two showed as several percent
/// of a rebuild. This reads the `8-4-4-4-12` form in either case as Foundation does, and returns the
/// text itself, without copying, when it is already canonical, as stored ids are. It refuses what
/// `sscanf` misreads as another UUID (a space, a sign or `0x` at the start of a group).
enum UUIDText {
    /// The canonical (lowercase) form of `text`, or nil when it is not a UUID.
    static func canonical(_ text: String) -> String? {
        var text = text
        // Nothing to do for a native string (every string on Linux); another is made native once.
        text.makeContiguousUTF8()
        switch text.utf8.withContiguousStorageIfAvailable({ Self.check($0) }) ?? .invalid {
        case .canonical: return text
        case .uppercase: return text.lowercased()
        case .invalid: return nil
        }
    }

    private enum Form {
        case canonical
        case uppercase
        case invalid
    }

    private static func check(_ bytes: UnsafeBufferPointer<UInt8>) -> Form {
        guard bytes.count == 36 else { return .invalid }
        var hasUppercase = false
        for (position, byte) in bytes.enumerated() {
            if position == 8 || position == 13 || position == 18 || position == 23 {
                guard byte == UInt8(ascii: "-") else { return .invalid }
                continue
            }
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"): continue
            case UInt8(ascii: "A")...UInt8(ascii: "F"): hasUppercase = true
            default: return .invalid
            }
        }
        return hasUppercase ? .uppercase : .canonical
    }
}
