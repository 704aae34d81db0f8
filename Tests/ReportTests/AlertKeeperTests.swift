import AutorebalancerCore
import Foundation
import Report
import TestSupport
import Testing

struct AlertKeeperTests {
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)
    static let configuration = AlertKeeper.Configuration(
        resendInterval: .seconds(60),
        evaluationInterval: .seconds(15),
        resolvedResends: 2
    )

    static func alert(_ rule: String = "scale-out", description: String = "d", start: Date = t0) -> AgentAlert {
        AgentAlert(
            kind: .imbalanceFiring,
            labels: ["alertname": "EMQXClusterImbalanced", "rule": rule],
            annotations: ["description": description],
            startsAt: start
        )
    }

    /// Each step: seconds after t0, the active rules (with their description), and what must be sent:
    /// rule name and whether it is resolved.
    @Test func table() {
        let steps: [(at: Double, active: [(String, String)], sent: [(String, Bool)])] = [
            (0, [("a", "x")], [("a", false)]),  // new: sent at once
            (15, [("a", "x")], []),  // within the resend interval: nothing
            (60, [("a", "x")], [("a", false)]),  // resend interval elapsed
            (75, [("a", "y")], [("a", false)]),  // annotations changed: sent now
            (90, [("a", "y"), ("b", "x")], [("b", false)]),  // a second alert
            (105, [("b", "x")], [("a", true)]),  // a resolved: sent with a past endsAt
            (120, [("b", "x")], []),  // resolved re-send waits for the interval
            (165, [("b", "x")], [("a", true), ("b", false)]),  // second (last) resolved send; b re-sent
            (225, [("b", "x")], [("b", false)]),  // a forgotten
            (240, [], [("b", true)]),
        ]
        var keeper = AlertKeeper(configuration: Self.configuration)
        for step in steps {
            let now = Self.t0.addingTimeInterval(step.at)
            let sent = keeper.update(active: step.active.map { Self.alert($0.0, description: $0.1) }, now: now)
            let summary = sent.map { ($0.labels["rule"]!, $0.endsAt <= now) }
            #expect(summary.map(\.0) == step.sent.map(\.0), "at \(step.at)s")
            #expect(summary.map(\.1) == step.sent.map(\.1), "at \(step.at)s")
            for alert in sent where alert.endsAt > now {
                // endsAt = now + 4 × max(resend, evaluation) = now + 240s
                #expect(alert.endsAt == now.addingTimeInterval(240), "at \(step.at)s")
            }
        }
        #expect(keeper.tracked.count == 1)
    }

    @Test func startsAtIsKeptAcrossResendsAndResetOnReturn() {
        var keeper = AlertKeeper(configuration: Self.configuration)
        _ = keeper.update(active: [Self.alert(start: Self.t0)], now: Self.t0)
        let resent = keeper.update(
            active: [Self.alert(start: Self.t0.addingTimeInterval(50))],
            now: Self.t0.addingTimeInterval(60)
        )
        #expect(resent.first?.startsAt == Self.t0)
        let resolved = keeper.update(active: [], now: Self.t0.addingTimeInterval(70))
        #expect(resolved.first?.endsAt == Self.t0.addingTimeInterval(70))
        let back = keeper.update(
            active: [Self.alert(start: Self.t0.addingTimeInterval(80))],
            now: Self.t0.addingTimeInterval(80)
        )
        #expect(back.first?.startsAt == Self.t0.addingTimeInterval(80))
        #expect(back.first.map { $0.endsAt > Self.t0.addingTimeInterval(80) } == true)
    }

    @Test func alertsFromDecisionRecords() {
        let record = DecisionRecord(
            time: Self.t0,
            cluster: "default/emqx-ee",
            rule: "skew-alert",
            trigger: .skew,
            action: .alert,
            donors: ["emqx@a"],
            recipients: ["emqx@b"],
            connections: ["emqx@a": 3000, "emqx@b": 10],
            formula: "avg(3000)=3000.0 > 10*1.1=11.0 and > 10+1000=1010.0 (imbalanced)",
            labels: ["severity": "page", "team": "mqtt", "cluster": "spoofed"],
            annotations: ["runbook": "https://runbooks/emqx"]
        )
        let alert = AgentAlert.imbalance(record, firing: true, since: Self.t0)
        #expect(
            alert.labels == [
                "alertname": "EMQXClusterImbalanced", "cluster": "emqx-ee", "namespace": "default",
                "rule": "skew-alert", "severity": "page", "team": "mqtt",
            ]
        )
        #expect(alert.annotations["description"] == record.formula)
        #expect(alert.annotations["connections"] == "emqx@a=3000,emqx@b=10")
        #expect(alert.annotations["runbook"] == "https://runbooks/emqx")
        let pending = AgentAlert.imbalance(record, firing: false, since: Self.t0)
        #expect(pending.labels["alertname"] == "EMQXClusterImbalancePending")

        var blocked = record
        blocked.action = .blocked
        blocked.reason = .cooldown
        blocked.detail = "cooldown: 120s of 600s left"
        let held = AgentAlert.blockedTooLong(blocked, since: Self.t0)
        #expect(held.labels["alertname"] == "EMQXRebalanceBlocked")
        #expect(held.annotations["reason"] == "cooldown")
        #expect(held.annotations["why_not"] == "cooldown: 120s of 600s left")

        let down = AgentAlert.sourceDown(
            cluster: "default/emqx-ee",
            source: "prometheus",
            error: "timeout",
            since: Self.t0
        )
        #expect(
            down.labels == [
                "alertname": "EMQXAutorebalancerSourceDown", "cluster": "emqx-ee", "namespace": "default",
                "source": "prometheus", "severity": "critical",
            ]
        )
    }

    @Test func postableAlertJSONMatchesAlertmanagerForm() throws {
        let alert = PostableAlert(
            labels: ["alertname": "X"],
            annotations: [:],
            startsAt: Self.t0,
            endsAt: Self.t0.addingTimeInterval(300),
            generatorURL: "http://agent/decisions"
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode([alert]), as: UTF8.self)
        #expect(
            text
                == #"[{"annotations":{},"endsAt":"2027-01-15T08:05:00Z","generatorURL":"http://agent/decisions","labels":{"alertname":"X"},"startsAt":"2027-01-15T08:00:00Z"}]"#
        )
        #expect(try JSONDecoder().decode([PostableAlert].self, from: Data(text.utf8)) == [alert])
    }

    @Test(.enabled(if: Fixtures.available, "../shared/fixtures not found; recorded Alertmanager request skipped"))
    func decodesRecordedRequest() throws {
        let alerts = try JSONDecoder().decode(
            [PostableAlert].self,
            from: Fixtures.data("alertmanager/post-alerts-request.json")
        )
        #expect(alerts.count == 1)
        #expect(alerts[0].labels["alertname"] == "EMQXConnectionImbalance")
        #expect(alerts[0].endsAt.timeIntervalSince(alerts[0].startsAt) == 300)
    }
}
