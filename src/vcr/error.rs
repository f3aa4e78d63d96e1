//! The errors of the vCR client.

use std::error::Error;
use std::time::Duration;

/// A cause kept as it came (a `reqwest::Error`, a `serde_json::Error`, ...).
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// An answer that decoded but lacks what the call needs; never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnexpectedAnswer(pub String);

/// An error and its causes, on one line. reqwest errors carry the URL (never a
/// token: tokens travel in headers).
pub(crate) fn error_chain(e: &(dyn Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let cs = c.to_string();
        if !s.contains(&cs) {
            s.push_str(": ");
            s.push_str(&cs);
        }
        cur = c.source();
    }
    s
}

/// Everything that can go wrong calling vCR. Each variant is one case the
/// caller may want to handle differently. No variant ever holds a secret or a
/// token: messages come from the server's error body or from the transport.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VcrError {
    /// 404: the object does not exist (deleted outside Terraform, wrong id).
    #[error("not found: {message}")]
    NotFound {
        /// The server's message.
        message: String,
    },

    /// 409: a duplicate name, or a state that forbids the call (a repository
    /// that still holds images cannot be deleted).
    #[error("conflict: {message}")]
    Conflict {
        /// The server's message, which names the rule.
        message: String,
    },

    /// 400 (or 413, 422): the request broke a rule of the API.
    #[error("invalid request: {message}")]
    Invalid {
        /// The server's message, which names the rule.
        message: String,
    },

    /// 401 on a vCR call even after fetching a fresh token once.
    #[error("unauthorized: {message}")]
    Unauthorized {
        /// The server's message.
        message: String,
    },

    /// 403: the service account may not do this.
    #[error("forbidden: {message}")]
    Forbidden {
        /// The server's message.
        message: String,
    },

    /// 429 after every retry was spent.
    #[error("rate limited: {message}")]
    RateLimited {
        /// The last `Retry-After` the server sent, if any.
        retry_after: Option<Duration>,
        /// The server's message.
        message: String,
    },

    /// 5xx (after the retries allowed for the call were spent).
    #[error("server error {status}: {message}")]
    Server {
        /// The HTTP status code.
        status: u16,
        /// The server's message.
        message: String,
    },

    /// Any other unexpected HTTP status.
    #[error("unexpected HTTP status {status}: {message}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The server's message.
        message: String,
    },

    /// The IAM token endpoint refused to issue a token (wrong client id or
    /// secret, or another error from IAM).
    #[error("IAM token request failed (HTTP {status}): {message}")]
    Auth {
        /// The HTTP status code IAM answered with.
        status: u16,
        /// IAM's message.
        message: String,
    },

    /// The request did not complete: connection refused, reset, timed out, or
    /// the answer was cut off. The message carries the cause and its own causes;
    /// [`std::error::Error::source`] gives the cause itself (a `reqwest::Error`).
    #[error("{method} {path}: transport error: {}", error_chain(source.as_ref()))]
    Transport {
        /// The HTTP method of the call.
        method: String,
        /// The path of the call (no query, no host).
        path: String,
        /// What failed.
        #[source]
        source: BoxError,
        /// Whether the request surely never reached the server.
        not_sent: bool,
    },

    /// The answer did not have the expected shape. The source is the decoder's
    /// error, or an [`UnexpectedAnswer`] saying what was missing.
    #[error("{method} {path}: unexpected answer: {}", error_chain(source.as_ref()))]
    Decode {
        /// The HTTP method of the call.
        method: String,
        /// The path of the call.
        path: String,
        /// What did not match.
        #[source]
        source: BoxError,
    },

    /// The client configuration is not usable.
    #[error("invalid client configuration: {0}")]
    Config(String),
}

impl VcrError {
    /// A decode error for the call `method path`, saying what the answer lacked.
    pub(crate) fn unexpected(method: &str, path: &str, what: impl Into<String>) -> Self {
        VcrError::Decode {
            method: method.to_string(),
            path: path.to_string(),
            source: Box::new(UnexpectedAnswer(what.into())),
        }
    }

    /// Whether this is a 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, VcrError::NotFound { .. })
    }

    /// Whether this is a 409.
    pub fn is_conflict(&self) -> bool {
        matches!(self, VcrError::Conflict { .. })
    }

    /// The HTTP status of the error, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            VcrError::NotFound { .. } => Some(404),
            VcrError::Conflict { .. } => Some(409),
            VcrError::Invalid { .. } => Some(400),
            VcrError::Unauthorized { .. } => Some(401),
            VcrError::Forbidden { .. } => Some(403),
            VcrError::RateLimited { .. } => Some(429),
            VcrError::Server { status, .. }
            | VcrError::Status { status, .. }
            | VcrError::Auth { status, .. } => Some(*status),
            VcrError::Transport { .. } | VcrError::Decode { .. } | VcrError::Config(_) => None,
        }
    }

    /// Builds the error for a non-success status and the body of the answer.
    pub(crate) fn from_status(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        let message = error_message(status, body);
        match status {
            400 | 413 | 422 => VcrError::Invalid { message },
            401 => VcrError::Unauthorized { message },
            403 => VcrError::Forbidden { message },
            404 => VcrError::NotFound { message },
            409 => VcrError::Conflict { message },
            429 => VcrError::RateLimited {
                retry_after,
                message,
            },
            500..=599 => VcrError::Server { status, message },
            _ => VcrError::Status { status, message },
        }
    }
}

/// The longest piece of a non-JSON error body kept in a message.
const MAX_BODY_IN_MESSAGE: usize = 300;

/// Extracts a human message from an error body: the contract's
/// `{"message","errorCode"}` when present (see `contract.rs`), otherwise the
/// start of the body's text, otherwise the status's reason phrase.
pub(crate) fn error_message(status: u16, body: &[u8]) -> String {
    use super::contract::{ERROR_CODE_FIELD, ERROR_MESSAGE_FIELD};
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) {
        let msg = map
            .get(ERROR_MESSAGE_FIELD)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty());
        let code = map
            .get(ERROR_CODE_FIELD)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty());
        match (msg, code) {
            (Some(m), Some(c)) => return format!("{m} [{c}]"),
            (Some(m), None) => return m.to_string(),
            (None, Some(c)) => return c.to_string(),
            (None, None) => {}
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        let reason = http_reason(status);
        return format!("HTTP {status} {reason}").trim_end().to_string();
    }
    let mut short: String = text.chars().take(MAX_BODY_IN_MESSAGE).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

fn http_reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_statuses_and_messages() {
        let e = VcrError::from_status(
            400,
            br#"{"message":"name too short","errorCode":"INVALID_NAME"}"#,
            None,
        );
        assert!(matches!(e, VcrError::Invalid { .. }));
        assert_eq!(
            e.to_string(),
            "invalid request: name too short [INVALID_NAME]"
        );
        let e = VcrError::from_status(404, b"", None);
        assert!(e.is_not_found());
        assert_eq!(e.to_string(), "not found: HTTP 404 Not Found");
        let e = VcrError::from_status(502, b"<html>bad gateway</html>", None);
        assert_eq!(e.status(), Some(502));
        assert!(e.to_string().contains("bad gateway"));
        let e = VcrError::from_status(418, br#"{"other":1}"#, None);
        assert!(matches!(e, VcrError::Status { status: 418, .. }));
    }

    #[test]
    fn transport_and_decode_keep_their_source() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let e = VcrError::Transport {
            method: "GET".into(),
            path: "/v1/user".into(),
            source: Box::new(io),
            not_sent: false,
        };
        assert_eq!(
            e.to_string(),
            "GET /v1/user: transport error: reset by peer"
        );
        let source = e.source().expect("the cause is kept");
        assert!(source.downcast_ref::<std::io::Error>().is_some());

        let json = serde_json::from_str::<u32>("\"x\"").unwrap_err();
        let e = VcrError::Decode {
            method: "GET".into(),
            path: "/v1/user".into(),
            source: Box::new(json),
        };
        assert!(e
            .source()
            .unwrap()
            .downcast_ref::<serde_json::Error>()
            .is_some());
        let e = VcrError::unexpected("POST", "/v1/user", "the answer holds no secretKey");
        assert_eq!(
            e.to_string(),
            "POST /v1/user: unexpected answer: the answer holds no secretKey"
        );
    }

    #[test]
    fn long_bodies_are_shortened() {
        let body = "x".repeat(5000);
        let m = error_message(500, body.as_bytes());
        assert!(m.chars().count() <= MAX_BODY_IN_MESSAGE + 1);
    }
}
