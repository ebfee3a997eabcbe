// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Cairn",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "CairnCore", targets: ["CairnCore"]),
        .library(name: "CairnStore", targets: ["CairnStore"]),
        .library(name: "CairnProtocol", targets: ["CairnProtocol"]),
        .library(name: "CairnServer", targets: ["CairnServer"]),
        .library(name: "Cairn", targets: ["Cairn"]),
        .library(name: "CairnRecipes", targets: ["CairnRecipes"]),
        .executable(name: "cairn", targets: ["cairn"]),
        .executable(name: "cairnctl", targets: ["cairnctl"]),
        .executable(name: "cairn-store-bench", targets: ["cairn-store-bench"]),
        .executable(name: "cairn-bench", targets: ["cairn-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // Debian's liblmdb-dev, found through pkg-config.
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        // Debian's libjemalloc-dev: the server's allocator. Requests are allocated on event loops and freed on
        // the writer thread and results the other way round, which glibc's malloc serves through its arenas'
        // locked slow paths (~7% of the server's CPU in create 16 x 64); see BENCHMARKS.md.
        // Debian's zlib1g-dev: ZooKeeper's file checksums (Adler-32) and gzip snapshots, for cairnctl.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // Debian's libsnappy-dev: ZooKeeper's Snappy snapshots, for cairnctl.
        .systemLibrary(
            name: "CSnappy",
            pkgConfig: "snappy",
            providers: [.apt(["libsnappy-dev"])]
        ),
        .systemLibrary(
            name: "CJemalloc",
            pkgConfig: "jemalloc",
            providers: [.apt(["libjemalloc-dev"])]
        ),
        // CRC-32C in the processor's instruction (the WAL's checksums); CairnStore falls back to tables.
        .target(name: "CCRC32C"),
        // Linux's sync_file_range (Glibc's module leaves it out): snapshots and checkpoints written behind.
        .target(name: "CLinuxFileIO"),
        // A thin, typed Swift layer over the LMDB C API.
        .target(name: "LMDB", dependencies: ["CLMDB"]),
        // Pure values shared by every layer: paths, stats, zxids, errors.
        .target(name: "CairnCore"),
        // The znode tree on LMDB, the write-ahead log, snapshots, recovery, group commit. No networking.
        .target(
            name: "CairnStore",
            dependencies: [
                "LMDB", "CairnCore", "CCRC32C", "CLinuxFileIO",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The JSON-lines wire format shared by server and client.
        .target(
            name: "CairnProtocol",
            dependencies: [
                "CairnCore", .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The server: listener, connections, sessions, watches, over the store's group commit.
        .target(
            name: "CairnServer",
            dependencies: [
                "CairnStore", "CairnProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // The client library: sessions, reconnects, watches as async sequences.
        .target(
            name: "Cairn",
            dependencies: [
                "CairnProtocol",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Service registry, leader election and lock, built on the client.
        .target(
            name: "CairnRecipes",
            dependencies: [
                "Cairn",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Examples: executables with a README each.
        .executableTarget(
            name: "election-demo",
            dependencies: ["CairnRecipes", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Examples/election-demo",
            exclude: ["README.md"]
        ),
        .executableTarget(
            name: "fleet-demo",
            dependencies: [
                "CairnRecipes",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Examples/fleet-demo",
            exclude: ["README.md"]
        ),
        // `cairn serve`: the server executable.
        .executableTarget(
            name: "cairn",
            dependencies: [
                "CairnCore", "CairnServer", "CairnStore", "CJemalloc",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // `cairnctl`: the operator CLI (live commands through the client, offline ones on the store).
        .executableTarget(
            name: "cairnctl",
            dependencies: [
                "Cairn", "CairnProtocol", "CairnStore", "CZlib", "CSnappy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Load generator for a running server (tools/bench).
        .executableTarget(
            name: "cairn-bench",
            dependencies: [
                "Cairn", "CairnProtocol", "CairnTesting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Engine-only benchmark: changes/s at several batch sizes next to the raw fdatasync rate.
        .executableTarget(
            name: "cairn-store-bench",
            dependencies: [
                "CairnStore", "CLinuxFileIO",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Child process for crash drills: applies changes, prints each acknowledged zxid, waits to be killed.
        .executableTarget(
            name: "cairn-store-drill",
            dependencies: [
                "CairnStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Test support shared by every test target (temp dirs, child processes, built binaries) and the seeded
        // generator the load generator also uses.
        .target(name: "CairnTesting"),
        .testTarget(name: "CairnCoreTests", dependencies: ["CairnCore"]),
        .testTarget(
            name: "CairnProtocolTests",
            dependencies: ["CairnProtocol", "CairnTesting", .product(name: "NIOCore", package: "swift-nio")]),
        .testTarget(
            name: "CairnServerTests",
            dependencies: [
                "CairnServer", "CairnTesting", "cairn", .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "CairnctlTests", dependencies: ["Cairn", "CairnRecipes", "CairnTesting", "cairn", "cairnctl"]),
        .testTarget(
            name: "CairnClientTests",
            dependencies: [
                "Cairn", "CairnRecipes", "CairnTesting", "cairn", "election-demo", "fleet-demo",
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .testTarget(name: "LMDBTests", dependencies: ["LMDB", "CairnTesting"]),
        .testTarget(name: "CairnBenchTests", dependencies: ["CairnTesting", "cairn", "cairn-bench"]),
        .testTarget(
            name: "CairnStoreTests",
            dependencies: [
                "CairnStore", "CairnTesting", "cairn", "cairn-store-drill",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
