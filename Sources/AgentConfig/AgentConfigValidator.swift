import AutorebalancerCore
import Foundation

/// Layer 2: checks the meaning of an `AgentConfigDocument` and builds the `AgentConfiguration`.
///
/// Reports required keys, the API version, HOST:PORT, object names, ranges, http(s) URLs, the Lease timings' order,
/// combinations that exclude each other (name or selector, a token or a password, a file or an environment variable),
/// clusters listed twice, and warnings (a 4.4 cluster on the status source alone, TLS verification off). A value that
/// fails its check keeps its default, so every problem of the document is reported at once.
struct AgentConfigValidator {
    let file: String
    private(set) var diagnostics: [Diagnostic] = []

    init(file: String) {
        self.file = file
    }

    mutating func error(_ message: String, at location: SourceLocation) {
        diagnostics.append(Diagnostic(.error, at: location, message))
    }

    mutating func warning(_ message: String, at location: SourceLocation) {
        diagnostics.append(Diagnostic(.warning, at: location, message))
    }

    /// The value when it is at least `minimum`, else an error and `nil`.
    mutating func minimum(_ value: Located<Int>?, _ minimum: Int, _ path: String) -> Int? {
        guard let value else { return nil }
        guard value.value >= minimum else {
            error("\(path): must be at least \(minimum), got \(value.value)", at: value.location)
            return nil
        }
        return value.value
    }

    /// The duration when it is longer than 0, else an error and `nil`.
    mutating func positive(_ value: Located<TimeInterval>?, _ path: String) -> TimeInterval? {
        guard let value else { return nil }
        guard value.value > 0 else {
            error("\(path): must be longer than 0s", at: value.location)
            return nil
        }
        return value.value
    }

    mutating func validate(_ document: AgentConfigDocument) -> AgentConfiguration {
        if let apiVersion = document.apiVersion {
            if apiVersion.value != AgentConfiguration.apiVersion {
                error(
                    "apiVersion: expected \"\(AgentConfiguration.apiVersion)\", got \"\(apiVersion.value)\"",
                    at: apiVersion.location
                )
            }
        } else if document.written["apiVersion"] == nil {
            error("missing \"apiVersion: \(AgentConfiguration.apiVersion)\"", at: document.location)
        }

        var configuration = AgentConfiguration()
        if let listen = document.listen {
            if let address = Self.listenAddress(listen.value) {
                configuration.listen = address
            } else {
                error(
                    "listen: \"\(listen.value)\" is not HOST:PORT (e.g. 0.0.0.0:9090 or [::]:9090)",
                    at: listen.location
                )
            }
        }
        configuration.dryRun = document.dryRun?.value ?? false
        if let election = document.leaderElection {
            configuration.leaderElection = leaderElection(election)
        }
        if let policies = document.policies {
            configuration.policyPaths = policies.value.compactMap { $0?.value }
            if policies.value.isEmpty {
                error("policies: list at least one policy file or directory", at: policies.location)
            }
        } else {
            error("missing \"policies\": list the policy files or directories to load", at: document.location)
        }
        if let clusters = document.clusters {
            // Validated with their index as written, so a diagnostic names (and points at) the entry it is about.
            let validated = clusters.value.enumerated().compactMap { index, cluster in
                cluster.flatMap { self.cluster($0, "clusters[\(index)]") }.map {
                    (index: index, location: $0.location, settings: $0.settings)
                }
            }
            configuration.clusters = validated.map(\.settings)
            if clusters.value.isEmpty {
                error("clusters: list at least one EMQX cluster to watch", at: clusters.location)
            }
            reportDuplicateClusters(validated)
        } else {
            error("missing \"clusters\": list the EMQX clusters to watch", at: document.location)
        }
        if let notifiers = document.notifiers {
            configuration.notifiers = self.notifiers(notifiers)
        }
        if let rebalances = document.rebalances {
            configuration.rebalances = self.rebalances(rebalances)
        }
        return configuration
    }

    static func listenAddress(_ text: String) -> ListenAddress? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        return ListenAddress(host: host, port: port)
    }

    mutating func leaderElection(_ document: AgentConfigDocument.LeaderElection) -> LeaderElectionSettings {
        let path = "leaderElection"
        var settings = LeaderElectionSettings()
        settings.enabled = document.enabled?.value ?? true
        if let name = document.leaseName {
            if Self.isDNSLabel(name.value, maxLength: 253, allowDots: true) {
                settings.leaseName = name.value
            } else {
                error(
                    "\(path).leaseName: \"\(name.value)\" is not a valid object name (lowercase letters, digits, '-', '.')",
                    at: name.location
                )
            }
        }
        settings.leaseNamespace = document.leaseNamespace?.value
        settings.leaseDuration = positive(document.leaseDuration, "\(path).leaseDuration") ?? settings.leaseDuration
        settings.renewDeadline = positive(document.renewDeadline, "\(path).renewDeadline") ?? settings.renewDeadline
        settings.retryPeriod = positive(document.retryPeriod, "\(path).retryPeriod") ?? settings.retryPeriod
        settings.shards = minimum(document.shards, 1, "\(path).shards") ?? settings.shards
        let written = document.written
        if settings.renewDeadline >= settings.leaseDuration {
            error(
                "\(path).renewDeadline (\(DurationText.format(settings.renewDeadline))) must be shorter than leaseDuration (\(DurationText.format(settings.leaseDuration)))",
                at: written["renewDeadline"] ?? written["leaseDuration"] ?? document.location
            )
        }
        if settings.retryPeriod >= settings.renewDeadline {
            error(
                "\(path).retryPeriod (\(DurationText.format(settings.retryPeriod))) must be shorter than renewDeadline (\(DurationText.format(settings.renewDeadline)))",
                at: written["retryPeriod"] ?? written["renewDeadline"] ?? document.location
            )
        }
        return settings
    }

    mutating func cluster(
        _ document: AgentConfigDocument.Cluster,
        _ path: String
    ) -> (location: SourceLocation, settings: ClusterSettings)? {
        let written = document.written
        var kind = InstanceKind.emqx
        if let text = document.kind {
            if let parsed = InstanceKind(rawValue: text.value) {
                kind = parsed
            } else {
                let kinds = InstanceKind.allCases.map(\.rawValue)
                error(
                    "\(path).kind: \"\(text.value)\" is not a known kind\(Suggestion.didYouMean(text.value, among: kinds)); expected EMQX (EMQX 5) or EmqxEnterprise (EMQX 4.4)",
                    at: text.location
                )
            }
        }
        let target: ClusterSettings.Target
        switch (written["name"], written["selector"]) {
        case (.some, nil):
            guard let name = document.name else { return nil }
            guard let namespace = document.namespace else {
                error("\(path): \"namespace\" is required with \"name\"", at: document.location)
                return nil
            }
            target = .named(ClusterReference(namespace: namespace.value, name: name.value, kind: kind))
        case (nil, .some):
            guard let selector = document.selector else { return nil }
            target = .selector(
                namespace: document.namespace?.value,
                kind: kind,
                matchLabels: selector.matchLabels?.value ?? [:]
            )
        case (.some, .some(let selectorLocation)):
            error("\(path): give either \"name\" or \"selector\", not both", at: selectorLocation)
            return nil
        case (nil, nil):
            error("\(path): give \"name\" (with \"namespace\") or a \"selector\"", at: document.location)
            return nil
        }
        var settings = ClusterSettings(target: target)
        if let policies = document.policies {
            settings.policies = policies.value.compactMap { $0?.value }
        }
        switch (document.source, written["sources"]) {
        case (.some(let one), nil):
            settings.sources = source(one, "\(path).source").map { [$0] } ?? []
        case (nil, .some(let sourcesLocation)):
            let items = document.sources?.value ?? []
            settings.sources = items.enumerated().compactMap { index, item in
                item.flatMap { source($0, "\(path).sources[\(index)]") }
            }
            if items.isEmpty { error("\(path).sources: list at least one source", at: sourcesLocation) }
        case (.some, .some(let sourcesLocation)):
            error("\(path): give either \"source\" or \"sources\" (a fallback list), not both", at: sourcesLocation)
        case (nil, nil):
            settings.sources = [.status]
        }
        if kind == .emqxEnterprise, settings.sources == [.status] {
            warning(
                "\(path): an EmqxEnterprise (EMQX 4.4) status has no live-connection counts, so the \"status\" source serves session rules only; add a prometheus or emqx source for connection rules",
                at: written["source"] ?? written["sources"] ?? document.location
            )
        }
        emqxAPI(document, path, into: &settings)
        return (document.location, settings)
    }

    /// `emqxAPI:` (EMQX's management API of a cluster with an EMQX object) or `emqx:` (a cluster without one: the
    /// API is all there is), and `actuator:`.
    mutating func emqxAPI(_ document: AgentConfigDocument.Cluster, _ path: String, into settings: inout ClusterSettings)
    {
        let written = document.written
        if written["emqxAPI"] != nil, let emqxLocation = written["emqx"] {
            error(
                "\(path): give either \"emqxAPI\" (a cluster with an EMQX object) or \"emqx\" (a cluster without one), not both",
                at: emqxLocation
            )
        }
        if let emqxLocation = written["emqx"] {
            settings.hasObject = false
            if case .selector = settings.target {
                error(
                    "\(path): \"emqx\" describes one cluster without an EMQX object: give \"name\" and \"namespace\", not a selector",
                    at: emqxLocation
                )
            }
            if let kind = document.kind {
                error(
                    "\(path).kind: a cluster given as \"emqx\" is an EMQX 5 cluster read through its own API; remove \"kind\"",
                    at: kind.location
                )
            }
            if let api = document.emqx { settings.emqxAPI = apiSettings(api, "\(path).emqx", withoutObject: true) }
        } else if let api = document.emqxAPI {
            settings.emqxAPI = apiSettings(api, "\(path).emqxAPI", withoutObject: false)
        }
        guard let actuator = document.actuator else { return }
        let names = ActuatorSetting.allCases.map(\.rawValue)
        guard let setting = ActuatorSetting(rawValue: actuator.value) else {
            error(
                "\(path).actuator: \"\(actuator.value)\" is not an actuator\(Suggestion.didYouMean(actuator.value, among: names)); expected one of \(names.joined(separator: ", "))",
                at: actuator.location
            )
            return
        }
        settings.actuator = setting
        if setting == .rebalanceResource, !settings.hasObject {
            error(
                "\(path).actuator: rebalanceResource needs an EMQX object for the Rebalance to target; a cluster given as \"emqx\" is acted on through EMQX's API (emqxAPI or auto)",
                at: actuator.location
            )
        }
        if setting == .emqxAPI, settings.hasObject, written["emqxAPI"] == nil {
            error(
                "\(path).actuator: emqxAPI needs \"emqxAPI\" with the API key (apiKey, or username and passwordFile)",
                at: actuator.location
            )
        }
    }

    mutating func apiSettings(
        _ document: AgentConfigDocument.EMQXEndpoint,
        _ path: String,
        withoutObject: Bool
    ) -> EMQXAPISettings {
        let endpoint = self.endpoint(document, path)
        var settings = EMQXAPISettings(
            scheme: endpoint.scheme,
            port: endpoint.port,
            targets: endpoint.targets,
            http: endpoint.http
        )
        if let service = document.service {
            checkURL(service, "\(path).service")
            settings.service = service.value
            if !settings.targets.isEmpty {
                error(
                    "\(path): give either \"targets\" (one URL per node) or \"service\" (one URL for all), not both",
                    at: service.location
                )
            }
        }
        if withoutObject, settings.targets.isEmpty, document.written["service"] == nil {
            error(
                "\(path): a cluster without an EMQX object needs \"service\" (e.g. http://emqx.mqtt.svc:18083) or \"targets\"",
                at: document.location
            )
        }
        let http = document.http.written
        if case .bearer? = settings.http.auth {
            error(
                "\(path): EMQX API keys are sent as username and password; use \"apiKey\", or \"username\" with passwordFile/passwordEnv, instead of a bearer token",
                at: http["bearerTokenFile"] ?? http["bearerTokenEnv"] ?? document.location
            )
        }
        if let key = document.apiKey {
            settings.apiKey = apiKey(key, "\(path).apiKey")
            if settings.apiKey != nil, settings.http.auth != nil {
                error("\(path): give either \"apiKey\" or \"username\" with a password, not both", at: key.location)
            }
        } else if settings.http.auth == nil, document.written["apiKey"] == nil {
            error(
                "\(path): no API key: give \"apiKey\" (emqxAPIKey: NAME, or secretDirectory: PATH), or \"username\" with passwordFile/passwordEnv",
                at: document.location
            )
        }
        return settings
    }

    mutating func apiKey(_ document: AgentConfigDocument.APIKey, _ path: String) -> EMQXAPIKeySource? {
        switch (document.emqxAPIKey, document.secretDirectory) {
        case (let key?, nil):
            guard Self.isDNSLabel(key.value, maxLength: 253, allowDots: true) else {
                error(
                    "\(path).emqxAPIKey: \"\(key.value)\" is not a valid object name (lowercase letters, digits, '-', '.')",
                    at: key.location
                )
                return nil
            }
            return .emqxAPIKey(name: key.value)
        case (nil, let directory?):
            guard directory.value.hasPrefix("/") else {
                error(
                    "\(path).secretDirectory: \"\(directory.value)\" must be an absolute path (where the Secret is mounted)",
                    at: directory.location
                )
                return nil
            }
            return .secretDirectory(directory.value)
        case (.some, .some(let directory)):
            error("\(path): give either \"emqxAPIKey\" or \"secretDirectory\", not both", at: directory.location)
            return nil
        case (nil, nil):
            error(
                "\(path): give \"emqxAPIKey\" (an EMQXAPIKey in the cluster's namespace) or \"secretDirectory\" (a mounted Secret with apiKey and apiSecret)",
                at: document.location
            )
            return nil
        }
    }

    mutating func source(_ document: AgentConfigDocument.Source, _ path: String) -> SourceSettings? {
        if let word = document.word {
            if word.value == "status" { return .status }
            error(
                "\(path): \"\(word.value)\" is not a source; write status, or a mapping with prometheus: or emqx:",
                at: word.location
            )
            return nil
        }
        // A source that is neither a word nor a mapping was reported when it was read.
        guard document.isMapping else { return nil }
        guard document.kinds.count == 1 else {
            let got = document.kinds.isEmpty ? "" : " (got \(document.kinds.joined(separator: ", ")))"
            error("\(path): give exactly one of prometheus, emqx, status\(got)", at: document.location)
            return nil
        }
        switch document.kinds[0] {
        case "prometheus":
            guard let prometheus = document.prometheus else { return nil }
            let sub = "\(path).prometheus"
            guard let url = prometheus.url else {
                error(
                    "\(sub): \"url\" is required (e.g. http://prometheus-operated.monitoring.svc:9090)",
                    at: document.prometheusLocation ?? prometheus.location
                )
                return nil
            }
            checkURL(url, "\(sub).url")
            var settings = PrometheusSettings(url: url.value, http: http(prometheus.http, sub))
            settings.selector = prometheus.selector?.value
            if let label = prometheus.nodeLabel { settings.nodeLabel = label.value }
            settings.liveConnectionsQuery = prometheus.liveConnectionsQuery?.value
            settings.connectionsQuery = prometheus.connectionsQuery?.value
            settings.sessionsQuery = prometheus.sessionsQuery?.value
            return .prometheus(settings)
        case "emqx":
            let sub = "\(path).emqx"
            let endpoint = self.endpoint(
                document.emqx ?? .init(location: document.location, http: .init(location: document.location)),
                sub
            )
            var mode = EMQXScrapeSettings.Mode.scrape
            if let text = document.emqx?.mode {
                if let parsed = EMQXScrapeSettings.Mode(rawValue: text.value) {
                    mode = parsed
                } else {
                    error(
                        "\(sub).mode: expected scrape (every node's Prometheus endpoint) or nodes (one GET /api/v5/nodes per cluster), got \"\(text.value)\"",
                        at: text.location
                    )
                }
            }
            if let url = document.emqx?.url {
                checkURL(url, "\(sub).url")
                if mode != .nodes {
                    warning("\(sub).url is used by mode nodes only; this source's mode is scrape", at: url.location)
                }
            }
            return .emqx(
                EMQXScrapeSettings(
                    mode: mode,
                    url: document.emqx?.url?.value,
                    scheme: endpoint.scheme,
                    port: endpoint.port,
                    targets: endpoint.targets,
                    readUptime: document.emqx?.readUptime?.value ?? false,
                    http: endpoint.http
                )
            )
        default:
            return .status
        }
    }

    mutating func endpoint(
        _ document: AgentConfigDocument.EMQXEndpoint,
        _ path: String
    ) -> (scheme: String, port: Int, targets: [String: String], http: HTTPClientSettings) {
        var scheme = "http"
        if let text = document.scheme {
            if text.value == "http" || text.value == "https" {
                scheme = text.value
            } else {
                error("\(path).scheme: expected http or https, got \"\(text.value)\"", at: text.location)
            }
        }
        let port = minimum(document.port, 1, "\(path).port") ?? 18083
        var targets: [String: String] = [:]
        for (node, url) in document.targets?.value ?? [:] {
            checkURL(url, "\(path).targets.\(node)")
            targets[node] = url.value
        }
        return (scheme, port, targets, http(document.http, path))
    }

    mutating func checkURL(_ text: Located<String>, _ path: String) {
        let shown = SafeText.forLog(text.value)
        guard let url = URL(string: text.value), let scheme = url.scheme, ["http", "https"].contains(scheme),
            url.host != nil
        else {
            error("\(path): \"\(shown)\" is not an http(s) URL", at: text.location)
            return
        }
        // A password in the URL would end up in logs, metrics labels and error lines; secrets come from files or env.
        if url.user != nil || url.password != nil {
            error(
                "\(path): \"\(shown)\" has credentials in the URL (user:password@); remove them and use username with passwordFile/passwordEnv (or bearerTokenFile/bearerTokenEnv)",
                at: text.location
            )
        }
    }

    /// Auth, CA and timeout keys shared by every HTTP client section.
    mutating func http(_ document: AgentConfigDocument.HTTP, _ path: String) -> HTTPClientSettings {
        var settings = HTTPClientSettings()
        let token = secret(
            file: document.bearerTokenFile,
            env: document.bearerTokenEnv,
            fileKey: "bearerTokenFile",
            envKey: "bearerTokenEnv",
            path
        )
        let password = secret(
            file: document.passwordFile,
            env: document.passwordEnv,
            fileKey: "passwordFile",
            envKey: "passwordEnv",
            path
        )
        let written = document.written
        let passwordLocation = written["passwordFile"] ?? written["passwordEnv"]
        switch (token, document.username?.value, password) {
        case (let token?, nil, nil):
            settings.auth = .bearer(token: token)
        case (nil, let username?, let password?):
            settings.auth = .basic(username: username, password: password)
        case (nil, nil, nil):
            break
        case (.some, _, _):
            error(
                "\(path): give either a bearer token or username/password, not both",
                at: written["username"] ?? passwordLocation ?? document.location
            )
        case (nil, nil, .some):
            error("\(path): a password needs \"username\"", at: passwordLocation ?? document.location)
        case (nil, .some, nil):
            error(
                "\(path): \"username\" needs passwordFile or passwordEnv",
                at: written["username"] ?? document.location
            )
        }
        settings.caFile = document.caFile?.value
        settings.insecureSkipVerify = document.insecureSkipVerify?.value ?? false
        if let insecure = document.insecureSkipVerify, insecure.value {
            warning("\(path).insecureSkipVerify: TLS certificates will not be verified", at: insecure.location)
        }
        settings.timeout = positive(document.timeout, "\(path).timeout") ?? settings.timeout
        return settings
    }

    mutating func secret(
        file: Located<String>?,
        env: Located<String>?,
        fileKey: String,
        envKey: String,
        _ path: String
    ) -> SecretReference? {
        switch (file, env) {
        case (let file?, nil): return .file(file.value)
        case (nil, let env?): return .environment(env.value)
        case (.some, .some(let env)):
            error("\(path): give either \(fileKey) or \(envKey), not both", at: env.location)
            return nil
        case (nil, nil): return nil
        }
    }

    mutating func notifiers(_ document: AgentConfigDocument.Notifiers) -> NotifierSettings {
        var settings = NotifierSettings()
        settings.externalURL = document.externalURL?.value
        if let am = document.alertmanager {
            let path = "notifiers.alertmanager"
            if let urls = am.urls {
                settings.alertmanagerURLs = urls.value.enumerated().compactMap { index, url in
                    guard let url else { return nil }
                    checkURL(url, "\(path).urls[\(index)]")
                    return url.value
                }
            } else {
                error("\(path): \"urls\" is required: list every Alertmanager replica", at: am.location)
            }
            settings.resendInterval = positive(am.resendInterval, "\(path).resendInterval") ?? settings.resendInterval
            settings.alertmanagerHTTP = http(am.http, path)
        }
        if let hooks = document.webhooks {
            settings.webhooks = hooks.value.enumerated().compactMap { index, hook in
                guard let hook else { return nil }
                let path = "notifiers.webhooks[\(index)]"
                guard let url = hook.url else {
                    error("\(path): \"url\" is required", at: hook.location)
                    return nil
                }
                checkURL(url, "\(path).url")
                return WebhookSettings(
                    url: url.value,
                    bearerToken: secret(
                        file: hook.bearerTokenFile,
                        env: hook.bearerTokenEnv,
                        fileKey: "bearerTokenFile",
                        envKey: "bearerTokenEnv",
                        path
                    ),
                    hmacSecret: secret(
                        file: hook.hmacSecretFile,
                        env: hook.hmacSecretEnv,
                        fileKey: "hmacSecretFile",
                        envKey: "hmacSecretEnv",
                        path
                    ),
                    timeout: positive(hook.timeout, "\(path).timeout") ?? 10
                )
            }
        }
        return settings
    }

    mutating func rebalances(_ document: AgentConfigDocument.Rebalances) -> RebalanceSettings {
        var settings = RebalanceSettings()
        settings.keepFinished = minimum(document.keepFinished, 0, "rebalances.keepFinished") ?? settings.keepFinished
        settings.settleTime = document.settleTime?.value ?? settings.settleTime
        settings.stuckAfter = positive(document.stuckAfter, "rebalances.stuckAfter") ?? settings.stuckAfter
        let retry = settings.createRetry
        let backoff = positive(document.createRetryBackoff, "rebalances.createRetryBackoff") ?? retry.initialBackoff
        let backoffMax =
            positive(document.createRetryBackoffMax, "rebalances.createRetryBackoffMax")
            ?? max(retry.maximumBackoff, backoff)
        if backoffMax < backoff {
            error(
                "rebalances.createRetryBackoffMax (\(DurationText.format(backoffMax))) is below createRetryBackoff (\(DurationText.format(backoff)))",
                at: document.createRetryBackoffMaxWritten ?? SourceLocation(file: file, line: 1, column: 1)
            )
        }
        let alertAfter =
            minimum(document.alertAfterCreateFailures, 1, "rebalances.alertAfterCreateFailures") ?? retry.escalateAfter
        settings.createRetry = CreateRetryPolicy(
            initialBackoff: backoff,
            maximumBackoff: backoffMax,
            escalateAfter: alertAfter
        )
        return settings
    }

    /// A cluster named twice (the same kind, namespace and name) is an error at its second entry.
    mutating func reportDuplicateClusters(
        _ clusters: [(index: Int, location: SourceLocation, settings: ClusterSettings)]
    ) {
        var seen: Set<ClusterReference> = []
        for cluster in clusters {
            guard case .named(let reference) = cluster.settings.target else { continue }
            if !seen.insert(reference).inserted {
                error("clusters[\(cluster.index)]: \(reference) is listed twice", at: cluster.location)
            }
        }
    }

    static func isDNSLabel(_ text: String, maxLength: Int, allowDots: Bool) -> Bool {
        guard !text.isEmpty, text.count <= maxLength, let first = text.first, let last = text.last,
            first.isLetter || first.isNumber, last.isLetter || last.isNumber
        else { return false }
        return text.allSatisfy {
            ($0.isLowercase && $0.isASCII) || ($0.isNumber && $0.isASCII) || $0 == "-" || (allowDots && $0 == ".")
        }
    }
}
