// ContactLedger — benchmarks.
import ArgumentParser

/// `ledger-bench`: throughput and latency of the real daemon against raw LMDB, and of the domain's
/// hot parsers. Build it in release mode; debug figures mean nothing.
struct LedgerBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger-bench",
        abstract: "Benchmarks the contact ledger daemon (appends, modifies, history, rebuild, import, queries and history at scale) and the domain parsers.",
        discussion: """
            Run release builds only: swift build -c release --product contactledgerd --product ledger-bench.
            Every daemon benchmark starts its own contactledgerd on a fresh data directory under /tmp.
            """,
        subcommands: [
            AppendsBenchmark.self, ModifyBenchmark.self, MicroBenchmark.self, HistoryBenchmark.self, RebuildBenchmark.self,
            FanoutBenchmark.self, ImportBenchmark.self, ScaleDataCommand.self, QueryBenchmark.self, HistoryScaleBenchmark.self,
            SoakBenchmark.self, ReplicationBenchmark.self,
        ]
    )
}

/// Options shared by the benchmarks that start the daemon.
struct DaemonOptions: ParsableArguments {
    @Option(name: .long, help: "The contactledgerd binary to start (a release build).")
    var daemon: String

    @Option(name: .long, help: "Seconds each measured phase runs.")
    var seconds: Double = 10

    @Flag(name: .long, help: "Keep the daemon's data directory and log under /tmp after the run.")
    var keepData = false

    @Flag(name: .long, help: "Print the results as JSON instead of tables.")
    var json = false

    func validate() throws {
        guard self.seconds > 0, self.seconds <= 3600 else {
            throw ValidationError("--seconds must be in (0, 3600], got \(self.seconds).")
        }
    }
}
