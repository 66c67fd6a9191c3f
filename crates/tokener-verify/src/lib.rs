//! Verify Tokener tokens in a receiving service.
