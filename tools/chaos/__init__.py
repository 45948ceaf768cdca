"""The chaos suite: a seeded random workload under injected faults, checked against an oracle."""
