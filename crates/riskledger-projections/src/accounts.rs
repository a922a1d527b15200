//! Leased, shared or sold accounts (`spec/policy.md`, section 2).
