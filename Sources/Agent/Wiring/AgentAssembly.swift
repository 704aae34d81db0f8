import Act
import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Kubernetes
import Logging
import Observe
import Report
import ServiceLifecycle

/// The agent put together: every part `run` (and the demo) starts, built from one configuration. Clock and calendar
/// are injected so the demo can run the very same agent on simulated time.
public final class AgentAssembly<C: Clock>: Sendable where C.Duration == Duration {
    public struct Options: Sendable {
        /// Never write (also `dryRun:` in the file).
        public var dryRun: Bool
        /// One cycle without writes and without the Lease (`run --once`).
        public var once: Bool
        /// Host name for the leader identity.
        public var hostname: String
        /// The process environment, as a value (secrets named by `...Env` keys).
        public var environment: [String: String]
        /// How often the config and policy files are checked for changes.
        public var reloadInterval: Duration

        public init(
            dryRun: Bool = false,
            once: Bool = false,
            hostname: String,
            environment: [String: String],
            reloadInterval: Duration = .seconds(5)
        ) {
            self.dryRun = dryRun
            self.once = once
            self.hostname = hostname
            self.environment = environment
            self.reloadInterval = reloadInterval
        }
    }

    public let store: ConfigurationStore
    public let kubernetes: any KubernetesAPI
    /// The in-memory copies the loop reads (`nil` when the client cannot watch); runs as a service of `run`.
    public let cache: KubernetesCache?
    /// What the API server serves in apps.emqx.io, shared by the loop, the status source and the start-up check.
    public let discovery: OperatorDiscovery
    /// Each cluster's EMQX API client, from its `emqxAPI:` (or `emqx:`) settings.
    public let emqxAPI: EMQXAPIFactory
    public let httpClient: HTTPClient
    public let metrics: AgentMetrics
    public let health: AgentHealth
    public let elector: LeaderElector<C>?
    /// With `leaderElection.shards` above 1: the per-shard Leases (and `elector` is `nil`).
    public let shardElector: ShardElector<C>?
    public let actuators: ActuatorChoice
    public let loop: EvaluationLoop<C>
    public let alertmanager: AlertmanagerNotifier?
    public let webhooks: [WebhookNotifier]
    /// Why this process never writes whatever the configuration says (`--dry-run`, `--once`, or started in dry run
    /// with leader election on); `nil` when `dryRun:` in the configuration decides, cycle by cycle.
    public let dryRunLock: String?
    /// The gate every writer checks before a write (Rebalances, records, Events).
    let canWrite: @Sendable () -> Bool
    let logger: Logger

    /// - Parameters:
    ///   - extraSinks: more consumers of cycle reports, after the agent's own (the demo's display; `run` returns the
    ///     memory a cycle freed).
    ///   - sourceOverride: builds the metric sources instead of the configuration (the demo points the scrape at the
    ///     simulated nodes' loopback addresses).
    public init(
        configuration: AgentConfiguration,
        policies: [Policy],
        kubernetes: any KubernetesAPI,
        kubernetesNamespace: String?,
        httpClient: HTTPClient,
        options: Options,
        clock: C,
        now: @escaping @Sendable () -> Date,
        logger: Logger,
        extraSinks: [any TickReportSink] = [],
        sourceOverride: (@Sendable (ClusterSettings, ClusterReference) -> [any MetricSource])? = nil
    ) {
        self.store = ConfigurationStore(ActiveConfiguration(configuration: configuration, policies: policies))
        // The loop and the actuators read through the cache; Leases and Events go to the API server directly.
        let cache = (kubernetes as? any KubernetesWatching).map {
            KubernetesCache(client: $0, clock: clock, logger: logger)
        }
        self.cache = cache
        let reads: any KubernetesAPI = cache.map { CachedKubernetesAPI(live: kubernetes, cache: $0) } ?? kubernetes
        self.kubernetes = kubernetes
        let discovery = OperatorDiscovery(api: reads)
        self.discovery = discovery
        // The records are read from the watch cache where there is one (it asks the live client for what it lacks).
        let records = kubernetes is any EMQXRebalanceStore ? reads as? any EMQXRebalanceStore : nil
        let emqxAPI = EMQXAPIFactory(
            httpClient: httpClient,
            environment: options.environment,
            keys: kubernetes as? any EMQXAPIKeyReader
        )
        self.emqxAPI = emqxAPI
        self.httpClient = httpClient
        self.logger = logger
        let interval = ActiveConfiguration(configuration: configuration, policies: policies).evaluationInterval
        let metrics = AgentMetrics(version: AgentVersion.current)
        self.metrics = metrics
        health = AgentHealth(maximumHeartbeatAge: .seconds(max(60, 4 * interval)), now: now)
        health.setConfigLoaded(true)

        // The command line's dry run is final. `dryRun:` in the file is read every cycle, so a reload brakes at once;
        // a replica started in dry run with leader election on never joined the election, so it stays dry until
        // restarted rather than write without the Lease.
        let settings = configuration.leaderElection
        if options.once {
            dryRunLock = "run --once never writes"
        } else if options.dryRun {
            dryRunLock = "started with --dry-run"
        } else if configuration.dryRun, settings.enabled {
            dryRunLock = "started in dry run with leader election on: restart to take part in the election and write"
        } else {
            dryRunLock = nil
        }
        let identity = LeaderElectionConfiguration.defaultIdentity(hostname: options.hostname)
        let leaseNamespace = settings.leaseNamespace ?? kubernetesNamespace ?? "default"
        if settings.enabled, dryRunLock == nil, settings.shards > 1, let lister = kubernetes as? any LeaseLister {
            shardElector = ShardElector(
                api: kubernetes,
                lister: lister,
                configuration: ShardElectionConfiguration(
                    namespace: leaseNamespace,
                    name: settings.leaseName,
                    shards: settings.shards,
                    identity: identity,
                    leaseDuration: .seconds(settings.leaseDuration),
                    renewDeadline: .seconds(settings.renewDeadline),
                    retryPeriod: .seconds(settings.retryPeriod)
                ),
                clock: clock,
                now: now,
                logger: logger
            )
        } else {
            shardElector = nil
        }
        if settings.enabled, dryRunLock == nil, shardElector == nil {
            elector = LeaderElector(
                api: kubernetes,
                configuration: LeaderElectionConfiguration(
                    namespace: leaseNamespace,
                    name: settings.leaseName,
                    identity: identity,
                    leaseDuration: .seconds(settings.leaseDuration),
                    renewDeadline: .seconds(settings.renewDeadline),
                    retryPeriod: .seconds(settings.retryPeriod)
                ),
                clock: clock,
                now: now,
                logger: logger
            )
        } else {
            elector = nil
        }
        let elector = self.elector
        let shardElector = self.shardElector
        let ownership: (any WriteOwnership)? = shardElector ?? elector
        // With leader election off (one replica, e.g. the sidecar) this replica is the writer. With shards, a write
        // is for the cluster the loop is working on (`WriteScope`), and allowed while its shard is held.
        let canWrite: @Sendable () -> Bool = {
            if let shardElector { return WriteScope.cluster.map(shardElector.owns) ?? false }
            return elector?.isLeader ?? true
        }
        self.canWrite = canWrite

        let lifecycle = RebalanceLifecycle(
            configuration: .init(
                settleTime: .seconds(configuration.rebalances.settleTime),
                stuckAfter: .seconds(configuration.rebalances.stuckAfter),
                keepFinished: configuration.rebalances.keepFinished
            )
        )
        let events = EventRecorder(
            api: kubernetes,
            canWrite: canWrite,
            instance: LeaderElectionConfiguration.defaultIdentity(hostname: options.hostname),
            logger: logger
        )
        let recordLifecycle = EMQXRebalanceLifecycle(
            configuration: .init(
                cycle: .seconds(interval),
                settleTime: .seconds(configuration.rebalances.settleTime),
                stuckAfter: .seconds(configuration.rebalances.stuckAfter),
                keepFinished: configuration.rebalances.keepFinished
            )
        )
        let dryRun = DryRunActuator(lifecycle: lifecycle, recordLifecycle: recordLifecycle, logger: logger)
        let store = self.store
        let probe = EMQXAPIStatusProbe { reference in
            store.current.configuration.clusters.first { $0.covers(reference) }.flatMap {
                emqxAPI.access($0, reference).client
            }
        }
        actuators = ActuatorChoice(
            rebalanceResource: dryRunLock != nil
                ? dryRun
                : KubernetesActuator(
                    api: reads,
                    lifecycle: lifecycle,
                    events: events,
                    probe: probe,
                    canWrite: canWrite,
                    logger: logger
                ),
            emqxAPI: dryRunLock != nil || records == nil
                ? dryRun
                : records.map {
                    EMQXAPIActuator(
                        store: $0,
                        lifecycle: recordLifecycle,
                        events: events,
                        canWrite: canWrite,
                        logger: logger
                    )
                },
            dryRun: dryRun
        )

        let notifiers = configuration.notifiers
        let alertmanager: AlertmanagerNotifier?
        if notifiers.alertmanagerURLs.isEmpty {
            alertmanager = nil
        } else {
            let header: String?
            do {
                header = try notifiers.alertmanagerHTTP.authorization(environment: options.environment).headerValue
            } catch {
                // Sent without credentials, Alertmanager will refuse the alerts; say why once, at start-up.
                logger.error(
                    "Alertmanager credentials cannot be read; alerts are sent without them",
                    metadata: ["error": "\(error)"]
                )
                header = nil
            }
            let targets = notifiers.alertmanagerURLs.enumerated().map { index, url in
                AlertmanagerTarget(name: "alertmanager-\(index)", url: url, authorizationHeader: header)
            }
            alertmanager = AlertmanagerNotifier(
                client: AlertmanagerClient(
                    targets: targets,
                    httpClient: httpClient,
                    timeout: .seconds(notifiers.alertmanagerHTTP.timeout),
                    metrics: metrics
                ),
                keeper: .init(
                    resendInterval: .seconds(notifiers.resendInterval),
                    evaluationInterval: .seconds(interval)
                ),
                logger: logger
            )
        }
        self.alertmanager = alertmanager
        let webhooks = notifiers.webhooks.enumerated().map { index, hook in
            let name = "webhook-\(index)"
            func secret(_ reference: SecretReference?, _ what: String) -> String? {
                do {
                    return try reference?.resolve(environment: options.environment)
                } catch {
                    logger.error(
                        "webhook \(what) cannot be read; messages are sent without it",
                        metadata: ["webhook": "\(name)", "error": "\(error)"]
                    )
                    return nil
                }
            }
            return WebhookNotifier(
                configuration: .init(
                    name: name,
                    url: hook.url,
                    bearerToken: secret(hook.bearerToken, "bearer token"),
                    signingSecret: secret(hook.hmacSecret, "HMAC secret"),
                    timeout: .seconds(hook.timeout)
                ),
                httpClient: httpClient,
                metrics: metrics,
                logger: logger,
                clock: clock
            )
        }
        self.webhooks = webhooks

        let factory = MetricSourceFactory(
            httpClient: httpClient,
            discovery: discovery,
            environment: options.environment,
            now: now
        )
        let sinks: [any TickReportSink] =
            [
                TickLogger(logger: logger),
                // Without an elector: the only replica leads when leader election is off; a replica locked in dry run
                // with leader election on takes no part in the election.
                MetricsSink(
                    metrics: metrics,
                    health: self.health,
                    isLeader: { shardElector?.isLeader ?? elector?.isLeader ?? !settings.enabled },
                    ownership: ownership ?? (settings.enabled ? nil : SoleWriter())
                ),
                AlertSink(
                    configuration: .init(
                        stuckAfter: .seconds(configuration.rebalances.stuckAfter),
                        generatorURL: notifiers.externalURL
                    ),
                    alertmanager: alertmanager,
                    webhooks: webhooks
                ),
            ] + extraSinks
        // Prometheus sources ask once per cycle for every cluster sharing them (not with the demo's own sources).
        let cycleWillStart: @Sendable ([(ClusterReference, ClusterSettings)]) -> Void
        if sourceOverride == nil {
            cycleWillStart = { work in factory.cycleWillStart(work) }
        } else {
            cycleWillStart = { _ in }
        }
        // With shards, a replica observes only the clusters of the shards it holds.
        let observes: @Sendable (ClusterReference) -> Bool = { cluster in shardElector?.owns(cluster) ?? true }
        loop = EvaluationLoop(
            store: store,
            dependencies: .init(
                discovery: discovery,
                actuators: actuators,
                makeSources: sourceOverride ?? factory.sources(for:cluster:),
                emqxAPI: emqxAPI.access,
                records: records,
                events: dryRunLock == nil ? events : nil,
                dryRunLock: dryRunLock,
                cycleWillStart: cycleWillStart,
                observes: observes
            ),
            sinks: sinks,
            clock: clock,
            now: now,
            logger: logger
        )
    }

    /// Whether `cluster` can be acted on through EMQX's API, as its configuration entry says (for the start-up check).
    public func directActing(_ cluster: ClusterReference) -> DirectActing {
        guard let settings = store.current.configuration.clusters.first(where: { $0.covers(cluster) }) else {
            return .notBuilt
        }
        return loop.dependencies.emqxAPIAccess(settings, cluster).directActing
    }

    /// Releases whatever Lease this replica holds (after the services stopped).
    public func releaseLeases() async {
        await elector?.release()
        await shardElector?.release()
    }

    /// The long-running services of `run`: admin server, leader election, the loop, hot reload and notifiers.
    public func services(
        listen: ListenAddress,
        configPath: String?,
        reloadClock: C,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> [ServiceGroupConfiguration.ServiceConfiguration] {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(
                service: AdminServer(
                    host: listen.host,
                    port: listen.port,
                    metrics: metrics,
                    health: health,
                    logger: logger,
                    onListening: onListening
                )
            )
        ]
        if let elector {
            // Losing the Lease ends the process (Kubernetes restarts it as a follower): no writer keeps running unsure.
            services.append(
                .init(
                    service: elector,
                    successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup
                )
            )
        }
        if let shardElector {
            services.append(
                .init(
                    service: shardElector,
                    successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup
                )
            )
        }
        if let cache { services.append(.init(service: cache)) }
        services.append(.init(service: loop))
        if let configPath {
            let metrics = self.metrics
            let health = self.health
            services.append(
                .init(
                    service: ConfigurationReloader(
                        configPath: configPath,
                        store: store,
                        clock: reloadClock,
                        logger: logger,
                        dryRunLock: dryRunLock,
                        onReload: { ok, _ in
                            metrics.recordConfigReload(succeeded: ok)
                            if ok { health.setConfigLoaded(true) }
                        }
                    )
                )
            )
        }
        if let alertmanager { services.append(.init(service: alertmanager)) }
        for webhook in webhooks { services.append(.init(service: webhook)) }
        return services
    }
}
