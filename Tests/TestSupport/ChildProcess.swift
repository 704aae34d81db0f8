import Foundation
import Synchronization

/// Runs a program the test needs (the built binary, promtool, openssl) without blocking a thread of Swift's
/// cooperative pool: the pool has as many threads as cores (two on CI), and a test that waits for a child process
/// with `waitUntilExit` or a pipe read stalls every other test's tasks meanwhile. Input and output go through files,
/// so a chatty child never blocks on a full pipe.
public enum ChildProcess {
    public struct Result: Sendable {
        /// The exit status; -1 when the program could not be started or was killed after the timeout.
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// Both outputs, standard output first.
        public var output: String { stdout + stderr }
    }

    /// Runs `executable` to completion, or stops it by its PID (SIGTERM) after `timeout`.
    public static func run(
        _ executable: URL,
        _ arguments: [String],
        input: String? = nil,
        timeout: Duration = .seconds(120)
    ) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let inURL = directory.appendingPathComponent("stdin")
        let outURL = directory.appendingPathComponent("stdout")
        let errURL = directory.appendingPathComponent("stderr")
        try Data((input ?? "").utf8).write(to: inURL)
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let stdin = try FileHandle(forReadingFrom: inURL)
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        defer {
            try? stdin.close()
            try? out.close()
            try? err.close()
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardInput = stdin
        process.standardOutput = out
        process.standardError = err
        let running = Running(process)
        let status: Int32 = try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask { await running.runToExit() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next() ?? nil
            if first == nil { running.terminate() }
            group.cancelAll()
            if let first { return first }
            _ = try await group.next()
            return -1
        }
        return Result(
            status: status,
            stdout: (try? String(contentsOf: outURL, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        )
    }

    /// `run` for a program found by name (see `Executables`).
    public static func run(
        _ path: String,
        _ arguments: [String],
        input: String? = nil,
        timeout: Duration = .seconds(120)
    ) async throws -> Result {
        try await run(URL(fileURLWithPath: path), arguments, input: input, timeout: timeout)
    }

    /// Waits, without blocking a thread, until a process the test started has exited; SIGKILLs it (by PID) if it is
    /// still running after `timeout`.
    public static func waitForExit(_ process: Process, timeout: Duration = .seconds(10)) async {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while process.isRunning, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            while process.isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        }
    }

    /// A started process, shared between the task that waits for it and the one that may stop it.
    private final class Running: Sendable {
        private let process: Mutex<Process>

        init(_ process: sending Process) { self.process = Mutex(process) }

        func runToExit() async -> Int32 {
            await withCheckedContinuation { continuation in
                process.withLock { process in
                    process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
                    do {
                        try process.run()
                    } catch {
                        process.terminationHandler = nil
                        continuation.resume(returning: -1)
                    }
                }
            }
        }

        func terminate() {
            process.withLock { if $0.isRunning { $0.terminate() } }
        }
    }
}
