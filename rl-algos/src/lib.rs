//! Algos.
