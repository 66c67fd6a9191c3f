//! Redis adapters for Tokener.
