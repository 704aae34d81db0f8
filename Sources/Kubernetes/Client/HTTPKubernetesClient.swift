import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL

/// The live `KubernetesAPI` over AsyncHTTPClient: bearer token or client certificate, TLS verified against the
/// configured CA, a timeout on every attempt, bounded jittered retries for transient failures only, and creates that
/// are never repeated blindly (a create whose answer was lost is followed by a GET of the same name).
///
/// Three connection pools (`Lane`), so no call waits behind another kind: the Lease (renewed on time whatever else
/// is going on), long-running watches (each holds a connection), and every other request.
public final class HTTPKubernetesClient: KubernetesAPI {
    /// Which connection pool a call uses.
    enum Lane {
        /// Reads and writes of objects, discovery, Events.
        case requests
        /// Leader election's Lease reads and writes only.
        case leases
        /// Watches, which hold their connection for minutes.
        case watches
    }

    public let configuration: KubernetesClientConfiguration
    let httpClient: HTTPClient
    let leaseHTTPClient: HTTPClient
    let watchHTTPClient: HTTPClient
    let logger: Logger
    /// Times the waits between retries.
    private let clock: any Clock<Duration>
    /// The server URL requests go to: the configured one, with the host replaced by `tls-server-name` when set.
    let baseURL: String

    /// Builds the client and its HTTP connection pool. Call `shutdown()` when done.
    /// - Parameter clock: times the waits between retries (a manual clock in tests).
    /// - Throws: `KubernetesError` (`.unsupported`) when the CA or client certificate cannot be parsed.
    public init(
        configuration: KubernetesClientConfiguration,
        logger: Logger,
        clock: some Clock<Duration> = ContinuousClock()
    ) throws {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if let ca = configuration.certificateAuthorityPEM {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
            }
            if let client = configuration.clientCertificate {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(client.certificatePEM).map {
                    .certificate($0)
                }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: client.keyPEM, format: .pem))
            }
        } catch {
            throw KubernetesError.configuration("cannot load TLS material from \(configuration.origin): \(error)")
        }
        if configuration.insecureSkipTLSVerify {
            tls.certificateVerification = .none
        }
        var httpConfiguration = HTTPClient.Configuration(
            tlsConfiguration: tls,
            timeout: .init(connect: TimeAmount(configuration.connectTimeout)),
            connectionPool: .init()
        )
        // A refused connection fails at once instead of being retried until the connect timeout (5 s a request).
        httpConfiguration.connectionPool.retryConnectionEstablishment = false
        httpConfiguration.httpVersion = .http1Only
        // `tls-server-name`: the certificate is verified (and SNI sent) for that name while the connection goes to the
        // server's own address, as kubectl does. AsyncHTTPClient does exactly this for a DNS override.
        var baseURL = configuration.server
        if let name = configuration.tlsServerName, !name.isEmpty,
            var components = URLComponents(string: configuration.server), let host = components.host, host != name
        {
            components.host = name
            if let url = components.string {
                baseURL = url
                httpConfiguration.dnsOverride = [name: host]
            }
        }
        self.baseURL = baseURL
        func pool(connections: Int) -> HTTPClient {
            var pooled = httpConfiguration
            pooled.connectionPool = .init(
                idleTimeout: .seconds(60),
                concurrentHTTP1ConnectionsPerHostSoftLimit: connections
            )
            return HTTPClient(eventLoopGroupProvider: .singleton, configuration: pooled)
        }
        self.httpClient = pool(connections: 8)
        self.leaseHTTPClient = pool(connections: 2)
        // One connection per open watch (a handful per watched namespace).
        self.watchHTTPClient = pool(connections: 512)
        for warning in configuration.warnings {
            logger.warning("\(warning)")
        }
        logger.info("Kubernetes API \(configuration.server) from \(configuration.origin)")
    }

    /// Closes the connection pools.
    public func shutdown() async throws {
        try await watchHTTPClient.shutdown()
        try await leaseHTTPClient.shutdown()
        try await httpClient.shutdown()
    }

    func client(_ lane: Lane) -> HTTPClient {
        switch lane {
        case .requests: httpClient
        case .leases: leaseHTTPClient
        case .watches: watchHTTPClient
        }
    }

    // MARK: EMQX objects and pods

    public func emqxObject(_ version: EMQXObjectVersion, namespace: String, name: String) async throws -> ClusterObject
    {
        let resource = KubernetesResource.emqxObjects(version)
        switch version {
        case .v2beta1: return .emqx(try await get(resource, namespace: namespace, name: name))
        case .v2: return .emqxV2(try await get(resource, namespace: namespace, name: name))
        case .v3beta1: return .emqxV3beta1(try await get(resource, namespace: namespace, name: name))
        case .v1beta4: return .emqxEnterprise(try await get(resource, namespace: namespace, name: name))
        }
    }

    public func emqxObjects(_ version: EMQXObjectVersion, namespace: String) async throws -> [ObjectMeta] {
        let items: [MetadataOnly] = try await list(.emqxObjects(version), namespace: namespace, labelSelector: nil)
        return items.map(\.metadata)
    }

    public func emqxScale(_ version: EMQXObjectVersion, namespace: String, name: String) async throws -> Scale {
        let resource = KubernetesResource.emqxObjects(version)
        let scale = KubernetesResource(
            group: resource.group,
            version: resource.version,
            plural: "\(resource.plural)/scale"
        )
        let request = KubernetesError.Request(verb: "get", resource: scale, namespace: namespace, name: name)
        return try decode(
            try await send(.GET, path: resource.path(namespace: namespace, name: name) + "/scale", request: request),
            request: request
        )
    }

    public func pods(namespace: String, labelSelector: String?) async throws -> [Pod] {
        try await list(.pods, namespace: namespace, labelSelector: labelSelector)
    }

    // MARK: Rebalances

    public func createRebalance(_ rebalance: Rebalance) async throws -> Rebalance {
        try await create(
            .rebalances,
            object: rebalance,
            namespace: rebalance.metadata.namespace,
            name: rebalance.metadata.name
        )
    }

    public func rebalance(namespace: String, name: String) async throws -> Rebalance {
        try await get(.rebalances, namespace: namespace, name: name)
    }

    public func rebalances(namespace: String, labelSelector: String?) async throws -> [Rebalance] {
        try await list(.rebalances, namespace: namespace, labelSelector: labelSelector)
    }

    public func patchRebalanceMetadata(
        namespace: String,
        name: String,
        labels: [String: String?],
        annotations: [String: String?]
    ) async throws -> Rebalance {
        var metadata: [String: [String: String?]] = [:]
        if !labels.isEmpty { metadata["labels"] = labels }
        if !annotations.isEmpty { metadata["annotations"] = annotations }
        let body = try JSONEncoder().encode(["metadata": metadata])
        let request = KubernetesError.Request(verb: "patch", resource: .rebalances, namespace: namespace, name: name)
        return try decode(
            try await send(
                .PATCH,
                path: KubernetesResource.rebalances.path(namespace: namespace, name: name),
                body: body,
                contentType: "application/merge-patch+json",
                request: request
            ),
            request: request
        )
    }

    public func deleteRebalance(namespace: String, name: String) async throws {
        let request = KubernetesError.Request(verb: "delete", resource: .rebalances, namespace: namespace, name: name)
        _ = try await send(
            .DELETE,
            path: KubernetesResource.rebalances.path(namespace: namespace, name: name),
            request: request
        )
    }

    // MARK: Leases

    public func lease(namespace: String, name: String) async throws -> Lease {
        try await get(.leases, namespace: namespace, name: name, lane: .leases)
    }

    public func createLease(_ lease: Lease) async throws -> Lease {
        try await create(
            .leases,
            object: lease,
            namespace: lease.metadata.namespace,
            name: lease.metadata.name,
            lane: .leases
        )
    }

    public func updateLease(_ lease: Lease) async throws -> Lease {
        let namespace = lease.metadata.namespace ?? configuration.namespace ?? "default"
        let name = lease.metadata.name ?? ""
        let request = KubernetesError.Request(verb: "update", resource: .leases, namespace: namespace, name: name)
        // A lost answer to an update is safe to repeat: a stale resourceVersion makes the repeat a 409.
        return try decode(
            try await send(
                .PUT,
                path: KubernetesResource.leases.path(namespace: namespace, name: name),
                body: try JSONEncoder().encode(lease),
                request: request,
                lane: .leases
            ),
            request: request
        )
    }

    // MARK: Events

    public func createEventV1(_ event: EventsV1Event) async throws -> EventsV1Event {
        try await create(.eventsV1, object: event, namespace: event.metadata.namespace, name: event.metadata.name)
    }

    public func patchEventV1Series(namespace: String, name: String, series: EventSeries) async throws -> EventsV1Event {
        struct Patch: Encodable { var series: EventSeries }
        let request = KubernetesError.Request(verb: "patch", resource: .eventsV1, namespace: namespace, name: name)
        return try decode(
            try await send(
                .PATCH,
                path: KubernetesResource.eventsV1.path(namespace: namespace, name: name),
                body: try JSONEncoder().encode(Patch(series: series)),
                contentType: "application/merge-patch+json",
                request: request
            ),
            request: request
        )
    }

    public func createEvent(_ event: KubernetesEvent) async throws -> KubernetesEvent {
        try await create(.events, object: event, namespace: event.metadata.namespace, name: event.metadata.name)
    }

    public func patchEvent(
        namespace: String,
        name: String,
        count: Int,
        lastTimestamp: String
    ) async throws -> KubernetesEvent {
        struct Patch: Encodable {
            var count: Int
            var lastTimestamp: String
        }
        let request = KubernetesError.Request(verb: "patch", resource: .events, namespace: namespace, name: name)
        return try decode(
            try await send(
                .PATCH,
                path: KubernetesResource.events.path(namespace: namespace, name: name),
                body: try JSONEncoder().encode(Patch(count: count, lastTimestamp: lastTimestamp)),
                contentType: "application/merge-patch+json",
                request: request
            ),
            request: request
        )
    }

    // MARK: Discovery

    public func servedResources(groupVersion: String) async throws -> [String] {
        struct ResourceList: Decodable {
            struct Resource: Decodable { var name: String }
            var resources: [Resource]?
        }
        let parts = groupVersion.split(separator: "/").map(String.init)
        let resource =
            parts.count == 2
            ? KubernetesResource(group: parts[0], version: parts[1], plural: "")
            : KubernetesResource(group: "", version: groupVersion, plural: "")
        let request = KubernetesError.Request(verb: "get", resource: resource, namespace: nil, name: "discovery")
        let list: ResourceList = try decode(
            try await send(.GET, path: resource.groupVersionPath, request: request),
            request: request
        )
        return (list.resources ?? []).map(\.name)
    }

    public func servedVersions(group: String) async throws -> [String] {
        struct APIGroup: Decodable {
            struct Version: Decodable { var version: String }
            var versions: [Version]?
            var preferredVersion: Version?
        }
        let resource = KubernetesResource(group: group, version: "", plural: "")
        let request = KubernetesError.Request(verb: "get", resource: resource, namespace: nil, name: "discovery")
        let document: APIGroup = try decode(
            try await send(.GET, path: "/apis/\(group)", request: request),
            request: request
        )
        let versions = (document.versions ?? []).map(\.version)
        guard let preferred = document.preferredVersion?.version, versions.contains(preferred) else { return versions }
        return [preferred] + versions.filter { $0 != preferred }
    }

    // MARK: Typed helpers

    func get<T: Decodable>(
        _ resource: KubernetesResource,
        namespace: String,
        name: String,
        lane: Lane = .requests
    ) async throws -> T {
        let request = KubernetesError.Request(verb: "get", resource: resource, namespace: namespace, name: name)
        return try decode(
            try await send(.GET, path: resource.path(namespace: namespace, name: name), request: request, lane: lane),
            request: request
        )
    }

    func list<T: Codable & Hashable & Sendable>(
        _ resource: KubernetesResource,
        namespace: String,
        labelSelector: String?,
        lane: Lane = .requests
    ) async throws -> [T] {
        let request = KubernetesError.Request(verb: "list", resource: resource, namespace: namespace)
        var path = resource.path(namespace: namespace)
        if let labelSelector, !labelSelector.isEmpty {
            path += "?labelSelector=\(labelSelector.addingPercentEncodingForPath())"
        }
        let list: KubernetesList<T> = try decode(
            try await send(.GET, path: path, request: request, lane: lane),
            request: request
        )
        return list.items
    }

    /// Creates a named object without ever creating it twice: when an attempt's answer is lost (transport error,
    /// timeout, 5xx), the object is read back by name before any new attempt. 429 means "not processed" and is
    /// retried directly.
    func create<T: Codable>(
        _ resource: KubernetesResource,
        object: T,
        namespace: String?,
        name: String?,
        lane: Lane = .requests
    ) async throws -> T {
        let namespace = namespace ?? configuration.namespace ?? "default"
        let request = KubernetesError.Request(verb: "create", resource: resource, namespace: namespace, name: name)
        let body = try JSONEncoder().encode(object)
        let policy = configuration.retry
        var attempt = 1
        while true {
            do {
                let data = try await send(
                    .POST,
                    path: resource.path(namespace: namespace),
                    body: body,
                    request: request,
                    retry: .singleAttempt,
                    lane: lane
                )
                return try decode(data, request: request)
            } catch let error as KubernetesError
                where error.isTransient && !error.connectionFailed && attempt < policy.maxAttempts
            {
                if error.statusCode != 429, let name {
                    // The create may have happened: look before creating again.
                    do {
                        let existing: T = try await get(resource, namespace: namespace, name: name, lane: lane)
                        logger.warning(
                            "create \(resource) \(namespace)/\(name): the answer was lost (\(error.detail)); the object exists, so it was created"
                        )
                        return existing
                    } catch let lookup as KubernetesError where lookup.code == .notFound {
                        // Not created: safe to try again.
                    }
                }
                let delay = policy.delay(
                    beforeRetry: attempt,
                    retryAfterSeconds: error.retryAfterSeconds,
                    random: .random(in: 0..<1)
                )
                try checkBudget(allowsRetryAfter: delay, error, attempt: attempt, of: policy.maxAttempts)
                logger.warning(
                    "create \(resource) \(namespace)/\(name ?? ""): \(error.summary); attempt \(attempt) of \(policy.maxAttempts), retrying in \(delay.text)"
                )
                try await clock.sleep(for: delay)
                attempt += 1
            }
        }
    }

    func decode<T: Decodable>(_ data: Data, request: KubernetesError.Request) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            guard Self.looksLikeJSON(data) else {
                throw notKubernetes(request: request, statusCode: 200, body: data)
            }
            throw KubernetesError(
                code: .other,
                request: request,
                detail:
                    "the answer does not have the expected shape (\(DecodingProblem(error))); is the CRD version the one the agent expects?"
            )
        }
    }

    static func looksLikeJSON(_ data: Data) -> Bool {
        guard let first = data.first(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }) else {
            return false
        }
        return first == UInt8(ascii: "{") || first == UInt8(ascii: "[")
    }

    /// An answer that no Kubernetes API server gives: a web page, a proxy's error, another service's JSON.
    func notKubernetes(request: KubernetesError.Request, statusCode: Int, body: Data) -> KubernetesError {
        let start =
            String(decoding: body.prefix(80), as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init)
            ?? ""
        return KubernetesError(
            code: .notKubernetesAPI,
            request: request,
            statusCode: statusCode,
            detail:
                "\(configuration.server) answered \(KubernetesError.describe(request)) with HTTP \(statusCode)\(start.isEmpty ? "" : " \"\(start)\"") instead of a Kubernetes object or Status; check the server named by \(configuration.origin)"
        )
    }

    /// Why a connection could not be made, when that is what happened (nothing was sent).
    static func connectionFailure(_ error: any Error, connectTimeout: Duration) -> String? {
        if let error = error as? HTTPClientError, error == .connectTimeout {
            return "no connection within \(connectTimeout.text)"
        }
        return TransportFailureText.connectionFailure(error)
    }

    // MARK: Transport

    /// Sends one request with retries for transient failures (never for other 4xx), re-fetching the bearer token
    /// once after a 401 (a rotated token).
    func send(
        _ method: HTTPMethod,
        path: String,
        body: Data? = nil,
        contentType: String = "application/json",
        request: KubernetesError.Request,
        retry: RetryPolicy? = nil,
        lane: Lane = .requests
    ) async throws -> Data {
        let policy = retry ?? configuration.retry
        var attempt = 1
        var refreshedToken = false
        while true {
            do {
                return try await sendOnce(
                    method,
                    path: path,
                    body: body,
                    contentType: contentType,
                    request: request,
                    lane: lane
                )
            } catch let error as KubernetesError {
                if error.code == .unauthorized, !refreshedToken, let provider = configuration.tokenProvider {
                    provider.invalidate()
                    refreshedToken = true
                    continue
                }
                // A connection that could not be made is not retried here: the cycle ends at once with the cause and
                // the next cycle tries again (the cluster budget is not spent on an API server that is down).
                RequestTrail.current?.record(
                    "\(KubernetesError.describe(request)): \(error.summary) (attempt \(attempt) of \(policy.maxAttempts))"
                )
                guard error.isTransient, !error.connectionFailed, attempt < policy.maxAttempts else { throw error }
                let delay = policy.delay(
                    beforeRetry: attempt,
                    retryAfterSeconds: error.retryAfterSeconds,
                    random: .random(in: 0..<1)
                )
                try checkBudget(allowsRetryAfter: delay, error, attempt: attempt, of: policy.maxAttempts)
                logger.warning(
                    "\(KubernetesError.describe(request)): \(error.summary); attempt \(attempt) of \(policy.maxAttempts), retrying in \(delay.text)"
                )
                try await clock.sleep(for: delay)
                attempt += 1
            }
        }
    }

    /// A certificate the configured CA does not vouch for (or one for another name) is a configuration error, not
    /// an outage: retrying cannot fix it. The error names where the trusted CA came from.
    func untrustedServer(_ error: any Error, request: KubernetesError.Request) -> KubernetesError? {
        let text = String(describing: error)
        let nameMismatch = error is NIOSSLExtraError || text.contains("failedToValidateHostname")
        let verification =
            text.contains("CERTIFICATE_VERIFY_FAILED")
            || text.localizedCaseInsensitiveContains("certificate verify failed")
            || (error is NIOSSLError && text.localizedCaseInsensitiveContains("certificate"))
        guard nameMismatch || verification else { return nil }
        let trust =
            configuration.certificateAuthorityOrigin.map { "the CA file \($0)" }
            ?? "the system trust store (no CA configured)"
        let host = URLComponents(string: baseURL)?.host ?? baseURL
        let detail =
            nameMismatch
            ? "the API server's certificate is not valid for the name \(host) (\(text)); check the server URL or set tls-server-name in the kubeconfig"
            : "the API server's certificate is not signed by \(trust) (\(text)); check that it is this cluster's CA"
        return KubernetesError(code: .untrusted, request: request, detail: detail)
    }

    /// Makes one request to learn whether the API server can be trusted at all (`GET /version`, no retries). `nil` when
    /// TLS is fine (whatever the answer), the ``KubernetesError/Code/untrusted`` error otherwise; other failures
    /// (unreachable, timeouts) are left to the agent's retries and return `nil` too.
    public func untrustedServerError() async -> KubernetesError? {
        // Without TLS there is nothing to trust (and a silent server would cost a request timeout here).
        guard baseURL.lowercased().hasPrefix("https:") else { return nil }
        let request = KubernetesError.Request(
            verb: "get",
            resource: KubernetesResource(group: "", version: "", plural: "version"),
            namespace: nil,
            name: nil
        )
        do {
            _ = try await sendOnce(
                .GET,
                path: "/version",
                body: nil,
                contentType: "application/json",
                request: request,
                lane: .requests
            )
            return nil
        } catch let error as KubernetesError where error.code == .untrusted {
            return error
        } catch {
            return nil
        }
    }

    /// Throws `error`, saying so, when the cycle's budget (`RequestBudget`) leaves no time for another attempt after
    /// `delay`: one that could not get its answer would only be cut off with the cycle.
    private func checkBudget(
        allowsRetryAfter delay: Duration,
        _ error: KubernetesError,
        attempt: Int,
        of attempts: Int
    ) throws {
        guard let budget = RequestBudget.current,
            !RequestBudget.allowsRetry(after: delay, minimum: min(configuration.requestTimeout, .seconds(1)))
        else { return }
        var last = error
        if !last.detail.contains("budget") {
            last.detail +=
                "; no time left in the cycle's budget of \(budget.total.text) for attempt \(attempt + 1) of \(attempts)"
        }
        throw last
    }

    private func sendOnce(
        _ method: HTTPMethod,
        path: String,
        body: Data?,
        contentType: String,
        request: KubernetesError.Request,
        lane: Lane
    ) async throws -> Data {
        // Within a cycle, an attempt gets at most what is left of the cycle's budget.
        let attemptTimeout = RequestBudget.attemptTimeout(configuration.requestTimeout)
        if attemptTimeout <= .zero, let budget = RequestBudget.current {
            var failure = KubernetesError(
                code: .unavailable,
                request: request,
                detail: "not sent: the cycle's budget of \(budget.total.text) is spent"
            )
            failure.timedOut = true
            throw failure
        }
        let http = try await makeRequest(method, path: path, body: body, contentType: contentType, request: request)
        let timeout = TimeAmount(attemptTimeout)
        let response: HTTPClientResponse
        let bytes: ByteBuffer
        do {
            response = try await client(lane).execute(http, timeout: timeout, logger: nil)
            bytes = try await response.body.collect(upTo: 32 << 20)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError where error == .cancelled {
            throw CancellationError()
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            let cut =
                attemptTimeout < configuration.requestTimeout
                ? RequestBudget.current.map { ", what was left of the cycle's budget of \($0.total.text)" } : nil
            var failure = KubernetesError(
                code: .unavailable,
                request: request,
                detail: "the API server did not answer within \(attemptTimeout.text)\(cut ?? "")"
            )
            failure.timedOut = true
            throw failure
        } catch {
            throw transportFailure(error, request: request)
        }
        let data = Data(bytes.readableBytesView)
        let code = Int(response.status.code)
        if (200..<300).contains(code) { return data }
        throw failure(response, body: data, request: request)
    }

    /// What a request that got no answer failed on: an untrusted certificate, no connection, or the transport.
    func transportFailure(_ error: any Error, request: KubernetesError.Request) -> KubernetesError {
        if let untrusted = untrustedServer(error, request: request) { return untrusted }
        if let reason = Self.connectionFailure(error, connectTimeout: configuration.connectTimeout) {
            var failure = KubernetesError(
                code: .unavailable,
                request: request,
                detail:
                    "cannot connect to \(configuration.server), the server named by \(configuration.origin): \(reason); check that the cluster runs and that this is its API server"
            )
            failure.connectionFailed = true
            return failure
        }
        return KubernetesError(
            code: .unavailable,
            request: request,
            detail: "transport error: \(TransportFailureText.describe(error))"
        )
    }

    /// A request with the agent's headers and credentials.
    func makeRequest(
        _ method: HTTPMethod,
        path: String,
        body: Data?,
        contentType: String = "application/json",
        request: KubernetesError.Request
    ) async throws -> HTTPClientRequest {
        var http = HTTPClientRequest(url: baseURL + path)
        http.method = method
        http.headers.add(name: "Accept", value: "application/json")
        http.headers.add(name: "User-Agent", value: "emqx-autorebalancer")
        if let body {
            http.headers.add(name: "Content-Type", value: contentType)
            http.body = .bytes(ByteBuffer(bytes: body))
        }
        if let provider = configuration.tokenProvider {
            let token: String
            do {
                token = try await provider.token()
            } catch let error as KubernetesError {
                throw KubernetesError(code: error.code, request: request, detail: error.detail)
            }
            http.headers.add(name: "Authorization", value: "Bearer \(token)")
        }
        return http
    }

    /// The classified error of a non-2xx answer.
    func failure(_ response: HTTPClientResponse, body data: Data, request: KubernetesError.Request) -> KubernetesError {
        let code = Int(response.status.code)
        let status = (try? JSONDecoder().decode(KubernetesStatus.self, from: data)).flatMap {
            $0.kind == "Status" ? $0 : nil
        }
        // Every Kubernetes API server error is a Status object; old servers answer an unknown path with Go's plain
        // "404 page not found". Anything else (an HTML 404 of a web server) must not read as "object missing".
        let goNotFound =
            code == 404
            && String(decoding: data.prefix(64), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                == "404 page not found"
        if status == nil, !goNotFound, code != 429, !(500...599).contains(code) {
            return notKubernetes(request: request, statusCode: code, body: data)
        }
        let retryAfter = response.headers.first(name: "Retry-After").flatMap(Double.init)
        let detail = status?.message ?? String(decoding: data.prefix(300), as: UTF8.self)
        return KubernetesError(
            code: KubernetesError.classify(statusCode: code, status: status),
            request: request,
            statusCode: code,
            detail: detail.isEmpty ? response.status.reasonPhrase : detail,
            retryAfterSeconds: retryAfter
        )
    }
}
