// swift-tools-version:6.0
import PackageDescription

/// What static Foundation needs at link time. SwiftPM's --static-swift-stdlib
/// would add these, but it also compiles every module against the static
/// resource folder, where Swift Testing does not exist; so the binary alone
/// links statically and names Foundation's own dependencies here.
let staticFoundation = ["-Xlinker", "--start-group"]
    + ["Foundation", "FoundationEssentials", "FoundationInternationalization", "CoreFoundation", "_FoundationICU",
       "_FoundationCShims", "_FoundationCollections", "swiftSynchronization", "swift_RegexParser",
       "swift_StringProcessing", "swiftDispatch", "dispatch", "BlocksRuntime"].map { "-l" + $0 }
    + ["-Xlinker", "--end-group"]

/// Test code itself is compiled without optimisation: the product modules it
/// tests are the optimised release build, but the test modules' own code
/// needs no optimiser, and whole-module optimisation of them was the build's
/// slowest tail (CI has 2 cores and 15 minutes).
let testCode: [SwiftSetting] = [.unsafeFlags(["-Onone"])]

// Dependencies point one way: CYAML ← SwerveConfig ← SwerveWorker ← SwerveMaster ← swerve,
// and SwerveConfig ← SwerveACME ← swerve (the helper process; the master does not import it).
// See docs/architecture.md.
let package = Package(
    name: "swerve",
    products: [
        .executable(name: "swerve", targets: ["swerve"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"])]
        ),
        .target(name: "CSwerveShims"),
        // Certificates are read and checked with BoringSSL, as the workers'
        // TLS will use them (CNIOBoringSSL comes with NIOSSL; no TLS context
        // and no thread is made in the master: docs/architecture.md).
        .target(
            name: "SwerveConfig",
            dependencies: ["CYAML", .product(name: "NIOSSL", package: "swift-nio-ssl")]
        ),
        .target(
            name: "SwerveWorker",
            dependencies: [
                "CSwerveShims",
                "SwerveConfig",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "MultipartKit", package: "multipart-kit"),
            ]
        ),
        .target(
            name: "SwerveMaster",
            dependencies: [
                "CSwerveShims",
                "SwerveConfig",
                "SwerveWorker",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The `swerve: acme` helper process: an ACME client over NIOHTTP1 and
        // NIOSSL, with JWS, CSRs and keys by BoringSSL (docs/architecture.md
        // says why not swift-crypto, swift-certificates and async-http-client).
        .target(
            name: "SwerveACME",
            dependencies: [
                "SwerveConfig",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .executableTarget(
            name: "swerve",
            dependencies: [
                "SwerveACME",
                "SwerveConfig",
                "SwerveMaster",
                "SwerveWorker",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The Swift runtime and Foundation linked in: the installed binary runs on a
            // machine without the toolchain, and maps only the pages it uses. Only the
            // binary is linked so (tests link Swift Testing, which has no static form).
            linkerSettings: [.unsafeFlags(["-static-stdlib"] + staticFoundation)]
        ),
        .testTarget(
            name: "SwerveConfigTests",
            dependencies: ["SwerveConfig"],
            swiftSettings: testCode
        ),
        .testTarget(
            name: "SwerveWorkerTests",
            dependencies: [
                "SwerveWorker",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "MultipartKit", package: "multipart-kit"),
            ],
            swiftSettings: testCode
        ),
        .testTarget(
            name: "SwerveACMETests",
            dependencies: ["SwerveACME", "SwerveConfig", .product(name: "NIOSSL", package: "swift-nio-ssl")],
            swiftSettings: testCode
        ),
        .testTarget(
            name: "SwerveMasterTests",
            dependencies: ["SwerveMaster"],
            swiftSettings: testCode
        ),
        // Runs the built `swerve` binary (it does not link it: the binary links
        // the runtime statically, the tests cannot). `swift build --build-tests`
        // builds both.
        .testTarget(
            name: "IntegrationTests",
            exclude: ["h2probe.py"],
            swiftSettings: testCode
        ),
    ],
    swiftLanguageModes: [.v6]
)
