//! Client authentication: HTTP Basic (`POST /token`, `client_secret_basic`), form
//! parameters (`client_secret_post`) and signed assertions (`private_key_jwt`).

use crate::error::ApiError;
use crate::form::Form;
use actix_web::http::header::{self, Header};
use actix_web::HttpRequest;
use actix_web_httpauth::headers::authorization::{Authorization, Basic};
use tokener_core::{ClientAssertion, ClientId, ClientSecret, JWT_BEARER_ASSERTION};

/// How an OAuth2 request authenticates its client.
pub enum Credentials {
    /// `client_secret_basic` or `client_secret_post`.
    Secret(ClientId, ClientSecret),
    /// `private_key_jwt`: read, not verified yet.
    Assertion(ClientAssertion),
}

impl Credentials {
    /// The client the request claims to be (for an assertion, before its signature is checked).
    pub fn client_id(&self) -> &ClientId {
        match self {
            Self::Secret(id, _) => id,
            Self::Assertion(assertion) => assertion.client(),
        }
    }
}

/// The form parameters of client authentication (RFC 6749 §2.3.1, RFC 7521 §4.2).
pub const FORM_PARAMETERS: [&str; 4] = [
    "client_id",
    "client_secret",
    "client_assertion_type",
    "client_assertion",
];

/// The client id and secret from the `Authorization: Basic` header. Any problem (missing,
/// malformed, an id that cannot exist) is the same `invalid_client`, as RFC 6749 §5.2 asks.
pub fn basic(req: &HttpRequest) -> Result<(ClientId, ClientSecret), ApiError> {
    let (id, secret) = basic_parts(req)?;
    credentials(&id, &secret)
}

/// The client credentials of an OAuth2 request: `client_secret_basic` (whose parts are
/// form-urlencoded before base64, RFC 6749 §2.3.1), `client_secret_post` or `private_key_jwt`
/// (RFC 7523 §2.2), exactly one of them. More than one is `invalid_client`: RFC 6749 §2.3
/// forbids it, and §5.2 counts an unsupported use of authentication methods as a failed
/// client authentication.
pub fn oauth(req: &HttpRequest, form: &Form) -> Result<Credentials, ApiError> {
    let basic = req.headers().contains_key(header::AUTHORIZATION);
    let secret = form.get("client_secret").is_some();
    let assertion =
        form.get("client_assertion").is_some() || form.get("client_assertion_type").is_some();
    if usize::from(basic) + usize::from(secret) + usize::from(assertion) > 1 {
        return Err(ApiError::invalid_client_because(
            "use one client authentication method, not several",
        ));
    }
    if assertion {
        return self::assertion(form).map(Credentials::Assertion);
    }
    let (id, secret) = if basic {
        let (id, secret) = basic_parts(req)?;
        credentials(&url_decode(&id)?, &url_decode(&secret)?)?
    } else {
        match (form.get("client_id"), form.get("client_secret")) {
            (Some(id), Some(secret)) => credentials(id, secret)?,
            _ => return Err(ApiError::invalid_client()),
        }
    };
    Ok(Credentials::Secret(id, secret))
}

/// A `private_key_jwt` assertion, read but not verified. A `client_id` sent beside it must
/// name the client the assertion is for (RFC 7521 §4.2).
fn assertion(form: &Form) -> Result<ClientAssertion, ApiError> {
    if form.get("client_assertion_type") != Some(JWT_BEARER_ASSERTION) {
        return Err(ApiError::invalid_client_because(format!(
            "client_assertion_type must be {JWT_BEARER_ASSERTION}"
        )));
    }
    let text = form
        .get("client_assertion")
        .ok_or_else(|| ApiError::invalid_client_because("client_assertion is missing"))?;
    let assertion = ClientAssertion::parse(text)
        .map_err(|error| ApiError::invalid_client_because(error.to_string()))?;
    if form
        .get("client_id")
        .is_some_and(|id| id != assertion.client().as_str())
    {
        return Err(ApiError::invalid_client_because(
            "client_id does not match the assertion's sub",
        ));
    }
    Ok(assertion)
}

fn basic_parts(req: &HttpRequest) -> Result<(String, String), ApiError> {
    let auth = Authorization::<Basic>::parse(req).map_err(|_| ApiError::invalid_client())?;
    let basic = auth.as_ref();
    let secret = basic.password().ok_or_else(ApiError::invalid_client)?;
    Ok((basic.user_id().to_string(), secret.to_string()))
}

/// Undoes application/x-www-form-urlencoded encoding (`+` is a space, `%XX` a byte).
fn url_decode(text: &str) -> Result<String, ApiError> {
    percent_encoding::percent_decode_str(&text.replace('+', " "))
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| ApiError::invalid_client())
}

fn credentials(id: &str, secret: &str) -> Result<(ClientId, ClientSecret), ApiError> {
    let id = ClientId::parse(id).map_err(|_| ApiError::invalid_client())?;
    Ok((id, ClientSecret::presented(secret)))
}
