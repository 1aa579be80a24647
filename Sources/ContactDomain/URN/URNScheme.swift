// ContactLedger — contact domain.
import JSONText

/// A URN scheme: which kind of address a URN is, with its path rule and normalization (spec §2.2).
///
/// The set is gocommon's (`urns/schemes.go`); there is no `discord`. ``deleted`` is internal: it names the
/// URNs of released contacts and is refused in user input.
public enum URNScheme: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// Phone numbers (E.164), short codes and sender ids.
    case tel
    /// WhatsApp: a phone number in digits, or a business-scoped user id `CC.xxxx`.
    case whatsapp
    /// WhatsApp business-scoped user id `CC.xxxx` only.
    case bsuid
    /// Email addresses.
    case mailto
    /// Twitter handles.
    case twitter
    /// Twitter numeric ids.
    case twitterid
    /// Facebook page-scoped ids, or `ref:` referrals.
    case facebook
    /// Instagram numeric ids.
    case instagram
    /// Telegram numeric ids.
    case telegram
    /// JioChat numeric ids.
    case jiochat
    /// LINE ids.
    case line
    /// Viber ids.
    case viber
    /// Web chat session ids.
    case webchat
    /// FreshChat channel/user UUID pairs.
    case freshchat
    /// External ids (case-sensitive, anything).
    case ext
    /// Firebase Cloud Messaging tokens.
    case fcm
    /// Rocket.Chat ids.
    case rocketchat
    /// Slack ids.
    case slack
    /// VK ids.
    case vk
    /// WeChat open ids.
    case wechat
    /// Internal: URNs of released contacts (rapidpro). Never accepted from user input.
    case deleted

    /// The schemes users may write, i.e. every scheme except the internal ones.
    public static let userSchemes: [URNScheme] = URNScheme.allCases.filter { !$0.isInternal }

    /// The scheme's prefix, e.g. `tel`.
    public var description: String { self.rawValue }

    /// Whether the scheme is only written by ContactLedger itself (``deleted``).
    public var isInternal: Bool { self == .deleted }

    /// A human name for the scheme, e.g. `Phone` for `tel` (gocommon `Scheme.Name`).
    public var displayName: String {
        switch self {
        case .tel: "Phone"
        case .whatsapp: "WhatsApp"
        case .bsuid: "WhatsApp BSUID"
        case .mailto: "Email"
        case .twitter: "Twitter Handle"
        case .twitterid: "Twitter"
        case .facebook: "Facebook"
        case .instagram: "Instagram"
        case .telegram: "Telegram"
        case .jiochat: "JioChat"
        case .line: "LINE"
        case .viber: "Viber"
        case .webchat: "WebChat"
        case .freshchat: "FreshChat"
        case .ext: "External"
        case .fcm: "Firebase"
        case .rocketchat: "Rocket.Chat"
        case .slack: "Slack"
        case .vk: "VK"
        case .wechat: "WeChat"
        case .deleted: "Deleted"
        }
    }

    /// Whether `path` (unescaped, already normalized) satisfies the scheme's rule.
    ///
    /// - `tel`: `+` and 7–15 digits, or 1–64 lowercase letters/digits;
    /// - `whatsapp`: digits, or `CC.` + 1–128 letters/digits (`CC` two uppercase letters); `bsuid`: the latter;
    /// - `mailto`: `x@y` with no white space and one `@`;
    /// - `twitter`: 1–15 of `[A-Za-z0-9_]`; `line`: 1–36 of `[A-Za-z0-9_]`; `viber`: 1–24 of `[A-Za-z0-9_=/+]`;
    /// - `twitterid`, `instagram`, `telegram`, `jiochat`: digits; `facebook`: digits or `ref:…`;
    /// - `webchat`: 24 letters/digits, optionally `:` and an email-like suffix;
    /// - `freshchat`: two UUIDs joined by `/`;
    /// - the others: anything non-empty.
    public func isValid(path: String) -> Bool {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty else { return false }
        switch self {
        case .tel:
            if bytes[0] == UInt8(ascii: "+") {
                return (8...16).contains(bytes.count) && bytes.dropFirst().allSatisfy(Self.isDigit)
            }
            return bytes.count <= 64 && bytes.allSatisfy { Self.isDigit($0) || Self.isLower($0) }
        case .whatsapp:
            return bytes.allSatisfy(Self.isDigit) || Self.isBusinessScopedID(bytes[...])
        case .bsuid:
            return Self.isBusinessScopedID(bytes[...])
        case .mailto:
            return Self.isEmailLike(bytes[...])
        case .twitter:
            return bytes.count <= 15 && bytes.allSatisfy(Self.isWordCharacter)
        case .twitterid, .instagram, .telegram, .jiochat:
            return bytes.allSatisfy(Self.isDigit)
        case .facebook:
            return path.hasPrefix("ref:") || bytes.allSatisfy(Self.isDigit)
        case .line:
            return bytes.count <= 36 && bytes.allSatisfy(Self.isWordCharacter)
        case .viber:
            return bytes.count <= 24
                && bytes.allSatisfy {
                    Self.isWordCharacter($0) || $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "/")
                        || $0 == UInt8(ascii: "+")
                }
        case .webchat:
            guard bytes.count >= 24, bytes[..<24].allSatisfy(Self.isAlphanumeric) else { return false }
            if bytes.count == 24 {
                return true
            }
            return bytes[24] == UInt8(ascii: ":") && Self.isEmailLike(bytes[25...])
        case .freshchat:
            guard bytes.count == 73, bytes[36] == UInt8(ascii: "/") else { return false }
            return Self.isUUID(bytes[..<36]) && Self.isUUID(bytes[37...])
        case .ext, .fcm, .rocketchat, .slack, .vk, .wechat, .deleted:
            return true
        }
    }

    /// The scheme's normalization of a trimmed path (gocommon `Scheme.Normalize`).
    ///
    /// `tel` re-parses the number (``PhoneNumbers/parse(_:defaultCountry:allowShortCodes:allowSenderIDs:)``
    /// with short codes and sender ids allowed); `mailto` lowercases; `twitter` lowercases and strips one
    /// leading `@`; `whatsapp` and `bsuid` uppercase the country prefix of a `cc.xxxx` id; the others keep the
    /// path as it is.
    ///
    /// - Throws: for `tel` only, ``URNError/notAPossibleNumber`` or ``URNError/invalidCountryCode``.
    public func normalize(path: String, defaultCountry: String?) throws(URNError) -> String {
        switch self {
        case .tel:
            return try PhoneNumbers.parse(
                path,
                defaultCountry: defaultCountry,
                allowShortCodes: true,
                allowSenderIDs: true
            )
        case .mailto:
            return path.simpleLowercased()
        case .twitter:
            let lowered = path.simpleLowercased()
            return lowered.hasPrefix("@") ? String(lowered.dropFirst()) : lowered
        case .whatsapp, .bsuid:
            let scalars = path.unicodeScalars
            guard let dot = scalars.firstIndex(of: "."), path.utf8.distance(from: path.startIndex, to: dot) == 2
            else { return path }
            return String(scalars[..<dot]).uppercased() + String(scalars[dot...])
        case .twitterid, .facebook, .instagram, .telegram, .jiochat, .line, .viber, .webchat, .freshchat, .ext,
            .fcm, .rocketchat, .slack, .vk, .wechat, .deleted:
            return path
        }
    }

    // MARK: - Character classes (ASCII bytes)

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }
    private static func isLower(_ byte: UInt8) -> Bool { byte >= 0x61 && byte <= 0x7A }
    private static func isUpper(_ byte: UInt8) -> Bool { byte >= 0x41 && byte <= 0x5A }
    private static func isHex(_ byte: UInt8) -> Bool {
        Self.isDigit(byte) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46)
    }
    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        Self.isDigit(byte) || Self.isLower(byte) || Self.isUpper(byte)
    }
    private static func isWordCharacter(_ byte: UInt8) -> Bool {
        Self.isAlphanumeric(byte) || byte == UInt8(ascii: "_")
    }
    /// Go's RE2 `\s`: tab, newline, form feed, carriage return, space.
    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x09 || byte == 0x0A || byte == 0x0C || byte == 0x0D || byte == 0x20
    }

    /// `[A-Z]{2}\.[a-zA-Z0-9]{1,128}`.
    private static func isBusinessScopedID(_ bytes: ArraySlice<UInt8>) -> Bool {
        let start = bytes.startIndex
        guard (4...131).contains(bytes.count), Self.isUpper(bytes[start]), Self.isUpper(bytes[start + 1]),
            bytes[start + 2] == UInt8(ascii: ".")
        else { return false }
        return bytes[(start + 3)...].allSatisfy(Self.isAlphanumeric)
    }

    /// `[^\s@]+@[^\s@]+`.
    private static func isEmailLike(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard let at = bytes.firstIndex(of: UInt8(ascii: "@")), at > bytes.startIndex, at < bytes.endIndex - 1
        else { return false }
        return bytes[(at + 1)...].allSatisfy { $0 != UInt8(ascii: "@") } && !bytes.contains(where: Self.isSpace)
    }

    /// `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`.
    private static func isUUID(_ bytes: ArraySlice<UInt8>) -> Bool {
        guard bytes.count == 36 else { return false }
        for (offset, byte) in bytes.enumerated() {
            let isDashPosition = offset == 8 || offset == 13 || offset == 18 || offset == 23
            if isDashPosition ? byte != UInt8(ascii: "-") : !Self.isHex(byte) {
                return false
            }
        }
        return true
    }
}
