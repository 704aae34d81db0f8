import Foundation
import Logging
import Report
import ServiceLifecycle
import Testing

@testable import Agent

/// `the agent stopped: …` and `demo failed: …` say what failed and what to fix, not a library's type.
struct StopReasonTests {
    /// A second admin server on a port the first one holds: the real bind error of the server library.
    @Test func aPortInUseIsNamedWithWhatToChange() async throws {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let health = AgentHealth(maximumHeartbeatAge: .seconds(60), now: { Date() })
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let first = AdminServer(
            host: "127.0.0.1",
            port: 0,
            metrics: AgentMetrics(version: "1"),
            health: health,
            logger: logger
        ) {
            portContinuation.yield($0)
        }
        let group = ServiceGroup(configuration: .init(services: [first], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            let second = AdminServer(
                host: "127.0.0.1",
                port: port,
                metrics: AgentMetrics(version: "1"),
                health: health,
                logger: logger
            )
            let error = await #expect(throws: (any Error).self) {
                try await ServiceGroup(configuration: .init(services: [second], logger: logger)).run()
            }
            let text = StopReason.describe(try #require(error), listen: "127.0.0.1:\(port)")
            #expect(text.hasPrefix("cannot listen on 127.0.0.1:\(port): address already in use"), "\(text)")
            #expect(text.contains("change `listen`"), "\(text)")
            #expect(!text.contains("errno:") && !text.contains("IOError") && !text.contains("descriptor"), "\(text)")
            await group.triggerGracefulShutdown()
            try await tasks.next()
        }
    }

    @Test func aTypeDumpIsNotShownButAWordedErrorIs() throws {
        struct Worded: Error, CustomStringConvertible {
            var description = "the simulated operator did not publish the status within 60 s"
        }
        #expect(StopReason.describe(Worded()) == "the simulated operator did not publish the status within 60 s")
        let decoding = #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([Int].self, from: Data("{".utf8))
        }
        let text = StopReason.describe(try #require(decoding))
        #expect(text == "an unexpected internal error (the debug log has its details)")
        #expect(StopReason.describe(CancellationError()) == "it was interrupted")
        let denied = StopReason.describe(
            CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: "/x/agent.yaml"])
        )
        #expect(
            denied.hasPrefix("/x/agent.yaml: ") && !denied.contains("CocoaError")
                && !denied.contains("could not be completed"),
            "\(denied)"
        )
    }
}
