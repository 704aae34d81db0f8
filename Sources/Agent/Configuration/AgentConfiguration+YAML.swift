import AutorebalancerCore
import Foundation
import Yams

extension AgentConfiguration {
    /// The result of loading an agent configuration: the configuration when there is no error, and every problem.
    public struct LoadResult: Sendable {
        public var configuration: AgentConfiguration?
        public var diagnostics: [Diagnostic]
        /// Where the document names policy files and policies (empty when it could not be parsed).
        public var references: ConfigurationReferences
    }

    /// Parses and validates an agent configuration from text; `file` names it in diagnostics. Never reads files.
    public static func load(text: String, file: String) -> LoadResult {
        let reader = YAMLReader(file: file)
        guard let root = reader.parse(text), let top = reader.mapping(root, "the document") else {
            return LoadResult(configuration: nil, diagnostics: reader.diagnostics, references: .init(document: reader.location(of: nil)))
        }
        let parser = AgentConfigurationParser(reader: reader)
        let configuration = parser.parse(top, root: root)
        let diagnostics = reader.diagnostics.sortedByLocation()
        return LoadResult(
            configuration: diagnostics.hasErrors ? nil : configuration, diagnostics: diagnostics,
            references: ConfigurationReferences.read(root: root, reader: reader))
    }
}

/// Walks the YAML tree, reporting every problem through the reader.
struct AgentConfigurationParser {
    let reader: YAMLReader

    func parse(_ top: Node.Mapping, root: Node) -> AgentConfiguration {
        reader.checkKeys(
            top,
            allowed: ["apiVersion", "kind", "listen", "dryRun", "leaderElection", "policies", "clusters", "notifiers", "rebalances"],
            ""
        )
        let apiVersionNode = reader.value(top, "apiVersion")
        if let apiVersion = reader.string(apiVersionNode, "apiVersion") {
            if apiVersion != AgentConfiguration.apiVersion {
                reader.error("apiVersion: expected \"\(AgentConfiguration.apiVersion)\", got \"\(apiVersion)\"", at: apiVersionNode)
            }
        } else if apiVersionNode == nil {
            reader.error("missing \"apiVersion: \(AgentConfiguration.apiVersion)\"", at: root)
        }

        var configuration = AgentConfiguration()
        if let node = reader.value(top, "listen"), let text = reader.string(node, "listen") {
            if let address = Self.listenAddress(text) {
                configuration.listen = address
            } else {
                reader.error("listen: \"\(text)\" is not HOST:PORT (e.g. 0.0.0.0:9090 or [::]:9090)", at: node)
            }
        }
        configuration.dryRun = reader.bool(reader.value(top, "dryRun"), "dryRun") ?? false
        if let node = reader.value(top, "leaderElection"), let mapping = reader.mapping(node, "leaderElection") {
            configuration.leaderElection = leaderElection(mapping)
        }
        if let node = reader.value(top, "policies"), let items = reader.sequence(node, "policies") {
            configuration.policyPaths = items.enumerated().compactMap { reader.string($1, "policies[\($0)]") }
            if items.isEmpty { reader.error("policies: list at least one policy file or directory", at: node) }
        } else {
            reader.error("missing \"policies\": list the policy files or directories to load", at: root)
        }
        if let node = reader.value(top, "clusters"), let items = reader.sequence(node, "clusters") {
            configuration.clusters = items.enumerated().compactMap { cluster($1, "clusters[\($0)]") }
            if items.isEmpty { reader.error("clusters: list at least one EMQX cluster to watch", at: node) }
            reportDuplicateClusters(items, configuration.clusters)
        } else {
            reader.error("missing \"clusters\": list the EMQX clusters to watch", at: root)
        }
        if let node = reader.value(top, "notifiers"), let mapping = reader.mapping(node, "notifiers") {
            configuration.notifiers = notifiers(mapping)
        }
        if let node = reader.value(top, "rebalances"), let mapping = reader.mapping(node, "rebalances") {
            reader.checkKeys(
                mapping, allowed: ["keepFinished", "settleTime", "stuckAfter", "createRetryBackoff", "createRetryBackoffMax", "alertAfterCreateFailures"],
                "rebalances")
            var settings = RebalanceSettings()
            settings.keepFinished = reader.int(reader.value(mapping, "keepFinished"), "rebalances.keepFinished", minimum: 0) ?? settings.keepFinished
            settings.settleTime = reader.duration(reader.value(mapping, "settleTime"), "rebalances.settleTime", maximum: AgentConfiguration.Limits.day) ?? settings.settleTime
            settings.stuckAfter = reader.duration(reader.value(mapping, "stuckAfter"), "rebalances.stuckAfter", allowZero: false) ?? settings.stuckAfter
            let retry = settings.createRetry
            let backoff = reader.duration(reader.value(mapping, "createRetryBackoff"), "rebalances.createRetryBackoff", allowZero: false) ?? retry.initialBackoff
            let backoffMax = reader.duration(reader.value(mapping, "createRetryBackoffMax"), "rebalances.createRetryBackoffMax", allowZero: false) ?? max(retry.maximumBackoff, backoff)
            if backoffMax < backoff {
                reader.error("rebalances.createRetryBackoffMax (\(DurationText.format(backoffMax))) is below createRetryBackoff (\(DurationText.format(backoff)))", at: mapping["createRetryBackoffMax"])
            }
            let alertAfter = reader.int(reader.value(mapping, "alertAfterCreateFailures"), "rebalances.alertAfterCreateFailures", minimum: 1) ?? retry.escalateAfter
            settings.createRetry = CreateRetryPolicy(initialBackoff: backoff, maximumBackoff: backoffMax, escalateAfter: alertAfter)
            configuration.rebalances = settings
        }
        return configuration
    }

    static func listenAddress(_ text: String) -> ListenAddress? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        return ListenAddress(host: host, port: port)
    }

    func leaderElection(_ mapping: Node.Mapping) -> LeaderElectionSettings {
        let path = "leaderElection"
        reader.checkKeys(mapping, allowed: ["enabled", "leaseName", "leaseNamespace", "leaseDuration", "renewDeadline", "retryPeriod"], path)
        var settings = LeaderElectionSettings()
        settings.enabled = reader.bool(reader.value(mapping, "enabled"), "\(path).enabled") ?? true
        if let name = reader.string(reader.value(mapping, "leaseName"), "\(path).leaseName") {
            if Self.isDNSLabel(name, maxLength: 253, allowDots: true) {
                settings.leaseName = name
            } else {
                reader.error("\(path).leaseName: \"\(name)\" is not a valid object name (lowercase letters, digits, '-', '.')", at: reader.value(mapping, "leaseName"))
            }
        }
        settings.leaseNamespace = reader.string(reader.value(mapping, "leaseNamespace"), "\(path).leaseNamespace")
        settings.leaseDuration = reader.duration(reader.value(mapping, "leaseDuration"), "\(path).leaseDuration", allowZero: false, maximum: AgentConfiguration.Limits.hour) ?? settings.leaseDuration
        settings.renewDeadline = reader.duration(reader.value(mapping, "renewDeadline"), "\(path).renewDeadline", allowZero: false, maximum: AgentConfiguration.Limits.hour) ?? settings.renewDeadline
        settings.retryPeriod = reader.duration(reader.value(mapping, "retryPeriod"), "\(path).retryPeriod", allowZero: false, maximum: AgentConfiguration.Limits.hour) ?? settings.retryPeriod
        if settings.renewDeadline >= settings.leaseDuration {
            reader.error("\(path).renewDeadline (\(DurationText.format(settings.renewDeadline))) must be shorter than leaseDuration (\(DurationText.format(settings.leaseDuration)))", at: reader.value(mapping, "renewDeadline") ?? reader.value(mapping, "leaseDuration"))
        }
        if settings.retryPeriod >= settings.renewDeadline {
            reader.error("\(path).retryPeriod (\(DurationText.format(settings.retryPeriod))) must be shorter than renewDeadline (\(DurationText.format(settings.renewDeadline)))", at: reader.value(mapping, "retryPeriod") ?? reader.value(mapping, "renewDeadline"))
        }
        return settings
    }

    func cluster(_ node: Node, _ path: String) -> ClusterSettings? {
        guard let mapping = reader.mapping(node, path) else { return nil }
        reader.checkKeys(mapping, allowed: ["namespace", "name", "kind", "selector", "policies", "source", "sources", "emqxAPI"], path)
        let namespace = reader.string(reader.value(mapping, "namespace"), "\(path).namespace")
        var kind = InstanceKind.emqx
        if let kindNode = reader.value(mapping, "kind"), let text = reader.string(kindNode, "\(path).kind") {
            if let parsed = InstanceKind(rawValue: text) {
                kind = parsed
            } else {
                let kinds = InstanceKind.allCases.map(\.rawValue)
                reader.error("\(path).kind: \"\(text)\" is not a known kind\(Suggestion.didYouMean(text, among: kinds)); expected EMQX (EMQX 5) or EmqxEnterprise (EMQX 4.4)", at: kindNode)
            }
        }
        let nameNode = reader.value(mapping, "name")
        let selectorNode = reader.value(mapping, "selector")
        let target: ClusterSettings.Target
        switch (nameNode, selectorNode) {
        case (.some(let nameNode), nil):
            guard let name = reader.string(nameNode, "\(path).name") else { return nil }
            guard let namespace else {
                reader.error("\(path): \"namespace\" is required with \"name\"", at: node)
                return nil
            }
            target = .named(ClusterReference(namespace: namespace, name: name, kind: kind))
        case (nil, .some(let selectorNode)):
            guard let selector = reader.mapping(selectorNode, "\(path).selector") else { return nil }
            reader.checkKeys(selector, allowed: ["matchLabels"], "\(path).selector")
            let labels = reader.stringMap(reader.value(selector, "matchLabels"), "\(path).selector.matchLabels") ?? [:]
            target = .selector(namespace: namespace, kind: kind, matchLabels: labels)
        case (.some, .some):
            reader.error("\(path): give either \"name\" or \"selector\", not both", at: selectorNode)
            return nil
        case (nil, nil):
            reader.error("\(path): give \"name\" (with \"namespace\") or a \"selector\"", at: node)
            return nil
        }
        var settings = ClusterSettings(target: target)
        if let policies = reader.value(mapping, "policies"), let items = reader.sequence(policies, "\(path).policies") {
            settings.policies = items.enumerated().compactMap { reader.string($1, "\(path).policies[\($0)]") }
        }
        switch (reader.value(mapping, "source"), reader.value(mapping, "sources")) {
        case (.some(let one), nil):
            settings.sources = source(one, "\(path).source").map { [$0] } ?? []
        case (nil, .some(let many)):
            let items = reader.sequence(many, "\(path).sources") ?? []
            settings.sources = items.enumerated().compactMap { source($1, "\(path).sources[\($0)]") }
            if items.isEmpty { reader.error("\(path).sources: list at least one source", at: many) }
        case (.some, .some(let many)):
            reader.error("\(path): give either \"source\" or \"sources\" (a fallback list), not both", at: many)
        case (nil, nil):
            settings.sources = [.status]
        }
        if kind == .emqxEnterprise, settings.sources == [.status] {
            reader.warning(
                "\(path): an EmqxEnterprise (EMQX 4.4) status has no live-connection counts, so the \"status\" source serves session rules only; add a prometheus or emqx source for connection rules",
                at: reader.value(mapping, "source") ?? reader.value(mapping, "sources") ?? node)
        }
        if let apiNode = reader.value(mapping, "emqxAPI"), let api = reader.mapping(apiNode, "\(path).emqxAPI") {
            reader.checkKeys(api, allowed: ["scheme", "port", "targets"] + Self.httpKeys, "\(path).emqxAPI")
            settings.emqxAPI = EMQXAPISettings(
                scheme: scheme(api, "\(path).emqxAPI"),
                port: reader.int(reader.value(api, "port"), "\(path).emqxAPI.port", minimum: 1, maximum: 65535) ?? 18083,
                targets: urlMap(reader.value(api, "targets"), "\(path).emqxAPI.targets"),
                http: http(api, "\(path).emqxAPI"))
        }
        return settings
    }

    static let httpKeys = ["bearerTokenFile", "bearerTokenEnv", "username", "passwordFile", "passwordEnv", "caFile", "insecureSkipVerify", "timeout"]

    func source(_ node: Node, _ path: String) -> SourceSettings? {
        if let text = node.string, node.mapping == nil {
            if text == "status" { return .status }
            reader.error("\(path): \"\(text)\" is not a source; write status, or a mapping with prometheus: or emqx:", at: node)
            return nil
        }
        guard let mapping = reader.mapping(node, path) else { return nil }
        reader.checkKeys(mapping, allowed: ["prometheus", "emqx", "status"], path)
        let present = ["prometheus", "emqx", "status"].filter { mapping[$0] != nil }
        guard present.count == 1 else {
            reader.error("\(path): give exactly one of prometheus, emqx, status\(present.isEmpty ? "" : " (got \(present.joined(separator: ", ")))")", at: node)
            return nil
        }
        switch present[0] {
        case "prometheus":
            guard let p = reader.mapping(mapping["prometheus"], "\(path).prometheus") else { return nil }
            let sub = "\(path).prometheus"
            reader.checkKeys(p, allowed: ["url", "selector", "nodeLabel", "queries"] + Self.httpKeys, sub)
            guard let urlNode = reader.value(p, "url"), let url = reader.string(urlNode, "\(sub).url") else {
                reader.error("\(sub): \"url\" is required (e.g. http://prometheus-operated.monitoring.svc:9090)", at: mapping["prometheus"])
                return nil
            }
            checkURL(url, urlNode, "\(sub).url")
            var settings = PrometheusSettings(url: url, http: http(p, sub))
            settings.selector = reader.string(reader.value(p, "selector"), "\(sub).selector")
            if let labelNode = reader.value(p, "nodeLabel"), let label = reader.string(labelNode, "\(sub).nodeLabel") {
                settings.nodeLabel = label
            }
            if let queriesNode = reader.value(p, "queries"), let queries = reader.mapping(queriesNode, "\(sub).queries") {
                reader.checkKeys(queries, allowed: ["liveConnections", "connections", "sessions"], "\(sub).queries")
                settings.liveConnectionsQuery = reader.string(reader.value(queries, "liveConnections"), "\(sub).queries.liveConnections")
                settings.connectionsQuery = reader.string(reader.value(queries, "connections"), "\(sub).queries.connections")
                settings.sessionsQuery = reader.string(reader.value(queries, "sessions"), "\(sub).queries.sessions")
            }
            return .prometheus(settings)
        case "emqx":
            let sub = "\(path).emqx"
            let e = reader.value(mapping, "emqx").flatMap { reader.mapping($0, sub) } ?? Node.Mapping([])
            reader.checkKeys(e, allowed: ["scheme", "port", "targets", "readUptime"] + Self.httpKeys, sub)
            return .emqx(EMQXScrapeSettings(
                scheme: scheme(e, sub),
                port: reader.int(reader.value(e, "port"), "\(sub).port", minimum: 1, maximum: 65535) ?? 18083,
                targets: urlMap(reader.value(e, "targets"), "\(sub).targets"),
                readUptime: reader.bool(reader.value(e, "readUptime"), "\(sub).readUptime") ?? false,
                http: http(e, sub)))
        default:
            return .status
        }
    }

    func scheme(_ mapping: Node.Mapping, _ path: String) -> String {
        guard let node = reader.value(mapping, "scheme"), let text = reader.string(node, "\(path).scheme") else { return "http" }
        guard text == "http" || text == "https" else {
            reader.error("\(path).scheme: expected http or https, got \"\(text)\"", at: node)
            return "http"
        }
        return text
    }

    func urlMap(_ node: Node?, _ path: String) -> [String: String] {
        guard let node, let map = reader.stringMap(node, path) else { return [:] }
        for (key, value) in map { checkURL(value, node.mapping?[key] ?? node, "\(path).\(key)") }
        return map
    }

    func checkURL(_ text: String, _ node: Node, _ path: String) {
        let shown = SafeText.forLog(text)
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            reader.error("\(path): \"\(shown)\" is not an http(s) URL", at: node)
            return
        }
        // A password in the URL would end up in logs, metrics labels and error lines; secrets come from files or env.
        if url.user != nil || url.password != nil {
            reader.error("\(path): \"\(shown)\" has credentials in the URL (user:password@); remove them and use username with passwordFile/passwordEnv (or bearerTokenFile/bearerTokenEnv)", at: node)
        }
    }

    /// Auth, CA and timeout keys shared by every HTTP client section.
    func http(_ mapping: Node.Mapping, _ path: String) -> HTTPClientSettings {
        var settings = HTTPClientSettings()
        let token = secret(mapping, fileKey: "bearerTokenFile", envKey: "bearerTokenEnv", path)
        let password = secret(mapping, fileKey: "passwordFile", envKey: "passwordEnv", path)
        let usernameNode = reader.value(mapping, "username")
        let username = reader.string(usernameNode, "\(path).username")
        switch (token, username, password) {
        case (let token?, nil, nil):
            settings.auth = .bearer(token: token)
        case (nil, let username?, let password?):
            settings.auth = .basic(username: username, password: password)
        case (nil, nil, nil):
            break
        case (.some, _, _):
            reader.error("\(path): give either a bearer token or username/password, not both", at: usernameNode ?? reader.value(mapping, "passwordFile") ?? reader.value(mapping, "passwordEnv"))
        case (nil, nil, .some):
            reader.error("\(path): a password needs \"username\"", at: reader.value(mapping, "passwordFile") ?? reader.value(mapping, "passwordEnv"))
        case (nil, .some, nil):
            reader.error("\(path): \"username\" needs passwordFile or passwordEnv", at: usernameNode)
        }
        settings.caFile = reader.string(reader.value(mapping, "caFile"), "\(path).caFile")
        settings.insecureSkipVerify = reader.bool(reader.value(mapping, "insecureSkipVerify"), "\(path).insecureSkipVerify") ?? false
        if settings.insecureSkipVerify {
            reader.warning("\(path).insecureSkipVerify: TLS certificates will not be verified", at: reader.value(mapping, "insecureSkipVerify"))
        }
        settings.timeout = reader.duration(reader.value(mapping, "timeout"), "\(path).timeout", allowZero: false, maximum: AgentConfiguration.Limits.requestTimeout) ?? settings.timeout
        return settings
    }

    func secret(_ mapping: Node.Mapping, fileKey: String, envKey: String, _ path: String) -> SecretReference? {
        let file = reader.string(reader.value(mapping, fileKey), "\(path).\(fileKey)")
        let env = reader.string(reader.value(mapping, envKey), "\(path).\(envKey)")
        switch (file, env) {
        case (let file?, nil): return .file(file)
        case (nil, let env?): return .environment(env)
        case (.some, .some):
            reader.error("\(path): give either \(fileKey) or \(envKey), not both", at: reader.value(mapping, envKey))
            return nil
        case (nil, nil): return nil
        }
    }

    func notifiers(_ mapping: Node.Mapping) -> NotifierSettings {
        reader.checkKeys(mapping, allowed: ["alertmanager", "webhooks", "externalURL"], "notifiers")
        var settings = NotifierSettings()
        settings.externalURL = reader.string(reader.value(mapping, "externalURL"), "notifiers.externalURL")
        if let node = reader.value(mapping, "alertmanager"), let am = reader.mapping(node, "notifiers.alertmanager") {
            let path = "notifiers.alertmanager"
            reader.checkKeys(am, allowed: ["urls", "resendInterval"] + Self.httpKeys, path)
            if let urlsNode = reader.value(am, "urls"), let urls = reader.sequence(urlsNode, "\(path).urls") {
                settings.alertmanagerURLs = urls.enumerated().compactMap { index, urlNode in
                    guard let url = reader.string(urlNode, "\(path).urls[\(index)]") else { return nil }
                    checkURL(url, urlNode, "\(path).urls[\(index)]")
                    return url
                }
            } else {
                reader.error("\(path): \"urls\" is required: list every Alertmanager replica", at: node)
            }
            settings.resendInterval = reader.duration(reader.value(am, "resendInterval"), "\(path).resendInterval", allowZero: false, maximum: AgentConfiguration.Limits.day) ?? settings.resendInterval
            settings.alertmanagerHTTP = http(am, path)
        }
        if let node = reader.value(mapping, "webhooks"), let hooks = reader.sequence(node, "notifiers.webhooks") {
            settings.webhooks = hooks.enumerated().compactMap { index, hookNode in
                let path = "notifiers.webhooks[\(index)]"
                guard let hook = reader.mapping(hookNode, path) else { return nil }
                reader.checkKeys(hook, allowed: ["url", "bearerTokenFile", "bearerTokenEnv", "hmacSecretFile", "hmacSecretEnv", "timeout"], path)
                guard let urlNode = reader.value(hook, "url"), let url = reader.string(urlNode, "\(path).url") else {
                    reader.error("\(path): \"url\" is required", at: hookNode)
                    return nil
                }
                checkURL(url, urlNode, "\(path).url")
                return WebhookSettings(
                    url: url,
                    bearerToken: secret(hook, fileKey: "bearerTokenFile", envKey: "bearerTokenEnv", path),
                    hmacSecret: secret(hook, fileKey: "hmacSecretFile", envKey: "hmacSecretEnv", path),
                    timeout: reader.duration(reader.value(hook, "timeout"), "\(path).timeout", allowZero: false, maximum: AgentConfiguration.Limits.requestTimeout) ?? 10)
            }
        }
        return settings
    }

    func reportDuplicateClusters(_ nodes: [Node], _ clusters: [ClusterSettings]) {
        var seen: Set<ClusterReference> = []
        for (index, cluster) in clusters.enumerated() {
            guard case .named(let reference) = cluster.target else { continue }
            if !seen.insert(reference).inserted, index < nodes.count {
                reader.error("clusters[\(index)]: \(reference) is listed twice", at: nodes[index])
            }
        }
    }

    static func isDNSLabel(_ text: String, maxLength: Int, allowDots: Bool) -> Bool {
        guard !text.isEmpty, text.count <= maxLength, let first = text.first, let last = text.last,
            first.isLetter || first.isNumber, last.isLetter || last.isNumber
        else { return false }
        return text.allSatisfy { ($0.isLowercase && $0.isASCII) || ($0.isNumber && $0.isASCII) || $0 == "-" || (allowDots && $0 == ".") }
    }
}
