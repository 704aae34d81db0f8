/// The agent's version, reported by `--version` and the `build_info` metric.
public enum AgentVersion {
    public static let current = "0.1.0"
}
