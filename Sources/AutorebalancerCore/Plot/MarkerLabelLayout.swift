/// Places marker labels in rows above the plot so that no two overlap: each label goes into the first row where it
/// clears every label already there; a label that fits in no row is left out (its marker keeps its line and its
/// tooltip, and the chart says how many labels it left out).
struct MarkerLabelLayout: Sendable, Hashable {
    struct Placement: Sendable, Hashable {
        /// Index into the markers.
        var marker: Int
        var row: Int
        /// The label's left and right edges.
        var minX: Double
        var maxX: Double
        /// `true` when the label extends left of its line (near the right edge).
        var leftOfLine: Bool
    }

    var placements: [Placement]
    var rowsUsed: Int
    var omitted: [Int]

    /// Average glyph advance of the 11px sans-serif label font, generous so estimates err towards more space.
    static let glyphWidth = 6.6
    static let gap = 6.0

    static func width(of label: String) -> Double { Double(label.count) * glyphWidth }

    /// `xs[i]` is marker i's position; labels must stay within `minX...maxX`.
    init(labels: [String], xs: [Double], minX: Double, maxX: Double, maxRows: Int) {
        var rows: [[ClosedRange<Double>]] = []
        var placements: [Placement] = []
        var omitted: [Int] = []
        for index in xs.indices.sorted(by: { (xs[$0], $0) < (xs[$1], $1) }) {
            let width = Self.width(of: labels[index])
            let x = xs[index]
            // Right of the line when it fits before the right edge, else left of it (when it fits there).
            let leftOfLine = x + 3 + width > maxX && x - 3 - width >= minX
            let span = leftOfLine ? (x - 3 - width)...(x - 3) : (x + 3)...(x + 3 + width)
            let padded = (span.lowerBound - Self.gap / 2)...(span.upperBound + Self.gap / 2)
            let free = rows.firstIndex { row in row.allSatisfy { !$0.overlaps(padded) } }
            let row: Int
            if let free {
                row = free
            } else if rows.count < maxRows {
                rows.append([])
                row = rows.count - 1
            } else {
                omitted.append(index)
                continue
            }
            rows[row].append(padded)
            placements.append(
                Placement(marker: index, row: row, minX: span.lowerBound, maxX: span.upperBound, leftOfLine: leftOfLine)
            )
        }
        self.placements = placements
        self.rowsUsed = rows.count
        self.omitted = omitted.sorted()
    }
}
