//! Tokener's HTTP binary: configuration, wiring and routes. Business rules live in
//! `tokener-core`; a handler parses, calls one service method and maps the result to HTTP.

pub mod cli;
pub mod client_auth;
pub mod configuration;
pub mod credentials;
pub mod error;
pub mod form;
pub mod json_body;
pub mod json_errors;
pub mod metrics;
pub mod openapi;
pub mod request_log;
pub mod routes;
pub mod signing_keys;
pub mod startup;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod tls;
pub mod write_behind;
