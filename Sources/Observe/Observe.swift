// Module Observe.
