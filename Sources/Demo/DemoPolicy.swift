/// The policy the demo runs by default: the seed scenario's strategy (rules/demo.yaml in the repository; a test keeps
/// the two identical). Embedded so `demo` works from any directory.
public enum DemoPolicy {
    public static let file = "rules/demo.yaml"
    public static let text = #"""
        # yaml-language-server: $schema=../schema/policy.schema.json
        # The demo's policy: the seed scenario's strategy, with detection thresholds that fire on 3333/3333/3334/0
        # within about 30 s of simulated time; a restarted node likewise.
        apiVersion: autorebalancer.emqx.io/v1alpha1
        kind: Policy
        metadata:
          name: demo
          version: "1"
        spec:
          evaluationInterval: 5s
          staleness: 30s
          rules:
            - name: scale-out
              description: A node joined and sits near zero while the others hold the clients.
              trigger: {type: scaleOut, window: 10m}
              imbalance:
                connections: {abs: 200, rel: 1.2}
                sessions: {abs: 200, rel: 1.2}
              for: 20s
              cooldown: 5m
              minConnections: 100
              priority: 10
              rebalanceStrategy: &seed
                connEvictRate: 10
                sessEvictRate: 10
                waitTakeover: 10
                waitHealthCheck: 10
                absConnThreshold: 100
                absSessThreshold: 100
                relConnThreshold: "1.1"
                relSessThreshold: "1.1"
            - name: restart
              description: A node restarted, lost its clients to the others and came back empty.
              trigger: {type: restart, window: 10m}
              imbalance:
                connections: {abs: 200, rel: 1.2}
                sessions: {abs: 200, rel: 1.2}
              for: 20s
              cooldown: 5m
              minConnections: 100
              priority: 10
              rebalanceStrategy: *seed
            - name: skew
              description: Any lasting imbalance (the demo agent may start after the node joined).
              trigger: skew
              imbalance:
                connections: {abs: 200, rel: 1.2}
                sessions: {abs: 200, rel: 1.2}
              for: 20s
              cooldown: 5m
              minConnections: 100
              rebalanceStrategy: *seed
        """#
}
