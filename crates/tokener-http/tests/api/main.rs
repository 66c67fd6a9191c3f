//! Black-box tests of the HTTP API: the app runs on a random port and is called over HTTP.

// The tests' futures nest the whole application's (the app is built inside each test), deeper
// than the compiler's default limit for computing their layout.
#![recursion_limit = "256"]

mod admin;
mod audit;
mod backoff;
mod cli;
mod cluster_failover;
mod contract;
mod group_commit;
mod helpers;
mod home;
mod instances;
mod jwt;
mod keys;
mod memory_bound;
mod mongodb;
mod oauth2;
mod observability;
mod openapi;
mod private_key_jwt;
mod process;
mod receiving;
mod shared_keys;
mod store_failure;
mod tls;
mod token;
mod write_behind;
