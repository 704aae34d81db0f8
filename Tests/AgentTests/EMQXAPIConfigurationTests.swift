import AutorebalancerCore
import Foundation
import Testing

@testable import Agent

/// `actuator:`, `emqxAPI:` with its API key, and cluster entries without an EMQX object (`emqx:`), as `check` and
/// `run` read them.
@Suite struct EMQXAPIConfigurationTests {
    static func load(_ clusters: String) -> AgentConfiguration.LoadResult {
        AgentConfiguration.load(
            text: """
                apiVersion: autorebalancer.emqx.io/v1alpha1
                kind: AgentConfig
                policies: [p.yaml]
                clusters:
                \(clusters)
                """,
            file: "agent.yaml"
        )
    }

    @Test func everyWayOfActingAndEveryKeySourceLoads() throws {
        let result = Self.load(
            """
              - namespace: emqx
                name: emqx
                actuator: emqxAPI
                emqxAPI:
                  apiKey: {emqxAPIKey: emqx-autorebalancer}
              - namespace: mqtt
                name: broker
                emqx:
                  service: http://broker.mqtt.svc:18083
                  apiKey: {secretDirectory: /etc/emqx-autorebalancer/emqx-api}
              - namespace: iot
                name: edge
                actuator: rebalanceResource
                emqxAPI: {port: 18084, scheme: https, username: agent, passwordFile: /secret, caFile: /ca.pem}
              - namespace: lab
                selector: {matchLabels: {rebalance: "on"}}
            """
        )
        #expect(result.diagnostics.isEmpty, "\(result.diagnostics)")
        let clusters = try #require(result.configuration).clusters
        #expect(clusters.map(\.actuator) == [.emqxAPI, .auto, .rebalanceResource, .auto])
        #expect(clusters.map(\.hasObject) == [true, false, true, true])
        let operator3 = try #require(clusters[0].emqxAPI)
        #expect(operator3.apiKey == .emqxAPIKey(name: "emqx-autorebalancer"))
        let reference = ClusterReference(namespace: "emqx", name: "emqx")
        #expect(operator3.baseURLs(for: reference) == ["http://emqx-dashboard.emqx.svc:18083"])
        let helm = try #require(clusters[1].emqxAPI)
        #expect(helm.apiKey == .secretDirectory("/etc/emqx-autorebalancer/emqx-api"))
        #expect(
            helm.baseURLs(for: ClusterReference(namespace: "mqtt", name: "broker")) == ["http://broker.mqtt.svc:18083"]
        )
        #expect(clusters[1].sources == [.status])
        let edge = try #require(clusters[2].emqxAPI)
        #expect(edge.http.auth == .basic(username: "agent", password: .file("/secret")))
        #expect(
            edge.baseURLs(for: ClusterReference(namespace: "iot", name: "edge")) == [
                "https://edge-dashboard.iot.svc:18084"
            ]
        )
        #expect(clusters[3].emqxAPI == nil)
    }

    @Test func everyMistakeIsNamedWithItsPosition() {
        let result = Self.load(
            """
              - namespace: a
                name: b
                actuator: emqxapi
              - namespace: a
                name: c
                actuator: emqxAPI
              - namespace: a
                name: d
                kind: EMQX
                emqx: {apiKey: {emqxAPIKey: k}}
              - namespace: a
                selector: {matchLabels: {x: y}}
                emqx: {service: "http://s:18083", username: u, passwordEnv: P}
              - namespace: a
                name: e
                emqx: {service: "http://s:18083", targets: {n: "http://n:18083"}}
              - namespace: a
                name: f
                actuator: rebalanceResource
                emqx: {service: "http://s:18083", apiKey: {secretDirectory: relative/dir}}
              - namespace: a
                name: g
                emqxAPI: {bearerTokenEnv: T, apiKey: {emqxAPIKey: Bad_Name, secretDirectory: /x}}
              - namespace: a
                name: h
                emqxAPI: {apiKey: {}, port: 70000}
                emqx: {service: "http://s:18083", apiKey: {emqxAPIKey: k}}
            """
        )
        #expect(result.configuration == nil)
        #expect(
            result.diagnostics.map(\.description) == [
                "agent.yaml:7:15: error: clusters[0].actuator: \"emqxapi\" is not an actuator (did you mean \"emqxAPI\"?); expected one of rebalanceResource, emqxAPI, auto",
                "agent.yaml:10:15: error: clusters[1].actuator: emqxAPI needs \"emqxAPI\" with the API key (apiKey, or username and passwordFile)",
                "agent.yaml:13:11: error: clusters[2].kind: a cluster given as \"emqx\" is an EMQX 5 cluster read through its own API; remove \"kind\"",
                "agent.yaml:14:11: error: clusters[2].emqx: a cluster without an EMQX object needs \"service\" (e.g. http://emqx.mqtt.svc:18083) or \"targets\"",
                "agent.yaml:17:11: error: clusters[3]: \"emqx\" describes one cluster without an EMQX object: give \"name\" and \"namespace\", not a selector",
                "agent.yaml:20:11: error: clusters[4].emqx: no API key: give \"apiKey\" (emqxAPIKey: NAME, or secretDirectory: PATH), or \"username\" with passwordFile/passwordEnv",
                "agent.yaml:20:21: error: clusters[4].emqx: give either \"targets\" (one URL per node) or \"service\" (one URL for all), not both",
                "agent.yaml:23:15: error: clusters[5].actuator: rebalanceResource needs an EMQX object for the Rebalance to target; a cluster given as \"emqx\" is acted on through EMQX's API (emqxAPI or auto)",
                "agent.yaml:24:65: error: clusters[5].emqx.apiKey.secretDirectory: \"relative/dir\" must be an absolute path (where the Secret is mounted)",
                "agent.yaml:27:31: error: clusters[6].emqxAPI: EMQX API keys are sent as username and password; use \"apiKey\", or \"username\" with passwordFile/passwordEnv, instead of a bearer token",
                "agent.yaml:27:82: error: clusters[6].emqxAPI.apiKey: give either \"emqxAPIKey\" or \"secretDirectory\", not both",
                "agent.yaml:30:33: error: clusters[7].emqxAPI.port: must be at most 65535, got 70000",
                "agent.yaml:31:11: error: clusters[7]: give either \"emqxAPI\" (a cluster with an EMQX object) or \"emqx\" (a cluster without one), not both",
            ]
        )
    }
}
