"""checks.yaml schema and loader (typed, frozen, validated at load time)."""
