/// Step 5 of an evaluation: at most one rebalance per cluster. Of the rules that want to act, the highest
/// `priority` wins, then the first in file order; the others are held back with `other-rule`.
enum Arbitration {
    /// The index (into `candidates`) of the winner, or `nil` when there is none.
    static func winner(_ candidates: [(index: Int, rule: Rule)]) -> Int? {
        candidates.indices.max { a, b in
            let (x, y) = (candidates[a], candidates[b])
            return (x.rule.priority, -x.index) < (y.rule.priority, -y.index)
        }
    }
}
