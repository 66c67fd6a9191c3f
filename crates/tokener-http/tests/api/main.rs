//! Black-box tests of the HTTP API: the app runs on a random port and is called over HTTP.

mod admin;
mod cli;
mod helpers;
mod home;
mod keys;
mod mongodb;
mod oauth2;
mod observability;
mod openapi;
mod process;
mod store_failure;
mod token;
mod write_behind;
