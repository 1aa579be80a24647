// ContactLedger — contact domain.
import JSONText

/// Splits names and name-search values into words, as `name ~` conditions use them (behaviour reference
/// §5.5; goflow `tokenizeNameValue`).
///
/// Words follow Unicode word segmentation (UAX #29) in a simplified form: runs of letters, digits, marks
/// and `_`, kept together across a single `'`, `.` or `:` between letters and a single `,` `;` `.` `'`
/// between digits (`O'Shea`, `3.14`); each ideograph or hiragana character is a word of its own.
/// Punctuation, symbols, emoji and whitespace separate words and are dropped.
public enum QueryNameTokenizer {
    /// The minimum length, in UTF-8 bytes, of a word that takes part in a name search.
    public static let minimumTokenBytes = 2

    /// The number of leading characters of each word that are compared.
    public static let comparedPrefixLength = 8

    /// The words of `text` that are at least 2 UTF-8 bytes long, as written.
    ///
    /// `name ~ v` is refused with `invalid_partial_name` when `v` has none, and a bare value with none
    /// becomes `name = v` instead of `name ~ v`.
    public static func tokens(in text: String) -> [String] {
        QueryNameTokenizer.words(in: text).filter { $0.utf8.count >= QueryNameTokenizer.minimumTokenBytes }
    }

    /// The forms matched by the evaluator: ``tokens(in:)`` lowercased and cut to their first 8 characters.
    ///
    /// `name ~ q` is true if any name key starts with any query key.
    public static func matchKeys(in text: String) -> [String] {
        QueryNameTokenizer.tokens(in: text).map { token in
            // ASCII lowercases byte for byte, a character per byte.
            if token.utf8.allSatisfy({ $0 < 0x80 }) {
                let lowered = token.utf8.prefix(QueryNameTokenizer.comparedPrefixLength).map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
                return String(decoding: lowered, as: UTF8.self)
            }
            return String(
                String.UnicodeScalarView(token.simpleLowercased().unicodeScalars.prefix(QueryNameTokenizer.comparedPrefixLength))
            )
        }
    }

    /// Every word of `text`, whatever its length.
    public static func words(in text: String) -> [String] {
        // ASCII text (most names) is segmented on its bytes and its words cut from them: building each
        // word from a scalar view was most of the cost of indexing a contact.
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            let bytes = Array(text.utf8)
            return Self.wordRanges(bytes.map { Kind(Unicode.Scalar($0)) }).map { String(decoding: bytes[$0], as: UTF8.self) }
        }
        let scalars = Array(text.unicodeScalars)
        return Self.wordRanges(scalars.map(Kind.init)).map { String(String.UnicodeScalarView(scalars[$0])) }
    }

    /// Where the words are, given the kind of each scalar.
    private static func wordRanges(_ kinds: [Kind]) -> [Range<Int>] {
        var words: [Range<Int>] = []
        var index = 0
        while index < kinds.count {
            let kind = kinds[index]
            if kind == .single {
                words.append(index..<(index + 1))
                index += 1
                continue
            }
            guard kind.startsWord else {
                index += 1
                continue
            }
            var end = index + 1
            var lastCore = kind
            while end < kinds.count {
                let next = kinds[end]
                if next == .mark || next == .underscore {
                    end += 1
                } else if next == .letter || next == .digit || next == .katakana {
                    if lastCore == .katakana && next != .katakana || lastCore != .katakana && next == .katakana {
                        break
                    }
                    lastCore = next
                    end += 1
                } else if end + 1 < kinds.count, kinds[end + 1] == lastCore,
                    (lastCore == .letter && (next == .midLetter || next == .midNumberLetter))
                        || (lastCore == .digit && (next == .midNumber || next == .midNumberLetter))
                {
                    end += 2
                } else {
                    break
                }
            }
            if kinds[index..<end].contains(where: { $0 == .letter || $0 == .digit || $0 == .katakana }) {
                words.append(index..<end)
            }
            index = end
        }
        return words
    }

    private enum Kind: Equatable {
        case letter, digit, katakana, single, mark, underscore, midLetter, midNumber, midNumberLetter, other

        init(_ scalar: Unicode.Scalar) {
            let value = scalar.value
            // ASCII, most names' every character, without the Unicode property lookups (which made
            // tokenizing names most of a contact's index work on import).
            if value < 0x80 {
                switch UInt8(value) {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"): self = .letter
                case UInt8(ascii: "0")...UInt8(ascii: "9"): self = .digit
                case UInt8(ascii: "_"): self = .underscore
                case UInt8(ascii: ":"): self = .midLetter
                case UInt8(ascii: ","), UInt8(ascii: ";"): self = .midNumber
                case UInt8(ascii: "'"), UInt8(ascii: "."): self = .midNumberLetter
                default: self = .other
                }
                return
            }
            switch value {
            case 0x3040...0x309F: self = .single
            case 0x30A0...0x30FF, 0x31F0...0x31FF, 0xFF66...0xFF9F: self = .katakana
            case 0x5F: self = .underscore
            case 0x3A, 0xB7, 0x387, 0x5F4, 0x2027, 0xFE13, 0xFE55, 0xFF1A: self = .midLetter
            case 0x2C, 0x3B, 0x37E, 0x589, 0x60C, 0x60D, 0x66C, 0x7F8, 0x2044, 0xFE10, 0xFE14, 0xFE50, 0xFE54,
                0xFF0C, 0xFF1B:
                self = .midNumber
            case 0x27, 0x2E, 0x2018, 0x2019, 0x2024, 0xFE52, 0xFF07, 0xFF0E: self = .midNumberLetter
            default:
                if scalar.properties.isIdeographic {
                    self = .single
                    return
                }
                switch scalar.properties.generalCategory {
                case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
                    self = .letter
                case .decimalNumber: self = .digit
                case .nonspacingMark, .spacingMark, .enclosingMark: self = .mark
                case .connectorPunctuation: self = .underscore
                default: self = .other
                }
            }
        }

        var startsWord: Bool {
            switch self {
            case .letter, .digit, .katakana, .underscore: true
            case .single, .mark, .midLetter, .midNumber, .midNumberLetter, .other: false
            }
        }
    }
}
