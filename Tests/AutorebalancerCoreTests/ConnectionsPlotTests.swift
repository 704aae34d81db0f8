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
    /// Every element's name and attributes, in document order.
    var all: [(name: String, attributes: [String: String])] = []
    /// Text per class attribute (`tick-label`, `marker-label`, `legend`, ...).
    var textsByClass: [String: [String]] = [:]
    private var currentClass: String?

    func parser(
        _ parser: XMLParser,
        didStartElement name: String,
        namespaceURI: String?,
        qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        buffer = ""
        elements[name, default: 0] += 1
        all.append((name, attributes))
        currentClass = attributes["class"]
        if name == "polyline", let points = attributes["points"] { polylinePoints.append(points) }
    }

    private var buffer = ""

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        buffer += string  // the parser splits text at entities; join the pieces per element
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        let trimmed = buffer.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmed.isEmpty {
            texts.append(trimmed)
            if let currentClass { textsByClass[currentClass, default: []].append(trimmed) }
        }
        currentClass = nil
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
            ConnectionsPlot.Series(
                node: node,
                points: (0..<10).map { (start.addingTimeInterval(Double($0) * 5), Double(index * 1000 + $0)) }
            )
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
        #expect(
            collected.textsByClass["legend"] == ["emqx-ee-0  9", "10.0.0.7  1009"],
            "short names with their last values"
        )
    }

    @Test func missingSamplesBreakTheLine() throws {
        let points: [(time: Date, value: Double?)] = [
            (start, 1), (start.addingTimeInterval(1), 2), (start.addingTimeInterval(2), nil),
            (start.addingTimeInterval(3), 4),
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
    // MARK: Time axis

    @Test func aWeekIsLabelledWithDatesAtMidnightNotSeconds() throws {
        let weekStart = Date(timeIntervalSince1970: 1_795_132_800)  // 2026-11-20T00:00:00Z
        let points = (0...(7 * 24)).map {
            (time: weekStart.addingTimeInterval(Double($0) * 3600 + 1234), value: Double?(100))
        }
        let collected = try parse(ConnectionsPlot(title: "week", series: [.init(node: "n", points: points)]).svg())
        let labels = try #require(collected.textsByClass["tick-label"])
        #expect(labels.count >= 3 && labels.count <= 8, "\(labels)")
        #expect(labels.allSatisfy { !$0.hasPrefix("+") && !$0.hasSuffix("s") }, "\(labels)")
        #expect(labels.contains("Nov 21") && labels.contains("Nov 27"), "\(labels)")
        #expect(collected.texts.contains("time (UTC)"))
    }

    @Test(arguments: [
        // span, expected step, a label that must appear
        (150.0, 30.0, "00:02:00"),
        (3 * 3600.0, 1800.0, "01:30"),
        (26 * 3600.0, 21600.0, "06:00"),
    ])
    func ticksFallOnWholeStepsOfTheClock(span: Double, step: Double, label: String) {
        let dayStart = Date(timeIntervalSince1970: 1_795_132_800)
        let axis = TimeAxis(
            from: dayStart.addingTimeInterval(7),
            to: dayStart.addingTimeInterval(7 + span),
            maxTicks: 7
        )
        #expect(axis.step <= step * 2 && axis.ticks.count <= 8)
        #expect(axis.ticks.allSatisfy { $0.time.timeIntervalSince1970.truncatingRemainder(dividingBy: axis.step) == 0 })
        #expect(axis.ticks.first?.dateLabel == "2026-11-20", "the first tick names the day")
        if axis.step == step { #expect(axis.ticks.map(\.label).contains(label), "\(axis.ticks.map(\.label))") }
    }

    @Test func aDayChangeIsNamedUnderItsTick() {
        let evening = Date(timeIntervalSince1970: 1_795_132_800 + 20 * 3600)  // 2026-11-20T20:00:00Z
        let axis = TimeAxis(from: evening, to: evening.addingTimeInterval(8 * 3600), maxTicks: 6)
        let midnight = axis.ticks.first { $0.label == "00:00" }
        #expect(midnight?.dateLabel == "Nov 21", "\(axis.ticks)")
        #expect(axis.ticks.filter { $0.dateLabel != nil }.count == 2)
    }

    // MARK: Markers

    /// Labels' boxes as the layout placed them, per row.
    func labelBoxes(_ collected: SVGCollector) -> [(y: String, minX: Double, maxX: Double)] {
        let texts = collected.textsByClass["marker-label"] ?? []
        let elements = collected.all.filter { $0.attributes["class"] == "marker-label" }
        return zip(elements, texts).map { element, text in
            let x = Double(element.attributes["x"] ?? "") ?? 0
            let width = MarkerLabelLayout.width(of: text)
            let end = element.attributes["text-anchor"] == "end"
            return (element.attributes["y"] ?? "", end ? x - width : x, end ? x : x + width)
        }
    }

    @Test func markerLabelsNeverOverlapAndThoseWithoutRoomAreCounted() throws {
        let points = (0..<100).map { (time: start.addingTimeInterval(Double($0) * 60), value: Double?(1000)) }
        // 30 decisions within ten minutes: far more than four rows of labels can hold.
        let markers = (0..<30).map {
            ConnectionsPlot.Marker(
                time: start.addingTimeInterval(Double($0) * 20),
                label: "rule-\($0): rebalance",
                kind: "rebalance"
            )
        }
        let collected = try parse(
            ConnectionsPlot(title: "busy", series: [.init(node: "n", points: points)], markers: markers).svg()
        )
        let boxes = labelBoxes(collected)
        #expect(!boxes.isEmpty)
        for (i, a) in boxes.enumerated() {
            for b in boxes[(i + 1)...] where a.y == b.y {
                #expect(a.maxX <= b.minX || b.maxX <= a.minX, "labels overlap: \(a) and \(b)")
            }
        }
        #expect(Set(boxes.map(\.y)).count <= ConnectionsPlot.Geometry.maxLabelRows)
        #expect(collected.elements["line", default: 0] >= 30, "every marker keeps its line")
        let omitted = collected.texts.first { $0.contains("marker label(s) left out") }
        #expect(omitted?.hasPrefix("\(30 - boxes.count) ") == true, "\(omitted ?? "no note")")
    }

    @Test func markerColoursAreNoNodeLinesColours() throws {
        let nodes = (0..<12).map { index in
            ConnectionsPlot.Series(
                node: "n\(index)",
                points: [(start, Double(index)), (start.addingTimeInterval(60), Double(index))]
            )
        }
        let kinds = ["rebalance", "alert", "blocked", "phase"]
        let markers = kinds.enumerated().map {
            ConnectionsPlot.Marker(
                time: start.addingTimeInterval(Double($0.offset) * 10),
                label: $0.element,
                kind: $0.element
            )
        }
        let collected = try parse(ConnectionsPlot(title: "c", series: nodes, markers: markers).svg())
        let lineStyles = collected.all.filter { $0.attributes["class"] == "node-line" }.map {
            ($0.attributes["stroke"] ?? "", $0.attributes["stroke-dasharray"] ?? "")
        }
        let markerColours = Set(
            collected.all.filter { $0.attributes["class"] == "marker" }.compactMap { $0.attributes["stroke"] }
        )
        #expect(markerColours.count == kinds.count)
        #expect(markerColours.isDisjoint(with: lineStyles.map(\.0)))
        #expect(Set(lineStyles.map { "\($0.0) \($0.1)" }).count == 12, "every node's line differs from the others")
    }

    // MARK: Overlapping lines

    @Test func identicalNodesAreDrawnApartAndTheLegendShowsTheirValues() throws {
        let nodes =
            ["a", "b", "c"].map { node in
                ConnectionsPlot.Series(
                    node: node,
                    points: (0..<5).map { (start.addingTimeInterval(Double($0) * 10), Double?(3333)) }
                )
            } + [
                ConnectionsPlot.Series(
                    node: "d",
                    points: (0..<5).map { (start.addingTimeInterval(Double($0) * 10), Double?(0)) }
                )
            ]
        let collected = try parse(ConnectionsPlot(title: "same", series: nodes).svg())
        let firstY = collected.polylinePoints.map { $0.split(separator: " ")[0].split(separator: ",")[1] }
        #expect(
            Set(firstY.prefix(3)).count == 3,
            "three lines at 3333 must not be drawn on top of each other: \(firstY)"
        )
        let ys = firstY.prefix(3).compactMap { Double($0) }.sorted()
        #expect(ys.last! - ys.first! <= 3 * ConnectionsPlot.OverlapSpread.spacing, "pulled apart by a few pixels only")
        #expect(collected.textsByClass["legend"] == ["a  3333", "b  3333", "c  3333", "d  0"])
    }

    // MARK: HTML

    @Test func theHTMLPageHasTheTitleOnceATableOfMarkersAndNoRawMarkupFromInput() throws {
        let node = "emqx@evil</script><script>alert(1)</script>"
        let plot = ConnectionsPlot(
            title: "t <1>",
            series: [.init(node: node, points: [(start, 1), (start.addingTimeInterval(60), 2)])],
            markers: [
                .init(
                    time: start.addingTimeInterval(30),
                    label: "r: rebalance",
                    kind: "rebalance",
                    formula: "avg(3,3)=3.0 > 0 & <x>",
                    whyNot: ["skew: pending: for not yet elapsed: 30s of 10m"]
                )
            ]
        )
        let html = plot.html()
        #expect(html.components(separatedBy: "t &lt;1&gt;").count == 3, "the page title and the heading, nothing else")
        #expect(!html.contains("</script><script>alert(1)"), "input never ends the script element")
        #expect(html.contains("<td>avg(3,3)=3.0 &gt; 0 &amp; &lt;x&gt;</td>"))
        #expect(html.contains("skew: pending: for not yet elapsed: 30s of 10m"))
        let start = try #require(html.range(of: "<svg"))
        let end = try #require(html.range(of: "</svg>"))
        let collected = try parse(String(html[start.lowerBound..<end.upperBound]))
        #expect(collected.elements["title"] == nil, "no native tooltips competing with the page's own")
        #expect(collected.all.filter { $0.attributes["class"] == "node-hit" }.count == 1)
        #expect(collected.all.filter { $0.attributes["class"] == "marker-hit" }.count == 1)
        // The embedded data is valid JSON holding the exact node name.
        let dataStart = try #require(html.range(of: "<script type=\"application/json\" id=\"chart-data\">"))
        let dataEnd = try #require(html.range(of: "</script>", range: dataStart.upperBound..<html.endIndex))
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(html[dataStart.upperBound..<dataEnd.lowerBound].utf8))
                as? [String: Any]
        )
        let nodes = try #require(json["nodes"] as? [[String: Any]])
        #expect(nodes.first?["name"] as? String == node)
    }
}
