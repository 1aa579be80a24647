// ContactLedger — benchmarks.
import ArgumentParser

// The entry point of `ledger-bench`; the commands are in LedgerBench.swift.
LedgerBench.main()
