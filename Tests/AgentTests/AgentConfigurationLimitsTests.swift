import AutorebalancerCore
import Foundation
import Testing

@testable import Agent

/// Every number of the agent configuration is bounded (no duration can overflow a clock, no timeout can outlast the
/// cycle), and credentials never sit in a URL where logs would print them.
struct AgentConfigurationLimitsTests {
    @Test func durationsAndPortsBeyondTheirMaximaAreErrorsWithPositions() {
        let text = """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: AgentConfig
            leaderElection: {leaseDuration: 99999999999999999d, renewDeadline: 2h, retryPeriod: 1s}
            policies: [p.yaml]
            clusters:
              - namespace: default
                name: emqx
                sources:
                  - emqx: {port: 70000, timeout: 1h}
            notifiers:
              alertmanager: {urls: ["http://am:9093"], resendInterval: 366d}
            rebalances: {settleTime: 2d, stuckAfter: 400d}
            """
        let result = AgentConfiguration.load(text: text, file: "agent.yaml")
        #expect(result.configuration == nil)
        let rendered = result.diagnostics.map(\.description)
        for expected in [
            "agent.yaml:3:33: error: leaderElection.leaseDuration: \"99999999999999999d\" is longer than the maximum of 1h",
            "agent.yaml:3:68: error: leaderElection.renewDeadline: \"2h\" is longer than the maximum of 1h",
            "agent.yaml:9:22: error: clusters[0].sources[0].emqx.port: must be at most 65535, got 70000",
            "agent.yaml:9:38: error: clusters[0].sources[0].emqx.timeout: \"1h\" is longer than the maximum of 5m",
            "agent.yaml:11:60: error: notifiers.alertmanager.resendInterval: \"366d\" is longer than the maximum of 1d",
            "agent.yaml:12:26: error: rebalances.settleTime: \"2d\" is longer than the maximum of 1d",
            "agent.yaml:12:42: error: rebalances.stuckAfter: \"400d\" is longer than the maximum of 365d",
        ] {
            #expect(rendered.contains(expected), "missing \(expected) in\n\(rendered.joined(separator: "\n"))")
        }
    }

    @Test func credentialsInAURLAreRefusedAndNeverPrinted() {
        let text = """
            apiVersion: autorebalancer.emqx.io/v1alpha1
            kind: AgentConfig
            policies: [p.yaml]
            clusters:
              - namespace: default
                name: emqx
                sources:
                  - prometheus: {url: "http://admin:hunter2@prometheus:9090"}
            notifiers:
              webhooks: [{url: "https://token@hooks.example.com/x"}]
            """
        let result = AgentConfiguration.load(text: text, file: "agent.yaml")
        #expect(result.configuration == nil)
        let rendered = result.diagnostics.map(\.description)
        #expect(
            rendered == [
                "agent.yaml:8:27: error: clusters[0].sources[0].prometheus.url: \"http://***@prometheus:9090\" has credentials in the URL (user:password@); remove them and use username with passwordFile/passwordEnv (or bearerTokenFile/bearerTokenEnv)",
                "agent.yaml:10:20: error: notifiers.webhooks[0].url: \"https://***@hooks.example.com/x\" has credentials in the URL (user:password@); remove them and use username with passwordFile/passwordEnv (or bearerTokenFile/bearerTokenEnv)",
            ]
        )
        #expect(!rendered.joined().contains("hunter2"))
    }
}
