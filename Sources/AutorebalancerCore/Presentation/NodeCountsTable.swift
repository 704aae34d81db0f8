/// Plain-text renderings of per-node counts for terminals: live bars and a before/after table.
public enum NodeCountsTable {
    /// One line per node: short name, a bar scaled to `scale`, and the numbers, e.g.
    /// `emqx-ee-3  ████████████░░░░░░░░░░░░░░░░░░  2340 conn  2340 sess`.
    public static func bars(
        _ rows: [(node: String, connections: Double?, sessions: Double?)],
        scale: Double,
        width: Int = 30
    ) -> [String] {
        let nameWidth = rows.map { ConnectionsPlot.shortName($0.node).count }.max() ?? 0
        return rows.map { row in
            let name = ConnectionsPlot.shortName(row.node).padding(toLength: nameWidth, withPad: " ", startingAt: 0)
            guard let connections = row.connections else {
                return "\(name)  \(String(repeating: "·", count: width))  no sample"
            }
            // Clamped to the bar: a count off the scale (or not a number) fills it or leaves it empty, never traps.
            let filled =
                scale > 0 ? Int((ConnectionsPlot.unit(connections / scale) * Double(max(0, width))).rounded()) : 0
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: max(0, width - filled))
            let sessions = row.sessions.map { "  \(pad(BalanceEvaluation.format($0), 6)) sess" } ?? ""
            return "\(name)  \(bar)  \(pad(BalanceEvaluation.format(connections), 6)) conn\(sessions)"
        }
    }

    /// A before/after table with totals:
    /// ```
    /// node        before conn  before sess  after conn  after sess
    /// emqx-ee-0          3333         3333        2553        2553
    /// total             10000        10000       10000       10000
    /// ```
    public static func beforeAfter(
        nodes: [String],
        before: [String: (connections: Double?, sessions: Double?)],
        after: [String: (connections: Double?, sessions: Double?)]
    ) -> [String] {
        let headers = ["node", "before conn", "before sess", "after conn", "after sess"]
        var rows: [[String]] = []
        var totals = [0.0, 0.0, 0.0, 0.0]
        var known = [true, true, true, true]
        for node in nodes {
            let values = [
                before[node]?.connections, before[node]?.sessions, after[node]?.connections, after[node]?.sessions,
            ]
            for (index, value) in values.enumerated() {
                if let value { totals[index] += value } else { known[index] = false }
            }
            rows.append([ConnectionsPlot.shortName(node)] + values.map { $0.map(BalanceEvaluation.format) ?? "-" })
        }
        rows.append(
            ["total"] + totals.enumerated().map { known[$0.offset] ? BalanceEvaluation.format($0.element) : "-" }
        )
        let widths = headers.indices.map { column in ([headers] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { index, cell in
                index == 0 ? cell.padding(toLength: widths[0], withPad: " ", startingAt: 0) : pad(cell, widths[index])
            }.joined(separator: "  ")
        }
        return [line(headers)] + rows.map(line)
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
