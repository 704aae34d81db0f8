import AgentConfig
import AutorebalancerCore
import Foundation

/// An agent configuration (`kind: AgentConfig`): a loaded configuration has no error, and its ports and durations
/// are within the documented limits (docs/configuration.md).
enum AgentConfigInput {
    @Sendable static func check(_ bytes: [UInt8]) -> [String] {
        var promises = Promises()
        guard let text = HostileInput.text(bytes) else { return promises.broken }
        let result = AgentConfiguration.load(text: text, file: "agent.yaml")
        guard let configuration = promises.loaded(result.configuration, result.diagnostics, "a configuration") else {
            return promises.broken
        }
        typealias Limits = AgentConfiguration.Limits
        promises.expect(
            (0...65535).contains(configuration.listen.port),
            "listen port \(configuration.listen.port) accepted"
        )
        let election = configuration.leaderElection
        for (name, value) in [
            ("leaseDuration", election.leaseDuration), ("renewDeadline", election.renewDeadline),
            ("retryPeriod", election.retryPeriod),
        ] {
            promises.duration(value, at: Limits.hour, "leaderElection.\(name)")
        }
        promises.duration(configuration.notifiers.resendInterval, at: Limits.day, "notifiers.resendInterval")
        promises.duration(
            configuration.notifiers.alertmanagerHTTP.timeout,
            at: Limits.requestTimeout,
            "alertmanager timeout"
        )
        for webhook in configuration.notifiers.webhooks {
            promises.duration(webhook.timeout, at: Limits.requestTimeout, "webhook timeout")
        }
        promises.duration(configuration.rebalances.settleTime, at: Limits.day, "rebalances.settleTime")
        promises.duration(configuration.rebalances.stuckAfter, at: DurationText.maximum, "rebalances.stuckAfter")
        promises.expect(
            configuration.rebalances.keepFinished >= 0,
            "keepFinished \(configuration.rebalances.keepFinished) accepted"
        )
        for cluster in configuration.clusters {
            for source in cluster.sources {
                switch source {
                case .prometheus(let settings):
                    promises.duration(settings.http.timeout, at: Limits.requestTimeout, "prometheus timeout")
                case .emqx(let settings):
                    promises.expect((1...65535).contains(settings.port), "emqx port \(settings.port) accepted")
                    promises.duration(settings.http.timeout, at: Limits.requestTimeout, "emqx timeout")
                case .status:
                    break
                }
            }
            if let api = cluster.emqxAPI {
                promises.expect((1...65535).contains(api.port), "emqxAPI port \(api.port) accepted")
                promises.duration(api.http.timeout, at: Limits.requestTimeout, "emqxAPI timeout")
            }
        }
        return promises.broken
    }
}
