import Foundation

/// A self-contained line chart of per-node connections over time, with decisions marked as vertical lines. Used by
/// `demo --plot` and `backtest --plot`; pure (returns the document as a string). ``svg()`` is the static chart;
/// ``html(summary:)`` embeds it in a page with hover tooltips and a table of the markers.
///
/// What keeps it readable: wall-clock ticks (UTC) at whole minutes, hours or days; marker labels in rows that never
/// overlap (a label with no room is left out and counted); marker colours that no node line uses; and node lines that
/// coincide on screen drawn a few pixels apart, with every node's last value in the legend.
public struct ConnectionsPlot: Sendable {
    /// One node's line.
    public struct Series: Sendable, Hashable {
        public var node: String
        /// (time, value) points; `nil` values break the line (no sample).
        public var points: [(time: Date, value: Double?)]

        public init(node: String, points: [(time: Date, value: Double?)]) {
            self.node = node
            self.points = points
        }

        public static func == (lhs: Series, rhs: Series) -> Bool {
            lhs.node == rhs.node && lhs.points.count == rhs.points.count
                && zip(lhs.points, rhs.points).allSatisfy { $0.time == $1.time && $0.value == $1.value }
        }

        public func hash(into hasher: inout Hasher) { hasher.combine(node) }

        /// The last known value.
        public var lastValue: Double? { points.last { $0.value != nil }?.value ?? nil }
    }

    /// A vertical marker (a decision, a Rebalance phase change).
    public struct Marker: Sendable, Hashable {
        public var time: Date
        public var label: String
        /// `rebalance`, `alert`, `blocked` or any other word (`phase`); decides the colour.
        public var kind: String
        /// EMQX's balance formula with the numbers the rule saw, for a decision.
        public var formula: String?
        /// Why the other rules (or this one, when held back) did not act at that instant: `rule: reason: detail`.
        public var whyNot: [String]

        public init(time: Date, label: String, kind: String, formula: String? = nil, whyNot: [String] = []) {
            self.time = time
            self.label = label
            self.kind = kind
            self.formula = formula
            self.whyNot = whyNot
        }
    }

    public var title: String
    public var series: [Series]
    public var markers: [Marker]
    public var width: Int
    public var height: Int

    public init(title: String, series: [Series], markers: [Marker] = [], width: Int = 960, height: Int = 480) {
        self.title = title
        self.series = series
        self.markers = markers
        self.width = width
        self.height = height
    }

    // MARK: Colours

    /// Marker colours by kind. No node line uses any of them (``nodePalette`` leaves them out).
    static let markerColours: [String: String] = ["rebalance": "#d62728", "alert": "#ff7f0e", "blocked": "#7f7f7f"]
    /// Every other kind (Rebalance phase changes).
    static let otherMarkerColour = "#000000"

    static func markerColour(_ kind: String) -> String { markerColours[kind] ?? otherMarkerColour }

    /// Node colours: Tableau 10 without the marker colours (red, orange, grey), and three darker hues.
    static let nodePalette = [
        "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
        "#393b79", "#637939", "#7b4173",
    ]
    /// Beyond the palette, colours repeat with a dash pattern, so every node's line still differs.
    static let nodeDashes: [String?] = [nil, "8 4", "2 3", "10 3 2 3"]

    /// Colour and dash pattern of node line `index`.
    static func nodeStyle(_ index: Int) -> (colour: String, dash: String?) {
        (nodePalette[index % nodePalette.count], nodeDashes[(index / nodePalette.count) % nodeDashes.count])
    }

    // MARK: Geometry

    /// Where everything goes; the SVG and the page's script share it.
    struct Geometry {
        var left: Double, top: Double, plotWidth: Double, plotHeight: Double
        var labelTop: Double
        var t0: Date, t1: Date, yMax: Double
        var layout: MarkerLabelLayout
        var axis: TimeAxis
        static let labelRowHeight = 14.0
        static let maxLabelRows = 4

        // Coordinates stay inside the drawing whatever the data: a point off the scale sits on its edge.
        func x(_ t: Date) -> Double {
            left + plotWidth * ConnectionsPlot.unit(t.timeIntervalSince(t0) / t1.timeIntervalSince(t0))
        }
        func y(_ v: Double) -> Double { top + plotHeight * (1 - ConnectionsPlot.unit(v / yMax)) }
        /// Baseline of label row `row`.
        func labelY(_ row: Int) -> Double { labelTop + Self.labelRowHeight * Double(row + 1) - 3 }
    }

    func geometry(showTitle: Bool) -> Geometry {
        let left = 70.0
        let right = 200.0
        let plotWidth = Double(width) - left - right
        let times = series.flatMap { $0.points.map(\.time) } + markers.map(\.time)
        let t0 = times.min() ?? Date(timeIntervalSince1970: 0)
        let t1 = max(times.max() ?? t0, t0.addingTimeInterval(1))
        let maxValue = max(series.flatMap { $0.points.compactMap(\.value) }.filter(\.isFinite).max() ?? 1, 1)
        let yMax = Self.niceCeiling(maxValue)
        let xOf = { (t: Date) in left + plotWidth * Self.unit(t.timeIntervalSince(t0) / t1.timeIntervalSince(t0)) }
        let layout = MarkerLabelLayout(
            labels: markers.map(\.label),
            xs: markers.map { xOf($0.time) },
            minX: left,
            maxX: left + plotWidth,
            maxRows: Geometry.maxLabelRows
        )
        let labelTop = showTitle ? 34.0 : 8.0
        let top = labelTop + Geometry.labelRowHeight * Double(layout.rowsUsed) + 6
        let bottom = layout.omitted.isEmpty ? 56.0 : 74.0
        let plotHeight = max(Double(height) - top - bottom, 60)
        let axis = TimeAxis(from: t0, to: t1, maxTicks: max(2, Int(plotWidth / 90)))
        return Geometry(
            left: left,
            top: top,
            plotWidth: plotWidth,
            plotHeight: plotHeight,
            labelTop: labelTop,
            t0: t0,
            t1: t1,
            yMax: yMax,
            layout: layout,
            axis: axis
        )
    }

    /// Pixel offsets that pull apart node lines that coincide on screen: at each time, nodes whose points lie within
    /// `OverlapSpread.tolerance` px of each other are spread `OverlapSpread.spacing` px apart, centred on their value.
    /// `offsets[series][point]`.
    func overlapOffsets(_ g: Geometry) -> [[Double]] {
        var offsets = series.map { [Double](repeating: 0, count: $0.points.count) }
        var byTime: [Date: [(series: Int, point: Int, y: Double)]] = [:]
        for (s, line) in series.enumerated() {
            for (p, point) in line.points.enumerated() {
                if let v = point.value, v.isFinite { byTime[point.time, default: []].append((s, p, g.y(v))) }
            }
        }
        for entries in byTime.values where entries.count > 1 {
            let sorted = entries.sorted { ($0.y, $0.series) < ($1.y, $1.series) }
            var group: [(series: Int, point: Int, y: Double)] = []
            func spread() {
                guard group.count > 1 else { return }
                let ordered = group.sorted { $0.series < $1.series }
                for (rank, entry) in ordered.enumerated() {
                    offsets[entry.series][entry.point] =
                        (Double(rank) - Double(ordered.count - 1) / 2) * OverlapSpread.spacing
                }
            }
            for entry in sorted {
                if let last = group.last, entry.y - last.y > OverlapSpread.tolerance {
                    spread()
                    group = []
                }
                group.append(entry)
            }
            spread()
        }
        return offsets
    }

    enum OverlapSpread {
        static let tolerance = 1.5
        static let spacing = 3.0
    }

    // MARK: SVG

    /// Renders the chart as an SVG document.
    public func svg() -> String {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + svgElement(interactive: false)
    }

    /// The `<svg>` element. Interactive (inside the HTML page): no title text (the page's heading shows it), no
    /// `<title>` tooltips (the page's script shows richer ones), and wide transparent hit areas on lines and markers.
    func svgElement(interactive: Bool) -> String {
        let g = geometry(showTitle: !interactive)
        let fmt = Self.fmt
        let plotRight = g.left + g.plotWidth
        let plotBottom = g.top + g.plotHeight
        var out =
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"sans-serif\" font-size=\"12\">\n"
        if !interactive { out += "<title>\(Self.escape(title))</title>\n" }
        out += "<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\" fill=\"#ffffff\"/>\n"
        if !interactive { out += "<text x=\"\(fmt(g.left))\" y=\"24\" font-size=\"16\">\(Self.escape(title))</text>\n" }

        // Grid and axes.
        for i in 0...4 {
            let v = g.yMax * Double(i) / 4
            let yy = fmt(g.y(v))
            out +=
                "<line x1=\"\(fmt(g.left))\" y1=\"\(yy)\" x2=\"\(fmt(plotRight))\" y2=\"\(yy)\" stroke=\"#e0e0e0\"/>\n"
            out +=
                "<text x=\"\(fmt(g.left - 8))\" y=\"\(yy)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(Self.count(v))</text>\n"
        }
        for tick in g.axis.ticks {
            let xx = fmt(g.x(tick.time))
            out +=
                "<line class=\"tick\" x1=\"\(xx)\" y1=\"\(fmt(g.top))\" x2=\"\(xx)\" y2=\"\(fmt(plotBottom + 4))\" stroke=\"#f0f0f0\"/>\n"
            out +=
                "<text class=\"tick-label\" x=\"\(xx)\" y=\"\(fmt(plotBottom + 17))\" text-anchor=\"middle\">\(Self.escape(tick.label))</text>\n"
            if let date = tick.dateLabel {
                out +=
                    "<text class=\"tick-date\" x=\"\(xx)\" y=\"\(fmt(plotBottom + 31))\" text-anchor=\"middle\" fill=\"#555555\">\(Self.escape(date))</text>\n"
            }
        }
        out +=
            "<text x=\"\(fmt(g.left + g.plotWidth / 2))\" y=\"\(fmt(plotBottom + 47))\" text-anchor=\"middle\">time (UTC)</text>\n"
        out +=
            "<text x=\"16\" y=\"\(fmt(g.top + g.plotHeight / 2))\" transform=\"rotate(-90 16 \(fmt(g.top + g.plotHeight / 2)))\" text-anchor=\"middle\">live connections</text>\n"
        out +=
            "<rect x=\"\(fmt(g.left))\" y=\"\(fmt(g.top))\" width=\"\(fmt(g.plotWidth))\" height=\"\(fmt(g.plotHeight))\" fill=\"none\" stroke=\"#808080\"/>\n"

        // Node lines, coinciding ones pulled apart.
        let offsets = overlapOffsets(g)
        var hits = ""
        for (index, s) in series.enumerated() {
            let style = Self.nodeStyle(index)
            var segments: [[String]] = [[]]
            for (p, point) in s.points.enumerated() {
                if let v = point.value, v.isFinite {
                    segments[segments.count - 1].append("\(fmt(g.x(point.time))),\(fmt(g.y(v) + offsets[index][p]))")
                } else if !(segments.last?.isEmpty ?? true) {
                    segments.append([])
                }
            }
            let dash = style.dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
            let tooltip = interactive ? "" : "<title>\(Self.escape(s.node))</title>"
            for segment in segments where !segment.isEmpty {
                let points = segment.joined(separator: " ")
                out +=
                    "<polyline class=\"node-line\" data-series=\"\(index)\" fill=\"none\" stroke=\"\(style.colour)\" stroke-width=\"2\"\(dash) points=\"\(points)\">\(tooltip)</polyline>\n"
                if interactive {
                    hits +=
                        "<polyline class=\"node-hit\" data-series=\"\(index)\" fill=\"none\" stroke=\"transparent\" stroke-width=\"12\" pointer-events=\"stroke\" points=\"\(points)\"/>\n"
                }
            }
        }

        // Markers over the lines, each label in its row above the plot.
        let rows = Dictionary(uniqueKeysWithValues: g.layout.placements.map { ($0.marker, $0) })
        for (index, marker) in markers.enumerated() {
            let colour = Self.markerColour(marker.kind)
            let xx = fmt(g.x(marker.time))
            let placement = rows[index]
            let lineTop = placement.map { g.labelY($0.row) - 10 } ?? g.top
            let tooltip = interactive ? "" : "<title>\(Self.escape(Self.markerText(marker)))</title>"
            out +=
                "<line class=\"marker\" data-marker=\"\(index)\" x1=\"\(xx)\" y1=\"\(fmt(lineTop))\" x2=\"\(xx)\" y2=\"\(fmt(plotBottom))\" stroke=\"\(colour)\" stroke-dasharray=\"4 3\">\(tooltip)</line>\n"
            if let placement {
                let anchor = placement.leftOfLine ? " text-anchor=\"end\"" : ""
                let textX = placement.leftOfLine ? placement.maxX : placement.minX
                out +=
                    "<text class=\"marker-label\" data-marker=\"\(index)\" x=\"\(fmt(textX))\" y=\"\(fmt(g.labelY(placement.row)))\" font-size=\"11\" fill=\"\(colour)\"\(anchor)>\(Self.escape(marker.label))</text>\n"
            }
            if interactive {
                hits +=
                    "<line class=\"marker-hit\" data-marker=\"\(index)\" x1=\"\(xx)\" y1=\"\(fmt(lineTop))\" x2=\"\(xx)\" y2=\"\(fmt(plotBottom))\" stroke=\"transparent\" stroke-width=\"10\" pointer-events=\"stroke\"/>\n"
            }
        }
        out += hits
        if !g.layout.omitted.isEmpty {
            let where_ = interactive ? "see the table below" : "hover their lines, or write the chart as .html"
            out +=
                "<text class=\"omitted\" x=\"\(fmt(g.left))\" y=\"\(fmt(plotBottom + 65))\" fill=\"#555555\">\(g.layout.omitted.count) marker label(s) left out where they would overlap; \(where_)</text>\n"
        }

        // Legend: colour, name, last value.
        for (index, s) in series.enumerated() {
            let style = Self.nodeStyle(index)
            let ly = g.top + 10 + Double(index) * 18
            let dash = style.dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
            out +=
                "<line x1=\"\(fmt(plotRight + 16))\" y1=\"\(fmt(ly))\" x2=\"\(fmt(plotRight + 36))\" y2=\"\(fmt(ly))\" stroke=\"\(style.colour)\" stroke-width=\"3\"\(dash)/>\n"
            let value = s.lastValue.map { "  " + Self.count($0) } ?? ""
            out +=
                "<text class=\"legend\" data-series=\"\(index)\" x=\"\(fmt(plotRight + 42))\" y=\"\(fmt(ly))\" dominant-baseline=\"middle\">\(Self.escape(Self.shortName(s.node) + value))</text>\n"
        }
        out += "</svg>\n"
        return out
    }

    /// A marker's tooltip: label, formula, why-not.
    static func markerText(_ marker: Marker) -> String {
        var lines = [marker.label]
        if let formula = marker.formula, !formula.isEmpty { lines.append("formula: " + formula) }
        if !marker.whyNot.isEmpty { lines.append("why not: " + marker.whyNot.joined(separator: "; ")) }
        return lines.joined(separator: "\n")
    }

    /// `emqx-ee@emqx-ee-0.emqx-ee-headless.default.svc.cluster.local` → `emqx-ee-0`; IPs stay whole.
    public static func shortName(_ node: String) -> String {
        guard let at = node.firstIndex(of: "@") else { return node }
        let host = node[node.index(after: at)...]
        if host.allSatisfy({ $0.isNumber || $0 == "." || $0 == ":" }) { return String(host) }
        return String(host.split(separator: ".").first ?? host[...])
    }

    /// `fraction` clamped to 0…1 (NaN, from an empty or infinite range, as 0).
    static func unit(_ fraction: Double) -> Double {
        fraction.isNaN ? 0 : min(1, max(0, fraction))
    }

    static func niceCeiling(_ value: Double) -> Double {
        guard value.isFinite else { return .greatestFiniteMagnitude }
        let magnitude = pow(10, floor(log10(value)))
        for step in [1.0, 2.0, 2.5, 5.0, 10.0] where step * magnitude >= value { return step * magnitude }
        return 10 * magnitude
    }

    /// A coordinate (bounded by the chart's size).
    static func fmt(_ value: Double) -> String { String(format3: value) }

    /// A count as people read it: `3333`, `3333.5`; any other value as Swift prints it.
    static func count(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e15 else { return "\(value)" }
        if value == value.rounded() { return String(Int64(value)) }
        return String(format: "%.1f", value)
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
