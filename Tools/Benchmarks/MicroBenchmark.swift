// ContactLedger — benchmarks.
import ArgumentParser
import ContactDomain
import Foundation

/// `ledger-bench micro`: URN normalizations/s and field value parses/s, each beside a parse-only
/// baseline on the same inputs in the same run.
struct MicroBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "micro",
        abstract: "URN.normalized and FieldValue.parse per second vs. plain string/number parsing.",
        discussion: """
            URN baseline: trim, split at the first ':', lowercase the scheme and trim the path (what any
            URN handling costs). Field baseline: Int(_:), else Decimal(string:), on the trimmed text.
            """
    )

    @Option(name: .long, help: "Seconds each measurement runs.")
    var seconds: Double = 1

    @Flag(name: .long, help: "Print the results as JSON instead of a table.")
    var json = false

    /// One measurement and its baseline.
    struct Row: Codable, Sendable {
        var name: String
        var inputs: Int
        /// Inputs that fail to normalize (URNs) or have no typed reading (fields): measured as they are.
        var rejectedInputs: Int
        var operationsPerSecond: Double
        var nanosecondsPerOperation: Double
        var baselineName: String
        var baselinePerSecond: Double
        /// How many times slower than the baseline.
        var slowdown: Double
        /// A value derived from every result, so the optimizer cannot drop the work.
        var checksum: Int
    }

    /// The whole run.
    struct Report: Codable, Sendable {
        var benchmark = "micro"
        var rows: [Row]
    }

    /// `tel` URNs with the default country each is normalized with.
    static let telephoneURNs: [(String, String?)] = [
        ("tel:0788 123 123", "RW"),
        ("tel:+250788123123", nil),
        ("tel:(206) 555-1212", "US"),
        ("tel:+1 206 555 1212", "US"),
        ("tel:07911 123456", "GB"),
    ]
    /// URNs of the other common schemes (no phone parsing).
    static let otherURNs: [(String, String?)] = [
        ("mailto:Bob.Smith@Example.com", nil),
        ("twitter: @jimmyJO", nil),
        ("whatsapp:250788123123", nil),
        ("ext:customer-8412", nil),
        ("telegram:123456789", nil),
        ("facebook:12345678901234567", nil),
    ]
    /// Field inputs with a number reading.
    static let numberTexts = ["23", " -12.5 ", "1000000", "3.14159", ".5", "12345678901234567890"]
    /// Field inputs with a datetime reading (workspace order YYYY-MM-DD).
    static let dateTexts = ["2026-01-02", "2026-01-02 10:30", "2026-01-02T09:30:00.123456Z", "2026/1/2 9:05"]
    /// Field inputs with neither reading.
    static let plainTexts = ["hello world", "Kigali", "a longer free text note about this contact"]

    func validate() throws {
        guard self.seconds > 0, self.seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600].") }
    }

    func run() throws {
        var rows: [Row] = []
        let urnSets: [(String, [(String, String?)])] = [
            ("URN.normalized tel", Self.telephoneURNs),
            ("URN.normalized other schemes", Self.otherURNs),
            ("URN.normalized mixed", Self.telephoneURNs + Self.otherURNs),
        ]
        for (name, inputs) in urnSets {
            progress("micro: \(name)")
            rows.append(self.measureURNs(name: name, inputs: inputs))
        }
        let environment = FieldParsingEnvironment(
            fieldType: .text, timeZone: .gmt, dateFormat: .yearMonthDay, now: Date(timeIntervalSince1970: 1_780_000_000))
        let fieldSets: [(String, [String])] = [
            ("FieldValue.parse numbers", Self.numberTexts),
            ("FieldValue.parse dates", Self.dateTexts),
            ("FieldValue.parse text", Self.plainTexts),
            ("FieldValue.parse mixed", Self.numberTexts + Self.dateTexts + Self.plainTexts),
        ]
        for (name, inputs) in fieldSets {
            progress("micro: \(name)")
            rows.append(self.measureFields(name: name, inputs: inputs, environment: environment))
        }
        let report = Report(rows: rows)
        if self.json {
            try printJSON(report)
        } else {
            Self.printTable(report)
        }
    }

    /// Calls `body` on each input in turn until `seconds` have passed; returns operations per second
    /// and the sum of what `body` returned.
    func measure<Input>(_ inputs: [Input], _ body: (Input) -> Int) -> (perSecond: Double, checksum: Int) {
        var checksum = 0
        var operations = 0
        let started = monotonicNanoseconds()
        let deadline = started + UInt64(self.seconds * 1_000_000_000)
        while monotonicNanoseconds() < deadline {
            for _ in 0..<64 {
                for input in inputs {
                    checksum &+= body(input)
                }
            }
            operations += 64 * inputs.count
        }
        let elapsed = Double(monotonicNanoseconds() - started) / 1_000_000_000
        return (Double(operations) / elapsed, checksum)
    }

    /// `URN.normalized` on `inputs` against the split-only baseline.
    func measureURNs(name: String, inputs: [(String, String?)]) -> Row {
        let normalized = self.measure(inputs) { raw, country in
            (try? URN.normalized(raw, defaultCountry: country))?.identity.utf8.count ?? -1
        }
        let baseline = self.measure(inputs) { raw, _ in Self.splitURN(raw) }
        let rejected = inputs.filter { raw, country in (try? URN.normalized(raw, defaultCountry: country)) == nil }.count
        return Row(
            name: name,
            inputs: inputs.count,
            rejectedInputs: rejected,
            operationsPerSecond: normalized.perSecond,
            nanosecondsPerOperation: 1e9 / normalized.perSecond,
            baselineName: "trim + split + lowercase",
            baselinePerSecond: baseline.perSecond,
            slowdown: baseline.perSecond / normalized.perSecond,
            checksum: normalized.checksum &+ baseline.checksum
        )
    }

    /// `FieldValue.parse` on `inputs` against the `Int`/`Decimal` baseline.
    func measureFields(name: String, inputs: [String], environment: FieldParsingEnvironment) -> Row {
        let parsed = self.measure(inputs) { text in
            let value = FieldValue.parse(text, environment: environment)
            return (value.number == nil ? 0 : 1) + (value.datetime == nil ? 0 : 2)
        }
        let baseline = self.measure(inputs) { text in
            let trimmed = Self.trimmed(text[...])
            if let integer = Int(trimmed) { return integer & 1 }
            return Decimal(string: String(trimmed)) == nil ? 0 : 1
        }
        let rejected = inputs.filter { text in
            let value = FieldValue.parse(text, environment: environment)
            return value.number == nil && value.datetime == nil
        }.count
        return Row(
            name: name,
            inputs: inputs.count,
            rejectedInputs: rejected,
            operationsPerSecond: parsed.perSecond,
            nanosecondsPerOperation: 1e9 / parsed.perSecond,
            baselineName: "Int / Decimal(string:)",
            baselinePerSecond: baseline.perSecond,
            slowdown: baseline.perSecond / parsed.perSecond,
            checksum: parsed.checksum &+ baseline.checksum
        )
    }

    /// The parse-only URN baseline: trim, split at the first `:`, lowercase the scheme, trim the path.
    static func splitURN(_ raw: String) -> Int {
        let trimmed = Self.trimmed(raw[...])
        guard let colon = trimmed.firstIndex(of: ":") else { return -1 }
        let scheme = trimmed[..<colon].lowercased()
        let path = Self.trimmed(trimmed[trimmed.index(after: colon)...])
        return scheme.utf8.count + path.utf8.count
    }

    /// `text` without leading and trailing white space, in plain Swift (Foundation's
    /// `trimmingCharacters(in:)` bridges through NSString on Linux and would dominate the baseline).
    static func trimmed(_ text: Substring) -> Substring {
        guard let first = text.firstIndex(where: { !$0.isWhitespace }),
            let last = text.lastIndex(where: { !$0.isWhitespace })
        else { return text[text.endIndex...] }
        return text[first...last]
    }

    /// Prints the measurements as a table.
    static func printTable(_ report: Report) {
        var table = TextTable(headers: ["measure", "inputs", "untyped", "ops/s", "ns/op", "baseline", "baseline ops/s", "x slower"])
        for row in report.rows {
            table.rows.append([
                row.name,
                "\(row.inputs)",
                "\(row.rejectedInputs)",
                formatted(row.operationsPerSecond),
                formatted(row.nanosecondsPerOperation),
                row.baselineName,
                formatted(row.baselinePerSecond),
                formatted(row.slowdown, 1),
            ])
        }
        print(table.rendered())
        print("(untyped: URNs that fail to normalize / field texts with no number or datetime reading; expected 0 except for text)")
    }
}
