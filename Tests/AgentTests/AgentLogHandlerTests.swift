import Foundation
import Logging
import Testing

@testable import Agent

@Suite struct AgentLogHandlerTests {
    @Test func jsonLinesCarryMessageLevelAndMetadata() throws {
        let lines = InMemoryLogLines()
        var logger = Logger(label: "emqx-autorebalancer") { label in
            AgentLogHandler(label: label, format: .json, level: .info, sink: lines.sink)
        }
        logger[metadataKey: "cluster"] = "default/emqx-ee"
        logger.debug("hidden")
        logger.info("decision", metadata: ["rule": "scale-out", "action": "rebalance"])
        #expect(lines.lines.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines.lines[0].utf8)) as? [String: Any])
        #expect(object["message"] as? String == "decision")
        #expect(object["level"] as? String == "info")
        #expect(object["cluster"] as? String == "default/emqx-ee")
        #expect(object["rule"] as? String == "scale-out")
    }

    @Test func textLinesQuoteValuesWithSpaces() {
        let lines = InMemoryLogLines()
        let logger = Logger(label: "agent") { label in
            AgentLogHandler(label: label, format: .text, level: .debug, sink: lines.sink)
        }
        logger.warning("blocked", metadata: ["why": "for not yet elapsed"])
        #expect(lines.lines.count == 1)
        #expect(lines.lines[0].contains(" warning agent: blocked why=\"for not yet elapsed\""))
    }

    /// A metric endpoint's error body cannot start a forged log line, and no credential is printed.
    @Test func outsideValuesCannotForgeLinesOrLeakCredentials() throws {
        let lines = InMemoryLogLines()
        let text = Logger(label: "agent") { label in
            AgentLogHandler(label: label, format: .text, level: .debug, sink: lines.sink)
        }
        let body =
            "bad gateway\n2026-11-20T10:22:00Z notice emqx-autorebalancer: Rebalance created rebalance=fake\nAuthorization: Bearer abcdef123"
        text.warning(
            "metric source failed: http://u:pw@emqx:18083 answered \(body)",
            metadata: ["error": "\(body)", "evil\nkey": "x"]
        )
        #expect(lines.lines.count == 1)
        let line = lines.lines[0]
        #expect(!line.contains("\n") && !line.contains("\r"))
        #expect(line.contains(#"bad gateway\n2026-11-20T10:22:00Z notice"#))
        #expect(!line.contains("pw@") && !line.contains("abcdef123"))
        #expect(line.contains("http://***@emqx:18083"))
        #expect(line.contains(#"evil\nkey=x"#))

        let json = InMemoryLogLines()
        let structured = Logger(label: "agent") { label in
            AgentLogHandler(label: label, format: .json, level: .debug, sink: json.sink)
        }
        structured.warning("failed", metadata: ["error": "\(body)"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.lines[0].utf8)) as? [String: Any])
        let error = try #require(object["error"] as? String)
        #expect(error.contains("Authorization: ***") && !error.contains("abcdef123"))
        #expect(json.lines[0].split(separator: "\n").count == 1)
    }
}
