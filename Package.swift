// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "process-jobs",
    products: [
        .executable(name: "process-jobs", targets: ["process-jobs"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // C libraries; the shims hold only what Swift cannot call.
        .systemLibrary(
            name: "CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"]), .brew(["libpq"])]),
        // HMAC-SHA256 for signed requests: the libcrypto that libpq already brings in.
        .systemLibrary(
            name: "CLibCrypto", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .brew(["openssl"])]),
        // libcurl is opened with dlopen on the first request (Sources/CCurl/shim.h), so a run
        // with nothing due never loads it: only its headers are needed here, not pkg-config's -lcurl.
        .systemLibrary(
            name: "CCurl",
            providers: [.apt(["libcurl4-openssl-dev"]), .brew(["curl"])]),
        // libmicrohttpd serves --http; opened with dlopen only when the flag is given
        // (Sources/CMicroHTTPD/shim.h), so only its headers are needed here.
        .systemLibrary(
            name: "CMicroHTTPD",
            providers: [.apt(["libmicrohttpd-dev"]), .brew(["libmicrohttpd"])]),

        // Thin layers over them.
        .target(name: "PostgresClient", dependencies: ["CLibPQ"]),

        // /metrics and /healthz for a resident process, given closures for the two bodies: the
        // engine does not know libmicrohttpd exists.
        .target(name: "HealthServer", dependencies: ["CMicroHTTPD"]),

        // The engine: claim -> dispatch -> record. Knows PostgreSQL, not libcurl.
        .target(
            name: "ProcessJobsCore",
            dependencies: ["PostgresClient", "CLibCrypto", .product(name: "Logging", package: "swift-log")]),

        // libcurl's multi interface as the engine's Transport.
        .target(name: "CurlTransport", dependencies: ["CCurl", "ProcessJobsCore"]),

        // The command line on top.
        .executableTarget(
            name: "process-jobs",
            dependencies: [
                "ProcessJobsCore", "CurlTransport", "PostgresClient", "HealthServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // How scripts/build-release links the release binary (docs/performance.md, "Memory").
            exclude: ["link"]),

        .testTarget(name: "ProcessJobsCoreTests", dependencies: ["ProcessJobsCore"]),
        .testTarget(name: "HealthServerTests", dependencies: ["HealthServer"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["ProcessJobsCore", "CurlTransport", "PostgresClient", "HealthServer"]),
    ]
)
