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
        // The hostile-input entry points, for the fuzzing package (Fuzz/) that builds them with libFuzzer.
        .library(name: "FuzzEntryPoints", targets: ["FuzzEntryPoints"]),
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
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // MARK: Pure core: no network, no clock, no environment, no logging.
        .target(
            name: "AutorebalancerCore",
            dependencies: [yams],
            swiftSettings: sharedSettings
        ),

        // MARK: Edges
        .target(
            name: "Observe",
            dependencies: [
                "AutorebalancerCore", "Kubernetes", asyncHTTPClient, logging, nioCore, nioHTTP1, nioPosix, nioSSL,
            ],
            swiftSettings: sharedSettings
        ),
        .target(
            name: "Kubernetes",
            dependencies: ["AutorebalancerCore", asyncHTTPClient, logging, nioCore, nioHTTP1, nioSSL, serviceLifecycle, yams],
            swiftSettings: sharedSettings
        ),
        .target(
            name: "Act",
            dependencies: ["AutorebalancerCore", "Kubernetes", logging],
            swiftSettings: sharedSettings
        ),
        .target(
            name: "Report",
            dependencies: ["AutorebalancerCore", asyncHTTPClient, crypto, hummingbird, logging, nioCore, nioSSL, prometheus, serviceLifecycle],
            swiftSettings: sharedSettings
        ),
        // The simulated EMQX cluster, Kubernetes API and operator: the demo's world and the integration tests'.
        .target(
            name: "Simulation",
            dependencies: ["AutorebalancerCore", asyncHTTPClient, httpTypes, hummingbird, logging, nioCore, serviceLifecycle, yams],
            swiftSettings: sharedSettings
        ),
        // The agent configuration's types, loader and validator: no network, so the fuzzing harnesses (Fuzz/) build it.
        .target(
            name: "AgentConfig",
            dependencies: ["AutorebalancerCore", yams],
            swiftSettings: sharedSettings
        ),
        // glibc's allocator controls, which the Glibc module does not export (Agent's ProcessMemory).
        .target(name: "CAllocator"),
        // The runtime: configuration, the evaluation loop, wiring. It does not carry the simulator.
        .target(
            name: "Agent",
            dependencies: [
                "AgentConfig", "AutorebalancerCore", "CAllocator", "Observe", "Kubernetes", "Act", "Report",
                asyncHTTPClient, logging, serviceLifecycle, yams,
            ],
            swiftSettings: sharedSettings
        ),
        // `demo`: the real agent against the simulated world; only the CLI links it.
        .target(
            name: "Demo",
            dependencies: [
                "AutorebalancerCore", "Act", "Agent", "Kubernetes", "Observe", "Simulation",
                asyncHTTPClient, logging, serviceLifecycle,
            ],
            swiftSettings: sharedSettings
        ),

        // MARK: CLI
        .executableTarget(
            name: "emqx-autorebalancer",
            dependencies: [
                "AutorebalancerCore", "Agent", "Demo", "Kubernetes", "Observe",
                argumentParser, asyncHTTPClient, logging, serviceLifecycle,
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
            dependencies: [asyncHTTPClient, hummingbird, nioCore, prometheus, yams],
            path: "Benchmarks/footprint-probe",
            swiftSettings: sharedSettings
        ),
        .executableTarget(
            name: "footprint",
            dependencies: ["AutorebalancerCore", "Simulation", asyncHTTPClient, hummingbird, logging, nioCore, serviceLifecycle],
            path: "Benchmarks/footprint",
            swiftSettings: sharedSettings
        ),

        // MARK: Tests, one target per module, and what they share
        .target(
            name: "TestSupport",
            dependencies: ["AutorebalancerCore", "Kubernetes", hummingbird, inMemoryLogging, logging, nioCore, serviceLifecycle],
            path: "Tests/TestSupport",
            swiftSettings: sharedSettings
        ),
        // Every parser of hostile bytes as one entry point: fuzzed by Fuzz/, its corpus replayed by FuzzCorpusTests.
        .target(
            name: "FuzzEntryPoints",
            dependencies: ["AgentConfig", "AutorebalancerCore"],
            path: "Tests/FuzzEntryPoints",
            swiftSettings: sharedSettings
        ),
        .testTarget(name: "FuzzCorpusTests", dependencies: ["FuzzEntryPoints"], swiftSettings: sharedSettings),
        .testTarget(
            name: "AutorebalancerCoreTests", dependencies: ["AutorebalancerCore", yams], resources: [.copy("Resources")],
            swiftSettings: sharedSettings),
        .testTarget(
            name: "SimulationTests",
            dependencies: [
                "AutorebalancerCore", "Observe", "Simulation", "TestSupport",
                asyncHTTPClient, hummingbird, logging, nioCore, nioHTTP1, serviceLifecycle, yams,
            ],
            swiftSettings: sharedSettings),
        .testTarget(
            name: "ObserveTests",
            dependencies: [
                "AutorebalancerCore", "Observe", "Simulation", "TestSupport",
                asyncHTTPClient, hummingbird, nioCore, nioHTTP1, nioPosix, nioSSL,
            ],
            swiftSettings: sharedSettings),
        .testTarget(
            name: "KubernetesTests",
            dependencies: [
                "AutorebalancerCore", "Kubernetes", "Simulation", "TestSupport",
                asyncHTTPClient, hummingbird, logging, nioCore, nioHTTP1, nioPosix, nioSSL, serviceLifecycle,
            ],
            swiftSettings: sharedSettings),
        .testTarget(
            name: "ActTests",
            dependencies: ["Act", "AutorebalancerCore", "Kubernetes", "Simulation", "TestSupport", asyncHTTPClient, logging, yams],
            swiftSettings: sharedSettings),
        .testTarget(
            name: "ReportTests",
            dependencies: ["AutorebalancerCore", "Report", "TestSupport", asyncHTTPClient, hummingbird, logging, nioCore, prometheus, serviceLifecycle],
            swiftSettings: sharedSettings),
        .testTarget(
            name: "AgentTests",
            dependencies: [
                "Act", "Agent", "AutorebalancerCore", "Demo", "Kubernetes", "Observe", "Report", "Simulation", "TestSupport",
                asyncHTTPClient, hummingbird, inMemoryLogging, logging, nioCore, serviceLifecycle,
            ],
            swiftSettings: sharedSettings),
        .testTarget(
            name: "DemoTests",
            dependencies: ["AutorebalancerCore", "Demo", "TestSupport", logging],
            swiftSettings: sharedSettings),
    ]
)

// Products of the package dependencies, named once.
var argumentParser: Target.Dependency { .product(name: "ArgumentParser", package: "swift-argument-parser") }
var asyncHTTPClient: Target.Dependency { .product(name: "AsyncHTTPClient", package: "async-http-client") }
var httpTypes: Target.Dependency { .product(name: "HTTPTypes", package: "swift-http-types") }
var crypto: Target.Dependency { .product(name: "Crypto", package: "swift-crypto") }
var hummingbird: Target.Dependency { .product(name: "Hummingbird", package: "hummingbird") }
var inMemoryLogging: Target.Dependency { .product(name: "InMemoryLogging", package: "swift-log") }
var logging: Target.Dependency { .product(name: "Logging", package: "swift-log") }
var nioCore: Target.Dependency { .product(name: "NIOCore", package: "swift-nio") }
var nioHTTP1: Target.Dependency { .product(name: "NIOHTTP1", package: "swift-nio") }
var nioPosix: Target.Dependency { .product(name: "NIOPosix", package: "swift-nio") }
var nioSSL: Target.Dependency { .product(name: "NIOSSL", package: "swift-nio-ssl") }
var prometheus: Target.Dependency { .product(name: "Prometheus", package: "swift-prometheus") }
var serviceLifecycle: Target.Dependency { .product(name: "ServiceLifecycle", package: "swift-service-lifecycle") }
var yams: Target.Dependency { .product(name: "Yams", package: "Yams") }
