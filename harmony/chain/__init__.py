"""Layer 4: the protocol rules as plain functions (parameters, genesis, validation, state transition)."""
