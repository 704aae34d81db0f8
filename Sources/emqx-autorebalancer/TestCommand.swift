import Agent
import ArgumentParser
import AutorebalancerCore
import Foundation

/// `test FILE...`: runs policy unit tests (`kind: PolicyTest`) and prints a diff for each failure.
struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run policy unit tests (kind: PolicyTest): input series per node, expected decisions at given times.",
        discussion: "Prints each failure as expected/got, then `N passed, M failed`. Exits 1 on any failure. See docs/policy-testing.md."
    )

    @Argument(help: "The test files.")
    var files: [String]

    func run() throws {
        var passed = 0, failed = 0
        for file in files {
            let text: String
            switch TextFile.read(file) {
            case .success(let read): text = read
            case .failure(let problem):
                print(SafeText.forLog("\(file):1:1: error: cannot read the file: it \(problem)"))
                failed += 1
                continue
            }
            let directory = URL(fileURLWithPath: file).deletingLastPathComponent()
            let result = PolicyTestRunner.run(text: text, file: file) { name in
                let url = name.hasPrefix("/") ? URL(fileURLWithPath: name) : directory.appendingPathComponent(name)
                let path = url.standardizedFileURL.path
                guard case .success(let policyText) = TextFile.read(path) else { return nil }
                let shown = name.hasPrefix("/") ? name : (directory.path == "." ? name : "\(directory.relativePath)/\(name)")
                return PolicySource(text: policyText, file: shown)
            }
            for diagnostic in result.diagnostics.sortedByLocation() { print(SafeText.forLog(diagnostic.description)) }
            for testCase in result.cases {
                if testCase.passed {
                    print("ok   \(file): \(testCase.name)")
                } else {
                    print("FAIL \(file): \(testCase.name)")
                    for failure in testCase.failures { print(failure.description.split(separator: "\n").map { SafeText.forLog(String($0)) }.joined(separator: "\n")) }
                }
            }
            passed += result.passed
            failed += result.failed
        }
        print("\(passed) passed, \(failed) failed")
        if failed > 0 { throw ExitCode(1) }
    }
}
