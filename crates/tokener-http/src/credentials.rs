//! Client authentication: HTTP Basic (`POST /token`, `client_secret_basic`) and form
//! parameters (`client_secret_post`).

use crate::error::ApiError;
use crate::form::Form;
use actix_web::http::header::{self, Header};
use actix_web::HttpRequest;
use actix_web_httpauth::headers::authorization::{Authorization, Basic};
use tokener_core::{ClientId, ClientSecret};

/// The client id and secret from the `Authorization: Basic` header. Any problem (missing,
/// malformed, an id that cannot exist) is the same `invalid_client`, as RFC 6749 §5.2 asks.
pub fn basic(req: &HttpRequest) -> Result<(ClientId, ClientSecret), ApiError> {
    let (id, secret) = basic_parts(req)?;
    credentials(&id, &secret)
}

/// The client credentials of an OAuth2 request: `client_secret_basic` (whose parts are
/// form-urlencoded before base64, RFC 6749 §2.3.1) or `client_secret_post`, never both.
pub fn oauth(req: &HttpRequest, form: &Form) -> Result<(ClientId, ClientSecret), ApiError> {
    let in_body = form.get("client_secret").is_some();
    if req.headers().contains_key(header::AUTHORIZATION) {
        if in_body {
            return Err(ApiError::invalid_request(
                "use one client authentication method, not both",
            ));
        }
        let (id, secret) = basic_parts(req)?;
        return credentials(&url_decode(&id)?, &url_decode(&secret)?);
    }
    match (form.get("client_id"), form.get("client_secret")) {
        (Some(id), Some(secret)) => credentials(id, secret),
        _ => Err(ApiError::invalid_client()),
    }
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
