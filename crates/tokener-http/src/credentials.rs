//! Client authentication by HTTP Basic.

use crate::error::ApiError;
use actix_web::http::header::Header;
use actix_web::HttpRequest;
use actix_web_httpauth::headers::authorization::{Authorization, Basic};
use tokener_core::{ClientId, ClientSecret};

/// The client id and secret from the `Authorization: Basic` header. Any problem (missing,
/// malformed, an id that cannot exist) is the same `invalid_client`, as RFC 6749 §5.2 asks.
pub fn basic(req: &HttpRequest) -> Result<(ClientId, ClientSecret), ApiError> {
    let auth = Authorization::<Basic>::parse(req).map_err(|_| ApiError::invalid_client())?;
    let basic = auth.as_ref();
    let id = ClientId::parse(basic.user_id()).map_err(|_| ApiError::invalid_client())?;
    let secret = basic.password().ok_or_else(ApiError::invalid_client)?;
    Ok((id, ClientSecret::presented(secret)))
}
