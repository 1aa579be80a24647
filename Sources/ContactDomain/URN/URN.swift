// ContactLedger — contact domain.

/// A contact address such as `tel:+250788123123` or `twitterid:85114#billy_bob` (spec §2).
///
/// A URN is `scheme:path`, optionally followed by `?query` (the engine's channel affinity,
/// `channel=<uuid>`) and `#display` (a human label). Values of this type are always valid: they are made by
/// ``normalized(_:defaultCountry:)`` (user input), ``init(scheme:path:query:display:defaultCountry:)`` (parts)
/// or ``init(validating:)`` (stored strings), which all validate.
///
/// * ``identity`` (`scheme:path`) is the per-workspace uniqueness key;
/// * ``description`` is the encoded form, with `#`, `%` and `?` percent-escaped inside each component;
/// * ``masked`` is what anonymous workspaces show (`tel:********`);
/// * ``formatted`` is for humans (`tel:+250788383383` → `0788 383 383`).
///
/// ```swift
/// let urn = try URN.normalized("tel:0788 123 123", defaultCountry: "RW")
/// urn.identity   // "tel:+250788123123"
/// urn.formatted  // "0788 123 123"
/// ```
public struct URN: Sendable, Hashable {
    /// The longest path, measured in UTF-8 bytes of its escaped form (gocommon `maxPathLength`).
    public static let maxPathLength = 200
    /// The longest display, in UTF-8 bytes (gocommon `maxDisplayLength`).
    public static let maxDisplayLength = 255
    /// What replaces every path on an anonymous workspace (rapidpro `ContactURN.ANON_MASK`).
    public static let anonymousMask = "********"

    /// The scheme, e.g. ``URNScheme/tel``.
    public let scheme: URNScheme
    /// The normalized, unescaped path, e.g. `+250788123123`.
    public let path: String
    /// The unescaped query, e.g. `channel=…`, or `nil`.
    public let query: String?
    /// The trimmed, unescaped human label, or `nil`.
    public let display: String?

    /// Makes a URN from trusted, already checked parts.
    init(uncheckedScheme scheme: URNScheme, path: String, query: String?, display: String?) {
        self.scheme = scheme
        self.path = path
        self.query = query
        self.display = display
    }

    /// The uniqueness key `scheme:path` (escaped), without query or display.
    public var identity: String {
        self.scheme.rawValue + ":" + self.path.urnEscaped
    }

    /// The URN with `?query` and `#display` removed.
    public var identityURN: URN {
        URN(uncheckedScheme: self.scheme, path: self.path, query: nil, display: nil)
    }

    /// The form shown on anonymous workspaces: the scheme and ``anonymousMask``, e.g. `tel:********`.
    ///
    /// Path, query and display are all dropped (a display may hold a name or a handle).
    public var masked: String {
        self.scheme.rawValue + ":" + Self.anonymousMask
    }

    /// ``masked`` for URN text that may not parse (an import cell, say): what comes before the first `:`
    /// kept as the scheme, the rest masked; text without one is masked whole.
    public static func masked(text: String) -> String {
        (try? URN(stored: text).masked) ?? (text.split(separator: ":").first.map { "\($0):\(Self.anonymousMask)" } ?? Self.anonymousMask)
    }

    /// The channel UUID of a `channel=<uuid>` query item (channel affinity), or `nil`.
    public var channel: String? {
        guard let query = self.query else { return nil }
        for item in query.split(separator: "&") where item.hasPrefix("channel=") {
            let value = item.dropFirst("channel=".count)
            return value.isEmpty ? nil : String(value)
        }
        return nil
    }

    /// The URN with its query replaced by `channel=<uuid>`, or removed when `channel` is `nil`.
    public func withChannel(_ channel: String?) -> URN {
        let query = channel.flatMap { $0.isEmpty ? nil : "channel=" + $0 }
        return URN(uncheckedScheme: self.scheme, path: self.path, query: query, display: self.display)
    }

    /// The URN with another display (trimmed; empty means none).
    ///
    /// - Throws: ``URNError/displayTooLong`` if the display is over ``maxDisplayLength`` bytes.
    public func withDisplay(_ display: String?) throws(URNError) -> URN {
        let trimmed = display.map { $0.trimmingWhitespaceAndNewlines() }.flatMap { $0.isEmpty ? nil : $0 }
        if let trimmed, trimmed.utf8.count > Self.maxDisplayLength {
            throw .displayTooLong
        }
        return URN(uncheckedScheme: self.scheme, path: self.path, query: self.query, display: trimmed)
    }

    /// The URN for humans, with phone numbers in national format: `tel:+250788383383` → `0788 383 383`.
    ///
    /// The display if there is one; else, for `tel` numbers with a country code and all-digit `whatsapp`
    /// paths, the number formatted by libphonenumber; else the path (gocommon `URN.Format`, rapidpro
    /// `URN.format`). Never use it on anonymous workspaces: use ``masked``.
    public var formatted: String {
        self.formatted(international: false)
    }

    /// The URN for humans, with phone numbers in national (`0788 383 383`) or international
    /// (`+250 788 383 383`) format; see ``formatted``.
    public func formatted(international: Bool) -> String {
        if let display = self.display {
            return display
        }
        let style: PhoneNumbers.Style = international ? .international : .national
        switch self.scheme {
        case .tel where self.path.hasPrefix("+"):
            return PhoneNumbers.format(self.path, style: style) ?? self.path
        case .whatsapp where self.path.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }):
            return PhoneNumbers.format("+" + self.path, style: style) ?? self.path
        default:
            return self.path
        }
    }
}

extension URN: CustomStringConvertible {
    /// The encoded form `scheme:path[?query][#display]`, components escaped (`#` → `%23`, `%` → `%25`,
    /// `?` → `%3F`) as gocommon writes them.
    public var description: String {
        var result = self.identity
        if let query = self.query {
            result += "?" + query.urnEscaped
        }
        if let display = self.display {
            result += "#" + display.urnEscaped
        }
        return result
    }
}

extension URN: Codable {
    /// Decodes the encoded form (``description``) with ``init(validating:)``.
    ///
    /// A refused value is reported as `DecodingError.dataCorrupted` carrying only the ``URNError`` code.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let string = try container.decode(String.self)
        do {
            self = try URN(validating: string)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "invalid URN: \(error.code)")
        }
    }

    /// Encodes the URN as its encoded form (``description``), a single string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.description)
    }
}
