//! Request extractors whose rejections are problem+json: malformed JSON (400), wrong content type (415), a body
//! over the limit (413), and unknown fields, wrong types or missing fields (422 with the field's path).
//! Services declare `#[serde(deny_unknown_fields)]` on request DTOs; these extractors report the violation.

use axum::{
    extract::{
        FromRequest, FromRequestParts, OptionalFromRequest, Request, rejection::BytesRejection,
    },
    http::{StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use bytes::Bytes;
use serde::{Serialize, de::DeserializeOwned};

use crate::error::{FieldError, KitError};

/// A JSON body (request) or JSON response.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

/// A query string.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

/// Path parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

/// The `Idempotency-Key` of a request that creates or pays, if it sent one: a retry with the same key gets the
/// first answer's resource instead of a second one. When sent, 1 to 255 visible ASCII characters (400
/// `invalid_header` otherwise).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = KitError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKey(None));
        };
        let key = value.to_str().unwrap_or_default();
        if (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(IdempotencyKey(Some(key.to_owned())))
        } else {
            Err(KitError::InvalidHeader(
                "Idempotency-Key must be 1 to 255 visible ASCII characters".into(),
            ))
        }
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = KitError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(KitError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        parse_json(&bytes).map(Json)
    }
}

/// An optional JSON body (`Option<Json<T>>`): none when the request carries nothing — no `Content-Type` and an
/// empty body; anything sent must be JSON, as for [`Json`].
impl<T: DeserializeOwned, S: Send + Sync> OptionalFromRequest<S> for Json<T> {
    type Rejection = KitError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, Self::Rejection> {
        if req.headers().contains_key(header::CONTENT_TYPE) {
            return <Json<T> as FromRequest<S>>::from_request(req, state)
                .await
                .map(Some);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_error)?;
        if bytes.is_empty() {
            Ok(None)
        } else {
            Err(KitError::UnsupportedMediaType)
        }
    }
}

/// A body that could not be read: too large (413), or cut short.
fn body_error(e: BytesRejection) -> KitError {
    match e {
        BytesRejection::FailedToBufferBody(inner)
            if inner.status() == StatusCode::PAYLOAD_TOO_LARGE =>
        {
            KitError::PayloadTooLarge(crate::MAX_BODY_BYTES)
        }
        other => KitError::MalformedJson(other.body_text()),
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = KitError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded_deserializer(query);
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| {
                KitError::InvalidQuery(describe(e.path().to_string(), e.inner().to_string()))
            })
    }
}

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = KitError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| KitError::InvalidPath(e.body_text()))
    }
}

/// Parses a JSON document into `T`, classifying failures the way the extractor reports them.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, KitError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if path == "." { String::new() } else { path };
                KitError::InvalidBody(vec![FieldError {
                    field,
                    message: strip_position(&inner.to_string()),
                }])
            }
            _ => KitError::MalformedJson(inner.to_string()),
        }
    })?;
    de.end()
        .map_err(|e| KitError::MalformedJson(e.to_string()))?;
    Ok(value)
}

fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

fn describe(path: String, message: String) -> String {
    if path == "." {
        message
    } else {
        format!("{path}: {message}")
    }
}

/// serde_json appends " at line 1 column 17"; the field path says more to a client than a column does.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn serde_urlencoded_deserializer(query: &str) -> serde_urlencoded::Deserializer<'_> {
    serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        email: String,
        age: u8,
    }

    fn field_of(err: KitError) -> (String, String) {
        match err {
            KitError::InvalidBody(f) => (f[0].field.clone(), f[0].message.clone()),
            other => panic!("expected invalid_body, got {other:?}"),
        }
    }

    #[test]
    fn classifies_json_failures() {
        assert!(matches!(
            parse_json::<Body>(b"{\"email\":"),
            Err(KitError::MalformedJson(_))
        ));
        assert!(matches!(
            parse_json::<Body>(br#"{"email":"a","age":1} trailing"#),
            Err(KitError::MalformedJson(_))
        ));
        let (field, message) =
            field_of(parse_json::<Body>(br#"{"email":"a","age":"x"}"#).unwrap_err());
        assert_eq!(field, "age");
        assert!(message.contains("invalid type"), "{message}");
        let (_, message) =
            field_of(parse_json::<Body>(br#"{"email":"a","age":1,"role":"admin"}"#).unwrap_err());
        assert!(message.contains("unknown field `role`"), "{message}");
        let (_, message) = field_of(parse_json::<Body>(br#"{"email":"a"}"#).unwrap_err());
        assert!(message.contains("missing field `age`"), "{message}");
    }
}
