import Foundation

extension ConnectionsPlot {
    /// A self-contained HTML page (no external resources): the chart, where hovering a node line shows that node's
    /// value at the pointer's time and hovering a marker shows its formula and why-not; a table of the markers; and
    /// `summary` (the backtest's summary) under it. The title appears once, as the page's heading.
    public func html(summary: String? = nil) -> String {
        let g = geometry(showTitle: false)
        let rows = markers.enumerated().map { index, marker in
            let time = KubernetesTime.format(marker.time)
            let why = marker.whyNot.map(Self.escape).joined(separator: "<br>")
            return "<tr id=\"marker-\(index)\" data-marker=\"\(index)\"><td>\(Self.escape(time))</td>"
                + "<td><span class=\"swatch\" style=\"background:\(Self.markerColour(marker.kind))\"></span>\(Self.escape(marker.kind))</td>"
                + "<td>\(Self.escape(marker.label))</td><td>\(Self.escape(marker.formula ?? ""))</td><td>\(why)</td></tr>"
        }
        let table =
            markers.isEmpty
            ? "<p id=\"no-markers\">No decisions or Rebalance changes in this range.</p>"
            : """
            <table id="markers">
            <thead><tr><th>time (UTC)</th><th>kind</th><th>what</th><th>formula</th><th>why not (other rules)</th></tr></thead>
            <tbody>
            \(rows.joined(separator: "\n"))
            </tbody>
            </table>
            """
        let summaryBlock = summary.map { "<h2>Summary</h2>\n<pre id=\"summary\">\(Self.escape($0))</pre>\n" } ?? ""
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>\(Self.escape(title))</title>
            <style>
            body { font-family: sans-serif; margin: 24px; color: #202020; }
            h1 { font-size: 20px; font-weight: normal; }
            #chart { position: relative; display: inline-block; }
            #tooltip { position: absolute; pointer-events: none; background: #ffffff; border: 1px solid #808080;
              padding: 6px 8px; font-size: 12px; white-space: pre-line; max-width: 460px; box-shadow: 2px 2px 6px #0003; }
            .node-line.highlight { stroke-width: 4; }
            table { border-collapse: collapse; font-size: 13px; margin-top: 8px; }
            th, td { border: 1px solid #d0d0d0; padding: 4px 8px; text-align: left; vertical-align: top; }
            tr.highlight td { background: #fff3c4; }
            .swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px; }
            .hint { color: #555555; font-size: 13px; }
            pre { white-space: pre-wrap; }
            </style>
            </head>
            <body>
            <h1>\(Self.escape(title))</h1>
            <div id="chart">
            \(svgElement(interactive: true))<div id="tooltip" role="tooltip" hidden></div>
            </div>
            <p class="hint">Hover a node's line for its value at that time, a dashed marker for its formula and why-not.</p>
            <h2>Decisions and Rebalance changes</h2>
            \(table)
            \(summaryBlock)<script type="application/json" id="chart-data">\(chartData(g))</script>
            <script>
            \(Self.script)
            </script>
            </body>
            </html>

            """
    }

    /// What the page's script needs: the scales and every point and marker, as JSON that cannot end the script
    /// element (`<`, `>` and `&` are escaped).
    func chartData(_ g: Geometry) -> String {
        struct Data: Encodable {
            struct Node: Encodable {
                var name: String, short: String, colour: String
                /// [milliseconds since 1970, value or null]
                var points: [[Double?]]
            }
            struct Mark: Encodable { var t: Double, label: String, kind: String, formula: String?, whyNot: [String] }
            var left: Double, width: Double, t0: Double, t1: Double
            var nodes: [Node]
            var markers: [Mark]
        }
        let data = Data(
            left: g.left,
            width: g.plotWidth,
            t0: g.t0.timeIntervalSince1970 * 1000,
            t1: g.t1.timeIntervalSince1970 * 1000,
            nodes: series.enumerated().map { index, s in
                Data.Node(
                    name: s.node,
                    short: Self.shortName(s.node),
                    colour: Self.nodeStyle(index).colour,
                    points: s.points.map {
                        [$0.time.timeIntervalSince1970 * 1000, $0.value.flatMap { $0.isFinite ? $0 : nil }]
                    }
                )
            },
            markers: markers.map {
                Data.Mark(
                    t: $0.time.timeIntervalSince1970 * 1000,
                    label: $0.label,
                    kind: $0.kind,
                    formula: $0.formula,
                    whyNot: $0.whyNot
                )
            }
        )
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = (try? encoder.encode(data)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return json.replacingOccurrences(of: "<", with: "\\u003c").replacingOccurrences(of: ">", with: "\\u003e")
            .replacingOccurrences(of: "&", with: "\\u0026")
    }

    /// Tooltips and highlighting. Text goes in with `textContent`, never as markup.
    static let script = #"""
        (function () {
          "use strict";
          var data = JSON.parse(document.getElementById("chart-data").textContent);
          var chart = document.getElementById("chart");
          var svg = chart.querySelector("svg");
          var tip = document.getElementById("tooltip");
          function pad(n) { return (n < 10 ? "0" : "") + n; }
          function clock(ms) {
            var d = new Date(ms);
            return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
              pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds()) + " UTC";
          }
          function since(ms) {
            var s = Math.round((ms - data.t0) / 1000), out = "";
            if (s >= 86400) { out += Math.floor(s / 86400) + "d"; s %= 86400; }
            if (s >= 3600) { out += Math.floor(s / 3600) + "h"; s %= 3600; }
            if (s >= 60) { out += Math.floor(s / 60) + "m"; s %= 60; }
            if (s > 0 || out === "") { out += s + "s"; }
            return "+" + out;
          }
          function svgX(event) {
            var p = svg.createSVGPoint();
            p.x = event.clientX; p.y = event.clientY;
            return p.matrixTransform(svg.getScreenCTM().inverse()).x;
          }
          function nearest(points, ms) {
            var lo = 0, hi = points.length - 1;
            while (hi - lo > 1) { var mid = (lo + hi) >> 1; if (points[mid][0] < ms) { lo = mid; } else { hi = mid; } }
            var best = Math.abs(points[lo][0] - ms) <= Math.abs(points[hi][0] - ms) ? lo : hi;
            // The nearest point with a value (a gap has none).
            for (var step = 0; step < points.length; step++) {
              if (best - step >= 0 && points[best - step][1] !== null) { return points[best - step]; }
              if (best + step < points.length && points[best + step][1] !== null) { return points[best + step]; }
            }
            return null;
          }
          function show(text, event) {
            tip.textContent = text;
            tip.hidden = false;
            var box = chart.getBoundingClientRect();
            var x = event.clientX - box.left + 14, y = event.clientY - box.top + 14;
            if (x + tip.offsetWidth > box.width) { x = Math.max(0, event.clientX - box.left - tip.offsetWidth - 14); }
            tip.style.left = x + "px";
            tip.style.top = y + "px";
          }
          function highlight(selector, on) {
            var all = document.querySelectorAll(".highlight");
            for (var i = 0; i < all.length; i++) { all[i].classList.remove("highlight"); }
            if (!on) { return; }
            var hits = document.querySelectorAll(selector);
            for (var j = 0; j < hits.length; j++) { hits[j].classList.add("highlight"); }
          }
          function markerText(m) {
            var lines = [m.label, clock(m.t) + " (" + since(m.t) + ")"];
            if (m.formula) { lines.push("formula: " + m.formula); }
            if (m.whyNot.length) { lines.push("why not:"); lines = lines.concat(m.whyNot.map(function (w) { return "  " + w; })); }
            return lines.join("\n");
          }
          svg.addEventListener("mousemove", function (event) {
            var target = event.target;
            if (target.hasAttribute("data-marker")) {
              var index = Number(target.getAttribute("data-marker"));
              highlight("#marker-" + index, true);
              show(markerText(data.markers[index]), event);
            } else if (target.hasAttribute("data-series")) {
              var node = data.nodes[Number(target.getAttribute("data-series"))];
              var ms = data.t0 + (svgX(event) - data.left) / data.width * (data.t1 - data.t0);
              var point = nearest(node.points, ms);
              highlight('.node-line[data-series="' + target.getAttribute("data-series") + '"]', true);
              if (point) {
                show(node.short + " (" + node.name + ")\n" + clock(point[0]) + " (" + since(point[0]) + ")\n" +
                  point[1] + " live connections", event);
              }
            } else {
              highlight("", false);
              tip.hidden = true;
            }
          });
          svg.addEventListener("mouseleave", function () { highlight("", false); tip.hidden = true; });
        })();
        """#
}
