//! Request bodies: the declared media type, and the `application/x-www-form-urlencoded`
//! bodies of the OAuth2 endpoints, read as RFC 6749 §3.1 and §3.2 ask: a parameter sent
//! without a value counts as omitted, an unknown parameter is ignored (also when repeated),
//! and a known parameter sent more than once is an error.

use crate::error::ApiError;
use actix_web::http::header;
use actix_web::HttpRequest;
use std::collections::HashMap;

/// The largest body the OAuth2 endpoints accept: a token plus a few parameters.
pub const MAX_FORM_BYTES: usize = 32 * 1024;

pub struct Form(HashMap<String, String>);

/// Whether the request's `Content-Type` is `media_type` (parameters such as `charset` aside).
pub fn declares_media_type(req: &HttpRequest, media_type: &str) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(media_type))
}

impl Form {
    /// The parameters of `body` that are among `known` (the endpoint's own) or among the
    /// client-authentication parameters every OAuth2 endpoint reads
    /// ([`crate::credentials::FORM_PARAMETERS`]).
    pub fn parse(req: &HttpRequest, body: &[u8], known: &[&str]) -> Result<Self, ApiError> {
        if !declares_media_type(req, "application/x-www-form-urlencoded") {
            return Err(ApiError::invalid_request(
                "the request body must be application/x-www-form-urlencoded",
            ));
        }
        let mut params = HashMap::new();
        for (name, value) in form_urlencoded::parse(body) {
            let read = known.contains(&name.as_ref())
                || crate::credentials::FORM_PARAMETERS.contains(&name.as_ref());
            if value.is_empty() || !read {
                continue;
            }
            if params
                .insert(name.to_string(), value.into_owned())
                .is_some()
            {
                return Err(ApiError::invalid_request(format!(
                    "parameter {name} is repeated"
                )));
            }
        }
        Ok(Self(params))
    }

    /// A parameter (empty values were dropped by `parse`: they count as absent).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn require(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::invalid_request(format!("parameter {name} is required")))
    }
}
