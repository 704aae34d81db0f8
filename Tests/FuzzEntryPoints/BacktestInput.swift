import AutorebalancerCore
import Foundation

/// A saved `query_range` answer given to `backtest --connections`: every accepted sample is a plausible count at a
/// plausible time, in time order.
enum BacktestInput {
    @Sendable static func check(_ bytes: [UInt8]) -> [String] {
        var promises = Promises()
        guard let series = try? BacktestMatrix.series(from: Data(bytes), file: "connections.json", nodeLabel: nil)
        else {
            return promises.broken
        }
        var names: Set<String> = []
        for one in series {
            promises.expect(names.insert(one.node).inserted, "node \(one.node) accepted twice")
            var previous: Date?
            for sample in one.samples {
                promises.plausible(sample.value, .count, "\(one.node) connections")
                promises.expect(
                    SampleCheck.problem(withRecordedTime: sample.time) == nil,
                    "\(one.node) sample at \(sample.time.timeIntervalSince1970) accepted"
                )
                if let previous {
                    promises.expect(previous <= sample.time, "\(one.node) samples out of time order accepted")
                }
                previous = sample.time
            }
        }
        return promises.broken
    }
}
