//! The admin API, guarded by Tokener's own tokens (scope `tokener:admin`).

pub mod audit;
pub mod auth;
pub mod clients;
pub mod keys;
pub mod tokens;
