import AutorebalancerCore
import Foundation
import Testing

struct BacktestArgumentsTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(arguments: [
        ("now", 1_800_000_000.0),
        ("now-6h", 1_799_978_400),
        ("now-1d", 1_799_913_600),
        ("1795621027.5", 1_795_621_027.5),
        ("2026-11-20T10:00:00Z", 1_795_168_800),
    ])
    func timesUsersWrite(text: String, seconds: Double) throws {
        #expect(try BacktestArguments.time(text, option: "--start", now: Self.now).timeIntervalSince1970 == seconds)
    }

    @Test(arguments: [
        ("yesterday", "--start yesterday: expected RFC 3339 (2026-11-20T10:00:00Z), Unix seconds, now or now-DURATION"),
        ("now-soon", "--start now-soon: expected RFC 3339"),
        ("100", "--start 100 is before 2000 (Prometheus times are seconds since 1970)"),
        ("1e300", "--start 1e300 is after 2200"),
        ("nan", "--start nan is not a time"),
    ])
    func timesThatAreRefused(text: String, message: String) {
        let error = #expect(throws: BacktestArguments.Problem.self) {
            try BacktestArguments.time(text, option: "--start", now: Self.now)
        }
        #expect(error?.description.hasPrefix(message) == true, "\(error?.description ?? "")")
    }

    @Test func durations() throws {
        #expect(try BacktestArguments.duration("30s", option: "--step") == 30)
        #expect(try BacktestArguments.duration("5m", option: "--lookback") == 300)
        for text in ["0s", "-1m", "soon"] {
            let error = #expect(throws: BacktestArguments.Problem.self) {
                try BacktestArguments.duration(text, option: "--step")
            }
            #expect(error?.description == "--step \(text): expected a positive duration such as 30s, 5m or 1h")
        }
        let error = #expect(throws: BacktestArguments.Problem.self) {
            try BacktestArguments.duration("400d", option: "--step")
        }
        #expect(error?.description.hasPrefix("--step 400d: must be between") == true)
    }

    @Test func clusters() throws {
        #expect(try BacktestArguments.cluster("emqx/emqx-ee") == ClusterReference(namespace: "emqx", name: "emqx-ee"))
        for text in ["emqx", "/emqx", "emqx/", "a/b/c"] {
            let error = #expect(throws: BacktestArguments.Problem.self) { try BacktestArguments.cluster(text) }
            #expect(error?.description == "--cluster \(text): expected <namespace/name>, e.g. default/emqx-ee")
        }
    }

    @Test func ranges() throws {
        let range = try BacktestArguments.range(start: "now-1h", end: nil, step: "1m", now: Self.now)
        #expect(range == BacktestRange(start: Self.now.addingTimeInterval(-3600), end: Self.now, step: 60))
        #expect(range.stepCount == 61, "both ends included")

        let backwards = #expect(throws: BacktestArguments.Problem.self) {
            try BacktestArguments.range(start: "now", end: "now-1h", step: "1m", now: Self.now)
        }
        #expect(backwards?.description == "--start now must be before --end now-1h")
        // A year at a millisecond: billions of steps, refused before anything is fetched.
        let tooMany = #expect(throws: BacktestArguments.Problem.self) {
            try BacktestArguments.range(start: "now-365d", end: nil, step: "1ms", now: Self.now)
        }
        #expect(tooMany?.description.contains("at most \(BacktestRunner.maximumSteps) are replayed") == true)
    }
}
