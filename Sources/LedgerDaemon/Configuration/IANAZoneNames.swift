// ContactLedger — daemon wiring.
import Foundation

/// The zone names of the IANA time zone database, which is what `workspace.configure` takes as `timezone`
/// (the schema: "An IANA zone name").
///
/// `TimeZone(identifier:)` also takes ICU's custom and legacy names (`GMT+5`, `UTC+3`, `GMT+05:30`, `IST`,
/// `PST`), and `GMT+5` is five hours east where IANA's `Etc/GMT+5` is five hours west; ICU's list
/// (`TimeZone.knownTimeZoneIdentifiers`) lacks IANA names such as `Etc/UTC`, `Etc/GMT+5` and `US/Eastern`. So
/// the names are the zones and links of the system's `tzdata.zi` (`$TZDIR`, else `/usr/share/zoneinfo`),
/// or, where that file is missing, ICU's list and `UTC`. A workspace already stored with another name keeps
/// it: only setting one is refused.
enum IANAZoneNames {
    /// Whether `name` is a zone or link name of the database (case as written there).
    static func contains(_ name: String) -> Bool {
        Self.names.contains(name)
    }

    private static let names: Set<String> = {
        let directory = ProcessInfo.processInfo.environment["TZDIR"] ?? "/usr/share/zoneinfo"
        guard let text = try? String(contentsOfFile: directory + "/tzdata.zi", encoding: .utf8) else {
            return Set(TimeZone.knownTimeZoneIdentifiers).union(["UTC"])
        }
        var names: Set<String> = []
        // `Z NAME …` is a zone, `L TARGET NAME` a link to one.
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            if words.count >= 2, words[0] == "Z" {
                names.insert(String(words[1]))
            } else if words.count >= 3, words[0] == "L" {
                names.insert(String(words[2]))
            }
        }
        return names.isEmpty ? Set(TimeZone.knownTimeZoneIdentifiers).union(["UTC"]) : names
    }()
}
