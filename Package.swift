// swift-tools-version:6.1
import PackageDescription

/// Settings every target shares: Swift 6 language mode comes from the tools version;
/// `ExistentialAny` makes every protocol-typed value say so.
let sharedSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "emqx-autorebalancer",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "emqx-autorebalancer", targets: ["emqx-autorebalancer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        // MARK: Pure core: no network, no clock, no environment, no logging.
        .target(
            name: "AutorebalancerCore",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: sharedSettings
        ),

        // MARK: Edges
        .target(
            name: "Observe",
            dependencies: [
                "AutorebalancerCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: sharedSettings
        ),
        .target(
            name: "Kubernetes",
            dependencies: [
                "AutorebalancerCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: sharedSettings
        ),
        .target(
            name: "Act",
            dependencies: [
                "AutorebalancerCore",
                "Kubernetes",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: sharedSettings
        ),
        .target(
            name: "Report",
            dependencies: [
                "AutorebalancerCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: sharedSettings
        ),
        .target(
            name: "Simulation",
            dependencies: [
                "AutorebalancerCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: sharedSettings
        ),
        .target(
            name: "Agent",
            dependencies: [
                "AutorebalancerCore", "Observe", "Kubernetes", "Act", "Report", "Simulation",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: sharedSettings
        ),

        // MARK: CLI
        .executableTarget(
            name: "emqx-autorebalancer",
            dependencies: [
                "AutorebalancerCore", "Agent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: sharedSettings
        ),
        .executableTarget(
            name: "parser-benchmark",
            dependencies: ["AutorebalancerCore"],
            path: "Benchmarks/parser-benchmark",
            swiftSettings: sharedSettings
        ),
        // Footprint: the agent's `run` beside a minimal server built from the same libraries (docs/benchmarks.md).
        .executableTarget(
            name: "footprint-probe",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Benchmarks/footprint-probe",
            swiftSettings: sharedSettings
        ),
        .executableTarget(
            name: "footprint",
            dependencies: [
                "AutorebalancerCore", "Simulation",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Benchmarks/footprint",
            swiftSettings: sharedSettings
        ),

        // MARK: Tests, one target per module
        .testTarget(
            name: "AutorebalancerCoreTests", dependencies: ["AutorebalancerCore"], resources: [.copy("Resources")],
            swiftSettings: sharedSettings),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "Observe", "AutorebalancerCore", "TestSupport"], swiftSettings: sharedSettings),
        .target(
            name: "TestSupport",
            dependencies: [
                "AutorebalancerCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: sharedSettings
        ),
        .testTarget(name: "ObserveTests", dependencies: ["Observe", "Simulation", "TestSupport"], swiftSettings: sharedSettings),
        .testTarget(name: "KubernetesTests", dependencies: ["Kubernetes", "Simulation", "TestSupport"], swiftSettings: sharedSettings),
        .testTarget(name: "ActTests", dependencies: ["Act", "Kubernetes", "Simulation"], swiftSettings: sharedSettings),
        .testTarget(name: "ReportTests", dependencies: ["Report", "TestSupport"], swiftSettings: sharedSettings),
        .testTarget(
            name: "AgentTests",
            dependencies: ["Agent", "Simulation", "TestSupport", .product(name: "InMemoryLogging", package: "swift-log")],
            swiftSettings: sharedSettings),
    ]
)
