import AutorebalancerCore
import Foundation
import Logging
import Synchronization

/// The agent's log output: one line per event, as text (`2026-11-20T10:22:00Z info emqx-autorebalancer: message
/// key=value …`) or as JSON (`{"time":…,"level":…,"label":…,"message":…,"key":…}`), to standard error.
///
/// Built by the executable only (libraries take a `Logger`); tests write to an in-memory sink instead.
public struct AgentLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable {
        case text
        case json
    }

    /// Where finished lines go. The default writes to standard error.
    public struct Sink: Sendable {
        public var write: @Sendable (String) -> Void

        public init(write: @escaping @Sendable (String) -> Void) { self.write = write }

        public static let standardError = Sink { line in
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    private let label: String
    private let format: Format
    private let sink: Sink

    public init(label: String, format: Format, level: Logger.Level, sink: Sink = .standardError) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        let time = Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        // Every value may come from outside (a URL, an error body, a label): credentials are redacted in both formats,
        // and in text every control character is escaped, so no value can start a line of its own.
        switch format {
        case .text:
            let pairs = merged.sorted { $0.key < $1.key }.map {
                "\(Self.quoteIfNeeded(SafeText.forLog($0.key)))=\(Self.quoteIfNeeded(SafeText.forLog($0.value.description)))"
            }
            sink.write(
                ([time, event.level.rawValue, "\(label):", SafeText.forLog(event.message.description)] + pairs).joined(
                    separator: " "
                )
            )
        case .json:
            var object: [String: Any] = [
                "time": time, "level": event.level.rawValue, "label": label,
                "message": SafeText.redacted(event.message.description),
            ]
            for (key, value) in merged { object[SafeText.redacted(key)] = Self.jsonValue(value) }
            if let data = try? JSONSerialization.data(
                withJSONObject: object,
                options: [.sortedKeys, .withoutEscapingSlashes]
            ) {
                sink.write(String(decoding: data, as: UTF8.self))
            }
        }
    }

    static func quoteIfNeeded(_ text: String) -> String {
        text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" })
            ? "\"\(text.replacingOccurrences(of: "\"", with: "\\\""))\"" : text
    }

    static func jsonValue(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): return SafeText.redacted(text)
        case .stringConvertible(let convertible): return SafeText.redacted(convertible.description)
        case .array(let values): return values.map(jsonValue)
        case .dictionary(let dictionary): return dictionary.mapValues(jsonValue)
        }
    }
}

/// Collects log lines in memory (tests, and the demo's quiet mode).
public final class InMemoryLogLines: Sendable {
    private let storage = Mutex<[String]>([])

    public init() {}

    public var sink: AgentLogHandler.Sink {
        AgentLogHandler.Sink { [self] line in storage.withLock { $0.append(line) } }
    }
    public var lines: [String] { storage.withLock { $0 } }
}
