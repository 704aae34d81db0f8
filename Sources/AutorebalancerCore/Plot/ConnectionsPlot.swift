import Foundation

/// A self-contained SVG line chart of per-node connections over time, with decisions marked as vertical lines.
/// Used by `demo --plot` and `backtest --plot`; pure (returns the document as a string).
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
    }

    /// A vertical marker (a decision, a Rebalance phase change).
    public struct Marker: Sendable, Hashable {
        public var time: Date
        public var label: String
        /// `rebalance`, `alert`, `blocked` or any other word; decides the colour.
        public var kind: String

        public init(time: Date, label: String, kind: String) {
            self.time = time
            self.label = label
            self.kind = kind
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

    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                          "#bcbd22", "#17becf"]

    /// Renders the chart as an SVG document.
    public func svg() -> String {
        let left = 70.0, right = 260.0, top = 40.0, bottom = 50.0
        let plotWidth = Double(width) - left - right
        let plotHeight = Double(height) - top - bottom
        let times = series.flatMap { $0.points.map(\.time) } + markers.map(\.time)
        let t0 = times.min() ?? Date(timeIntervalSince1970: 0)
        let t1 = max(times.max() ?? t0, t0.addingTimeInterval(1))
        let maxValue = max(series.flatMap { $0.points.compactMap(\.value) }.max() ?? 1, 1)
        let yMax = Self.niceCeiling(maxValue)
        // Coordinates stay inside the drawing whatever the data: a point off the scale sits on its edge.
        func x(_ t: Date) -> Double { left + plotWidth * Self.unit(t.timeIntervalSince(t0) / t1.timeIntervalSince(t0)) }
        func y(_ v: Double) -> Double { top + plotHeight * (1 - Self.unit(v / yMax)) }

        var out = """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="sans-serif" font-size="12">
            <title>\(Self.escape(title))</title>
            <rect x="0" y="0" width="\(width)" height="\(height)" fill="#ffffff"/>
            <text x="\(left)" y="24" font-size="16">\(Self.escape(title))</text>

            """
        // Axes and grid.
        for i in 0...4 {
            let v = yMax * Double(i) / 4
            let yy = Self.fmt(y(v))
            out += "<line x1=\"\(Self.fmt(left))\" y1=\"\(yy)\" x2=\"\(Self.fmt(left + plotWidth))\" y2=\"\(yy)\" stroke=\"#e0e0e0\"/>\n"
            out += "<text x=\"\(Self.fmt(left - 8))\" y=\"\(yy)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(BalanceEvaluation.format(v.rounded(.towardZero)))</text>\n"
        }
        let span = t1.timeIntervalSince(t0)
        for i in 0...4 {
            let t = t0.addingTimeInterval(span * Double(i) / 4)
            let label = "+\(BalanceEvaluation.format(t.timeIntervalSince(t0).rounded()))s"
            out += "<text x=\"\(Self.fmt(x(t)))\" y=\"\(Self.fmt(top + plotHeight + 18))\" text-anchor=\"middle\">\(label)</text>\n"
        }
        out += "<text x=\"\(Self.fmt(left + plotWidth / 2))\" y=\"\(Self.fmt(Double(height) - 8))\" text-anchor=\"middle\">time since \(Self.escape(KubernetesTime.format(t0)))</text>\n"
        out += "<text x=\"16\" y=\"\(Self.fmt(top + plotHeight / 2))\" transform=\"rotate(-90 16 \(Self.fmt(top + plotHeight / 2)))\" text-anchor=\"middle\">live connections</text>\n"
        out += "<rect x=\"\(Self.fmt(left))\" y=\"\(Self.fmt(top))\" width=\"\(Self.fmt(plotWidth))\" height=\"\(Self.fmt(plotHeight))\" fill=\"none\" stroke=\"#808080\"/>\n"

        // Markers.
        for (index, marker) in markers.enumerated() {
            let colour = marker.kind == "rebalance" ? "#d62728" : marker.kind == "blocked" ? "#7f7f7f" : "#ff7f0e"
            let xx = Self.fmt(x(marker.time))
            out += "<line x1=\"\(xx)\" y1=\"\(Self.fmt(top))\" x2=\"\(xx)\" y2=\"\(Self.fmt(top + plotHeight))\" stroke=\"\(colour)\" stroke-dasharray=\"4 3\"><title>\(Self.escape(marker.label))</title></line>\n"
            // Labels right of the middle grow leftwards, so they stay inside the plot area.
            let rightHalf = x(marker.time) > left + plotWidth / 2
            let anchor = rightHalf ? " text-anchor=\"end\" dx=\"-3\"" : " dx=\"3\""
            out += "<text x=\"\(xx)\" y=\"\(Self.fmt(top + 12 + Double(index % 4) * 13))\" fill=\"\(colour)\"\(anchor)>\(Self.escape(marker.label))</text>\n"
        }

        // Lines and legend.
        for (index, s) in series.enumerated() {
            let colour = Self.palette[index % Self.palette.count]
            var segments: [[String]] = [[]]
            for point in s.points {
                if let v = point.value {
                    segments[segments.count - 1].append("\(Self.fmt(x(point.time))),\(Self.fmt(y(v)))")
                } else if !(segments.last?.isEmpty ?? true) {
                    segments.append([])
                }
            }
            for segment in segments where !segment.isEmpty {
                out += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(segment.joined(separator: " "))\"><title>\(Self.escape(s.node))</title></polyline>\n"
            }
            let ly = top + 10 + Double(index) * 18
            out += "<line x1=\"\(Self.fmt(left + plotWidth + 16))\" y1=\"\(Self.fmt(ly))\" x2=\"\(Self.fmt(left + plotWidth + 36))\" y2=\"\(Self.fmt(ly))\" stroke=\"\(colour)\" stroke-width=\"3\"/>\n"
            out += "<text x=\"\(Self.fmt(left + plotWidth + 42))\" y=\"\(Self.fmt(ly))\" dominant-baseline=\"middle\">\(Self.escape(Self.shortName(s.node)))</text>\n"
        }
        out += "</svg>\n"
        return out
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

    static func fmt(_ value: Double) -> String { String(format3: value) }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

extension ConnectionsPlot {
    /// A self-contained HTML page holding the SVG chart.
    public func html() -> String {
        """
        <!DOCTYPE html>
        <html lang="en">
        <head><meta charset="utf-8"><title>\(Self.escape(title))</title></head>
        <body style="font-family: sans-serif; margin: 24px;">
        \(svg().replacingOccurrences(of: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", with: ""))</body>
        </html>

        """
    }
}
