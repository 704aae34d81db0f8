import Logging
import Synchronization

/// Collects log lines in memory (never bootstraps the global logging system).
final class CapturedLogs: Sendable {
    let lines = Mutex<[String]>([])

    func logger(_ label: String = "test") -> Logger {
        Logger(label: label) { _ in CapturingHandler(sink: self) }
    }

    var all: [String] { lines.withLock { $0 } }
    func contains(_ text: String) -> Bool { all.contains { $0.contains(text) } }
}

struct CapturingHandler: LogHandler {
    let sink: CapturedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        sink.lines.withLock { $0.append("\(event.level): \(event.message)") }
    }
}
