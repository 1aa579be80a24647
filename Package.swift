// swift-tools-version:6.1
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "ContactLedger",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "contactledgerd", targets: ["contactledgerd"]),
        .executable(name: "contactledger", targets: ["contactledger"]),
        // For tests only: loaded into the daemon with LD_PRELOAD to step its wall clock.
        .library(name: "ClockShim", type: .dynamic, targets: ["ClockShim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.20"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
    ],
    targets: [
        // C libraries and shims.
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"]), .brew(["lmdb"])]
        ),
        .target(name: "CLedgerSys", cSettings: [.define("_GNU_SOURCE")]),
        .systemLibrary(name: "CLibXML2", pkgConfig: "libxml-2.0", providers: [.apt(["libxml2-dev"]), .brew(["libxml2"])]),
        .target(
            name: "CPhoneNumber",
            linkerSettings: [.linkedLibrary("phonenumber")]
        ),

        // Pure work cut into slices and run on every core (the writer's helpers).
        .target(name: "ParallelWork", dependencies: ["CLedgerSys"], swiftSettings: strictSettings),

        // Storage: LMDB and a byte-level, hash-chained event log. Knows nothing of contacts.
        .target(
            name: "LedgerStore",
            dependencies: ["CLMDB", "CLedgerSys", "ParallelWork", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        // JSON text: values, a strict parser and writer, escaping and numbers, a Decoder over parsed values;
        // shared by the RPC layer and the domain's stored shapes. Knows nothing of sockets or contacts.
        .target(name: "JSONText", swiftSettings: strictSettings),
        // Civil dates and times: proleptic Gregorian day arithmetic, zone offsets, the full ISO 8601 timestamp form.
        // Shared by the domain's datetime readings and the spreadsheets' ISO date cells. Knows nothing of either.
        .target(name: "CivilTime", swiftSettings: strictSettings),
        // Domain: contacts, URNs, fields, events, decide/evolve. Pure: no I/O.
        .target(name: "ContactDomain", dependencies: ["CivilTime", "CPhoneNumber", "JSONText", "ParallelWork"], swiftSettings: strictSettings),
        // Spreadsheets: XLSX (a ZIP of XML parts) and CSV, read and written. Knows nothing of contacts.
        .target(
            name: "Spreadsheet",
            dependencies: [
                "CivilTime",
                "CLibXML2",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // Read models maintained from events, stored in LMDB.
        .target(
            name: "Projections",
            dependencies: ["ContactDomain", "JSONText", "LedgerStore", "ParallelWork", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        // Generic JSON-RPC 2.0 over a Unix socket. Knows nothing of contacts.
        .target(
            name: "RPC",
            dependencies: [
                "CLedgerSys",
                "JSONText",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // A NATS and JetStream client over SwiftNIO. Knows nothing of contacts.
        .target(
            name: "NATSClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // Wiring: the writer, the method router, the service group.
        .target(
            name: "LedgerDaemon",
            dependencies: [
                "CivilTime", "CLedgerSys", "LedgerStore", "ContactDomain", "ParallelWork", "Projections", "RPC", "Spreadsheet", "NATSClient",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "contactledgerd",
            dependencies: [
                "LedgerDaemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "contactledger",
            dependencies: [
                "RPC", "CLedgerSys",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "ledger-bench",
            dependencies: [
                "LedgerStore", "RPC", "ContactDomain", "Projections", "NATSClient", "Spreadsheet", "TestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tools/Benchmarks",
            swiftSettings: strictSettings
        ),

        // Helpers shared by the test targets: a child-process launcher, a real nats-server process, a seeded random generator,
        // hostile XLSX files, temporary directories.
        .target(name: "TestSupport", dependencies: ["CLedgerSys"], path: "Tests/TestSupport", swiftSettings: strictSettings),
        // A wall clock tests can step (LD_PRELOAD into the daemon): built as the ClockShim product.
        .target(name: "ClockShim", path: "Tests/ClockShim", linkerSettings: [.linkedLibrary("dl")]),
        .testTarget(name: "LedgerStoreTests", dependencies: ["LedgerStore", "ParallelWork", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "ContactDomainTests", dependencies: ["ContactDomain", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(name: "SpreadsheetTests", dependencies: ["Spreadsheet", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "RPCTests",
            dependencies: [
                "RPC", "TestSupport", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "NATSClientTests", dependencies: ["NATSClient", "TestSupport"], swiftSettings: strictSettings),
        .testTarget(
            name: "DaemonTests",
            dependencies: ["CLedgerSys", "RPC", "LedgerStore", "Projections", "NATSClient", "TestSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
