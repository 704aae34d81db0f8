import Foundation
import Testing

/// Locates the real-world fixtures in `../shared/fixtures` next to the package root. A plain clone of the repository
/// has no such folder; tests that read it are then skipped with `SharedFixtures.skipReason`.
enum SharedFixtures {
    /// `<package root>/../shared/fixtures`, found from this file's path.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // AutorebalancerCoreTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root
        .deletingLastPathComponent()
        .appendingPathComponent("shared/fixtures", isDirectory: true)

    /// Whether the fixtures folder exists.
    static let available: Bool = {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }()

    static let skipReason: Comment = "../shared/fixtures not found next to the package root; fixture tests skipped"

    /// The URL of a fixture, e.g. `url("emqx/emqx5-node-stats.prom")`.
    static func url(_ relativePath: String) -> URL {
        root.appendingPathComponent(relativePath)
    }

    /// The bytes of a fixture.
    static func bytes(_ relativePath: String) throws -> [UInt8] {
        Array(try Data(contentsOf: url(relativePath)))
    }
}
