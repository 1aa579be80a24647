// ContactLedger — contact domain.

import CPhoneNumber

/// Phone-number parsing and formatting for `tel` URNs, on top of Google's libphonenumber.
///
/// The rules are gocommon's (`urns/phone.go`, spec §2.3); libphonenumber only answers "does this parse, is it
/// possible, how is it written". Every function is pure and safe to call from any thread.
public enum PhoneNumbers {
    /// How ``format(_:style:)`` writes a number.
    public enum Style: Sendable, Hashable {
        /// `+250788383383`.
        case e164
        /// `+250 788 383 383`.
        case international
        /// `0788 383 383`.
        case national
    }

    /// Extracts a possible phone number, short code or sender id from user input.
    ///
    /// In order (gocommon `ParseNumber`):
    /// 0. repair a number a spreadsheet wrote as a float (`2.50788123123E+11` → `250788123123`);
    /// 1. keep only ASCII letters and digits, and a leading `+`;
    /// 2. parse with `defaultCountry`; a possible number is returned in its stable E.164 form
    ///    (`+82011290` → `+8211290`); vanity letters are converted (`800-CABBAGE` → `+18002222243` for US);
    /// 3. if at least 11 characters long and not starting with `0`, retry with a `+` in front
    ///    (`250788123123` → `+250788123123`, whatever the country);
    /// 4. with `allowShortCodes` and a country: a possible short code for it, or any 3–6 digits not
    ///    starting with `0`, is kept as is (`1234` with US → `1234`);
    /// 5. with `allowSenderIDs`: 3–64 letters and digits, lowercased (`PRIZES` → `prizes`).
    ///
    /// ```swift
    /// let number = try PhoneNumbers.parse("0788 123 123", defaultCountry: "RW")  // "+250788123123"
    /// ```
    ///
    /// - Parameters:
    ///   - raw: what the user typed.
    ///   - defaultCountry: ISO 3166-1 alpha-2 code (any case) for numbers without a country code; `nil` or
    ///     empty for none.
    ///   - allowShortCodes: whether step 4 applies.
    ///   - allowSenderIDs: whether step 5 applies.
    /// - Returns: the number's path form, e.g. `+250788123123`, `1234` or `prizes`.
    /// - Throws: ``URNError/invalidCountryCode`` when `defaultCountry` is not a libphonenumber region, or
    ///   the input's own country code is no country's and no step accepts it;
    ///   ``URNError/notAPossibleNumber`` when no step accepts the input.
    public static func parse(
        _ raw: String,
        defaultCountry: String?,
        allowShortCodes: Bool = true,
        allowSenderIDs: Bool = false
    ) throws(URNError) -> String {
        let trimmed = Self.repairingExcelExponent(raw.trimmingWhitespaceAndNewlines())
        var input = String(String.UnicodeScalarView(trimmed.unicodeScalars.filter(Self.isASCIIAlphanumeric)))
        if trimmed.hasPrefix("+") {
            input = "+" + input
        }
        let country = defaultCountry.flatMap { $0.isEmpty ? nil : $0.uppercased() }
        let region = country ?? "ZZ"

        let first = Self.call { CPhoneNumber_parse(input, region, $0, $1) }
        if country != nil, first.status == Self.invalidCountryCode {
            throw .invalidCountryCode
        }
        if first.status == Self.ok, let e164 = Self.stableE164(first.value, parsedFrom: input) {
            return e164
        }

        if input.utf8.count >= 11, !input.hasPrefix("0") {
            let withPlus = Self.call { CPhoneNumber_parse("+" + input, region, $0, $1) }
            if withPlus.status == Self.ok, let e164 = Self.stableE164(withPlus.value, parsedFrom: "+" + input) {
                return e164
            }
        }

        let didParse = first.status == Self.ok || first.status == Self.notPossible
        if didParse, country != nil, allowShortCodes {
            let short = Self.call { CPhoneNumber_parseShortNumber(input, region, $0, $1) }
            if short.status == Self.ok {
                return short.value
            }
            if Self.isAlternativeShortCode(input) {
                return input
            }
        }

        if allowSenderIDs, (3...64).contains(input.utf8.count),
            input.unicodeScalars.allSatisfy(Self.isASCIIAlphanumeric)
        {
            return input.lowercased()
        }
        // A country code no country has (`+999…`); without a `+` it only says there was no region.
        if first.status == Self.invalidCountryCode, input.hasPrefix("+") { throw .invalidCountryCode }
        throw .notAPossibleNumber
    }

    /// A number a spreadsheet turned into a float, `2.50788123123E+11`, as its digits, `250788123123`
    /// (RapidPro's `normalize_number`); anything else as it is. Only the `e+11` and `e+12` exponents of
    /// 12- and 13-digit numbers are taken: the mantissa's point is dropped, so any other exponent would
    /// give another number.
    static func repairingExcelExponent(_ text: String) -> String {
        let lowered = text.lowercased()
        guard lowered.hasSuffix("e+11") || lowered.hasSuffix("e+12") else { return text }
        let mantissa = text.dropLast(4)
        guard mantissa.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) else { return text }
        return mantissa.filter { $0 != "." }
    }

    /// Formats a number for humans, e.g. `+250788383383` → `0788 383 383` (``Style/national``).
    ///
    /// - Parameters:
    ///   - number: a number with its country code (`+…`); national numbers need `region`.
    ///   - style: how to write it.
    ///   - region: the ISO 3166-1 alpha-2 code to read national numbers with; `nil` for none.
    /// - Returns: the formatted number, or `nil` if libphonenumber cannot parse it.
    public static func format(_ number: String, style: Style, region: String? = nil) -> String? {
        let styleCode: Int32 =
            switch style {
            case .e164: Int32(CPhoneNumber_E164)
            case .international: Int32(CPhoneNumber_INTERNATIONAL)
            case .national: Int32(CPhoneNumber_NATIONAL)
            }
        let regionCode = region.flatMap { $0.isEmpty ? nil : $0.uppercased() } ?? "ZZ"
        let result = Self.call { CPhoneNumber_format(number, regionCode, styleCode, $0, $1) }
        return result.status == Self.ok ? result.value : nil
    }

    /// The country a number with a country code belongs to, e.g. `+250788383383` → `RW`
    /// (gocommon `DeriveCountryFromTel`).
    ///
    /// - Returns: the ISO 3166-1 alpha-2 code, or `nil` for unparseable and non-geographic numbers.
    public static func country(ofNumber number: String) -> String? {
        let result = Self.call { CPhoneNumber_regionForNumber(number, $0, $1) }
        return result.status == Self.ok ? result.value : nil
    }

    /// Whether libphonenumber has metadata for an ISO 3166-1 alpha-2 region (any case), e.g. `RW`.
    public static func isSupportedRegion(_ region: String) -> Bool {
        CPhoneNumber_isSupportedRegion(region.uppercased()) == 1
    }

    // MARK: - Private

    private static let ok = Int32(CPhoneNumber_OK)
    private static let notPossible = Int32(CPhoneNumber_NOT_POSSIBLE)
    private static let invalidCountryCode = Int32(CPhoneNumber_INVALID_COUNTRY_CODE)

    /// Formats as E.164 and re-parses until the result re-parses to itself (at most three rounds), because
    /// numbers with a leading zero in their national significant number can format to an E.164 form that
    /// re-parses differently (`+82011290` → `+8211290`).
    ///
    /// An input written with its country code (`+…`) that formats to itself is stable already: parsing
    /// it ignores the region, so the re-parse would be the parse just made (most stored numbers; the
    /// re-parse was a third of an import's URN normalization).
    private static func stableE164(_ formatted: String, parsedFrom input: String) -> String? {
        if formatted == input, input.hasPrefix("+") { return formatted }
        var e164 = formatted
        for _ in 0..<3 {
            let reparsed = Self.call { CPhoneNumber_parse(e164, "ZZ", $0, $1) }
            guard reparsed.status == Self.ok else { return nil }
            if reparsed.value == e164 {
                return e164
            }
            e164 = reparsed.value
        }
        return nil
    }

    /// libphonenumber's short-code metadata is thin, so any 3–6 digits not starting with `0` count too.
    private static func isAlternativeShortCode(_ input: String) -> Bool {
        let bytes = input.utf8
        guard (3...6).contains(bytes.count), let first = bytes.first, first != UInt8(ascii: "0") else {
            return false
        }
        return bytes.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    private static func isASCIIAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "0"..."9", "a"..."z", "A"..."Z": true
        default: false
        }
    }

    /// Runs one C call with a scratch output buffer and returns its status and the NUL-terminated output.
    private static func call(
        _ body: (UnsafeMutablePointer<CChar>?, Int) -> Int32
    ) -> (status: Int32, value: String) {
        var buffer = [CChar](repeating: 0, count: 128)
        let status = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress, $0.count) }
        guard status == Self.ok else { return (status, "") }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return (status, String(decoding: bytes, as: UTF8.self))
    }
}
