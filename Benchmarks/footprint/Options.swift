import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Where the agent reads per-node counts from in the benchmark.
enum SourceMode: String, CaseIterable {
    /// A fake Prometheus answering `/api/v1/query` for every simulated node (light: no simulated EMQX node).
    case prometheus
    /// One fake EMQX API per cluster answering `GET /api/v5/nodes` (light: one small server per cluster).
    case nodes
    /// Simulated EMQX nodes, one HTTP server each, scraped one by one (heavy: limited to `scrapeNodeLimit` nodes).
    case scrape
}

struct Options {
    var clusters = 10
    var nodes = 20
    var source = SourceMode.scrape
    var replicas = 1
    /// Leases the clusters are spread over; default: 1 for one replica, else 4 per replica.
    var shards: Int?
    var warmup = 45
    /// The longest the warm-up waits for every cluster to be observed.
    var warmupLimit = 300
    var measure = 120
    /// Overrides the policy's evaluation interval (seconds), to show that Kubernetes traffic does not follow it.
    var interval: Int?
    var agent = ".build-release/release/emqx-autorebalancer"
    var probe = ".build-release/release/footprint-probe"
    var policy = "rules/default.yaml"
    var json = false
    /// Keep the agents' logs and configuration here instead of a temporary directory removed at the end.
    var keep: String?

    /// Every simulated node of `scrape` is an HTTP server in this process, and holds four of its descriptors: the
    /// listening socket, the agent's connection, and both ends of the simulated operator's pooled connection (it reads
    /// every node). At 8,000 nodes that reached the 20,000 a process may open here, and libdispatch trapped when it
    /// could not open `/proc/self/task/…/stat`; so the limit follows the open-file limit, with 1,000 to spare.
    static var scrapeNodeLimit: Int {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        let openable = Int(clamping: limit.rlim_max)
        return max(0, (min(openable, 1 << 20) - 1_000) / 4)
    }

    static let usage = """
        usage: footprint [--clusters N (10)] [--nodes N (20)] [--source prometheus|nodes|scrape (scrape)]
                         [--replicas N (1)] [--shards N (1, or 4 per replica)] [--warmup SECONDS (45)]
                         [--warmup-limit SECONDS (300)] [--measure SECONDS (120)] [--interval SECONDS]
                         [--agent PATH] [--probe PATH] [--policy FILE] [--format text|json] [--keep DIRECTORY]
        Run from the package root after `swift build -c release --scratch-path .build-release`.
        --source scrape is limited to \(scrapeNodeLimit) simulated nodes (clusters × nodes; four open files each);
        prometheus and nodes take 1,000 × 20 and more.
        """

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var iterator = arguments.makeIterator()
        func fail(_ message: String) -> Never {
            FileHandle.standardError.write(Data("footprint: \(message)\n\(usage)\n".utf8))
            exit(2)
        }
        func number(_ flag: String, _ value: String, max: Int = 100_000) -> Int {
            guard let number = Int(value), number > 0, number <= max else {
                fail("\(flag) needs a whole number from 1 to \(max), got \(value)")
            }
            return number
        }
        while let flag = iterator.next() {
            if flag == "--help" || flag == "-h" {
                print(usage)
                exit(0)
            }
            guard let value = iterator.next() else { fail("\(flag) needs a value") }
            switch flag {
            case "--clusters": options.clusters = number(flag, value, max: 5_000)
            case "--nodes": options.nodes = number(flag, value, max: 200)
            case "--source":
                guard let mode = SourceMode(rawValue: value) else {
                    fail("--source takes prometheus, nodes or scrape, got \(value)")
                }
                options.source = mode
            case "--replicas": options.replicas = number(flag, value, max: 16)
            case "--shards": options.shards = number(flag, value, max: 256)
            case "--warmup": options.warmup = number(flag, value)
            case "--warmup-limit": options.warmupLimit = number(flag, value)
            case "--measure": options.measure = number(flag, value)
            case "--interval": options.interval = number(flag, value, max: 3600)
            case "--agent": options.agent = value
            case "--probe": options.probe = value
            case "--policy": options.policy = value
            case "--keep": options.keep = value
            case "--format":
                guard value == "text" || value == "json" else { fail("--format takes text or json, got \(value)") }
                options.json = value == "json"
            default: fail("unknown option \(flag)")
            }
        }
        if options.source == .scrape, options.clusters * options.nodes > scrapeNodeLimit {
            fail(
                "--source scrape runs one HTTP server per simulated node; \(options.clusters) × \(options.nodes) is over \(scrapeNodeLimit). Use --source prometheus or nodes for more"
            )
        }
        if let shards = options.shards, shards < options.replicas {
            fail(
                "--shards \(shards) is fewer than --replicas \(options.replicas): some replicas would have nothing to do"
            )
        }
        return options
    }

    var shardCount: Int { shards ?? (replicas == 1 ? 1 : 4 * replicas) }
}
