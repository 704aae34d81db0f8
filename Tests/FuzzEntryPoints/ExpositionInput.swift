import AutorebalancerCore
import Foundation

/// An EMQX node's stats body (`/api/v5/prometheus/stats`), parsed as the scrape source does: strict, streamed, only
/// the families the agent reads built, within the scrape limits.
enum ExpositionInput {
    /// The families a scrape builds (EMQXScrapeSource.families).
    static let families: Set<String> = [
        EMQXExposition.liveConnectionsMetric, EMQXExposition.connectionsMetric, EMQXExposition.sessionsMetric,
        EMQXExposition.restartCounterMetric, EMQXExposition.wallclockMetric, EMQXExposition.uptimeMetric,
    ]
    static let node = "emqx@10.0.0.1"

    @Sendable static func check(_ bytes: [UInt8]) -> [String] {
        var promises = Promises()
        // A body arrives in chunks that break anywhere: the answer may not depend on where.
        let whole = parse(bytes, chunk: max(bytes.count, 1))
        let split = parse(bytes, chunk: max(bytes.count / 2, 1))
        let trickled = parse(bytes, chunk: 7)
        promises.expect(
            whole == split && whole == trickled,
            "the parse depends on how the body is split into chunks: \(whole) / \(split) / \(trickled)"
        )
        guard case .success(let document) = whole else { return promises.broken }

        let reading = EMQXExposition.read(document, scrapedNode: node, observedAt: HostileInput.now)
        for observed in reading.nodes {
            promises.plausible(observed.liveConnections, .count, "\(observed.name) live connections")
            promises.plausible(observed.connections, .count, "\(observed.name) connections")
            promises.plausible(observed.sessions, .count, "\(observed.name) sessions")
            promises.plausible(observed.uptimeSeconds, .uptime, "\(observed.name) uptime")
            promises.plausible(observed.restartCounter, .counter, "\(observed.name) restart counter")
        }
        let cluster = EMQXExposition.cluster(from: document)
        promises.plausible(cluster.nodesRunning, .count, "nodes running")
        promises.plausible(cluster.nodesStopped, .count, "nodes stopped")
        return promises.broken
    }

    static func parse(_ bytes: [UInt8], chunk size: Int) -> Result<ExpositionDocument, ExpositionError> {
        var stream = ExpositionParser(mode: .strict, families: families, limits: .scrape).stream()
        return bytes.withUnsafeBytes { all in
            do throws(ExpositionError) {
                var start = 0
                while start < all.count {
                    let end = min(start + size, all.count)
                    try stream.feed(UnsafeRawBufferPointer(rebasing: all[start..<end]))
                    start = end
                }
                return .success(try stream.finish())
            } catch {
                return .failure(error)
            }
        }
    }
}
