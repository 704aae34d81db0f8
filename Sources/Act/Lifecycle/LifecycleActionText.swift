import AutorebalancerCore
import Foundation

// What logs and `run --once` show for a lifecycle action: words, the object's name, outcomes by their documented
// values (`balanced`) and instants in RFC 3339. Without these, string interpolation prints the Swift enum with its
// module path and Foundation's date format (`record("x", outcome: AutorebalancerCore.RebalanceOutcome.balanced, …)`).

extension RebalanceLifecycle.Action: CustomStringConvertible {
    public var description: String {
        switch self {
        case .awaitOperator(let name): "Rebalance \(name): waiting for the operator to pick it up"
        case .processing(let name, let since): "Rebalance \(name): processing since \(KubernetesTime.format(since))"
        case .stuck(let name, let since): "Rebalance \(name): stuck, processing since \(KubernetesTime.format(since))"
        case .settling(let name, let until):
            "Rebalance \(name): finished, settling until \(KubernetesTime.format(until))"
        case .markStopped(let name, let at):
            "Rebalance \(name): EMQX stopped rebalancing at \(KubernetesTime.format(at))"
        case .awaitMetrics(let name): "Rebalance \(name): waiting for current counts to judge it"
        case .confirmWithEMQX(let name):
            "Rebalance \(name): Failed as not ready; asking EMQX whether it still rebalances"
        case .emqxStillRebalancing(let name): "Rebalance \(name): EMQX still rebalances despite the Failed phase"
        case .awaitReady(let name): "Rebalance \(name): EMQX unreachable; waiting for the cluster to be Ready"
        case .record(let name, let outcome, let detail, let retriesExhausted):
            "Rebalance \(name): outcome \(outcome.rawValue)\(detail.isEmpty ? "" : " (\(detail))")\(retriesExhausted ? ", retries exhausted" : "")"
        case .retry(let failed, let attempt): "Rebalance \(failed) failed: creating attempt \(attempt)"
        case .retryLater(let failed, let notBefore):
            "Rebalance \(failed) failed: next attempt not before \(KubernetesTime.format(notBefore))"
        case .delete(let name): "Rebalance \(name): deleting (beyond keepFinished)"
        }
    }
}

extension EMQXRebalanceLifecycle.Action: CustomStringConvertible {
    public var description: String {
        switch self {
        case .start(let name, let coordinator, let request):
            "EMQXRebalance \(name): starting on \(coordinator) (\(request.nodes.count) nodes, connEvictRate \(request.connEvictRate))"
        case .hold(let name, let reason): "EMQXRebalance \(name): pending (\(reason))"
        case .reject(let name, let reason): "EMQXRebalance \(name): rejected (\(reason))"
        case .awaitConfirmation(let name): "EMQXRebalance \(name): waiting for EMQX to show it"
        case .confirm(let name, let entry): "EMQXRebalance \(name): running\(entry.state.map { " (\($0))" } ?? "")"
        case .unconfirmed(let name, let reason): "EMQXRebalance \(name): EMQX never showed it (\(reason))"
        case .running(let name, let since): "EMQXRebalance \(name): running since \(KubernetesTime.format(since))"
        case .finished(let name, let abortedBecause):
            "EMQXRebalance \(name): \(abortedBecause.map { "aborted by EMQX (\($0))" } ?? "completed")"
        case .awaitEMQX(let name, let reason): "EMQXRebalance \(name): EMQX could not be asked (\(reason))"
        case .stuck(let name, let since): "EMQXRebalance \(name): stuck, running since \(KubernetesTime.format(since))"
        case .settling(let name, let until):
            "EMQXRebalance \(name): finished, settling until \(KubernetesTime.format(until))"
        case .awaitMetrics(let name): "EMQXRebalance \(name): waiting for current counts to judge it"
        case .judge(let name, let outcome, let detail):
            "EMQXRebalance \(name): outcome \(outcome.rawValue)\(detail.isEmpty ? "" : " (\(detail))")"
        case .stop(let name, let coordinator):
            "EMQXRebalance \(name): deleted while running; stopping EMQX's rebalance on \(coordinator)"
        case .release(let name): "EMQXRebalance \(name): deleted; releasing the finalizer"
        case .delete(let name): "EMQXRebalance \(name): deleting (beyond keepFinished)"
        }
    }
}
