import AutorebalancerCore
import Foundation

/// A Prometheus HTTP API answer (`/api/v1/query`, `/api/v1/query_range`), decoded as the Prometheus source does, its
/// samples then passed through the boundary every live sample crosses (``ObservationCheck``).
enum PrometheusInput {
    static let expected = ["emqx@10.0.0.1", "emqx@10.0.0.2", "emqx@10.0.0.3"]

    @Sendable static func check(_ bytes: [UInt8]) -> [String] {
        var promises = Promises()
        guard let response = try? PrometheusResponse.decode(Data(bytes)) else { return promises.broken }
        // The instant-vector fast path reads what the general reader reads, or leaves the body to it.
        if case .vector(let fast) = response.result {
            let slow = (try? PrometheusResponse.decodeAnyAnswer(Data(bytes)).vector()) ?? []
            let same = zip(fast, slow).allSatisfy { a, b in
                a.labels == b.labels && a.sample.time == b.sample.time
                    && (a.sample.value == b.sample.value || (a.sample.value.isNaN && b.sample.value.isNaN))
            }
            promises.expect(
                fast.count == slow.count && same,
                "the instant-vector reader read \(fast.count) series, the general reader \(slow.count) or others"
            )
        }
        var samples: [(labels: [String: String], sample: PrometheusSample)] = []
        if let vector = try? response.vector() { samples += vector.map { ($0.labels, $0.sample) } }
        if let matrix = try? response.matrix() {
            samples += matrix.flatMap { series in series.samples.map { (series.labels, $0) } }
        }

        var nodes: [NodeObservation] = []
        for (index, item) in samples.enumerated() {
            let label = item.labels["node"] ?? item.labels["pod"] ?? "node-\(index)"
            let name = PrometheusNodeIdentity.nodeName(forLabelValue: label, expected: expected) ?? label
            var node = NodeObservation(name: name)
            node.liveConnections = item.sample.value
            node.connections = item.sample.value
            node.sessions = item.sample.value
            node.observedAt = item.sample.time
            nodes.append(node)
        }
        let checked = ObservationCheck.validate(SourceObservation(nodes: nodes), at: HostileInput.now)
        var seen: Set<String> = []
        for node in checked.nodes {
            promises.expect(seen.insert(node.name).inserted, "node \(node.name) kept although it was reported twice")
            promises.plausible(node.liveConnections, .count, "\(node.name) live connections")
            promises.plausible(node.connections, .count, "\(node.name) connections")
            promises.plausible(node.sessions, .count, "\(node.name) sessions")
            if let time = node.observedAt {
                promises.expect(
                    SampleCheck.problem(withTime: time, now: HostileInput.now) == nil,
                    "\(node.name) kept with the sample time \(time.timeIntervalSince1970)"
                )
            }
        }
        return promises.broken
    }
}
