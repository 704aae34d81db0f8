import Agent
import ArgumentParser
import AutorebalancerCore
import Foundation

@main
struct EmqxAutorebalancer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emqx-autorebalancer",
        abstract: "Keeps EMQX clusters on Kubernetes balanced by creating Rebalance resources when policy rules fire.",
        version: AgentVersion.current,
        subcommands: [RunCommand.self, DemoCommand.self, CheckCommand.self, TestCommand.self, BacktestCommand.self]
    )

    /// Runs the chosen command. Usage errors exit 2 (like a bad configuration), not ArgumentParser's 64, so scripts
    /// see one code for "you asked for something wrong".
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                let lines = fullMessage(for: error).split(separator: "\n", omittingEmptySubsequences: false).map {
                    SafeText.forLog(String($0))
                }
                FileHandle.standardError.write(Data((lines.joined(separator: "\n") + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
