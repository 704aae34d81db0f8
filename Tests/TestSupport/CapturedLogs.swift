import InMemoryLogging
import Logging

/// Log lines kept in memory (never bootstraps the global logging system), as `level: message`, for tests that
/// assert what a component said.
public struct CapturedLogs: Sendable {
    private let handler: InMemoryLogHandler

    public init() {
        var handler = InMemoryLogHandler()
        handler.logLevel = .trace
        self.handler = handler
    }

    /// A logger whose lines land here; every logger made from one `CapturedLogs` shares its lines.
    public func logger(_ label: String = "test") -> Logger {
        Logger(label: label) { _ in handler }
    }

    public var all: [String] { handler.entries.map { "\($0.level): \($0.message)" } }
    public func contains(_ text: String) -> Bool { all.contains { $0.contains(text) } }
}
