// swift-tools-version:6.1
import Foundation
import PackageDescription

// The libFuzzer harness over the agent's parsers of hostile bytes (FuzzEntryPoints in the main package). A package of
// its own, so that the instrumented build never touches the main package's build or `swift test`:
//   swift build --package-path Fuzz --scratch-path .build-fuzz --sanitize=fuzzer     (scripts/fuzz does it)

/// The main package's identity is its directory's name, which is whatever the clone is called.
let mainPackage = URL(fileURLWithPath: Context.packageDirectory).deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "emqx-autorebalancer-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "fuzz-hostile-input",
            dependencies: [.product(name: "FuzzEntryPoints", package: mainPackage)],
            path: "Sources",
            // libFuzzer brings `main`; the harness is a library-style file exporting LLVMFuzzerTestOneInput.
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    ]
)
