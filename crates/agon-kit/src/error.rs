//! The one error shape every Agon endpoint returns: RFC 9457 `application/problem+json` with a stable `code`
//! that clients switch on, and the request id that ties the answer to the logs.

use std::fmt;

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// Implemented by every service's error enum.
pub trait ErrorCode: std::error::Error {
    /// Stable, snake_case; clients switch on it, so it never changes once shipped.
    fn code(&self) -> &'static str;
    fn status(&self) -> StatusCode;
    /// Per-field details for validation errors.
    fn fields(&self) -> Vec<FieldError> {
        Vec::new()
    }
    /// Extension members for this problem.
    fn extensions(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::Map::new()
    }
    /// Seconds after which trying again may succeed, sent as `Retry-After` (RFC 9110 §10.2.3).
    fn retry_after(&self) -> Option<u64> {
        None
    }
}

/// One invalid field of a request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON path of the field (`email`, `address.city`, `items[2].qty`); empty for the body as a whole.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: &str) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// RFC 9457 problem details with Agon's extension members.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type; `about:blank` plus `code` is enough for clients.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable error code.
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Extension members specific to one problem (RFC 9457 §3.2), such as the challenge of `mfa_required`.
    #[serde(flatten)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

/// A 5xx cause, kept out of the body and attached to the response for the logging middleware to report once.
#[derive(Clone)]
pub struct ReportedError(pub std::sync::Arc<String>);

/// Builds the problem response for `err`. 5xx details never reach the client.
pub fn error_response<E: ErrorCode + ?Sized>(err: &E) -> Response {
    let status = err.status();
    let detail = if status.is_server_error() {
        "internal error".to_owned()
    } else {
        err.to_string()
    };
    let mut response = problem_with(status, err.code(), detail, err.fields(), err.extensions());
    // RFC 6750 §3: a 401 from a bearer-protected resource names the scheme, and why the token failed. Derived
    // from the code here, so every service's error type gets it by delegating to the kit.
    if status == StatusCode::UNAUTHORIZED {
        let challenge = match err.code() {
            "invalid_token" | "token_expired" | "session_revoked" => {
                "Bearer error=\"invalid_token\""
            }
            _ => "Bearer",
        };
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    if let Some(secs) = err.retry_after() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
    }
    if status.is_server_error() {
        response
            .extensions_mut()
            .insert(ReportedError(std::sync::Arc::new(format!("{err:#}"))));
    }
    response
}

/// Builds a problem response from parts.
pub fn problem(
    status: StatusCode,
    code: &str,
    detail: impl Into<String>,
    errors: Vec<FieldError>,
) -> Response {
    problem_with(status, code, detail, errors, serde_json::Map::new())
}

/// Builds a problem response with extension members.
pub fn problem_with(
    status: StatusCode,
    code: &str,
    detail: impl Into<String>,
    errors: Vec<FieldError>,
    extensions: serde_json::Map<String, serde_json::Value>,
) -> Response {
    let body = Problem {
        kind: "about:blank".to_owned(),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail: detail.into(),
        code: code.to_owned(),
        request_id: crate::telemetry::current_request_id(),
        errors,
        extensions,
    };
    let mut response = (status, Json(body)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// Errors raised by the kit itself (request parsing, authentication, routing).
#[derive(Debug, thiserror::Error)]
pub enum KitError {
    #[error("the request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("the request body does not match the expected shape")]
    InvalidBody(Vec<FieldError>),
    #[error("expected a JSON body with content-type application/json")]
    UnsupportedMediaType,
    #[error("the request body is larger than the {0} bytes allowed")]
    PayloadTooLarge(usize),
    #[error("invalid query string: {0}")]
    InvalidQuery(String),
    #[error("invalid path parameter: {0}")]
    InvalidPath(String),
    #[error("invalid header: {0}")]
    InvalidHeader(String),
    #[error("no route for {0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{0}")]
    Internal(String),
}

impl ErrorCode for KitError {
    fn code(&self) -> &'static str {
        match self {
            KitError::MalformedJson(_) => "malformed_json",
            KitError::InvalidBody(_) => "invalid_body",
            KitError::UnsupportedMediaType => "unsupported_media_type",
            KitError::PayloadTooLarge(_) => "payload_too_large",
            KitError::InvalidQuery(_) => "invalid_query",
            KitError::InvalidPath(_) => "invalid_path",
            KitError::InvalidHeader(_) => "invalid_header",
            KitError::NotFound(_) => "not_found",
            KitError::MethodNotAllowed => "method_not_allowed",
            KitError::Internal(_) => "internal",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            KitError::MalformedJson(_) => StatusCode::BAD_REQUEST,
            KitError::InvalidBody(_) => StatusCode::UNPROCESSABLE_ENTITY,
            KitError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            KitError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            KitError::InvalidQuery(_) | KitError::InvalidPath(_) | KitError::InvalidHeader(_) => {
                StatusCode::BAD_REQUEST
            }
            KitError::NotFound(_) => StatusCode::NOT_FOUND,
            KitError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            KitError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn fields(&self) -> Vec<FieldError> {
        match self {
            KitError::InvalidBody(fields) => fields.clone(),
            _ => Vec::new(),
        }
    }
}

impl IntoResponse for KitError {
    fn into_response(self) -> Response {
        error_response(&self)
    }
}

impl fmt::Debug for ReportedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The router fallback: unknown paths get a problem+json 404.
pub async fn not_found(uri: axum::http::Uri) -> KitError {
    KitError::NotFound(uri.path().to_owned())
}

/// The method fallback: a known path with another method gets a problem+json 405.
pub async fn method_not_allowed() -> KitError {
    KitError::MethodNotAllowed
}

/// The errors every service's handlers share — bad input with field errors, authentication and authorisation,
/// bad cursors, and faults. A service with no errors of its own uses it as is (`pub use agon_kit::ApiError as
/// Error`); one with domain errors wraps it as the variant `Api(ApiError)` and calls [`service_error!`].
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid request")]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Auth(#[from] crate::auth::AuthError),
    #[error(transparent)]
    Cursor(#[from] crate::page::CursorError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// One field's problem: a 422 `invalid_body` naming the field.
    pub fn invalid(field: &str, message: &str) -> Self {
        ApiError::Invalid(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Internal(e.into())
    }
}

impl ErrorCode for ApiError {
    fn code(&self) -> &'static str {
        match self {
            ApiError::Invalid(_) => "invalid_body",
            ApiError::Auth(e) => e.code(),
            ApiError::Cursor(e) => e.code(),
            ApiError::Internal(_) => "internal",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Auth(e) => e.status(),
            ApiError::Cursor(e) => e.status(),
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn fields(&self) -> Vec<FieldError> {
        match self {
            ApiError::Invalid(f) => f.clone(),
            _ => Vec::new(),
        }
    }
}

impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        error_response(&self)
    }
}

/// What a service's error enum needs besides its own variants, for an enum that wraps the shared errors as
/// `Api(agon_kit::ApiError)`: `?` on database, token, cursor and other failures, `Error::invalid(field,
/// message)`, and the problem+json response. Its `ErrorCode` impl delegates the `Api` variant.
///
/// ```ignore
/// #[derive(Debug, thiserror::Error)]
/// pub enum Error {
///     #[error("user {0} not found")]
///     NotFound(Uuid),
///     #[error(transparent)]
///     Api(agon_kit::ApiError),
/// }
/// agon_kit::service_error!(Error);
/// ```
#[macro_export]
macro_rules! service_error {
    ($error:ident) => {
        impl From<$crate::ApiError> for $error {
            fn from(e: $crate::ApiError) -> Self {
                $error::Api(e)
            }
        }
        impl From<$crate::__private::sqlx::Error> for $error {
            fn from(e: $crate::__private::sqlx::Error) -> Self {
                $error::Api(e.into())
            }
        }
        impl From<$crate::__private::anyhow::Error> for $error {
            fn from(e: $crate::__private::anyhow::Error) -> Self {
                $error::Api(e.into())
            }
        }
        impl From<$crate::auth::AuthError> for $error {
            fn from(e: $crate::auth::AuthError) -> Self {
                $error::Api(e.into())
            }
        }
        impl From<$crate::CursorError> for $error {
            fn from(e: $crate::CursorError) -> Self {
                $error::Api(e.into())
            }
        }
        impl $error {
            /// One field's problem: a 422 `invalid_body` naming the field.
            pub fn invalid(field: &str, message: &str) -> Self {
                $error::Api($crate::ApiError::invalid(field, message))
            }

            /// Several fields' problems: a 422 `invalid_body` naming each.
            pub fn invalid_fields(errors: Vec<$crate::FieldError>) -> Self {
                $error::Api($crate::ApiError::Invalid(errors))
            }
        }
        impl $crate::__private::axum::response::IntoResponse for $error {
            fn into_response(self) -> $crate::__private::axum::response::Response {
                $crate::error_response(&self)
            }
        }
    };
}
