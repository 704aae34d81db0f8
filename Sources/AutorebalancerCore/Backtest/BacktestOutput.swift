import Foundation

/// The forms a backtest report takes: a text timeline, JSON lines (PRODUCT.md's literal example), and a chart.
public enum BacktestOutput {
    /// Decisions, and with `explain` the held-back steps, in time order (decisions after held-back records of the
    /// same instant).
    public static func records(_ report: BacktestRunner.Report, explain: Bool) -> [DecisionRecord] {
        guard explain else { return report.decisions }
        var merged: [DecisionRecord] = []
        merged.reserveCapacity(report.blocked.count + report.decisions.count)
        var b = 0
        var d = 0
        while b < report.blocked.count || d < report.decisions.count {
            if d == report.decisions.count
                || (b < report.blocked.count && report.blocked[b].time <= report.decisions[d].time)
            {
                merged.append(report.blocked[b])
                b += 1
            } else {
                merged.append(report.decisions[d])
                d += 1
            }
        }
        return merged
    }

    // MARK: Text

    /// The readable timeline: the sessions note (once, at the top), one line per record, then the summary.
    public static func textLines(_ report: BacktestRunner.Report, explain: Bool) -> [String] {
        var lines: [String] = []
        if let note = report.sessionsNote { lines.append("note: \(note)") }
        for record in records(report, explain: explain) { lines.append(textLine(record)) }
        lines.append(textSummary(report))
        return lines
    }

    /// `TIME  RULE  ACTION  REASON  FORMULA`; the reason of a decision is its trigger and the nodes it moves.
    public static func textLine(_ record: DecisionRecord) -> String {
        let reason: String
        if record.action == .blocked {
            let code = record.reason?.rawValue ?? "blocked"
            reason = record.detail.map { "\(code): \($0)" } ?? code
        } else {
            let donors = record.donors.map(ConnectionsPlot.shortName).joined(separator: ",")
            let recipients = record.recipients.map(ConnectionsPlot.shortName).joined(separator: ",")
            reason =
                "trigger \(record.trigger.rawValue), donors \(donors.isEmpty ? "-" : donors) -> recipients \(recipients.isEmpty ? "-" : recipients)"
        }
        var line = "\(KubernetesTime.format(record.time))  \(record.rule)  \(record.action.rawValue)  \(reason)"
        if !record.formula.isEmpty { line += "  \(record.formula)" }
        return line
    }

    /// `summary: 240 steps (T0 .. T1); decisions: scale-out 1; held back: cooldown 40, missing-data 12`.
    public static func textSummary(_ report: BacktestRunner.Report) -> String {
        func counts(_ map: [String: Int]) -> String {
            map.isEmpty
                ? "none" : map.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
        var text = "summary: \(report.steps) step\(report.steps == 1 ? "" : "s")"
        if let start = report.start, let end = report.end {
            text += " (\(KubernetesTime.format(start)) .. \(KubernetesTime.format(end)))"
        }
        text += "; decisions: \(counts(report.decisionsPerRule)); held back: \(counts(report.blockedPerReason))"
        return text
    }

    // MARK: JSON

    /// One `DecisionRecord.jsonLine()` per record, then the summary line.
    public static func jsonLines(_ report: BacktestRunner.Report, explain: Bool) -> [String] {
        records(report, explain: explain).map { $0.jsonLine() } + [jsonSummary(report)]
    }

    /// `{"summary":{"steps":240,"decisions":{"scale-out":1},"blocked":{"missing-data":12,"cooldown":40}}}`, with
    /// `note` after `blocked` when session thresholds were skipped. Map keys are sorted.
    public static func jsonSummary(_ report: BacktestRunner.Report) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        func json<T: Encodable>(_ value: T) -> String {
            (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
        }
        var parts = [
            "\"steps\":\(report.steps)",
            "\"decisions\":\(json(report.decisionsPerRule))",
            "\"blocked\":\(json(report.blockedPerReason))",
        ]
        if let note = report.sessionsNote { parts.append("\"note\":\(json(note))") }
        return "{\"summary\":{" + parts.joined(separator: ",") + "}}"
    }

    // MARK: Plot

    /// Per-node live connections with the decisions marked. Long replays are thinned to about `maxPoints` points per
    /// node so the document stays small; decisions are always marked at their exact time, each with its formula and
    /// why the other rules were held back at that step.
    public static func plot(_ report: BacktestRunner.Report, title: String, maxPoints: Int = 2000) -> ConnectionsPlot {
        let stride = max(1, (report.timeline.count + maxPoints - 1) / max(maxPoints, 1))
        var steps: [BacktestRunner.Step] = []
        for index in Swift.stride(from: 0, to: report.timeline.count, by: stride) {
            steps.append(report.timeline[index])
        }
        if let last = report.timeline.last, steps.last != last { steps.append(last) }
        let series = report.nodes.map { node in
            ConnectionsPlot.Series(node: node, points: steps.map { (time: $0.time, value: $0.connections[node]) })
        }
        let heldBack = Dictionary(grouping: report.blocked, by: \.time)
        let markers = report.decisions.map { decision in
            ConnectionsPlot.Marker(
                time: decision.time,
                label: "\(decision.rule): \(decision.action.rawValue)",
                kind: decision.action.rawValue,
                formula: decision.formula,
                whyNot: (heldBack[decision.time] ?? []).filter { $0.rule != decision.rule }.map(whyNotLine)
            )
        }
        return ConnectionsPlot(title: title, series: series, markers: markers)
    }

    /// `rule: reason: detail` of a held-back record.
    static func whyNotLine(_ record: DecisionRecord) -> String {
        let reason = record.reason?.rawValue ?? "held back"
        return "\(record.rule): \(reason)" + (record.detail.map { ": " + $0 } ?? "")
    }

    /// The backtest's chart as a self-contained HTML page: hover tooltips, the table of decisions, the summary.
    public static func html(_ report: BacktestRunner.Report, title: String) -> String {
        plot(report, title: title).html(summary: textSummary(report))
    }
}
