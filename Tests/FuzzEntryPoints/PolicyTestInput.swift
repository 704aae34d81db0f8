import AutorebalancerCore
import Foundation

/// A policy test file (`kind: PolicyTest`) and its series notation: a loaded file's series are bounded in length,
/// their samples plausible counts, its times within the documented limits (docs/policy-testing.md).
enum PolicyTestInput {
    @Sendable static func check(_ bytes: [UInt8]) -> [String] {
        var promises = Promises()
        guard let text = HostileInput.text(bytes) else { return promises.broken }
        // The notation alone, as a series line would give it: bounded before anything is allocated.
        if case .success(let values) = SeriesNotation.parse(text) {
            promises.expect(values.count <= SeriesNotation.maximumLength, "a series of \(values.count) steps accepted")
        }
        let (loaded, diagnostics) = PolicyTestLoader.load(text: text, file: "policy.test.yaml")
        guard let file = promises.loaded(loaded, diagnostics, "a test file") else { return promises.broken }
        promises.duration(file.evaluationInterval, at: 86_400, "evaluationInterval")
        for test in file.tests {
            promises.expect(
                SampleCheck.problem(withRecordedTime: test.start) == nil,
                "test \(test.name) start \(test.start.timeIntervalSince1970) accepted"
            )
            promises.duration(test.duration, at: DurationText.maximum, "test \(test.name) duration")
            for series in test.series {
                let what = "test \(test.name) node \(series.node)"
                promises.duration(series.joinAt, at: DurationText.maximum, "\(what) joinAt")
                promises.duration(series.leaveAt, at: DurationText.maximum, "\(what) leaveAt")
                for (quantity, values) in [
                    (SampleCheck.Quantity.count, series.connections), (.count, series.sessions ?? []),
                    (.uptime, series.uptime ?? []), (.counter, series.restartCounter ?? []),
                ] {
                    promises.expect(
                        values.count <= SeriesNotation.maximumLength,
                        "\(what): a series of \(values.count) steps accepted"
                    )
                    for case .sample(let value) in values {
                        promises.plausible(value, quantity, "\(what) \(quantity.rawValue)")
                    }
                }
            }
            for change in test.facts {
                promises.duration(change.at, at: DurationText.maximum, "test \(test.name) facts at")
            }
            for rebalance in test.rebalances {
                promises.duration(
                    rebalance.at,
                    at: DurationText.maximum,
                    "test \(test.name) rebalance \(rebalance.name) at"
                )
                promises.duration(
                    rebalance.duration,
                    at: DurationText.maximum,
                    "test \(test.name) rebalance \(rebalance.name) duration"
                )
            }
            for expectation in test.expectations {
                promises.duration(expectation.at, at: DurationText.maximum, "test \(test.name) expectation at")
            }
        }
        return promises.broken
    }
}
