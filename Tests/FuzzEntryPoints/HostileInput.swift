import AutorebalancerCore
import Foundation

/// The parsers that read hostile bytes (a metric endpoint, a Prometheus answer, files users edit), each as one entry
/// point that takes raw bytes and returns the broken promises it found (empty: none).
///
/// The same entry points run under libFuzzer (`Fuzz/`, `scripts/fuzz`) and in `swift test`, which replays the
/// committed corpus (`Fuzz/Corpus/<name>/`), so an input that once broke a promise stays a regression case. A crash
/// or trap is itself a finding (libFuzzer reports it); the promises checked here are the ones a crash would not show:
/// an accepted number is finite, in range and non-negative where it is a count, and what is accepted is consistent.
public enum HostileInput {
    /// One parser and the promises checked after it.
    public struct Target: Sendable {
        /// The corpus directory's name and the fuzzer's (`fuzz-<name>`).
        public var name: String
        public var check: @Sendable ([UInt8]) -> [String]
    }

    public static let targets: [Target] = [
        Target(name: "exposition", check: ExpositionInput.check),
        Target(name: "prometheus", check: PrometheusInput.check),
        Target(name: "backtest", check: BacktestInput.check),
        Target(name: "policy", check: PolicyInput.check),
        Target(name: "agent-config", check: AgentConfigInput.check),
        Target(name: "policy-test", check: PolicyTestInput.check),
        Target(name: "duration", check: DurationInput.check),
        Target(name: "engine", check: EngineInput.check),
    ]

    public static func target(named name: String) -> Target? { targets.first { $0.name == name } }

    /// The agent's clock in every check: a fixed instant, so a finding replays the same way.
    static let now = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01T00:00:00Z

    /// Text as a YAML loader receives it: a file that is not UTF-8 is refused before parsing (TextFile).
    static func text(_ bytes: [UInt8]) -> String? { String(validating: bytes, as: UTF8.self) }
}

/// Collects broken promises with the value that broke them.
struct Promises {
    var broken: [String] = []

    mutating func expect(_ holds: Bool, _ promise: @autoclosure () -> String) {
        if !holds { broken.append(promise()) }
    }

    /// `value`, when known, is a plausible `quantity` (finite, not negative, at most its maximum).
    mutating func plausible(_ value: Double?, _ quantity: SampleCheck.Quantity, _ what: @autoclosure () -> String) {
        guard let value else { return }
        expect(
            value.isFinite && value >= 0 && value <= SampleCheck.maximum(of: quantity),
            "\(what()) = \(value) was accepted"
        )
    }

    /// `seconds` is a finite duration in `0...maximum`.
    mutating func duration(_ seconds: TimeInterval?, at maximum: TimeInterval, _ what: @autoclosure () -> String) {
        guard let seconds else { return }
        expect(
            seconds.isFinite && seconds >= 0 && seconds <= maximum,
            "\(what()) = \(seconds)s was accepted (maximum \(maximum)s)"
        )
    }
}
