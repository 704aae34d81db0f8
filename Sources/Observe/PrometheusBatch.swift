import AutorebalancerCore
import Foundation
import Synchronization

/// One query per quantity per cycle for every cluster that shares a Prometheus URL and query templates, instead of
/// one per cluster: the clusters' selectors become one regex matcher per templated label, the result is grouped by
/// those labels and the node label, and each cluster gets back the series that are its own, as though it had asked
/// alone (a cluster with no series sees an empty answer, with the same warnings).
///
/// A cycle begins with ``begin(_:)``; the first cluster to ask fetches, the others wait for that answer. Each waits
/// within its own source timeout; when the one fetching is cut short, the next in line fetches instead. Clusters
/// outside the round (or whose selector cannot be batched) ask alone.
public final class PrometheusBatch: Sendable {
    /// The three answers of one cluster.
    public struct Answers: Sendable {
        public var live: PrometheusResponse?
        public var connections: PrometheusResponse?
        public var sessions: PrometheusResponse?
        /// The queries as sent (for warnings that quote them).
        public var sent: (live: String?, connections: String?, sessions: String?)
    }

    /// The selector template as label matchers, when every templated matcher is an equality (`label="…{{name}}…"`).
    struct Template: Sendable {
        struct Matcher: Sendable {
            var label: String
            var op: String
            /// The value as written, placeholders included.
            var value: String
            var isTemplated: Bool { value.contains("{{namespace}}") || value.contains("{{name}}") }
        }

        var matchers: [Matcher]
        var groupLabels: [String] { matchers.filter(\.isTemplated).map(\.label) }

        init?(_ template: String) {
            var matchers: [Matcher] = []
            for part in Self.split(template) {
                let term = part.trimmingCharacters(in: .whitespaces)
                if term.isEmpty { continue }
                guard let matcher = Self.matcher(term) else { return nil }
                if matcher.isTemplated, matcher.op != "=" { return nil }
                matchers.append(matcher)
            }
            guard matchers.contains(where: \.isTemplated) else { return nil }
            self.matchers = matchers
        }

        /// `label op "value"`; `nil` for anything else.
        static func matcher(_ term: String) -> Matcher? {
            guard let quote = term.firstIndex(of: "\""), term.hasSuffix("\""), term.index(after: quote) < term.endIndex
            else { return nil }
            let head = term[..<quote].trimmingCharacters(in: .whitespaces)
            let value = String(term[term.index(after: quote)..<term.index(before: term.endIndex)])
            guard !value.contains("\"") else { return nil }
            for op in ["=~", "!~", "!=", "="] where head.hasSuffix(op) {
                let label = head.dropLast(op.count).trimmingCharacters(in: .whitespaces)
                guard !label.isEmpty, label.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else { return nil }
                return Matcher(label: label, op: op, value: value)
            }
            return nil
        }

        /// Splits on commas outside quotes.
        static func split(_ text: String) -> [String] {
            var parts: [String] = []
            var current = ""
            var quoted = false
            var escaped = false
            for character in text {
                if escaped {
                    escaped = false
                    current.append(character)
                    continue
                }
                if character == "\\" {
                    escaped = true
                    current.append(character)
                    continue
                }
                if character == "\"" { quoted.toggle() }
                if character == ",", !quoted {
                    parts.append(current)
                    current = ""
                    continue
                }
                current.append(character)
            }
            parts.append(current)
            return parts
        }

        func value(of matcher: Matcher, for cluster: ClusterReference) -> String {
            matcher.value.replacingOccurrences(of: "{{namespace}}", with: cluster.namespace).replacingOccurrences(
                of: "{{name}}",
                with: cluster.name
            )
        }

        /// The selector of all the clusters: templated labels as `=~"a|b|…"` of their escaped values.
        func selector(for clusters: [ClusterReference]) -> String {
            matchers.map { matcher in
                guard matcher.isTemplated else { return "\(matcher.label)\(matcher.op)\"\(matcher.value)\"" }
                let values = Set(clusters.map { value(of: matcher, for: $0) }).sorted()
                let alternatives = values.map(Self.regexEscaped).joined(separator: "|")
                return "\(matcher.label)=~\"\(Self.stringEscaped(alternatives))\""
            }.joined(separator: ", ")
        }

        /// The values of the templated labels a cluster's series carry.
        func key(for cluster: ClusterReference) -> [String] {
            matchers.filter(\.isTemplated).map { value(of: $0, for: cluster) }
        }

        static func regexEscaped(_ text: String) -> String {
            var out = ""
            for character in text {
                if "\\.+*?()|[]{}^$".contains(character) { out.append("\\") }
                out.append(character)
            }
            return out
        }

        static func stringEscaped(_ text: String) -> String {
            text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        }
    }

    private enum Fetch {
        case idle
        /// Someone fetches; these wait.
        case fetching(waiters: [Int: CheckedContinuation<Outcome, any Error>])
        case done(Result<[[String]: Answers], any Error>)
    }

    /// What a waiting cluster is told: look again (the answers are in, or the one fetching was cut short and the
    /// next in line fetches).
    private enum Outcome: Sendable {
        case lookAgain
    }

    private struct Round {
        var members: [ClusterReference] = []
        var memberSet: Set<ClusterReference> = []
        var fetch: Fetch = .idle
        var nextWaiter = 0
    }

    public let configuration: PrometheusSource.Configuration
    let template: Template
    let queries: (live: String?, connections: String?, sessions: String?)
    private let source: PrometheusSource
    private let round = Mutex(Round())

    /// `nil` when the configuration cannot be batched: a selector that is not a list of `label="…"` matchers with
    /// `{{namespace}}`/`{{name}}`, explicit per-cluster selectors, or a query that uses `{{label}}` other than in
    /// `by ({{label}})`.
    public init?(source: PrometheusSource) {
        let configuration = source.configuration
        guard configuration.selector.perCluster.isEmpty, let template = Template(configuration.selector.template) else {
            return nil
        }
        let grouping = ([configuration.nodeLabel] + template.groupLabels.filter { $0 != configuration.nodeLabel })
            .joined(separator: ", ")
        func batched(_ query: String?) -> String?? {
            guard let query else { return .some(nil) }
            let widened = query.replacingOccurrences(of: "by ({{label}})", with: "by (\(grouping))")
                .replacingOccurrences(of: "by({{label}})", with: "by (\(grouping))")
            return widened.contains("{{label}}") ? nil : .some(widened)
        }
        guard let live = batched(configuration.queries.liveConnections),
            let connections = batched(configuration.queries.connections),
            let sessions = batched(configuration.queries.sessions)
        else { return nil }
        self.configuration = configuration
        self.template = template
        self.queries = (live, connections, sessions)
        self.source = source
    }

    /// Starts a cycle's round: the clusters asking this cycle. Answers of the previous round are dropped.
    public func begin(_ clusters: [ClusterReference]) {
        let unique = Array(Set(clusters)).sorted()
        let stranded = round.withLock { round -> [CheckedContinuation<Outcome, any Error>] in
            defer { round = Round(members: unique, memberSet: Set(unique), fetch: .idle, nextWaiter: round.nextWaiter) }
            if case .fetching(let waiters) = round.fetch { return Array(waiters.values) }
            return []
        }
        // Clusters still waiting on the last cycle's fetch take part in this one.
        for waiter in stranded { waiter.resume(returning: .lookAgain) }
    }

    /// This round's answers for a cluster, or `nil` when the cluster is not in the round (it then asks alone).
    public func answers(for cluster: ClusterReference) async throws -> Answers? {
        let key = template.key(for: cluster)
        while true {
            enum Step {
                case notMember
                case have(Answers?)
                case failed(any Error)
                case fetch([ClusterReference])
                case wait
            }
            let step = round.withLock { round -> Step in
                guard round.memberSet.contains(cluster) else { return .notMember }
                switch round.fetch {
                case .done(.success(var answers)):
                    // Each cluster takes its part once (a second ask this cycle asks alone), so the round's answers
                    // are let go as the clusters take them instead of being held until the next cycle.
                    let mine = answers.removeValue(forKey: key)
                    round.fetch = .done(.success(answers))
                    round.memberSet.remove(cluster)
                    return .have(mine)
                case .done(.failure(let error)): return .failed(error)
                case .idle:
                    round.fetch = .fetching(waiters: [:])
                    return .fetch(round.members)
                case .fetching: return .wait
                }
            }
            switch step {
            case .notMember:
                return nil
            case .have(let answers):
                return answers ?? empty()
            case .failed(let error):
                throw error
            case .fetch(let members):
                do {
                    finish(.success(try await fetch(members)), members: members)
                } catch {
                    // Cut short (this cluster's time is up): not an answer for the others.
                    if Task.isCancelled || error is CancellationError {
                        handOver(members: members)
                        throw error
                    }
                    finish(.failure(error), members: members)
                    throw error
                }
            case .wait:
                try await wait(members: round.withLock { $0.members })
            }
        }
    }

    private func empty() -> Answers {
        Answers(
            live: queries.live.map { _ in PrometheusResponse(result: .vector([])) },
            connections: queries.connections.map { _ in PrometheusResponse(result: .vector([])) },
            sessions: queries.sessions.map { _ in PrometheusResponse(result: .vector([])) },
            sent: renderedQueries(round.withLock { $0.members })
        )
    }

    private func wait(members: [ClusterReference]) async throws {
        let id = round.withLock { round -> Int in
            defer { round.nextWaiter += 1 }
            return round.nextWaiter
        }
        _ = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Outcome, any Error>) in
                let immediate = round.withLock { round -> Result<Outcome, any Error>? in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    guard round.members == members, case .fetching(var waiters) = round.fetch else {
                        return .success(.lookAgain)
                    }
                    waiters[id] = continuation
                    round.fetch = .fetching(waiters: waiters)
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let waiter = round.withLock { round -> CheckedContinuation<Outcome, any Error>? in
                guard case .fetching(var waiters) = round.fetch, let waiter = waiters.removeValue(forKey: id) else {
                    return nil
                }
                round.fetch = .fetching(waiters: waiters)
                return waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    private func finish(_ result: Result<[[String]: Answers], any Error>, members: [ClusterReference]) {
        let waiters = round.withLock { round -> [CheckedContinuation<Outcome, any Error>] in
            guard round.members == members, case .fetching(let waiters) = round.fetch else { return [] }
            round.fetch = .done(result)
            return Array(waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: .lookAgain) }
    }

    /// The one fetching gave up (its cluster's time was up): the waiting clusters look again, and the first of them
    /// to do so fetches.
    private func handOver(members: [ClusterReference]) {
        let waiting = round.withLock { round -> [CheckedContinuation<Outcome, any Error>] in
            guard round.members == members, case .fetching(let waiters) = round.fetch else { return [] }
            round.fetch = .idle
            return Array(waiters.values)
        }
        for waiter in waiting { waiter.resume(returning: .lookAgain) }
    }

    func renderedQueries(_ members: [ClusterReference]) -> (live: String?, connections: String?, sessions: String?) {
        let selector = template.selector(for: members)
        let label = configuration.nodeLabel
        return (
            queries.live.map { PrometheusQueries.render($0, selector: selector, label: label) },
            queries.connections.map { PrometheusQueries.render($0, selector: selector, label: label) },
            queries.sessions.map { PrometheusQueries.render($0, selector: selector, label: label) }
        )
    }

    /// The most bytes one batched answer may have: 64 KiB per cluster on average (one series is about 150 bytes, so
    /// some 400 nodes per cluster), at least what one cluster alone may get, and never over 32 MiB.
    static func bodyLimit(members: Int) -> Int {
        min(max(PrometheusSource.queryBodyLimit, min(members, 100_000) * (64 << 10)), 32 << 20)
    }

    /// One query per quantity for every member, split by cluster.
    private func fetch(_ members: [ClusterReference]) async throws -> [[String]: Answers] {
        let sent = renderedQueries(members)
        let source = source
        let limit = Self.bodyLimit(members: members.count)
        @Sendable func ask(_ query: String?) async throws -> PrometheusResponse? {
            guard let query else { return nil }
            return try await source.query(query, bodyLimit: limit)
        }
        async let live = ask(sent.live)
        async let connections = ask(sent.connections)
        async let sessions = ask(sent.sessions)
        let responses = (live: try await live, connections: try await connections, sessions: try await sessions)
        let labels = template.groupLabels
        func split(_ response: PrometheusResponse?) throws -> [[String]: PrometheusResponse] {
            guard let response else { return [:] }
            var byKey: [[String]: [PrometheusVectorSample]] = [:]
            for series in try response.vector() {
                let key = labels.map { series.labels[$0] ?? "" }
                byKey[key, default: []].append(series)
            }
            return byKey.mapValues {
                PrometheusResponse(result: .vector($0), warnings: response.warnings, infos: response.infos)
            }
        }
        let parts = (
            live: try split(responses.live), connections: try split(responses.connections),
            sessions: try split(responses.sessions)
        )
        var answers: [[String]: Answers] = [:]
        for cluster in members {
            let key = template.key(for: cluster)
            func part(_ response: PrometheusResponse?, _ byKey: [[String]: PrometheusResponse]) -> PrometheusResponse? {
                guard let response else { return nil }
                return byKey[key]
                    ?? PrometheusResponse(result: .vector([]), warnings: response.warnings, infos: response.infos)
            }
            answers[key] = Answers(
                live: part(responses.live, parts.live),
                connections: part(responses.connections, parts.connections),
                sessions: part(responses.sessions, parts.sessions),
                sent: sent
            )
        }
        return answers
    }
}
