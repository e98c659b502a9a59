"""User inputs read from the build stage: requirements files → pins (no network, no BuildKit)."""
