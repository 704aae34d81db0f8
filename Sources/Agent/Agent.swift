// Module Agent.
