import Foundation
import Testing

@testable import AutorebalancerCore

#if canImport(FoundationXML)
import FoundationXML
#endif

/// Collects element names and text so a test can check the SVG is well-formed XML with the expected parts.
final class SVGCollector: NSObject, XMLParserDelegate {
    var elements: [String: Int] = [:]
    var texts: [String] = []
    var polylinePoints: [String] = []

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        buffer = ""
        elements[name, default: 0] += 1
        if name == "polyline", let points = attributes["points"] { polylinePoints.append(points) }
    }

    private var buffer = ""

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        buffer += string  // the parser splits text at entities; join the pieces per element
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        let trimmed = buffer.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmed.isEmpty { texts.append(trimmed) }
        buffer = ""
    }
}

@Suite struct ConnectionsPlotTests {
    let start = Date(timeIntervalSince1970: 1_795_000_000)

    func parse(_ svg: String) throws -> SVGCollector {
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = SVGCollector()
        parser.delegate = collector
        #expect(parser.parse(), "SVG must be well-formed XML: \(String(describing: parser.parserError))")
        return collector
    }

    @Test func rendersOneLinePerNodeAndEveryMarker() throws {
        let nodes = ["emqx-ee@emqx-ee-0.emqx-ee-headless.default.svc.cluster.local", "emqx-ee@10.0.0.7"]
        let series = nodes.enumerated().map { index, node in
            ConnectionsPlot.Series(node: node, points: (0..<10).map { (start.addingTimeInterval(Double($0) * 5), Double(index * 1000 + $0)) })
        }
        let plot = ConnectionsPlot(
            title: "default/emqx-ee <scale-out>",
            series: series,
            markers: [.init(time: start.addingTimeInterval(20), label: "scale-out: rebalance", kind: "rebalance")]
        )
        let collected = try parse(plot.svg())
        #expect(collected.elements["svg"] == 1)
        #expect(collected.elements["polyline"] == 2)
        #expect(collected.texts.contains("default/emqx-ee <scale-out>"), "title is escaped and kept")
        #expect(collected.texts.contains("scale-out: rebalance"))
        #expect(collected.texts.contains("emqx-ee-0"))
        #expect(collected.texts.contains("10.0.0.7"))
    }

    @Test func missingSamplesBreakTheLine() throws {
        let points: [(time: Date, value: Double?)] = [
            (start, 1), (start.addingTimeInterval(1), 2), (start.addingTimeInterval(2), nil), (start.addingTimeInterval(3), 4),
        ]
        let plot = ConnectionsPlot(title: "gap", series: [.init(node: "n", points: points)])
        let collected = try parse(plot.svg())
        #expect(collected.elements["polyline"] == 2)
        #expect(collected.polylinePoints.map { $0.split(separator: " ").count } == [2, 1])
    }

    @Test(arguments: [
        ("emqx-ee@emqx-ee-3.emqx-ee-headless.default.svc.cluster.local", "emqx-ee-3"),
        ("emqx@10.1.2.3", "10.1.2.3"),
        ("plain", "plain"),
    ])
    func shortNames(node: String, expected: String) {
        #expect(ConnectionsPlot.shortName(node) == expected)
    }
}
