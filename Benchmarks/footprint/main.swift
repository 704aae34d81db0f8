// Footprint of the agent's release build watching many EMQX clusters, beside a minimal probe built from the same
// libraries (footprint-probe). Starts on loopback the simulated Kubernetes API (with watches), the EMQX objects and,
// by --source, a fake Prometheus, one fake EMQX API per cluster, or simulated EMQX nodes; runs one or more
// `emqx-autorebalancer run` replicas and `footprint-probe` as child processes, and reads their resident memory
// (/proc/PID/status VmRSS), CPU time (/proc/PID/stat utime+stime) and the requests the API server answered.
//
// Usage (from the package root, after `swift build -c release --scratch-path .build-release`): see Options.usage.
import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Simulation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
for binary in [options.agent, options.probe] where !FileManager.default.isExecutableFile(atPath: binary) {
    FileHandle.standardError.write(
        Data(
            "\(binary) not found: run `swift build -c release --scratch-path .build-release` first (from the package root)\n"
                .utf8
        )
    )
    exit(2)
}
let openFiles = raiseOpenFileLimit()
func say(_ text: String) {
    // With --format json only the JSON object goes to standard output.
    if options.json { FileHandle.standardError.write(Data((text + "\n").utf8)) } else { print(text) }
}

let work: URL
if let keep = options.keep {
    work = URL(fileURLWithPath: keep)
} else {
    work = FileManager.default.temporaryDirectory.appendingPathComponent(
        "emqx-autorebalancer-footprint-\(UUID().uuidString)"
    )
}
try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
defer { if options.keep == nil { try? FileManager.default.removeItem(at: work) } }

// MARK: The simulated world

let quiet = Logger(label: "footprint", factory: { _ in SwiftLogNoOpLogHandler() })
let api = SimulatedKubernetesAPI(configuration: .init(now: { Date() }), logger: quiet)
var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: api)]
var clusterSources: [String] = []  // one `sources:` value per cluster, in fleet order
let fleet = Fleet(clusters: options.clusters, nodes: options.nodes)
let apiKey = "footprint-key"
let apiSecret = "footprint-secret-\(UInt32.random(in: 0...UInt32.max))"
var scrapeClusters: [SimulatedEMQXCluster] = []

/// Ports a list of servers bound, in order, as they come up.
final class BoundPorts: Sendable {
    private let ports = Mutex<[Int: Int]>([:])
    func set(_ index: Int, _ port: Int) { ports.withLock { $0[index] = port } }
    func get(_ index: Int) -> Int? { ports.withLock { $0[index] } }
}
let bound = BoundPorts()
func server(_ router: Router<BasicRequestContext>, index: Int) -> Application<RouterResponder<BasicRequestContext>> {
    Application(
        router: router,
        configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: nil),
        onServerRunning: { channel in bound.set(index, channel.localAddress?.port ?? 0) },
        logger: quiet
    )
}

switch options.source {
case .prometheus, .nodes:
    for cluster in fleet.clusters {
        try api.putObject(.emqxes, namespace: cluster.namespace, Fleet.emqxObject(cluster, refreshedAt: Date()))
    }
    if options.source == .prometheus {
        services.append(.init(service: server(FakePrometheus(fleet: fleet).router(), index: 0)))
    } else {
        let authorization = "Basic " + Data("\(apiKey):\(apiSecret)".utf8).base64EncodedString()
        for (index, cluster) in fleet.clusters.enumerated() {
            services.append(
                .init(
                    service: server(FakeNodesAPI(cluster: cluster, authorization: authorization).router(), index: index)
                )
            )
        }
    }
case .scrape:
    for index in 0..<options.clusters {
        let cluster = SimulatedEMQXCluster(
            configuration: SimulatedEMQXConfiguration(
                name: "emqx-\(index)",
                namespace: "default",
                kind: .emqx,
                nodes: Array(
                    repeating: SimulatedNodeSpec(liveConnections: Fleet.connectionsPerNode),
                    count: options.nodes
                ),
                seed: UInt64(index + 1)
            ),
            logger: quiet
        )
        let credentials = cluster.configuration.credentials
        api.addEMQX(
            EMQXBinding(
                kind: .emqx,
                namespace: "default",
                name: "emqx-\(index)",
                endpoints: [],
                username: credentials.key,
                password: credentials.secret
            )
        )
        api.setEMQXEndpointProvider(namespace: "default", name: "emqx-\(index)") { cluster.endpoints }
        scrapeClusters.append(cluster)
        services.append(.init(service: cluster))
    }
    services.append(.init(service: SimulatedEMQXOperator(api: api, clock: ContinuousClock(), logger: quiet)))
}
let world = ServiceGroup(configuration: .init(services: services, logger: quiet))
let worldTask = Task { try await world.run() }
_ = try await api.port()
for cluster in scrapeClusters { try await cluster.waitUntilServing(timeout: .seconds(120)) }
let serverCount = options.source == .prometheus ? 1 : options.source == .nodes ? options.clusters : 0
let bindDeadline = Date().addingTimeInterval(120)
while (0..<serverCount).contains(where: { bound.get($0) == nil }), Date() < bindDeadline {
    try await Task.sleep(for: .milliseconds(50))
}
guard !(0..<serverCount).contains(where: { bound.get($0) == nil }) else {
    throw BenchmarkError("the fake servers did not start within 120 s")
}

// The light modes have no operator: rewrite each object's status every 30 s, as its reconcile does, so the agent's
// watches carry the traffic a real fleet makes.
let refresher: Task<Void, Never>? =
    options.source == .scrape
    ? nil
    : Task {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(30))
            for cluster in fleet.clusters {
                if let object = try? Fleet.emqxObject(cluster, refreshedAt: Date()) {
                    api.putObject(.emqxes, namespace: cluster.namespace, object)
                }
            }
        }
    }

// MARK: The agents' files

let kubeconfig = work.appendingPathComponent("kubeconfig")
try await api.writeKubeconfig(to: kubeconfig.path)
var policyPath = URL(fileURLWithPath: options.policy).standardizedFileURL.path
var interval = 15
if let chosen = options.interval {
    var text = try String(contentsOfFile: policyPath, encoding: .utf8)
    text = text.replacingOccurrences(of: "evaluationInterval: 15s", with: "evaluationInterval: \(chosen)s")
    let copy = work.appendingPathComponent("policy.yaml")
    try text.write(to: copy, atomically: true, encoding: .utf8)
    policyPath = copy.path
    interval = chosen
}
for (index, cluster) in fleet.clusters.enumerated() {
    switch options.source {
    case .prometheus:
        clusterSources.append("[{prometheus: {url: \"http://127.0.0.1:\(bound.get(0)!)\"}}]")
    case .nodes:
        _ = cluster
        clusterSources.append(
            "[{emqx: {mode: nodes, url: \"http://127.0.0.1:\(bound.get(index)!)\", username: \(apiKey), passwordEnv: FOOTPRINT_EMQX_SECRET}}]"
        )
    case .scrape:
        let targets = scrapeClusters[index].endpoints.sorted { $0.key < $1.key }.map {
            "\"\($0.key)\": \"\($0.value.absoluteString)\""
        }
        clusterSources.append("[{emqx: {targets: {\(targets.joined(separator: ", "))}}}]")
    }
}

struct Replica {
    var child: Child
    var port: Int
}
var replicas: [Replica] = []
for index in 0..<options.replicas {
    let port = try freePort()
    var config = """
        apiVersion: autorebalancer.emqx.io/v1alpha1
        kind: AgentConfig
        listen: 127.0.0.1:\(port)
        policies: ["\(policyPath)"]

        """
    if options.shardCount > 1 { config += "leaderElection: {shards: \(options.shardCount)}\n" }
    config += "clusters:\n"
    for (cluster, sources) in zip(fleet.clusters, clusterSources) {
        config += "  - {namespace: \(cluster.namespace), name: \(cluster.name), kind: EMQX, sources: \(sources)}\n"
    }
    let file = work.appendingPathComponent("agent-\(index).yaml")
    try config.write(to: file, atomically: true, encoding: .utf8)
    let child = try Child(
        name: "agent-\(index)",
        options.agent,
        ["run", "--config", file.path, "--kubeconfig", kubeconfig.path, "--log-level", "warning"],
        log: work.appendingPathComponent("agent-\(index).log"),
        environment: ["FOOTPRINT_EMQX_SECRET": apiSecret]
    )
    replicas.append(Replica(child: child, port: port))
}
let probePort = try freePort()
let probe = try Child(name: "probe", options.probe, ["\(probePort)"], log: work.appendingPathComponent("probe.log"))

// MARK: Warm-up and measurement

/// How many clusters (and node series) the replicas observe together right now.
func observed(ports: [Int]) async -> (clusters: Int, nodes: Int, perReplica: [Int]) {
    var clusters = 0
    var nodes = 0
    var perReplica: [Int] = []
    for port in ports {
        guard let metrics = try? await get("http://127.0.0.1:\(port)/metrics") else {
            perReplica.append(0)
            continue
        }
        var up = 0
        for line in metrics.split(separator: "\n") {
            if line.hasPrefix("emqx_autorebalancer_source_up{"),
                line.split(separator: " ").last.flatMap({ Double($0) }) == 1
            {
                up += 1
            }
            if line.hasPrefix("emqx_autorebalancer_node_connections{") { nodes += 1 }
        }
        clusters += up
        perReplica.append(up)
    }
    return (clusters, nodes, perReplica)
}

var failure: (any Error)?
var report: [String: Any] = [:]
do {
    say(
        "footprint: \(options.clusters) clusters × \(options.nodes) nodes, source \(options.source.rawValue), \(options.replicas) replica(s), \(options.shardCount) shard(s); agent pids \(replicas.map { "\($0.child.pid)" }.joined(separator: ",")), probe pid \(probe.pid); open-file limit \(openFiles); load average \(loadAverage())"
    )
    let started = Date()
    var seen = (clusters: 0, nodes: 0, perReplica: [Int]())
    while true {
        try await Task.sleep(for: .seconds(5))
        if let dead = replicas.first(where: { !$0.child.isRunning }) {
            throw BenchmarkError("\(dead.child.name) exited during the warm-up; its log: \(dead.child.log.path)")
        }
        seen = await observed(ports: replicas.map(\.port))
        let elapsed = Date().timeIntervalSince(started)
        if elapsed >= Double(options.warmup), seen.clusters == options.clusters,
            seen.nodes == options.clusters * options.nodes
        {
            break
        }
        if elapsed >= Double(options.warmupLimit) {
            throw BenchmarkError(
                "after \(options.warmupLimit) s the replicas observe \(seen.clusters) of \(options.clusters) clusters and \(seen.nodes) node series; logs in \(work.path) (use --keep DIR)"
            )
        }
    }
    _ = try await get("http://127.0.0.1:\(probePort)/metrics")
    say(
        "warm after \(Int(Date().timeIntervalSince(started))) s: \(seen.clusters) of \(options.clusters) clusters observed (per replica \(seen.perReplica)), \(seen.nodes) node series"
    )

    let loadBefore = loadAverage()
    let agentStart = try replicas.map { try Usage.read(pid: $0.child.pid) }
    let probeStart = try Usage.read(pid: probe.pid)
    let requestsStart = api.requestCounts
    let poolTimeoutsStart = replicas.map { $0.child.logLines(containing: "getConnectionFromPoolTimeout") }
    let skippedStart = replicas.map {
        $0.child.logLines(containing: "did not finish within") + $0.child.logLines(containing: "cycle slot(s) skipped")
    }
    var agentRSS = Array(repeating: [Int](), count: replicas.count)
    var probeRSS: [Int] = []
    for _ in 0..<options.measure {
        try await Task.sleep(for: .seconds(1))
        for (index, replica) in replicas.enumerated() {
            agentRSS[index].append(try Usage.read(pid: replica.child.pid).rssKiB)
        }
        probeRSS.append(try Usage.read(pid: probe.pid).rssKiB)
    }
    let agentEnd = try replicas.map { try Usage.read(pid: $0.child.pid) }
    let probeEnd = try Usage.read(pid: probe.pid)
    let requestsEnd = api.requestCounts
    let loadAfter = loadAverage()
    let lastSeen = await observed(ports: replicas.map(\.port))
    let sockets = replicas.map { openSockets(pid: $0.child.pid) }

    let cycles = Double(options.measure) / Double(interval)
    let cpuPerCycle = zip(agentStart, agentEnd).map {
        Double($1.cpuTicks - $0.cpuTicks) / Usage.ticksPerSecond / cycles * 1000
    }
    let probeCPU = Double(probeEnd.cpuTicks - probeStart.cpuTicks) / Usage.ticksPerSecond
    let rssMedians = agentRSS.map { mib(median($0)) }
    let probeMedian = mib(median(probeRSS))
    var requests: [String: Int] = [:]
    for (key, count) in requestsEnd {
        let delta = count - (requestsStart[key] ?? 0)
        if delta > 0 { requests[key.description] = delta }
    }
    let requestsPerMinute = Double(requests.values.reduce(0, +)) / (Double(options.measure) / 60)
    let poolTimeouts = zip(poolTimeoutsStart, replicas).map { start, replica in
        replica.child.logLines(containing: "getConnectionFromPoolTimeout") - start
    }.reduce(0, +)
    let skipped = zip(skippedStart, replicas).map { start, replica in
        replica.child.logLines(containing: "did not finish within")
            + replica.child.logLines(containing: "cycle slot(s) skipped") - start
    }.reduce(0, +)

    let worstRSS = rssMedians.max() ?? 0
    let worstCPU = cpuPerCycle.max() ?? 0
    say(
        """

        | | agent (`run`, \(options.clusters) × \(options.nodes) nodes, \(options.source.rawValue)\(options.replicas > 1 ? ", busiest of \(options.replicas) replicas" : "")) | probe (minimal server) | agent − probe | agent / probe |
        |---|---|---|---|---|
        | RSS median over \(options.measure) s (MiB) | \(String(format: "%.1f", worstRSS)) | \(String(format: "%.1f", probeMedian)) | \(String(format: "%.1f", worstRSS - probeMedian)) | \(String(format: "%.2f", worstRSS / max(probeMedian, 0.1))) |
        | CPU per \(interval) s cycle (ms) | \(String(format: "%.0f", worstCPU)) | \(String(format: "%.0f", probeCPU / cycles * 1000)) | | |
        | CPU share of one core | \(String(format: "%.2f%%", worstCPU / 10 / Double(interval))) | \(String(format: "%.2f%%", probeCPU / Double(options.measure) * 100)) | | |

        per replica: RSS medians \(rssMedians.map { String(format: "%.1f", $0) }.joined(separator: ", ")) MiB; CPU per cycle \(cpuPerCycle.map { String(format: "%.0f", $0) }.joined(separator: ", ")) ms; clusters observed \(lastSeen.perReplica)
        skipped cycles \(skipped), pool timeouts \(poolTimeouts), Kubernetes requests per minute \(String(format: "%.1f", requestsPerMinute)) (all replicas; \(requests.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))); open watches \(api.openWatches)
        open sockets per replica \(sockets) (connections kept alive between cycles)
        load average before \(loadBefore), after \(loadAfter)
        """
    )
    report = [
        "clusters": options.clusters, "nodes": options.nodes, "source": options.source.rawValue,
        "replicas": options.replicas,
        "shards": options.shardCount, "interval_seconds": interval, "measure_seconds": options.measure,
        "rss_mib_median": (worstRSS * 10).rounded() / 10, "probe_rss_mib_median": (probeMedian * 10).rounded() / 10,
        "cpu_ms_per_cycle": worstCPU.rounded(), "skipped_cycles": skipped, "pool_timeouts": poolTimeouts,
        "kube_requests_per_minute": (requestsPerMinute * 10).rounded() / 10,
        "per_replica": zip(rssMedians, cpuPerCycle).enumerated().map { index, pair in
            [
                "rss_mib_median": (pair.0 * 10).rounded() / 10, "cpu_ms_per_cycle": pair.1.rounded(),
                "clusters_observed": lastSeen.perReplica[index],
            ] as [String: Any]
        },
        "kube_requests": requests, "load_average_before": loadBefore, "load_average_after": loadAfter,
        "open_sockets": sockets,
    ]
} catch {
    failure = error
}
for replica in replicas { replica.child.stop() }
probe.stop()
refresher?.cancel()
await world.triggerGracefulShutdown()
_ = try? await worldTask.value
if let failure {
    FileHandle.standardError.write(Data("footprint: \(failure)\n".utf8))
    exit(1)
}
if options.json {
    let data = try JSONSerialization.data(withJSONObject: report, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}
