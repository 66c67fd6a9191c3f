//! What a route requires of a token beyond being valid: audiences and scopes, all of them.
//!
//! Names are kept as given and compared as text: a name that is not a valid Tokener scope can
//! never be granted, so a misspelt requirement fails closed instead of panicking at start.

use tokener_core::{TokenClaims, VerifyError};

/// Audiences and scopes a token must all carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    audiences: Vec<String>,
    scopes: Vec<String>,
}

impl Requirements {
    pub fn new() -> Self {
        Self::default()
    }

    /// Require this scope (may be called several times: all are required).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.push_scope(scope.into());
        self
    }

    /// Require this audience (may be called several times: all are required).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.push_audience(audience.into());
        self
    }

    pub(crate) fn push_scope(&mut self, scope: String) {
        if !self.scopes.contains(&scope) {
            self.scopes.push(scope);
        }
    }

    pub(crate) fn push_audience(&mut self, audience: String) {
        if !self.audiences.contains(&audience) {
            self.audiences.push(audience);
        }
    }

    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// Audience first, then scopes: the order `tokener_core::Verifier` judges them in.
    pub fn check(&self, claims: &TokenClaims) -> Result<(), VerifyError> {
        let has_audience = |a: &String| claims.audiences.iter().any(|c| c.as_str() == a);
        if !self.audiences.iter().all(has_audience) {
            return Err(VerifyError::WrongAudience);
        }
        let has_scope = |s: &String| claims.scopes.iter().any(|c| c.as_str() == s);
        if !self.scopes.iter().all(has_scope) {
            return Err(VerifyError::MissingScope);
        }
        Ok(())
    }
}
