import Agent
import ArgumentParser
import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Kubernetes
import ServiceLifecycle

/// `run --config FILE`: the agent.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the agent: watch the configured EMQX clusters and create Rebalances when policy rules fire.",
        discussion: """
            In a pod the agent uses its service account; elsewhere --kubeconfig, else KUBECONFIG, else ~/.kube/config. \
            Exit codes: 0 stopped cleanly; 1 a source failed (--once) or the agent stopped on an error (e.g. the \
            Lease was lost); 2 the configuration or the kubeconfig is invalid (nothing was started). See \
            docs/configuration.md.

            Examples:
              emqx-autorebalancer run --config agent.yaml --once --context staging
              emqx-autorebalancer run --config agent.yaml --kubeconfig ./kubeconfig \\
                --log-format json --log-level debug
            """
    )

    @Option(help: ArgumentHelp("The agent configuration file (kind: AgentConfig).", valueName: "file"))
    var config: String

    @Option(help: ArgumentHelp("A kubeconfig file instead of the in-cluster service account.", valueName: "file"))
    var kubeconfig: String?

    @Option(help: ArgumentHelp("The kubeconfig context (default: its current-context).", valueName: "name"))
    var context: String?

    @Flag(help: "Never write to Kubernetes: log and export what would be done.")
    var dryRun = false

    @Flag(help: "Run one evaluation cycle without writing and without the Lease, print every rule's evaluation, exit.")
    var once = false

    @OptionGroup var logging: LoggingOptions

    /// The client for metric sources and notifiers. A refused connection fails at once, so a down node is reported
    /// missing instead of using up its whole timeout. (Closing idle connections between cycles was measured and did
    /// not lower memory, while it raised CPU per cycle: docs/benchmarks.md.)
    static var metricsClientConfiguration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    func run() async throws {
        ProcessMemory.tuneAllocator()
        let logger = logging.makeLogger()
        let loaded = ConfigurationFiles.load(configPath: config)
        for diagnostic in loaded.diagnostics.sortedByLocation() {
            FileHandle.standardError.write(Data("\(SafeText.forLog(diagnostic.description))\n".utf8))
        }
        guard loaded.isValid, let configuration = loaded.configuration else {
            FileHandle.standardError.write(Data("the configuration is invalid; nothing was started\n".utf8))
            throw ExitCode(2)
        }
        let environment = ProcessInfo.processInfo.environment
        let kubernetesConfiguration: KubernetesClientConfiguration
        do {
            kubernetesConfiguration = try KubernetesClientConfiguration.load(
                kubeconfigPath: kubeconfig,
                context: context,
                environment: environment
            )
        } catch {
            // A KubernetesError says "Kubernetes client configuration: …" itself.
            FileHandle.standardError.write(
                Data(
                    "\(error is KubernetesError ? "" : "cannot configure the Kubernetes client: ")\(SafeText.forLog("\(error)"))\n"
                        .utf8
                )
            )
            throw ExitCode(2)
        }
        for warning in kubernetesConfiguration.warnings { logger.warning("\(warning)") }
        let api = try HTTPKubernetesClient(configuration: kubernetesConfiguration, logger: logger)
        // A certificate the configured CA does not sign will not start to verify on a retry: stop now, saying which
        // CA file was used, rather than log "API server unavailable" every cycle.
        if let untrusted = await api.untrustedServerError() {
            FileHandle.standardError.write(
                Data(
                    "cannot use the Kubernetes API at \(kubernetesConfiguration.server): \(SafeText.forLog(untrusted.description))\n"
                        .utf8
                )
            )
            try? await api.shutdown()
            throw ExitCode(2)
        }
        let httpClient = HTTPClient(eventLoopGroupProvider: .singleton, configuration: Self.metricsClientConfiguration)
        let assembly = AgentAssembly(
            configuration: configuration,
            policies: loaded.policies,
            kubernetes: api,
            kubernetesNamespace: kubernetesConfiguration.namespace,
            httpClient: httpClient,
            options: .init(
                dryRun: dryRun,
                once: once,
                hostname: ProcessInfo.processInfo.hostName,
                environment: environment
            ),
            clock: ContinuousClock(),
            now: { Date() },
            logger: logger,
            extraSinks: [FreedMemoryReturn()]
        )
        var exitCode: Int32 = 0
        do {
            if once {
                let report = await assembly.loop.tick(at: Date())
                // Line by line: what sources answered is outside text, made safe like a log line.
                print(
                    OnceReport.render(report).split(separator: "\n", omittingEmptySubsequences: false).map {
                        SafeText.forLog(String($0))
                    }.joined(separator: "\n")
                )
                let failed =
                    report.clusters.contains {
                        !$0.sources.isEmpty && $0.sources.contains { $0.error != nil } && !$0.observed
                    }
                    || report.clusters.contains { !$0.errors.isEmpty } || !report.errors.isEmpty
                exitCode = failed ? 1 : 0
            } else {
                logger.info(
                    "starting",
                    metadata: [
                        "version": "\(AgentVersion.current)", "kubernetes": "\(kubernetesConfiguration.origin)",
                        "clusters": "\(configuration.clusters.count)",
                        "policies": "\(loaded.policies.map(\.identifier).joined(separator: ","))",
                        "dry_run": "\(assembly.dryRunLock != nil || configuration.dryRun)",
                        "listen": "\(configuration.listen)",
                    ]
                )
                // Entries without an EMQX object (`emqx:`) have nothing for the operator check to read.
                let named = configuration.clusters.compactMap { cluster -> ClusterReference? in
                    if case .named(let reference) = cluster.target, cluster.hasObject { return reference }
                    return nil
                }
                let settings = Dictionary(
                    configuration.clusters.map { ($0.target, $0.actuator) },
                    uniquingKeysWith: { first, _ in first }
                )
                // Each cluster's line (generation, EMQX versions, source, how it acts) is logged by the loop's first cycle.
                let check = CompatibilityCheck(
                    discovery: assembly.discovery,
                    direct: assembly.directActing,
                    actuator: { settings[.named($0)] ?? .auto }
                )
                for finding in await check.run(clusters: named).findings {
                    logger.warning("compatibility: \(finding)")
                }
                let group = ServiceGroup(
                    configuration: .init(
                        services: assembly.services(
                            listen: configuration.listen,
                            configPath: config,
                            reloadClock: ContinuousClock()
                        ),
                        gracefulShutdownSignals: [.sigterm, .sigint],
                        logger: logger
                    )
                )
                do {
                    try await group.run()
                } catch {
                    logger.error("the agent stopped: \(StopReason.describe(error, listen: "\(configuration.listen)"))")
                    logger.debug("the agent stopped", metadata: ["error": "\(error)"])
                    exitCode = 1
                }
                await assembly.releaseLeases()
            }
        }
        try? await httpClient.shutdown()
        try? await api.shutdown()
        if exitCode != 0 { throw ExitCode(exitCode) }
    }
}
