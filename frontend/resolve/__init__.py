"""Pins → the exact wheel of each package for the target, from index pages (no grpc, no LLB)."""
