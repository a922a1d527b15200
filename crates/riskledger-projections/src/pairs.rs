//! Circumvention exposure per client–freelancer pair (`spec/policy.md`, section 1).
