// Idle footprint of the agent's release build watching many simulated EMQX clusters, beside a minimal probe built
// from the same libraries (footprint-probe). Starts the simulated clusters, the simulated Kubernetes API and the
// simulated operator on loopback, runs `emqx-autorebalancer run --config … --kubeconfig …` and `footprint-probe` as
// child processes, and reads their resident memory (/proc/PID/status VmRSS) and CPU time (/proc/PID/stat utime+stime).
//
// Usage (from the package root, after `swift build -c release`):
//   .build/release/footprint [--clusters 10] [--nodes 20] [--warmup 45] [--measure 120]
//                            [--agent .build/release/emqx-autorebalancer] [--probe .build/release/footprint-probe]
//                            [--policy rules/default.yaml]
import AsyncHTTPClient
import AutorebalancerCore
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Simulation

#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var clusters = 10
    var nodes = 20
    var warmup = 45
    var measure = 120
    var agent = ".build/release/emqx-autorebalancer"
    var probe = ".build/release/footprint-probe"
    var policy = "rules/default.yaml"

    static let usage = """
        usage: footprint [--clusters N (10)] [--nodes N (20)] [--warmup SECONDS (45)] [--measure SECONDS (120)]
                         [--agent PATH] [--probe PATH] [--policy FILE]
        Run from the package root after `swift build -c release`.
        """

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var iterator = arguments.makeIterator()
        func fail(_ message: String) -> Never {
            FileHandle.standardError.write(Data("footprint: \(message)\n\(usage)\n".utf8))
            exit(2)
        }
        func number(_ flag: String, _ value: String) -> Int {
            guard let number = Int(value), number > 0 else { fail("\(flag) needs a positive whole number, got \(value)") }
            return number
        }
        while let flag = iterator.next() {
            if flag == "--help" || flag == "-h" {
                print(usage)
                exit(0)
            }
            guard let value = iterator.next() else { fail("\(flag) needs a value") }
            switch flag {
            case "--clusters": options.clusters = number(flag, value)
            case "--nodes": options.nodes = number(flag, value)
            case "--warmup": options.warmup = number(flag, value)
            case "--measure": options.measure = number(flag, value)
            case "--agent": options.agent = value
            case "--probe": options.probe = value
            case "--policy": options.policy = value
            default: fail("unknown option \(flag)")
            }
        }
        return options
    }
}

/// One sample of a process's resources.
struct Usage {
    var rssKiB: Int
    var cpuTicks: Int

    static func read(pid: Int32) throws -> Usage {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) else {
            throw BenchmarkError("no VmRSS in /proc/\(pid)/status")
        }
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after "(comm) ": state is field 3, utime field 14, stime field 15.
        guard let close = stat.lastIndex(of: ")") else { throw BenchmarkError("unreadable /proc/\(pid)/stat") }
        let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else {
            throw BenchmarkError("unreadable /proc/\(pid)/stat")
        }
        return Usage(rssKiB: kib, cpuTicks: user + system)
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A child process, stopped by its PID.
final class Child {
    let process = Process()
    let name: String

    init(name: String, _ binary: String, _ arguments: [String], log: URL) throws {
        self.name = name
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }

    func stop() {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(pid, SIGKILL); process.waitUntilExit() }
    }
}

func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw BenchmarkError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard ok else { throw BenchmarkError("bind(127.0.0.1:0) failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

func get(_ url: String) async throws -> String {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
    return String(buffer: try await response.body.collect(upTo: 64 << 20))
}

func mib(_ kib: Int) -> String { String(format: "%.1f", Double(kib) / 1024) }

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
for binary in [options.agent, options.probe] where !FileManager.default.isExecutableFile(atPath: binary) {
    FileHandle.standardError.write(Data("\(binary) not found: run `swift build -c release` first (from the package root)\n".utf8))
    exit(2)
}
let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
let work = FileManager.default.temporaryDirectory.appendingPathComponent("emqx-autorebalancer-footprint-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: work) }

// The simulated world: clusters of EMQX 5 nodes (balanced, so the agent only watches), the API and the operator.
let quiet = Logger(label: "footprint", factory: { _ in SwiftLogNoOpLogHandler() })
let api = SimulatedKubernetesAPI(configuration: .init(now: { Date() }), logger: quiet)
var clusters: [SimulatedEMQXCluster] = []
for index in 0..<options.clusters {
    let cluster = SimulatedEMQXCluster(
        configuration: SimulatedEMQXConfiguration(
            name: "emqx-\(index)", namespace: "default", kind: .emqx,
            nodes: Array(repeating: SimulatedNodeSpec(liveConnections: 500), count: options.nodes), seed: UInt64(index + 1)),
        logger: quiet)
    let credentials = cluster.configuration.credentials
    api.addEMQX(EMQXBinding(kind: .emqx, namespace: "default", name: "emqx-\(index)", endpoints: [], username: credentials.key, password: credentials.secret))
    api.setEMQXEndpointProvider(namespace: "default", name: "emqx-\(index)") { cluster.endpoints }
    clusters.append(cluster)
}
let simulatedOperator = SimulatedEMQXOperator(api: api, clock: ContinuousClock(), logger: quiet)
let world = ServiceGroup(configuration: .init(
    services: clusters.map { .init(service: $0) } + [.init(service: api), .init(service: simulatedOperator)], logger: quiet))
let worldTask = Task { try await world.run() }
for cluster in clusters { try await cluster.waitUntilServing(timeout: .seconds(30)) }

// The agent's files: kubeconfig for the simulated API, the configuration with every node's address.
let kubeconfig = work.appendingPathComponent("kubeconfig")
try await api.writeKubeconfig(to: kubeconfig.path)
let agentPort = try freePort()
let policyPath = URL(fileURLWithPath: options.policy).standardizedFileURL.path
var config = """
    apiVersion: autorebalancer.emqx.io/v1alpha1
    kind: AgentConfig
    listen: 127.0.0.1:\(agentPort)
    policies: ["\(policyPath)"]
    clusters:

    """
for (index, cluster) in clusters.enumerated() {
    config += "  - {namespace: default, name: emqx-\(index), kind: EMQX, sources: [{emqx: {targets: {"
    config += cluster.endpoints.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \"\($0.value.absoluteString)\"" }.joined(separator: ", ")
    config += "}}}]}\n"
}
let configFile = work.appendingPathComponent("agent.yaml")
try config.write(to: configFile, atomically: true, encoding: .utf8)

let probePort = try freePort()
let agent = try Child(
    name: "agent", options.agent, ["run", "--config", configFile.path, "--kubeconfig", kubeconfig.path, "--log-level", "warning"],
    log: work.appendingPathComponent("agent.log"))
let probe = try Child(name: "probe", options.probe, ["\(probePort)"], log: work.appendingPathComponent("probe.log"))

var failure: (any Error)?
do {
    print("warming up \(options.warmup) s: agent pid \(agent.pid), probe pid \(probe.pid), \(options.clusters) clusters × \(options.nodes) nodes")
    try await Task.sleep(for: .seconds(options.warmup))
    // The agent really watches every cluster: one `source_up … 1` per cluster, one node series per node.
    let metrics = try await get("http://127.0.0.1:\(agentPort)/metrics")
    let up = metrics.split(separator: "\n").filter { $0.hasPrefix("emqx_autorebalancer_source_up{") && $0.split(separator: " ").last.flatMap { Double($0) } == 1 }.count
    let nodes = metrics.split(separator: "\n").filter { $0.hasPrefix("emqx_autorebalancer_node_connections{") }.count
    _ = try await get("http://127.0.0.1:\(probePort)/metrics")
    print("agent sees \(up) of \(options.clusters) clusters up, \(nodes) node series")
    guard up == options.clusters, nodes == options.clusters * options.nodes else {
        throw BenchmarkError("the agent does not observe every cluster; its log: \(work.appendingPathComponent("agent.log").path)")
    }

    let agentStart = try Usage.read(pid: agent.pid)
    let probeStart = try Usage.read(pid: probe.pid)
    var agentRSS: [Int] = [], probeRSS: [Int] = []
    for _ in 0..<options.measure {
        try await Task.sleep(for: .seconds(1))
        agentRSS.append(try Usage.read(pid: agent.pid).rssKiB)
        probeRSS.append(try Usage.read(pid: probe.pid).rssKiB)
    }
    let agentEnd = try Usage.read(pid: agent.pid)
    let probeEnd = try Usage.read(pid: probe.pid)
    let interval = 15.0  // rules/default.yaml evaluationInterval
    let cycles = Double(options.measure) / interval
    let agentCPU = Double(agentEnd.cpuTicks - agentStart.cpuTicks) / ticksPerSecond
    let probeCPU = Double(probeEnd.cpuTicks - probeStart.cpuTicks) / ticksPerSecond
    func median(_ values: [Int]) -> Int { values.sorted()[values.count / 2] }
    print("""

        | | agent (`run`, \(options.clusters) × \(options.nodes) nodes) | probe (minimal server) | agent − probe | agent / probe |
        |---|---|---|---|---|
        | RSS median over \(options.measure) s (MiB) | \(mib(median(agentRSS))) | \(mib(median(probeRSS))) | \(mib(median(agentRSS) - median(probeRSS))) | \(String(format: "%.2f", Double(median(agentRSS)) / Double(median(probeRSS)))) |
        | RSS max (MiB) | \(mib(agentRSS.max()!)) | \(mib(probeRSS.max()!)) | | |
        | CPU over \(options.measure) s (s) | \(String(format: "%.2f", agentCPU)) | \(String(format: "%.2f", probeCPU)) | | |
        | CPU per \(Int(interval)) s cycle (ms) | \(String(format: "%.0f", agentCPU / cycles * 1000)) | | | |
        | CPU share of one core | \(String(format: "%.2f%%", agentCPU / Double(options.measure) * 100)) | \(String(format: "%.2f%%", probeCPU / Double(options.measure) * 100)) | | |
        """)
} catch {
    failure = error
}
agent.stop()
probe.stop()
await world.triggerGracefulShutdown()
_ = try? await worldTask.value
if let failure {
    FileHandle.standardError.write(Data("footprint: \(failure)\n".utf8))
    exit(1)
}
