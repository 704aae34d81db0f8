import AutorebalancerCore
import Foundation
import Testing

@testable import Act

/// Lifecycle actions as logs and `run --once` print them: words, outcomes by their documented values, RFC 3339
/// instants; no Swift enum dump (`AutorebalancerCore.RebalanceOutcome.balanced`), no Foundation date format.
struct LifecycleActionTextTests {
    static let at = Date(timeIntervalSince1970: 1_795_000_000)

    static let rebalanceActions: [RebalanceLifecycle.Action] = [
        .awaitOperator("r"), .processing("r", since: at), .stuck("r", since: at), .settling("r", until: at),
        .markStopped("r", at: at), .awaitMetrics("r"), .confirmWithEMQX("r"), .emqxStillRebalancing("r"),
        .awaitReady("r"),
        .record("r", outcome: .balanced, detail: "spread 40 -> 3", retriesExhausted: false),
        .retry(failed: "r", attempt: 2),
        .retryLater(failed: "r", notBefore: at), .delete("r"),
    ]

    static let recordActions: [EMQXRebalanceLifecycle.Action] = [
        .hold("m", reason: "cooldown"), .reject("m", reason: "connEvictRate 0"), .awaitConfirmation("m"),
        .unconfirmed("m", reason: "not in global_status"), .running("m", since: at),
        .finished("m", abortedBecause: nil),
        .finished("m", abortedBecause: "node down"), .awaitEMQX("m", reason: "refused"), .stuck("m", since: at),
        .settling("m", until: at), .awaitMetrics("m"), .judge("m", outcome: .ineffective, detail: ""),
        .stop("m", coordinator: "emqx@a"), .release("m"), .delete("m"),
    ]

    @Test func everyActionReadsAsWords() {
        let texts = Self.rebalanceActions.map(\.description) + Self.recordActions.map(\.description)
        for text in texts {
            #expect(!text.contains("AutorebalancerCore"), "\(text)")
            #expect(!text.contains("Act."), "\(text)")
            #expect(!text.contains("+0000"), "\(text)")
            #expect(!text.contains("(\""), "an enum payload dump: \(text)")
            #expect(text.hasPrefix("Rebalance r") || text.hasPrefix("EMQXRebalance m"), "\(text)")
        }
        #expect(
            "\(RebalanceLifecycle.Action.record("r", outcome: .balanced, detail: "spread 40 -> 3", retriesExhausted: true))"
                == "Rebalance r: outcome balanced (spread 40 -> 3), retries exhausted"
        )
        #expect(
            "\(RebalanceLifecycle.Action.processing("r", since: Self.at))"
                == "Rebalance r: processing since \(KubernetesTime.format(Self.at))"
        )
        #expect(
            "\(EMQXRebalanceLifecycle.Action.judge("m", outcome: .ineffective, detail: ""))"
                == "EMQXRebalance m: outcome ineffective"
        )
    }
}
