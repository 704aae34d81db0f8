/// A cluster entry's `actuator:` setting: how the agent may act on the cluster.
public enum ActuatorSetting: String, Sendable, Hashable, Codable, CaseIterable {
    /// Create `apps.emqx.io/v2beta1` `Rebalance` objects for the operator to run (EMQX Operator 2.2, 2.3).
    case rebalanceResource
    /// Call EMQX's own load_rebalance API and keep an `EMQXRebalance` record (Operator 3.0, Helm, no operator).
    case emqxAPI
    /// The `Rebalance` resource where discovery finds it served, else EMQX's API (the default).
    case auto
}
