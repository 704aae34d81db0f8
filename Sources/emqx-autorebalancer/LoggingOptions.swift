import Agent
import ArgumentParser
import Logging

/// `--log-format` and `--log-level`, shared by the commands that run the agent.
struct LoggingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Log format: text or json.", valueName: "format"))
    var logFormat: AgentLogHandler.Format = .text

    @Option(
        help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error or critical.", valueName: "level")
    )
    var logLevel: Logger.Level = .info

    /// The process's logger (the only place a handler is chosen).
    func makeLogger(label: String = "emqx-autorebalancer") -> Logger {
        let format = logFormat
        let level = logLevel
        return Logger(label: label) { label in AgentLogHandler(label: label, format: format, level: level) }
    }
}

extension LoggingOptions {
    /// Warnings only, on standard error: for commands whose output is their report (`check --kubeconfig`).
    static var quietLogger: Logger {
        Logger(label: "emqx-autorebalancer") { label in AgentLogHandler(label: label, format: .text, level: .warning) }
    }
}

extension AgentLogHandler.Format: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}
