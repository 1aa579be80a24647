// ContactLedger — contact domain.

extension String {
    /// Whether the string has a `#`, `%` or `?`: the characters a URN escapes in its components and
    /// that start its query and display. Most URNs have none, and then need neither escaping nor parsing.
    var containsURNSpecialCharacter: Bool {
        self.utf8.contains { $0 == UInt8(ascii: "#") || $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "?") }
    }

    /// The string with `#`, `%` and `?` percent-escaped, as gocommon stores URN components.
    var urnEscaped: String {
        // Most paths have none of the three: the string itself, not a copy made scalar by scalar.
        guard self.containsURNSpecialCharacter else { return self }
        var result = ""
        result.reserveCapacity(self.utf8.count)
        for scalar in self.unicodeScalars {
            switch scalar {
            case "#": result += "%23"
            case "%": result += "%25"
            case "?": result += "%3F"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// The string with `%23`, `%25` and `%3F` turned back into `#`, `%` and `?`; other `%` sequences stay.
    var urnUnescaped: String {
        guard self.utf8.contains(UInt8(ascii: "%")) else { return self }
        var result = String.UnicodeScalarView()
        let scalars = Array(self.unicodeScalars)
        var index = 0
        while index < scalars.count {
            if scalars[index] == "%", index + 2 < scalars.count {
                let pair = String(String.UnicodeScalarView(scalars[(index + 1)...(index + 2)]))
                let decoded: Unicode.Scalar? =
                    switch pair {
                    case "23": "#"
                    case "25": "%"
                    case "3F": "?"
                    default: nil
                    }
                if let decoded {
                    result.append(decoded)
                    index += 3
                    continue
                }
            }
            result.append(scalars[index])
            index += 1
        }
        return String(result)
    }
}
