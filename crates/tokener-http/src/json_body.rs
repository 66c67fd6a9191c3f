//! JSON request bodies, read one way by every route: declared `application/json` (else 415),
//! a JSON object (else 400: a struct must not be filled from an array, as serde would), and
//! whole numbers accepted however they are written (`3600`, `3600.0`, `3.6e3`), since JSON
//! Schema counts all of them as the integer the documented schema asks for.

use crate::error::ApiError;
use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use serde::de::DeserializeOwned;
use serde_json::{Number, Value};

/// A required body: a JSON object.
pub fn object<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T, ApiError> {
    require_json(req)?;
    match parse(body)? {
        value @ Value::Object(_) => from_value(value),
        _ => Err(ApiError::invalid_request("the JSON body must be an object")),
    }
}

/// A body that may be left out: empty (or blank), or JSON `null`, means the defaults.
pub fn optional_object<T: DeserializeOwned + Default>(
    req: &HttpRequest,
    body: &[u8],
) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    require_json(req)?;
    match parse(body)? {
        Value::Null => Ok(T::default()),
        value @ Value::Object(_) => from_value(value),
        _ => Err(ApiError::invalid_request(
            "the JSON body must be an object (or null)",
        )),
    }
}

/// 415 unless the body is declared `application/json`.
pub fn require_json(req: &HttpRequest) -> Result<(), ApiError> {
    if crate::form::declares_media_type(req, "application/json") {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "the request body must be application/json",
    ))
}

fn parse(body: &[u8]) -> Result<Value, ApiError> {
    let mut value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid_request(format!("malformed JSON body: {e}")))?;
    whole_numbers(&mut value);
    Ok(value)
}

fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_json::from_value(value)
        .map_err(|e| ApiError::invalid_request(format!("malformed JSON body: {e}")))
}

/// Rewrites every number written with a fraction or exponent that is in fact a whole number
/// (within `u64`/`i64`) as that integer. Other numbers stay as they are, and are refused
/// where an integer is expected.
fn whole_numbers(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            // 2^64 and -2^63 are exact in f64; the bounds keep the casts lossless.
            if f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&f) {
                *n = Number::from(f as u64);
            } else if f.fract() == 0.0 && (-9_223_372_036_854_775_808.0..0.0).contains(&f) {
                *n = Number::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[derive(Debug, Default, serde::Deserialize, PartialEq)]
    struct Body {
        ttl: Option<u64>,
        delta: Option<i64>,
    }

    fn json(body: &str) -> (HttpRequest, Vec<u8>) {
        let req = TestRequest::default()
            .insert_header(("content-type", "application/json"))
            .to_http_request();
        (req, body.as_bytes().to_vec())
    }

    #[test]
    fn whole_numbers_are_integers_however_written() {
        for text in ["3600", "3600.0", "3.6e3", "36e2"] {
            let (req, body) = json(&format!(r#"{{"ttl": {text}}}"#));
            assert_eq!(
                object::<Body>(&req, &body).unwrap().ttl,
                Some(3600),
                "{text}"
            );
        }
        let (req, body) = json(r#"{"delta": -2.0}"#);
        assert_eq!(object::<Body>(&req, &body).unwrap().delta, Some(-2));
        for text in ["3600.5", "1e30", "-1.0"] {
            let (req, body) = json(&format!(r#"{{"ttl": {text}}}"#));
            assert!(object::<Body>(&req, &body).is_err(), "{text}");
        }
    }

    #[test]
    fn only_objects_fill_a_struct() {
        for text in ["[]", "[null, null]", "3", "\"x\"", "null"] {
            let (req, body) = json(text);
            let error = object::<Body>(&req, &body).unwrap_err();
            assert_eq!(error.code(), "invalid_request", "{text}");
        }
        for text in ["", "  ", "null"] {
            let (req, body) = json(text);
            assert_eq!(
                optional_object::<Body>(&req, &body).unwrap(),
                Body::default()
            );
        }
        let (req, body) = json("[true]");
        assert!(optional_object::<Body>(&req, &body).is_err());
        let req = TestRequest::default().to_http_request();
        let error = object::<Body>(&req, b"{}").unwrap_err();
        assert_eq!(error.code(), "unsupported_media_type");
    }
}
