// swift-tools-version:6.0
import PackageDescription

// How the executable is linked on Linux, for a smaller resident set in every run (each step is
// measured in docs/performance.md, "Memory"): libstdc++ statically (link/libstdc++.so), the
// functions a run executes packed together (link/hot-sections.order, written by
// `scripts/bench --write-link-order`; scripts/build-release gives every function its own
// section), the binary's own symbols not exported, and no PIE, so no relocation pass over the
// Swift runtime's tables at start (the shared libraries, heap and stack stay randomized).
let linkFolder = Context.packageDirectory + "/Sources/process-jobs/link"
let linuxLinkFlags = [
    "-L", linkFolder,
    "-Xlinker", "--section-ordering-file=" + linkFolder + "/hot-sections.order",
    "-Xlinker", "--no-export-dynamic",
    "-Xclang-linker", "-no-pie",
]

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
        // libcurl is opened with dlopen on the first request (Sources/CCurl/shim.h), so a run
        // with nothing due never loads it: only its headers are needed here, not pkg-config's -lcurl.
        .systemLibrary(
            name: "CCurl",
            providers: [.apt(["libcurl4-openssl-dev"]), .brew(["curl"])]),

        // Thin layers over them.
        .target(name: "PostgresClient", dependencies: ["CLibPQ"]),

        // The engine: claim -> dispatch -> record. Knows PostgreSQL, not libcurl.
        .target(
            name: "ProcessJobsCore",
            dependencies: ["PostgresClient", .product(name: "Logging", package: "swift-log")]),

        // libcurl's multi interface as the engine's Transport.
        .target(name: "CurlTransport", dependencies: ["CCurl", "ProcessJobsCore"]),

        // The command line on top.
        .executableTarget(
            name: "process-jobs",
            dependencies: [
                "ProcessJobsCore", "CurlTransport", "PostgresClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["link"],
            linkerSettings: [.unsafeFlags(linuxLinkFlags, .when(platforms: [.linux]))]),

        .testTarget(name: "ProcessJobsCoreTests", dependencies: ["ProcessJobsCore"]),
        .testTarget(
            name: "IntegrationTests",
            dependencies: ["ProcessJobsCore", "CurlTransport", "PostgresClient"]),
    ]
)
