import AsyncHTTPClient
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// One sample of a process's resources.
struct Usage {
    var rssKiB: Int
    var cpuTicks: Int

    static func read(pid: Int32) throws -> Usage {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])
        else {
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

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A child process, stopped by its PID.
final class Child {
    let process = Process()
    let name: String
    let log: URL

    init(name: String, _ binary: String, _ arguments: [String], log: URL, environment: [String: String] = [:]) throws {
        self.name = name
        self.log = log
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        try process.run()
    }

    var pid: Int32 { process.processIdentifier }
    var isRunning: Bool { process.isRunning }

    func stop() {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// Lines of its log that contain `text`.
    func logLines(containing text: String) -> Int {
        guard let contents = try? String(contentsOf: log, encoding: .utf8) else { return 0 }
        return contents.split(separator: "\n").filter { $0.contains(text) }.count
    }
}

/// A loopback port free now and outside the ephemeral range: thousands of outgoing scrape connections take their
/// local ports from that range, and one of them taking the agent's port before it listens would end the run.
func freePort() throws -> Int {
    let ephemeralStart =
        (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))
        .flatMap { $0.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } } ?? 32768
    let lowest = 10_000
    if ephemeralStart > lowest + 1 {
        for _ in 0..<100 {
            let port = Int.random(in: lowest..<ephemeralStart)
            if (try? bound(port)) != nil { return port }
        }
    }
    return try bound(0)
}

/// Binds 127.0.0.1:`port` (0: any) for a moment and returns the port it had.
private func bound(_ port: Int) throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw BenchmarkError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = UInt16(truncatingIfNeeded: port).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
        }
    }
    guard ok else { throw BenchmarkError("bind(127.0.0.1:\(port)) failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Raises this process's open-file limit to the hard limit (the simulated servers hold many sockets).
func raiseOpenFileLimit() -> Int {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    return Int(limit.rlim_cur)
}

func get(_ url: String) async throws -> String {
    let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
    return String(buffer: try await response.body.collect(upTo: 256 << 20))
}

/// Open sockets of a process (`/proc/PID/fd` entries that are sockets): with connections kept alive between cycles,
/// about one per scraped address.
func openSockets(pid: Int32) -> Int {
    let directory = "/proc/\(pid)/fd"
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return 0 }
    return entries.filter {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(directory)/\($0)"))?.hasPrefix("socket:") == true
    }.count
}

/// `/proc/loadavg`'s first three numbers.
func loadAverage() -> String {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}

func mib(_ kib: Int) -> Double { Double(kib) / 1024 }

func median(_ values: [Int]) -> Int {
    guard !values.isEmpty else { return 0 }
    return values.sorted()[values.count / 2]
}

func medianDouble(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    return values.sorted()[values.count / 2]
}
