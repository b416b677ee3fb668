// swift-tools-version:6.0
// A load client for bench/run.sh's TLS rows: one new TLS connection per
// request, on BoringSSL (swift-nio-ssl). A separate package so that CI never
// builds it; bench/run.sh builds it on first use.
import PackageDescription

let package = Package(
    name: "tlsload",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.0"),
    ],
    targets: [
        .executableTarget(
            name: "tlsload",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
    ],
    // One thread touches the counters; Swift 6's checks would only add noise.
    swiftLanguageModes: [.v5]
)
