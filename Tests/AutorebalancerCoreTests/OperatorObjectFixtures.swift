import Foundation

/// Small EMQX objects shaped like the operator's own JSON: field names and `omitempty` exactly as its Go types
/// (emqx/emqx-operator) write them, so a zero count is *absent*, not `0`. Written by hand from the types, not from
/// this repository's encoder.
enum OperatorObjectFixtures {
    /// Operator 2.2, `apps.emqx.io/v2beta1` (`api/v2beta1/emqx_types_status.go`): `connections` counts sessions,
    /// `live_connections` connected clients (EMQX ≥ 5.1), both `omitempty`. Core 3 has just joined and holds nothing:
    /// it has neither key. `emqx-core-4` runs EMQX 5.0.26, which has no `live_connections`; `emqx-core-5` is stopped.
    static let v2beta1 = """
        {"apiVersion":"apps.emqx.io/v2beta1","kind":"EMQX",
         "metadata":{"name":"emqx","namespace":"default","uid":"u-1"},
         "spec":{"image":"emqx/emqx-enterprise:5.8.6","coreTemplate":{"spec":{"replicas":6}}},
         "status":{
          "conditions":[{"type":"Ready","status":"True","reason":"ClusterReady","message":"Cluster is ready","lastTransitionTime":"2026-11-20T10:00:00Z"}],
          "coreNodes":[
           {"node":"emqx@emqx-core-0.emqx-headless.default.svc.cluster.local","node_status":"running","otp_release":"26.2.5-2/14.2.5","version":"5.8.6","role":"core","edition":"Enterprise","connections":3400,"live_connections":3333},
           {"node":"emqx@emqx-core-1.emqx-headless.default.svc.cluster.local","node_status":"running","version":"5.8.6","role":"core","edition":"Enterprise","connections":3401,"live_connections":3333},
           {"node":"emqx@emqx-core-2.emqx-headless.default.svc.cluster.local","node_status":"running","version":"5.8.6","role":"core","edition":"Enterprise","connections":3402,"live_connections":3334},
           {"node":"emqx@emqx-core-3.emqx-headless.default.svc.cluster.local","node_status":"running","version":"5.8.6","role":"core","edition":"Enterprise"},
           {"node":"emqx@emqx-core-4.emqx-headless.default.svc.cluster.local","node_status":"running","version":"5.0.26","role":"core","edition":"Enterprise","connections":10},
           {"node":"emqx@emqx-core-5.emqx-headless.default.svc.cluster.local","node_status":"stopped","role":"core"}
          ],
          "coreNodesStatus":{"replicas":6,"readyReplicas":5,"currentRevision":"6b5f","currentReplicas":6,"updateRevision":"6b5f","updateReplicas":6}
         }}
        """

    /// Operator 2.3, `apps.emqx.io/v2` (`api/v2/emqx_types_status.go`): `connections` counts connected clients,
    /// `sessions` sessions, both `omitempty`; no `edition`, no `live_connections`; `nodeEvacuations` replaces
    /// `nodeEvacuationsStatus`; `coreNodesStatus` is `{readyReplicas, updatedReplicas, currentReplicas}`. The spec
    /// wants 5 replicants (`api/v2/emqx_types_spec.go`); four run, the newest (`…-r5q2x`) has just joined with
    /// nothing, and `emqx@10.0.0.14` is being evacuated.
    static let v2 = """
        {"apiVersion":"apps.emqx.io/v2","kind":"EMQX",
         "metadata":{"name":"emqx","namespace":"default"},
         "spec":{"image":"emqx/emqx-enterprise:5.10.1","coreTemplate":{"spec":{"replicas":2}},"replicantTemplate":{"spec":{"replicas":5}}},
         "status":{
          "conditions":[{"type":"Ready","status":"True","reason":"Ready","lastTransitionTime":"2026-11-20T10:00:00Z","message":""}],
          "coreNodes":[
           {"name":"emqx@emqx-core-0.emqx-headless.default.svc.cluster.local","podName":"emqx-core-0","status":"running","otpRelease":"27.3.4.2-2/15.2.7.1","version":"5.10.1","role":"core","sessions":4},
           {"name":"emqx@emqx-core-1.emqx-headless.default.svc.cluster.local","podName":"emqx-core-1","status":"running","version":"5.10.1","role":"core"}
          ],
          "coreNodesStatus":{"readyReplicas":2,"updatedReplicas":2},
          "replicantNodes":[
           {"name":"emqx@10.0.0.11","podName":"emqx-replicant-7d9f-abcde","status":"running","version":"5.10.1","role":"replicant","sessions":2600,"connections":2500},
           {"name":"emqx@10.0.0.12","podName":"emqx-replicant-7d9f-fghij","status":"running","version":"5.10.1","role":"replicant","sessions":2601,"connections":2500},
           {"name":"emqx@10.0.0.14","podName":"emqx-replicant-7d9f-klmno","status":"running","version":"5.10.1","role":"replicant","sessions":900,"connections":800},
           {"name":"emqx@10.0.0.13","podName":"emqx-replicant-7d9f-r5q2x","status":"running","version":"5.10.1","role":"replicant"}
          ],
          "replicantNodesStatus":{"readyReplicas":4,"currentRevision":"7d9f","currentReplicas":4,"updateRevision":"7d9f","updateReplicas":4},
          "nodeEvacuations":[{"nodeName":"emqx@10.0.0.14","state":"evicting_conns","sessionRecipients":["emqx@10.0.0.11"],"sessionEvictionRate":1000,"connectionEvictionRate":1000,"initialSessions":2000,"initialConnections":1900}]
         }}
        """

    /// Operator 3.0, `apps.emqx.io/v3beta1` (`api/v3beta1/emqx_types_status.go`): the v2 node shape with `sessions`
    /// and `connections` always written, `coreReplicas`/`replicantReplicas` and their selectors (the scale
    /// subresource, `api/v3beta1/emqx_types.go`), the `Paused` condition (`internal/controller/pause_reconciliation.go`).
    /// The HPA lowered the replicants to 2 while 3 run; `emqx@10.0.1.3` has lost its counts (which v3beta1 always
    /// writes: unknown, not 0).
    static let v3beta1 = """
        {"apiVersion":"apps.emqx.io/v3beta1","kind":"EMQX",
         "metadata":{"name":"emqx","namespace":"prod"},
         "spec":{"image":"emqx/emqx-enterprise:6.0.1","coreTemplate":{"spec":{"replicas":2}},"replicantTemplate":{"spec":{"replicas":2}}},
         "status":{
          "conditions":[
           {"type":"Ready","status":"True","reason":"ClusterReady","message":"","lastTransitionTime":"2026-11-20T10:00:00Z"},
           {"type":"Paused","status":"True","reason":"AnnotationSet","message":"Reconciliation is paused","lastTransitionTime":"2026-11-20T10:05:00Z"}],
          "coreReplicas":2,"coreSelector":"apps.emqx.io/db-role=core,apps.emqx.io/instance=emqx,apps.emqx.io/managed-by=emqx-operator",
          "replicantReplicas":3,"replicantSelector":"apps.emqx.io/db-role=replicant,apps.emqx.io/instance=emqx,apps.emqx.io/managed-by=emqx-operator",
          "coreNodes":[
           {"name":"emqx@emqx-core-0.emqx-headless.prod.svc.cluster.local","podName":"emqx-core-0","status":"running","version":"6.0.1","role":"core","sessions":0,"connections":0},
           {"name":"emqx@emqx-core-1.emqx-headless.prod.svc.cluster.local","podName":"emqx-core-1","status":"running","version":"6.0.1","role":"core","sessions":0,"connections":0}
          ],
          "coreNodesStatus":{"readyReplicas":2,"updatedReplicas":2,"currentReplicas":0},
          "replicantNodes":[
           {"name":"emqx@10.0.1.1","podName":"emqx-replicant-5c6d-aaaaa","status":"running","version":"6.0.1","role":"replicant","sessions":0,"connections":0},
           {"name":"emqx@10.0.1.2","podName":"emqx-replicant-5c6d-bbbbb","status":"running","version":"6.0.1","role":"replicant","sessions":1200,"connections":1100},
           {"name":"emqx@10.0.1.3","podName":"emqx-replicant-5c6d-ccccc","status":"running","version":"6.0.1","role":"replicant"}
          ],
          "replicantNodesStatus":{"readyReplicas":3,"currentRevision":"5c6d","currentReplicas":3,"updateRevision":"5c6d","updateReplicas":3}
         }}
        """

    /// The pods of the 3.0 cluster (core `v1` `Pod`): the operator has marked one for removal
    /// (`apps.emqx.io/scaling-down`, `api/v3beta1/const.go`).
    static let v3beta1Pods = """
        [{"metadata":{"name":"emqx-replicant-5c6d-aaaaa","namespace":"prod","labels":{"apps.emqx.io/instance":"emqx"}},"status":{"podIP":"10.0.1.1"}},
         {"metadata":{"name":"emqx-replicant-5c6d-bbbbb","namespace":"prod","labels":{"apps.emqx.io/instance":"emqx"},"annotations":{"apps.emqx.io/scaling-down":"true"}},"status":{"podIP":"10.0.1.2"}},
         {"metadata":{"name":"emqx-replicant-5c6d-ccccc","namespace":"prod","labels":{"apps.emqx.io/instance":"emqx"}},"status":{"podIP":"10.0.1.3"}}]
        """
}
