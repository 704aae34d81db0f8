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
}
