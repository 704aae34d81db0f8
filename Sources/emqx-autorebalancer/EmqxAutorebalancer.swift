import Agent
import ArgumentParser

@main
struct EmqxAutorebalancer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emqx-autorebalancer",
        abstract: "Keeps EMQX clusters on Kubernetes balanced by creating Rebalance resources when policy rules fire.",
        version: AgentVersion.current,
        subcommands: [RunCommand.self, DemoCommand.self, CheckCommand.self, TestCommand.self, BacktestCommand.self]
    )
}
