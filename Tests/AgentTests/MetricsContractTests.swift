import AutorebalancerCore
import Foundation
import Report
import Testing

/// deploy/metrics-contract.txt is what the dashboard and the alert rules may query (scripts/checks/deploy.sh holds
/// them to it). These tests hold the contract to what the agent really exposes: the families `AgentMetrics` renders,
/// read back from its text exposition, with their types and label names.
@Suite struct MetricsContractTests {
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/", !FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path)
        {
            url.deleteLastPathComponent()
        }
        return url
    }()
    static let contractURL = packageRoot.appendingPathComponent("deploy/metrics-contract.txt")

    struct Family: Hashable, CustomStringConvertible {
        var name: String
        var type: String
        var labels: Set<String>
        var description: String { "\(name) \(type) \(labels.isEmpty ? "-" : labels.sorted().joined(separator: ","))" }
    }

    /// Reads `NAME TYPE LABELS` lines; `#` comments and blank lines are skipped.
    static func contract(_ text: String) throws -> [String: Family] {
        var families: [String: Family] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard fields.count == 3 else {
                throw ContractError(
                    "deploy/metrics-contract.txt:\(index + 1): expected `NAME TYPE LABELS`, got `\(line)`"
                )
            }
            let labels = fields[2] == "-" ? [] : Set(fields[2].split(separator: ",").map(String.init))
            guard families[fields[0]] == nil else {
                throw ContractError("deploy/metrics-contract.txt:\(index + 1): \(fields[0]) listed twice")
            }
            families[fields[0]] = Family(name: fields[0], type: fields[1], labels: labels)
        }
        return families
    }

    /// The families of a text exposition: names and types from `# TYPE`, label names from the series (a histogram's
    /// `_bucket`, `_sum` and `_count` series belong to it; `le` is the bucket's own label).
    static func exposed(_ text: String) throws -> (families: [String: Family], withoutSeries: Set<String>) {
        var families: [String: Family] = [:]
        var seen: Set<String> = []
        let lines = text.split(separator: "\n").map(String.init)
        for line in lines where line.hasPrefix("# TYPE ") {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count == 4 else { throw ContractError("malformed TYPE line `\(line)`") }
            guard families[fields[2]] == nil else { throw ContractError("TYPE of \(fields[2]) appears twice") }
            families[fields[2]] = Family(name: fields[2], type: fields[3], labels: [])
        }
        for line in lines where !line.hasPrefix("#") {
            let nameEnd = line.firstIndex { $0 == "{" || $0 == " " } ?? line.endIndex
            let series = String(line[..<nameEnd])
            var family = series
            if families[family] == nil {
                for suffix in ["_bucket", "_sum", "_count"] where series.hasSuffix(suffix) {
                    let base = String(series.dropLast(suffix.count))
                    if families[base]?.type == "histogram" { family = base }
                }
            }
            guard families[family] != nil else { throw ContractError("series `\(line)` has no TYPE line") }
            seen.insert(family)
            var labels = Set<String>()
            if nameEnd < line.endIndex, line[nameEnd] == "{", let close = line.lastIndex(of: "}") {
                let body = line[line.index(after: nameEnd)..<close]
                // Label values here never hold `,` or `=` before their quotes close: the names are what matter.
                var rest = Substring(body)
                while let equals = rest.firstIndex(of: "=") {
                    labels.insert(rest[..<equals].trimmingCharacters(in: CharacterSet(charactersIn: ", ")))
                    guard let open = rest[equals...].firstIndex(of: "\""),
                        let end = rest[rest.index(after: open)...].firstIndex(of: "\"")
                    else { break }
                    rest = rest[rest.index(after: end)...]
                }
            }
            if series.hasSuffix("_bucket"), family != series { labels.remove("le") }
            families[family]!.labels.formUnion(labels)
        }
        return (families, Set(families.keys).subtracting(seen))
    }

    /// Every recording method once, so that every family has a series and shows its labels.
    static func exercised() -> AgentMetrics {
        let metrics = AgentMetrics(version: "0.0.0-test")
        let cluster = "default/emqx"
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let evaluation = BalanceMath.evaluateConnections(
            [
                .init(name: "a", liveConnections: 3000), .init(name: "b", liveConnections: 3000),
                .init(name: "c", liveConnections: 0),
            ],
            threshold: BalanceThreshold(absolute: 1000, relative: 1.1)
        )
        metrics.setLeader(true)
        metrics.setShards(count: 2, owned: [0])
        metrics.setClusterOwned(cluster, true)
        metrics.recordObservation(
            cluster: cluster,
            nodes: [NodeObservation(name: "emqx@a", liveConnections: 3000, sessions: 3000)]
        )
        metrics.recordBalance(cluster: cluster, connections: evaluation, sessions: evaluation)
        metrics.recordThresholdExcess(
            cluster: cluster,
            rule: "scale-out",
            connections: evaluation,
            sessions: evaluation
        )
        metrics.setRuleState(cluster: cluster, rule: "scale-out", state: .firing)
        metrics.recordRebalanceCreated(cluster: cluster, rule: "scale-out")
        metrics.recordActionFailed(cluster: cluster, rule: "scale-out", reason: "forbidden")
        metrics.setDryRun(false)
        metrics.recordRebalanceCompleted(cluster: cluster, outcome: "effective")
        metrics.recordRebalanceFailed(cluster: cluster, reason: "Failed")
        metrics.recordRebalanceIneffective(cluster: cluster)
        metrics.recordBlocked(cluster: cluster, rule: "scale-out", reason: .cooldown, at: now)
        metrics.recordNotBlocked(cluster: cluster, rule: "other")
        metrics.recordRebalanceProgress(cluster: cluster, startedAt: now, now: now.addingTimeInterval(5))
        metrics.recordSourceObservation(
            cluster: cluster,
            source: "prometheus",
            succeeded: true,
            duration: .milliseconds(12)
        )
        metrics.recordEvaluation(duration: .milliseconds(30), completedAt: now)
        metrics.recordConfigReload(succeeded: true)
        metrics.recordAlertSent(receiver: "alertmanager-0", succeeded: true)
        metrics.recordNotificationDropped(receiver: "webhook-0")
        return metrics
    }

    @Test func theContractListsExactlyTheExposedFamilies() throws {
        let text = try String(contentsOf: Self.contractURL, encoding: .utf8)
        let contract = try Self.contract(text)
        let (exposed, withoutSeries) = try Self.exposed(Self.exercised().render())
        #expect(
            withoutSeries.isEmpty,
            "families left without a series by the exercise (labels unknown): \(withoutSeries.sorted())"
        )

        let missing = Set(exposed.keys).subtracting(contract.keys).sorted()
        #expect(
            missing.isEmpty,
            "exposed but not in deploy/metrics-contract.txt; add:\n\(missing.compactMap { exposed[$0]?.description }.joined(separator: "\n"))"
        )
        let extra = Set(contract.keys).subtracting(exposed.keys).sorted()
        #expect(extra.isEmpty, "in deploy/metrics-contract.txt but never exposed by the agent: \(extra)")
        for name in Set(contract.keys).intersection(exposed.keys).sorted() {
            #expect(
                contract[name] == exposed[name],
                "deploy/metrics-contract.txt says `\(contract[name]!)`, the agent exposes `\(exposed[name]!)`"
            )
        }
    }

    /// The rule states are one vocabulary: the dashboard's state timeline lists the agent's states, in its order,
    /// and the alert rules and dashboard name no other `state` label value.
    @Test func deployUsesTheOneVocabularyOfRuleStates() throws {
        let generator = try String(
            contentsOf: Self.packageRoot.appendingPathComponent("deploy/grafana/generate.py"),
            encoding: .utf8
        )
        let line = try #require(generator.split(separator: "\n").first { $0.hasPrefix("STATES = [") })
        let listed = line.split(separator: "\"").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
        #expect(listed == RuleState.allCases.map(\.rawValue))
        for file in ["deploy/grafana/emqx-autorebalancer.json", "deploy/prometheus/emqx-autorebalancer.rules.yaml"] {
            let text = try String(contentsOf: Self.packageRoot.appendingPathComponent(file), encoding: .utf8)
            // `state="x"` in YAML, `state=\"x\"` inside the dashboard's JSON strings.
            let pattern = try NSRegularExpression(pattern: #"state=\\?"([a-z-]+)"#)
            let used = pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap { match in
                Range(match.range(at: 1), in: text).map { String(text[$0]) }
            }
            #expect(!used.isEmpty || file.hasSuffix(".yaml"), "no rule state found in \(file)")
            #expect(Set(used).isSubset(of: RuleState.allCases.map(\.rawValue)), "\(file) uses \(Set(used).sorted())")
        }
    }

    @Test func theExpositionReaderFindsTypesAndLabels() throws {
        let text = """
            # HELP a_total A.
            # TYPE a_total counter
            a_total{cluster="x",rule="y"} 1
            # HELP h_seconds H.
            # TYPE h_seconds histogram
            h_seconds_bucket{source="s",le="0.5"} 1
            h_seconds_bucket{source="s",le="+Inf"} 1
            h_seconds_sum{source="s"} 0.1
            h_seconds_count{source="s"} 1
            # HELP g G.
            # TYPE g gauge

            """
        let (families, withoutSeries) = try Self.exposed(text)
        #expect(families["a_total"] == Family(name: "a_total", type: "counter", labels: ["cluster", "rule"]))
        #expect(families["h_seconds"] == Family(name: "h_seconds", type: "histogram", labels: ["source"]))
        #expect(families.count == 3)
        #expect(withoutSeries == ["g"])
        #expect(throws: ContractError.self) { try Self.exposed("orphan 1\n") }
        #expect(throws: ContractError.self) { try Self.contract("name gauge\n") }
    }
}

struct ContractError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
