//! Shared set-up of the integration tests (see `tokener_mongo::testing`).

pub use tokener_mongo::testing::*;
