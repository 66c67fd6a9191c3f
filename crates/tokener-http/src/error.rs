//! The one error shape of the API: `{"error": "<stable code>", "error_description": "..."}`
//! with the right status and headers. Descriptions never carry a driver message, a stack
//! trace or a secret.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;
use tokener_core::{IssueError, StoreError};
use utoipa::ToSchema;

/// Seconds a client should wait before retrying when a dependency is down.
pub const RETRY_AFTER_SECONDS: u32 = 2;

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code (OAuth2 codes where RFC 6749 defines one).
    #[schema(example = "invalid_client")]
    pub error: String,
    /// Human-readable explanation.
    #[schema(example = "invalid client credentials")]
    pub error_description: String,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    description: String,
    /// Overrides the default challenge of a 401/403 (e.g. `Bearer` for admin routes).
    challenge: Option<(header::HeaderName, String)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
            challenge: None,
        }
    }

    pub fn with_header(mut self, name: header::HeaderName, value: String) -> Self {
        self.challenge = Some((name, value));
        self
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn invalid_client() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        )
    }

    /// `invalid_client` with a reason that says nothing about whether the client exists.
    pub fn invalid_client_because(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }

    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the token store is unavailable; retry later",
        )
    }

    pub fn code(&self) -> &'static str {
        self.code
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.description)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        match self.status {
            _ if self.challenge.is_some() => {
                if let Some((name, value)) = &self.challenge {
                    if let Ok(value) = HeaderValue::from_str(value) {
                        response.insert_header((name.clone(), value));
                    }
                }
            }
            StatusCode::UNAUTHORIZED => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"tokener\", charset=\"UTF-8\""),
                ));
            }
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS.to_string()));
            }
            _ => {}
        }
        response.json(ErrorBody {
            error: self.code.to_string(),
            error_description: self.description.clone(),
        })
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        // The detail names the failing dependency for the operator; the caller learns only
        // that it should retry. A full in-memory store says so itself, at most every 10 s:
        // not once a request.
        if !tokener_core::adapters::InMemoryTokenStore::is_full(&e) {
            tracing::warn!(error = %e, "store failure");
        }
        Self::unavailable()
    }
}

impl From<IssueError> for ApiError {
    fn from(e: IssueError) -> Self {
        match e {
            IssueError::InvalidClient => Self::invalid_client(),
            IssueError::ScopeNotAllowed(scope) => Self::new(
                StatusCode::FORBIDDEN,
                "scope_not_allowed",
                format!("scope {scope} is not allowed for this client"),
            ),
            IssueError::AudienceNotAllowed(aud) => Self::new(
                StatusCode::FORBIDDEN,
                "audience_not_allowed",
                format!("audience {aud} is not allowed for this client"),
            ),
            IssueError::TtlTooLong { max } => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_ttl",
                format!(
                    "ttl_seconds exceeds the maximum of {} seconds",
                    max.as_secs()
                ),
            ),
            IssueError::Store(e) => e.into(),
            IssueError::Mint(e) => {
                tracing::error!(error = %e, "minting failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "the token could not be signed",
                )
            }
        }
    }
}
