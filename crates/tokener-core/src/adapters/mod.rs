//! In-memory adapters of every port: the embedded default, and a fast stand-in for tests.

mod memory;

pub use memory::{InMemoryClientRegistry, InMemoryTokenStore};
