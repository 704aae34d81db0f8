// The configuration's types and loader live in `AgentConfig` (Foundation and Yams only, so the fuzzing harnesses can
// build it without the network stack); everything that imports `Agent` sees them as before.
@_exported import AgentConfig
