import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Helpers shared by the test targets that talk HTTP on loopback.

/// Runs a Hummingbird router on 127.0.0.1 on an ephemeral port for the duration of `body`, then shuts it down
/// gracefully. (Cancelling a NIO server instead can trap on a connection accepted but not yet served, apple/swift-nio
/// #3481; graceful shutdown drains those.)
@discardableResult
public func withLoopbackServer<T: Sendable>(
    _ router: Router<BasicRequestContext>,
    _ body: @Sendable (Int) async throws -> T
) async throws -> T {
    let (portStream, portContinuation) = AsyncStream.makeStream(of: Int.self)
    var logger = Logger(label: "test-server")
    logger.logLevel = .critical
    let app = Application(
        router: router,
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        onServerRunning: { channel in
            portContinuation.yield(channel.localAddress?.port ?? 0)
            portContinuation.finish()
        },
        logger: logger
    )
    let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = portStream.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        let outcome: Result<T, any Error>
        do { outcome = .success(try await body(port)) } catch { outcome = .failure(error) }
        await group.triggerGracefulShutdown()
        // Wait for the server to stop (on the error path too). A handler that never answers should wait with
        // `waitUntilServerShutdown()`; one that sleeps instead would hold the shutdown open, so the wait is bounded
        // and only then cancelled.
        tasks.addTask { try await Task.sleep(for: .seconds(30)) }
        _ = try? await tasks.next()
        tasks.cancelAll()
        return try outcome.get()
    }
}

/// For a request handler that must never answer (a test of a timeout): returns only when the server shuts down, so
/// the client's timeout is the only way its request ends, and the server still stops promptly after the test.
public func waitUntilServerShutdown() async {
    try? await gracefulShutdown()
}

/// The package's root folder (where Package.swift is), found from this file's path.
public enum PackagePaths {
    public static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    }()
}

/// Locates ../shared/fixtures relative to the package root (absent in a user's clone).
public enum Fixtures {
    public static let root: URL? = {
        let shared = PackagePaths.root.deletingLastPathComponent().appendingPathComponent("shared/fixtures")
        return FileManager.default.fileExists(atPath: shared.path) ? shared : nil
    }()

    public static var available: Bool { root != nil }

    public static func data(_ path: String) throws -> Data {
        guard let root else { throw CocoaError(.fileNoSuchFile) }
        return try Data(contentsOf: root.appendingPathComponent(path))
    }
}

/// Finds an executable via an environment variable or PATH.
public enum Executables {
    public static func find(env: String, names: [String]) -> String? {
        if let path = ProcessInfo.processInfo.environment[env], FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            for name in names {
                let candidate = "\(directory)/\(name)"
                if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }

    public static let promtool = find(env: "PROMTOOL", names: ["promtool"])
    public static let prometheus = find(env: "PROMETHEUS_BIN", names: ["prometheus"])
    public static let alertmanager = find(env: "ALERTMANAGER_BIN", names: ["prometheus-alertmanager", "alertmanager"])
}
