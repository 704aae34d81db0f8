import Agent
import ArgumentParser
import AutorebalancerCore
import Foundation

/// `test FILE...`: runs policy unit tests (`kind: PolicyTest`) and prints a diff for each failure.
struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run policy unit tests (kind: PolicyTest): input series per node, expected decisions at given times.",
        discussion: """
            Prints each failure as expected/got, then `N passed, M failed`; with --format json, one JSON object \
            instead. Exits 1 on any failure or invalid file. See docs/policy-testing.md.

            Examples:
              emqx-autorebalancer test rules/tests/*.yaml
              emqx-autorebalancer test --format json rules/tests/*.yaml \\
                | jq '.files[].tests[] | select(.passed | not)'
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text
        case json
    }

    @Option(
        help: ArgumentHelp(
            "Output format: text, or json ({passed, failed, files: [{file, diagnostics, tests: [{name, file, line, column, passed, failures}]}]}).",
            valueName: "format"
        )
    )
    var format: Format = .text

    @Argument(help: ArgumentHelp("The test files (kind: PolicyTest).", valueName: "file"))
    var files: [String]

    func run() throws {
        let results = files.map(Self.run)
        let passed = results.map(\.passed).reduce(0, +)
        let failed = results.map(\.failed).reduce(0, +)
        switch format {
        case .text:
            for result in results { Self.printText(result) }
            print("\(passed) passed, \(failed) failed")
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
            let report = JSONReport(passed: passed, failed: failed, files: results.map(JSONReport.File.init))
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        }
        if failed > 0 { throw ExitCode(1) }
    }

    /// Runs one file; policies it names are read relative to it.
    static func run(file: String) -> PolicyTestFileResult {
        let text: String
        switch TextFile.read(file) {
        case .success(let read): text = read
        case .failure(let problem):
            return PolicyTestFileResult(
                file: file,
                diagnostics: [
                    Diagnostic(
                        .error,
                        at: SourceLocation(file: file, line: 1, column: 1),
                        "cannot read the file: it \(problem)"
                    )
                ],
                cases: []
            )
        }
        let directory = URL(fileURLWithPath: file).deletingLastPathComponent()
        return PolicyTestRunner.run(text: text, file: file) { name in
            let url = name.hasPrefix("/") ? URL(fileURLWithPath: name) : directory.appendingPathComponent(name)
            let path = url.standardizedFileURL.path
            guard case .success(let policyText) = TextFile.read(path) else { return nil }
            let shown =
                name.hasPrefix("/") ? name : (directory.path == "." ? name : "\(directory.relativePath)/\(name)")
            return PolicySource(text: policyText, file: shown)
        }
    }

    static func printText(_ result: PolicyTestFileResult) {
        // Messages quote the files: printed safe, like log lines.
        for diagnostic in result.diagnostics.sortedByLocation() { print(SafeText.forLog(diagnostic.description)) }
        for testCase in result.cases {
            if testCase.passed {
                print("ok   \(result.file): \(testCase.name)")
            } else {
                print("FAIL \(result.file): \(testCase.name)")
                for failure in testCase.failures {
                    print(
                        failure.description.split(separator: "\n").map { SafeText.forLog(String($0)) }.joined(
                            separator: "\n"
                        )
                    )
                }
            }
        }
    }

    /// `--format json`: the same facts as the text, as one object.
    struct JSONReport: Encodable {
        var passed: Int
        var failed: Int
        var files: [File]

        struct File: Encodable {
            var file: String
            var diagnostics: [Diagnostic]
            var tests: [Test]

            init(_ result: PolicyTestFileResult) {
                file = result.file
                diagnostics = result.diagnostics.sortedByLocation()
                tests = result.cases.map(Test.init)
            }
        }

        struct Test: Encodable {
            var name: String
            var file: String
            var line: Int
            var column: Int
            var passed: Bool
            var failures: [Failure]

            init(_ result: PolicyTestCaseResult) {
                name = result.name
                file = result.location.file
                line = result.location.line
                column = result.location.column
                passed = result.passed
                failures = result.failures.map(Failure.init)
            }
        }

        struct Failure: Encodable {
            var file: String
            var line: Int
            var column: Int
            /// The offset into the test, as written in the file (`20s`), and the instant it stands for.
            var at: String
            var time: String
            /// The expected/got diff, one line each, as the text output shows it.
            var lines: [String]

            init(_ failure: PolicyTestFailure) {
                file = failure.location.file
                line = failure.location.line
                column = failure.location.column
                at = DurationText.format(failure.at)
                time = KubernetesTime.format(failure.time)
                lines = failure.lines
            }
        }
    }
}
