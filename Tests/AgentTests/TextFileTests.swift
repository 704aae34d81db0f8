import Foundation
import Testing

@testable import Agent

/// `check` and `test` say why a file cannot be read, as `backtest` does.
struct TextFileTests {
    @Test func everyUnreadableFileSaysWhy() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("textfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let dangling = directory.appendingPathComponent("dangling.yaml").path
        try FileManager.default.createSymbolicLink(
            atPath: dangling,
            withDestinationPath: directory.appendingPathComponent("gone.yaml").path
        )
        let binary = directory.appendingPathComponent("binary.yaml")
        try Data([0x61, 0x00, 0xFF, 0x10]).write(to: binary)
        let latin1 = directory.appendingPathComponent("latin1.yaml")
        try Data([0x61, 0xE9, 0x0A]).write(to: latin1)
        let good = directory.appendingPathComponent("good.yaml")
        try Data("kind: Policy\n".utf8).write(to: good)

        func reason(_ path: String, maximumSize: Int = TextFile.maximumSize) -> String? {
            if case .failure(let problem) = TextFile.read(path, maximumSize: maximumSize) { return problem.reason }
            return nil
        }
        #expect(reason(directory.path) == "is a directory; name the YAML files in it")
        #expect(reason(dangling)?.hasPrefix("is a symbolic link to ") == true)
        #expect(reason(dangling)?.hasSuffix("gone.yaml, which does not exist") == true)
        #expect(reason(directory.appendingPathComponent("missing.yaml").path)?.hasPrefix("does not exist") == true)
        #expect(reason(binary.path) == "is binary, not text (a zero byte at offset 1)")
        #expect(reason(latin1.path) == "is not UTF-8 text")
        #expect(reason(good.path, maximumSize: 4)?.contains("files over 4 bytes are not read") == true)
        #expect(reason("/dev/null") == "is not a regular file")
        #expect(try TextFile.read(good.path).get() == "kind: Policy\n")
    }

    /// `run` (and the reloader and `check`, which load the same way) say why too, for the configuration and for each
    /// policy file it names.
    @Test func theConfigurationLoaderSaysWhy() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("textfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: directory.appendingPathComponent("rules/dir.yaml"),
            withIntermediateDirectories: true
        )
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data([0x6B, 0x00]).write(to: directory.appendingPathComponent("rules/binary.yaml"))
        let config = directory.appendingPathComponent("agent.yaml")
        try Data(
            """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: AgentConfig
            policies: [rules/binary.yaml]
            clusters: [{namespace: default, name: emqx}]

            """.utf8
        ).write(to: config)

        let unreadableConfig = ConfigurationFiles.load(
            configPath: directory.appendingPathComponent("rules/dir.yaml").path
        )
        #expect(
            unreadableConfig.diagnostics.map(\.message) == [
                "cannot read the configuration file: it is a directory; name the YAML files in it"
            ]
        )
        let unreadablePolicy = ConfigurationFiles.load(configPath: config.path)
        #expect(
            unreadablePolicy.diagnostics.contains {
                $0.message.hasPrefix("cannot read the policy file (listed by \(config.path):3:")
                    && $0.message.hasSuffix("): it is binary, not text (a zero byte at offset 1)")
            },
            "\(unreadablePolicy.diagnostics)"
        )
    }
}
