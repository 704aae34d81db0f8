/// The `EMQXRebalance` CustomResourceDefinition, as shipped in deploy/crds/emqxrebalances.autorebalancer.emqx.io.yaml
/// (that file is its header comment, this text and a final newline; a test keeps both equal). The simulated Kubernetes API admits
/// `EMQXRebalance` objects against the schema in this text.
public enum EMQXRebalanceDefinition {
    public static let yaml = #"""
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: emqxrebalances.autorebalancer.emqx.io
          labels:
            app.kubernetes.io/name: emqx-autorebalancer
            app.kubernetes.io/part-of: emqx-autorebalancer
        spec:
          group: autorebalancer.emqx.io
          scope: Namespaced
          names:
            kind: EMQXRebalance
            listKind: EMQXRebalanceList
            plural: emqxrebalances
            singular: emqxrebalance
            shortNames:
              - emqxrb
          versions:
            - name: v1alpha1
              served: true
              storage: true
              subresources:
                status: {}
              additionalPrinterColumns:
                - name: Phase
                  type: string
                  jsonPath: .status.phase
                - name: Cluster
                  type: string
                  jsonPath: .spec.cluster
                - name: Rule
                  type: string
                  jsonPath: .metadata.labels.autorebalancer\.emqx\.io/rule
                - name: Age
                  type: date
                  jsonPath: .metadata.creationTimestamp
                - name: Reason
                  type: string
                  priority: 1
                  jsonPath: .status.reason
              schema:
                openAPIV3Schema:
                  type: object
                  description: One rebalance of an EMQX cluster through EMQX's load_rebalance API.
                  required:
                    - spec
                  properties:
                    apiVersion:
                      type: string
                    kind:
                      type: string
                    metadata:
                      type: object
                    spec:
                      type: object
                      description: What to rebalance and how. Immutable; to change it, delete the object and create a new one.
                      required:
                        - cluster
                        - strategy
                      x-kubernetes-validations:
                        - rule: self == oldSelf
                          message: spec is immutable; delete this EMQXRebalance and create a new one
                      properties:
                        cluster:
                          type: string
                          minLength: 1
                          maxLength: 253
                          description: The EMQX object in this namespace, or the name of an agent cluster entry without one.
                        nodes:
                          type: array
                          maxItems: 1000
                          description: The node set to rebalance; default the cluster's rebalanced set (replicants, else cores).
                          items:
                            type: string
                            minLength: 1
                            maxLength: 1024
                        strategy:
                          type: object
                          description: The fields of an EMQX Operator Rebalance's rebalanceStrategy; omitted ones take EMQX's defaults.
                          required:
                            - connEvictRate
                          properties:
                            connEvictRate:
                              type: integer
                              format: int32
                              minimum: 1
                              description: Connections each donor evicts per second.
                            sessEvictRate:
                              type: integer
                              format: int32
                              minimum: 1
                              description: Disconnected sessions each donor evicts per second (default 500).
                            waitHealthCheck:
                              type: integer
                              format: int32
                              minimum: 0
                              description: Seconds between start and the first eviction, for load balancers to drain donors (default 60).
                            waitTakeover:
                              type: integer
                              format: int32
                              minimum: 0
                              description: Seconds between connection and session eviction (default 60).
                            absConnThreshold:
                              type: integer
                              format: int32
                              minimum: 1
                              description: Balanced when avg(donors) <= avg(recipients) + this (default 1000).
                            absSessThreshold:
                              type: integer
                              format: int32
                              minimum: 1
                              description: The same for sessions (default 1000).
                            relConnThreshold:
                              type: string
                              pattern: ^[0-9]+(\.[0-9]+)?$
                              description: Balanced when avg(donors) <= avg(recipients) * this; a number above 1.0 (default "1.1").
                            relSessThreshold:
                              type: string
                              pattern: ^[0-9]+(\.[0-9]+)?$
                              description: The same for sessions (default "1.1").
                    status:
                      type: object
                      description: Written by the agent.
                      properties:
                        phase:
                          type: string
                          enum:
                            - Pending
                            - Starting
                            - Running
                            - Completed
                            - Failed
                          description: Pending (a gate is closed), Starting (EMQX asked, not yet confirmed), Running, Completed, Failed.
                        reason:
                          type: string
                          maxLength: 4096
                          description: Why it is Pending or Failed, or what EMQX said.
                        coordinator:
                          type: string
                          description: The node that coordinates the rebalance.
                        nodes:
                          type: array
                          items:
                            type: string
                        donors:
                          type: array
                          items:
                            type: string
                        recipients:
                          type: array
                          items:
                            type: string
                        emqxState:
                          type: string
                          description: EMQX's state (wait_health_check, evicting_conns, wait_takeover, evicting_sessions).
                        connectionEvictionRate:
                          type: integer
                          format: int64
                          minimum: 0
                        sessionEvictionRate:
                          type: integer
                          format: int64
                          minimum: 0
                        requestedTime:
                          type: string
                          format: date-time
                          description: When the agent asked EMQX to start.
                        startedTime:
                          type: string
                          format: date-time
                          description: When EMQX was seen to run it.
                        completedTime:
                          type: string
                          format: date-time
                          description: When EMQX was seen to have stopped (Completed or Failed).
                        observedGeneration:
                          type: integer
                          format: int64
        """#
}
