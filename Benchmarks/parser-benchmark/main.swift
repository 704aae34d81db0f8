// Parser benchmark: `swift run -c release parser-benchmark [--megabytes N] [--iterations N] [--embedded]`
//
// Builds a ~10 MB EMQX-like exposition (the `all_nodes_unaggregated` fixture from ../shared/fixtures when present,
// else an embedded EMQX-like sample, with its per-node series repeated for many nodes), parses it repeatedly with
// `ExpositionParser`, then times Python's `prometheus_client` text parser on the same bytes in a subprocess and
// prints the ratio.
import AutorebalancerCore
import Foundation

// MARK: Options

var targetMegabytes = 10.0
var iterations = 30
var pythonIterations = 3
var forceEmbedded = false
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--megabytes": targetMegabytes = Double(arguments.next() ?? "") ?? targetMegabytes
    case "--iterations": iterations = Int(arguments.next() ?? "") ?? iterations
    case "--python-iterations": pythonIterations = Int(arguments.next() ?? "") ?? pythonIterations
    case "--embedded": forceEmbedded = true
    case "-h", "--help":
        print("usage: parser-benchmark [--megabytes N] [--iterations N] [--python-iterations N] [--embedded]")
        exit(0)
    default:
        FileHandle.standardError.write(Data("unknown argument \(argument); see --help\n".utf8))
        exit(2)
    }
}

// MARK: Input

/// A few EMQX 5 `all_nodes_unaggregated` families, used when ../shared/fixtures is absent.
let embeddedTemplate = """
    # TYPE emqx_connections_count gauge
    # HELP emqx_connections_count\u{20}
    emqx_connections_count{node="emqx@10.0.1.11"} 49870
    # TYPE emqx_live_connections_count gauge
    # HELP emqx_live_connections_count\u{20}
    emqx_live_connections_count{node="emqx@10.0.1.11"} 48213
    # TYPE emqx_sessions_count gauge
    # HELP emqx_sessions_count\u{20}
    emqx_sessions_count{node="emqx@10.0.1.11"} 49870
    # TYPE emqx_cluster_sessions_count gauge
    # HELP emqx_cluster_sessions_count\u{20}
    emqx_cluster_sessions_count 100336
    # TYPE emqx_vm_cpu_use gauge
    # HELP emqx_vm_cpu_use\u{20}
    emqx_vm_cpu_use{node="emqx@10.0.1.11"} 41.27
    # TYPE emqx_vm_used_memory gauge
    # HELP emqx_vm_used_memory\u{20}
    emqx_vm_used_memory{node="emqx@10.0.1.11"} 5.3170614272e9
    # TYPE emqx_client_connected counter
    # HELP emqx_client_connected\u{20}
    emqx_client_connected{node="emqx@10.0.1.11"} 1284330
    # TYPE emqx_client_disconnected_reason counter
    # HELP emqx_client_disconnected_reason\u{20}
    emqx_client_disconnected_reason{node="emqx@10.0.1.11",listener_type="tcp",listener_name="default",reason="tcp_closed"} 1187220
    emqx_client_disconnected_reason{node="emqx@10.0.1.11",listener_type="tcp",listener_name="default",reason="keepalive_timeout"} 48213
    emqx_client_disconnected_reason{node="emqx@10.0.1.11",listener_type="ssl",listener_name="default",reason="ssl_closed"} 1024
    # TYPE emqx_mria_last_intercepted_trans gauge
    # HELP emqx_mria_last_intercepted_trans\u{20}
    emqx_mria_last_intercepted_trans{shard="emqx_common_shard",node="emqx@10.0.1.11"} 1288
    emqx_mria_last_intercepted_trans{shard="emqx_cluster_rpc_shard",node="emqx@10.0.1.11"} 77
    # TYPE emqx_cert_expiry_at gauge
    # HELP emqx_cert_expiry_at\u{20}
    emqx_cert_expiry_at{listener_type="ssl",listener_name="default"} 1904285225

    """

let fixture = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("shared/fixtures/emqx/emqx5-cluster-unaggregated-stats.prom")
let template: String
let templateSource: String
if !forceEmbedded, let data = FileManager.default.contents(atPath: fixture.path),
    let text = String(data: data, encoding: .utf8)
{
    template = text
    templateSource = "../shared/fixtures/emqx/emqx5-cluster-unaggregated-stats.prom"
} else {
    template = embeddedTemplate
    templateSource =
        forceEmbedded
        ? "embedded EMQX-like sample (--embedded)" : "embedded EMQX-like sample (../shared/fixtures not found)"
}

/// Repeats every `node`-labelled sample line once per synthetic node, keeping families contiguous, so the body stays a
/// valid exposition whose family count matches the template's.
@MainActor func buildBody(template: String, targetBytes: Int) -> (body: [UInt8], nodes: Int) {
    let lines = template.split(separator: "\n", omittingEmptySubsequences: false)
    // Lines with a node label, normalised to one template line per distinct (series without node) shape.
    var seen = Set<String>()
    var perNodeBytes = 0
    var shape: [(line: Substring, perNode: Bool)] = []
    for line in lines {
        guard line.contains("node=\""), !line.hasPrefix("#"),
            let range = line.range(of: #"node="[^"]*""#, options: .regularExpression)
        else {
            shape.append((line, false))
            continue
        }
        var key = line
        key.replaceSubrange(range, with: "node=\"\"")
        let withoutValue = String(key[..<(key.lastIndex(of: " ") ?? key.endIndex)])
        if seen.insert(withoutValue).inserted {
            shape.append((line, true))
            perNodeBytes += line.utf8.count + 1
        }
    }
    let nodes = max(1, targetBytes / max(perNodeBytes, 1))
    var body: [UInt8] = []
    body.reserveCapacity(targetBytes + template.utf8.count)
    for (line, perNode) in shape {
        if !perNode {
            body.append(contentsOf: line.utf8)
            body.append(UInt8(ascii: "\n"))
            continue
        }
        let range = line.range(of: #"node="[^"]*""#, options: .regularExpression)!
        let prefix = line[..<range.lowerBound].utf8
        let suffix = line[range.upperBound...].utf8
        for node in 0..<nodes {
            body.append(contentsOf: prefix)
            body.append(contentsOf: "node=\"emqx@10.\(node / 250).\(node % 250).11\"".utf8)
            body.append(contentsOf: suffix)
            body.append(UInt8(ascii: "\n"))
        }
    }
    return (body, nodes)
}

let (body, nodeCount) = buildBody(template: template, targetBytes: Int(targetMegabytes * 1_000_000))
let megabytes = Double(body.count) / 1_000_000

// MARK: Swift

let parser = ExpositionParser()
let reference: ExpositionDocument
do {
    reference = try parser.parse(body)
} catch {
    print("the generated body does not parse: \(error)")
    exit(1)
}
let sampleCount = reference.sampleCount

/// CPU time of this thread: unlike wall time, it does not grow while other processes hold the CPU.
@MainActor func threadCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

var timings: [Double] = []
var cpuTimings: [Double] = []
let clock = ContinuousClock()
for iteration in 0..<(iterations + 2) {
    var samples = 0
    let cpuStart = threadCPUSeconds()
    let elapsed = clock.measure {
        samples = (try? parser.parse(body).sampleCount) ?? -1
    }
    let cpu = threadCPUSeconds() - cpuStart
    precondition(samples == sampleCount, "parse result changed between iterations")
    if iteration >= 2 {  // two warm-up rounds
        timings.append(elapsed.seconds)
        cpuTimings.append(cpu)
    }
}
timings.sort()
cpuTimings.sort()
let swiftBest = timings[0]
let swiftMedian = timings[timings.count / 2]
let swiftCPUMedian = cpuTimings[cpuTimings.count / 2]

@MainActor func rate(_ seconds: Double) -> String {
    String(format: "%.1f MB/s, %.2f M samples/s", megabytes / seconds, Double(sampleCount) / seconds / 1e6)
}

print(
    "input: \(String(format: "%.2f", megabytes)) MB, \(reference.families.count) families, \(sampleCount) samples, \(nodeCount) synthetic nodes"
)
print("       from \(templateSource)")
print("ExpositionParser (Swift, in-process), \(iterations) runs:")
print("  best   \(String(format: "%.2f", swiftBest * 1000)) ms  \(rate(swiftBest))")
print("  median \(String(format: "%.2f", swiftMedian * 1000)) ms  \(rate(swiftMedian))")
print("  median CPU time \(String(format: "%.2f", swiftCPUMedian * 1000)) ms  \(rate(swiftCPUMedian))")
if let load = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) {
    print(
        "  load average while measuring: \(load.split(separator: " ").prefix(3).joined(separator: " ")) on \(ProcessInfo.processInfo.activeProcessorCount) CPUs"
    )
}

// MARK: Python prometheus_client

let pythonScript = """
    import json, sys, time
    try:
        from prometheus_client.parser import text_string_to_metric_families
        import prometheus_client
    except ImportError:
        print(json.dumps({"missing": True}))
        sys.exit(0)
    try:
        from importlib.metadata import version
        v = version("prometheus_client")
    except Exception:
        v = "unknown"
    data = open(sys.argv[1], encoding="utf-8").read()
    runs = []
    cpu = []
    families = samples = 0
    for _ in range(int(sys.argv[2])):
        start = time.perf_counter()
        cpu_start = time.thread_time()
        parsed = list(text_string_to_metric_families(data))
        cpu.append(time.thread_time() - cpu_start)
        runs.append(time.perf_counter() - start)
        families = len(parsed)
        samples = sum(len(f.samples) for f in parsed)
    print(json.dumps({"runs": runs, "cpu": cpu, "families": families, "samples": samples, "version": v,
                      "python": sys.version.split()[0]}))
    """

struct PythonResult: Decodable {
    var missing: Bool?
    var runs: [Double]?
    var cpu: [Double]?
    var families: Int?
    var samples: Int?
    var version: String?
    var python: String?
}

@MainActor func runPython() -> PythonResult? {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
        "parser-benchmark-\(ProcessInfo.processInfo.processIdentifier)"
    )
    try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let bodyFile = directory.appendingPathComponent("body.prom")
    let scriptFile = directory.appendingPathComponent("bench.py")
    do {
        try Data(body).write(to: bodyFile)
        try Data(pythonScript.utf8).write(to: scriptFile)
    } catch {
        print("python: could not write temporary files: \(error)")
        return nil
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", scriptFile.path, bodyFile.path, String(pythonIterations)]
    let output = Pipe()
    process.standardOutput = output
    do {
        try process.run()
    } catch {
        print(
            "python: python3 not runnable (\(error)); install Python 3 and `pip install prometheus_client` to compare"
        )
        return nil
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0, let result = try? JSONDecoder().decode(PythonResult.self, from: data) else {
        print(
            "python: python3 failed (exit \(process.terminationStatus)); install Python 3 and `pip install prometheus_client` to compare"
        )
        return nil
    }
    return result
}

print("prometheus_client (Python, subprocess, same bytes), \(pythonIterations) runs:")
if let python = runPython() {
    if python.missing == true {
        print("  prometheus_client is not installed: pip install prometheus_client")
    } else if let runs = python.runs?.sorted(), let pythonBest = runs.first {
        print(
            "  best   \(String(format: "%.2f", pythonBest * 1000)) ms  \(String(format: "%.1f MB/s", megabytes / pythonBest))  (prometheus_client \(python.version ?? "?"), Python \(python.python ?? "?"))"
        )
        if python.families != reference.families.count || python.samples != sampleCount {
            print("  note: prometheus_client found \(python.families ?? -1) families / \(python.samples ?? -1) samples")
        } else {
            print("  same result size: \(python.families ?? 0) families, \(python.samples ?? 0) samples")
        }
        let pythonCPU = (python.cpu ?? []).sorted()
        if !pythonCPU.isEmpty {
            let pythonCPUMedian = pythonCPU[pythonCPU.count / 2]
            print(
                "  median CPU time \(String(format: "%.2f", pythonCPUMedian * 1000)) ms  \(String(format: "%.1f MB/s", megabytes / pythonCPUMedian))"
            )
            print(
                String(
                    format: "ratio (median CPU time): ExpositionParser is %.1fx faster than prometheus_client",
                    pythonCPUMedian / swiftCPUMedian
                )
            )
        }
        print(
            String(
                format: "ratio (best wall time): ExpositionParser is %.1fx faster than prometheus_client",
                pythonBest / swiftBest
            )
        )
    }
}
