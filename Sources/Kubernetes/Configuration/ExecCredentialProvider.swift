import AutorebalancerCore
import Foundation
import Synchronization

/// A kubeconfig `exec` credential plugin (`aws eks get-token`, `gke-gcloud-auth-plugin`, `kubelogin`): runs the
/// command, reads the `ExecCredential` JSON it prints, and caches `status.token` until `status.expirationTimestamp`
/// (or, without one, until a 401 invalidates it).
public final class ExecCredentialProvider: BearerTokenProvider {
    /// The `user.exec` block of a kubeconfig.
    public struct Command: Sendable, Hashable {
        public var command: String
        public var args: [String]
        public var env: [String: String]
        public var apiVersion: String
        public var installHint: String?

        public init(
            command: String,
            args: [String] = [],
            env: [String: String] = [:],
            apiVersion: String = "client.authentication.k8s.io/v1beta1",
            installHint: String? = nil
        ) {
            self.command = command
            self.args = args
            self.env = env
            self.apiVersion = apiVersion
            self.installHint = installHint
        }
    }

    struct Cached: Sendable {
        var token: String
        var expires: Date?
    }

    public let command: Command
    private let environment: [String: String]
    private let workingDirectory: String?
    private let now: @Sendable () -> Date
    private let timeout: Duration
    private let cache = Mutex<Cached?>(nil)

    /// - Parameters:
    ///   - environment: the process environment the plugin inherits (the exec `env` entries are added on top).
    ///   - workingDirectory: the kubeconfig's directory (relative commands resolve against it, as kubectl does).
    public init(
        command: Command,
        environment: [String: String],
        workingDirectory: String? = nil,
        timeout: Duration = .seconds(30),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.command = command
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.timeout = timeout
        self.now = now
    }

    public func token() async throws -> String {
        let current = now()
        if let cached = cache.withLock({ $0 }) {
            // Renew ten seconds early so a request never goes out with a token about to expire.
            if cached.expires.map({ current.addingTimeInterval(10) < $0 }) ?? true { return cached.token }
        }
        let credential = try await run()
        cache.withLock { $0 = credential }
        return credential.token
    }

    public func invalidate() { cache.withLock { $0 = nil } }

    private func run() async throws -> Cached {
        let process = Process()
        let executable: String
        if command.command.contains("/") {
            executable =
                command.command.hasPrefix("/") || workingDirectory == nil
                ? command.command : "\(workingDirectory!)/\(command.command)"
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = command.args
        } else {
            executable = command.command
            // Let the PATH of the given environment resolve the command, as a shell would.
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [command.command] + command.args
        }
        var env = environment
        for (key, value) in command.env { env[key] = value }
        env["KUBERNETES_EXEC_INFO"] =
            #"{"apiVersion":"\#(command.apiVersion)","kind":"ExecCredential","spec":{"interactive":false}}"#
        process.environment = env
        if let workingDirectory { process.currentDirectoryURL = URL(fileURLWithPath: workingDirectory) }
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice

        let hint = command.installHint.map { " Install hint: \($0)" } ?? ""
        if let problem = Self.startProblem(executable: executable, byPath: command.command.contains("/")) {
            throw KubernetesError.configuration(
                "the kubeconfig exec credential plugin \"\(executable)\" \(problem).\(hint)"
            )
        }
        do {
            try process.run()
        } catch {
            // Foundation's own sentence, not its error type's dump.
            let reason = (error as? CocoaError)?.localizedDescription ?? "the system refused to start it"
            throw KubernetesError.configuration(
                "the kubeconfig exec credential plugin \"\(executable)\" could not be started: \(reason); check the kubeconfig's users[].user.exec.command.\(hint)"
            )
        }
        // Read both pipes to the end, so a chatty plugin cannot block on a full pipe.
        let running = RunningProcess(process: process, stdout: stdout, stderr: stderr)
        let (output, errorOutput, status) = try await withThrowingTaskGroup(of: (Data, Data, Int32)?.self) { group in
            group.addTask { await running.collect() }
            let timeout = self.timeout
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let next { return next }
                running.process.terminate()
                throw KubernetesError.configuration(
                    "the kubeconfig exec credential plugin \"\(executable)\" did not finish within \(timeout.text); it runs without a terminal, so a plugin that asks for a login cannot: log in with it by hand first"
                )
            }
            throw KubernetesError.configuration("the exec credential plugin \"\(executable)\" ended without a result")
        }
        guard status == 0 else {
            let text = String(decoding: errorOutput, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            // Run through `env`, a command not on PATH ends with env's 127 (126: found but not executable).
            if !command.command.contains("/"), status == 127 || status == 126 {
                throw KubernetesError.configuration(
                    "the kubeconfig exec credential plugin \"\(executable)\" \(status == 127 ? "was not found on PATH" : "is not executable"): install it or give its full path in users[].user.exec.command.\(hint)"
                )
            }
            let said = text.isEmpty ? "it printed nothing on standard error" : "it said: \(text.prefix(500))"
            throw KubernetesError.configuration(
                "the kubeconfig exec credential plugin \"\(executable)\" failed (exit status \(status)); \(said)\(hint)"
            )
        }
        return try Self.parse(output, executable: executable)
    }

    /// Why a plugin named by its path cannot start, found before trying (the system's own error says less).
    static func startProblem(executable: String, byPath: Bool) -> String? {
        guard byPath else { return nil }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: executable, isDirectory: &isDirectory) else {
            return "does not exist: install it there or correct users[].user.exec.command"
        }
        if isDirectory.boolValue { return "is a folder, not a program: correct users[].user.exec.command" }
        if !FileManager.default.isExecutableFile(atPath: executable) { return "is not executable: chmod +x it" }
        return nil
    }

    struct ExecCredential: Decodable {
        struct Status: Decodable {
            var token: String?
            var expirationTimestamp: String?
            var clientCertificateData: String?
        }
        var apiVersion: String?
        var kind: String?
        var status: Status?
    }

    static func parse(_ output: Data, executable: String) throws -> Cached {
        let credential: ExecCredential
        do {
            credential = try JSONDecoder().decode(ExecCredential.self, from: output)
        } catch {
            throw KubernetesError.configuration(
                "the kubeconfig exec credential plugin \"\(executable)\" did not print an ExecCredential JSON object on standard output (\(DecodingProblem(error)))"
            )
        }
        guard let token = credential.status?.token, !token.isEmpty else {
            let certificate = credential.status?.clientCertificateData != nil
            throw KubernetesError.configuration(
                certificate
                    ? "the kubeconfig exec credential plugin \"\(executable)\" returned a client certificate; only token credentials are supported"
                    : "the kubeconfig exec credential plugin \"\(executable)\" returned no status.token"
            )
        }
        return Cached(token: token, expires: credential.status?.expirationTimestamp.flatMap(Self.parseTime))
    }

    static func parseTime(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: false)) {
            return date
        }
        return try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

/// A started plugin process; only used from one task at a time (the collector, or the timeout path to terminate it).
private final class RunningProcess: @unchecked Sendable {
    let process: Process
    let stdout: Pipe
    let stderr: Pipe

    init(process: Process, stdout: Pipe, stderr: Pipe) {
        self.process = process
        self.stdout = stdout
        self.stderr = stderr
    }

    /// Reads both outputs to the end (at the same time, so neither pipe fills up) and waits for the exit. The reads
    /// and the wait block, so they run on Dispatch's threads: a blocked thread of Swift's cooperative pool (as many
    /// threads as cores) would stall every other task of the agent meanwhile.
    func collect() async -> (Data, Data, Int32) {
        await withCheckedContinuation { continuation in
            let queue = DispatchQueue.global()
            let group = DispatchGroup()
            nonisolated(unsafe) var errorOutput = Data()
            queue.async(group: group) { errorOutput = self.stderr.fileHandleForReading.readDataToEndOfFile() }
            queue.async {
                let output = self.stdout.fileHandleForReading.readDataToEndOfFile()
                group.wait()
                self.process.waitUntilExit()
                continuation.resume(returning: (output, errorOutput, self.process.terminationStatus))
            }
        }
    }
}
