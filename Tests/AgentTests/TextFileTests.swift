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
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: directory.appendingPathComponent("gone.yaml").path)
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
}
