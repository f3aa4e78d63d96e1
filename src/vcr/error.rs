//! The errors of the vCR client.

use std::error::Error;
use std::fmt;
use std::time::Duration;

pub use super::error_body::ApiMessage;

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
        message: ApiMessage,
    },

    /// 409: a duplicate name, or a state that forbids the call (a repository
    /// that still holds images cannot be deleted).
    #[error("conflict: {message}")]
    Conflict {
        /// The server's message, which names the rule.
        message: ApiMessage,
    },

    /// 400 (or 413, 422): the request broke a rule of the API.
    #[error("invalid request: {message}")]
    Invalid {
        /// The server's message, which names the rule.
        message: ApiMessage,
    },

    /// 401 on a vCR call even after fetching a fresh token once.
    #[error("unauthorized: {message}")]
    Unauthorized {
        /// The server's message.
        message: ApiMessage,
    },

    /// 403: the service account may not do this.
    #[error("forbidden: {message}")]
    Forbidden {
        /// The server's message.
        message: ApiMessage,
    },

    /// 429 after every retry was spent.
    #[error("rate limited: {message}")]
    RateLimited {
        /// The last `Retry-After` the server sent, if any.
        retry_after: Option<Duration>,
        /// The server's message.
        message: ApiMessage,
    },

    /// 5xx (after the retries allowed for the call were spent).
    #[error("server error {status}: {message}")]
    Server {
        /// The HTTP status code.
        status: u16,
        /// The server's message.
        message: ApiMessage,
    },

    /// Any other unexpected HTTP status.
    #[error("unexpected HTTP status {status}: {message}")]
    Status {
        /// The HTTP status code.
        status: u16,
        /// The server's message.
        message: ApiMessage,
    },

    /// The IAM token endpoint refused to issue a token (wrong client id or
    /// secret, or another error from IAM).
    #[error("IAM token request failed (HTTP {status}): {message}")]
    Auth {
        /// The HTTP status code IAM answered with.
        status: u16,
        /// IAM's message.
        message: ApiMessage,
    },

    /// The request did not complete: connection refused, name not found, TLS
    /// refused, timed out, or the answer was cut off. The message says which
    /// ([`TransportKind`]) and to which host, then the cause and its own causes;
    /// [`std::error::Error::source`] gives the cause itself (a `reqwest::Error`).
    #[error("{method} {path}: {}", transport_message(source.as_ref()))]
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
        /// The client setting the URL came from (`token_url`, `endpoint_hcm`,
        /// `endpoint_han`): the one to check.
        setting: &'static str,
    },

    /// The server answered with a redirect the client does not follow: to another
    /// host (where the credentials would not go along, so the call would fail with a
    /// puzzling 401), or one that would change the method of the call.
    #[error("{method} {path}: the server answered {status} {} pointing to {location}; {}", reason(*status), redirect_advice(self))]
    Redirect {
        /// The HTTP method of the call.
        method: String,
        /// The path of the call.
        path: String,
        /// The redirect status (301, 302, 303, 307, 308).
        status: u16,
        /// Where it pointed (`Location`, made absolute).
        location: String,
        /// Whether it pointed to another host (scheme, host or port).
        to_other_host: bool,
        /// The [`super::ClientConfig`] setting the call's URL came from:
        /// `token_url`, `endpoint_hcm` or `endpoint_han`.
        setting: &'static str,
        /// The value that setting would take if the new place is the API's new
        /// home (the location less the call's own path).
        suggested: String,
    },

    /// The answer was larger than the client reads ([`super::ClientConfig::max_answer_bytes`]).
    #[error("{method} {path}: the answer is larger than {limit} bytes: not read")]
    TooLarge {
        /// The HTTP method of the call.
        method: String,
        /// The path of the call.
        path: String,
        /// The most the client reads.
        limit: usize,
    },

    /// A walk of a paged list went past what the client reads in one walk
    /// ([`super::ClientConfig::max_walk_items`], [`super::ClientConfig::max_walk_bytes`],
    /// [`super::contract::MAX_WALK_PAGES`]): no list vCR keeps is that long.
    #[error(
        "{method} {path}: the list is longer than the client reads in one walk ({limit}): stopped"
    )]
    ListTooLong {
        /// The HTTP method of the call.
        method: String,
        /// The path of the call.
        path: String,
        /// The bound it went past, in words (`more than 100000 items`).
        limit: String,
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
            | VcrError::Auth { status, .. }
            | VcrError::Redirect { status, .. } => Some(*status),
            VcrError::Transport { .. }
            | VcrError::TooLarge { .. }
            | VcrError::ListTooLong { .. }
            | VcrError::Decode { .. }
            | VcrError::Config(_) => None,
        }
    }

    /// What the server's error answer said, when it answered with an error status.
    pub fn message(&self) -> Option<&ApiMessage> {
        match self {
            VcrError::NotFound { message }
            | VcrError::Conflict { message }
            | VcrError::Invalid { message }
            | VcrError::Unauthorized { message }
            | VcrError::Forbidden { message }
            | VcrError::RateLimited { message, .. }
            | VcrError::Server { message, .. }
            | VcrError::Status { message, .. }
            | VcrError::Auth { message, .. } => Some(message),
            _ => None,
        }
    }

    /// The error code the server's error body carried, if any.
    pub fn code(&self) -> Option<&str> {
        self.message().and_then(|m| m.code.as_deref())
    }

    /// Whether IAM refused the call because the service account lacks the vCR
    /// policy (see [`super::contract::IAM_PERMISSION_DENIED`]).
    pub fn lacks_vcr_policy(&self) -> bool {
        matches!(self, VcrError::Forbidden { .. })
            && self.code() == Some(super::contract::IAM_PERMISSION_DENIED)
    }

    /// What kind of transport failure this is, when the request got no answer.
    pub fn transport_kind(&self) -> Option<TransportKind> {
        match self {
            VcrError::Transport { source, .. } => Some(TransportKind::of(source.as_ref())),
            _ => None,
        }
    }

    /// Builds the error for a non-success status and the body of the answer.
    pub(crate) fn from_status(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        let message = ApiMessage::from_body(status, body);
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

/// Why a request got no answer: what the user can act on differs for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// The connection was refused: nothing listens at that address and port.
    Refused,
    /// The host name could not be resolved.
    Dns,
    /// The TLS handshake failed (a certificate not trusted, not for that host...).
    Tls,
    /// Connecting took longer than the connect timeout.
    ConnectTimeout,
    /// The server took longer than the request timeout to answer.
    Timeout,
    /// The connection broke off (reset, closed, an answer cut short).
    Broken,
}

impl TransportKind {
    /// Classifies a transport error (a `reqwest::Error` and its causes).
    pub fn of(error: &(dyn Error + 'static)) -> TransportKind {
        let mut causes = Vec::new();
        let mut cur: Option<&(dyn Error + 'static)> = Some(error);
        while let Some(e) = cur {
            causes.push(e);
            cur = e.source();
        }
        let io_kind = |kind: std::io::ErrorKind| {
            causes.iter().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == kind)
            })
        };
        let text = error_chain(error).to_ascii_lowercase();
        let reqwest = error.downcast_ref::<reqwest::Error>();
        if io_kind(std::io::ErrorKind::ConnectionRefused) {
            TransportKind::Refused
        } else if causes.iter().any(|e| e.is::<rustls::Error>())
            || text.contains("invalid peer certificate")
        {
            TransportKind::Tls
        } else if text.contains("dns error") || text.contains("failed to lookup address") {
            TransportKind::Dns
        } else if reqwest.is_some_and(|r| r.is_timeout()) || io_kind(std::io::ErrorKind::TimedOut) {
            match reqwest.is_some_and(|r| r.is_connect()) {
                true => TransportKind::ConnectTimeout,
                false => TransportKind::Timeout,
            }
        } else {
            TransportKind::Broken
        }
    }

    /// Whether nothing was ever exchanged with the server: the address is wrong,
    /// or nothing serves it (yet).
    pub fn never_connected(self) -> bool {
        matches!(
            self,
            TransportKind::Refused | TransportKind::Dns | TransportKind::ConnectTimeout
        )
    }
}

/// `host:port` of the URL a transport error is about, if it says.
pub(crate) fn error_host(error: &(dyn Error + 'static)) -> Option<String> {
    let url = error.downcast_ref::<reqwest::Error>()?.url()?;
    Some(host_port(url))
}

/// `host:port` of a URL (the port the scheme implies when none is written).
pub(crate) fn host_port(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// A transport failure in words: what and where, then the causes that say more. A
/// cause that only repeats the summary ("Connection refused (os error 111)" after
/// "connection refused") is left out: the reader reads it once.
fn transport_message(error: &(dyn Error + 'static)) -> String {
    let summary = transport_summary(error);
    let said = summary.to_lowercase();
    let mut message = summary;
    let mut cur = Some(error);
    while let Some(c) = cur {
        let text = c.to_string();
        let words = text
            .split(" (os error")
            .next()
            .unwrap_or(&text)
            .to_lowercase();
        if !said.contains(words.trim()) && !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        cur = c.source();
    }
    message
}

/// What a transport failure was, and where: the first words of its message.
fn transport_summary(error: &(dyn Error + 'static)) -> String {
    let host = error_host(error).unwrap_or_else(|| "the server".to_string());
    match TransportKind::of(error) {
        TransportKind::Refused => {
            format!("could not connect to {host}: connection refused")
        }
        TransportKind::Dns => format!("could not resolve the host name of {host}"),
        TransportKind::Tls => format!("the TLS handshake with {host} failed"),
        TransportKind::ConnectTimeout => format!("could not connect to {host} in time"),
        TransportKind::Timeout => format!("{host} did not answer in time"),
        TransportKind::Broken => format!("the exchange with {host} broke off"),
    }
}

fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

/// The end of a [`VcrError::Redirect`] message: why it was not followed, what to do.
fn redirect_advice(e: &VcrError) -> String {
    let VcrError::Redirect {
        method,
        to_other_host,
        setting,
        suggested,
        ..
    } = e
    else {
        return String::new();
    };
    if *to_other_host {
        format!(
            "the client does not follow a redirect to another host (the credentials would \
             not go along). If that is the API's new home, set {setting} to {suggested}"
        )
    } else {
        format!(
            "the client follows a redirect on the same host only for GET (any method with \
             307 and 308), at most {} in a row; this one was for a {method}",
            super::contract::MAX_SAME_HOST_REDIRECTS
        )
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Refused => "connection refused",
            TransportKind::Dns => "host name not found",
            TransportKind::Tls => "TLS handshake failed",
            TransportKind::ConnectTimeout => "connect timed out",
            TransportKind::Timeout => "timed out",
            TransportKind::Broken => "connection broken",
        })
    }
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
        assert_eq!(e.code(), Some("INVALID_NAME"));
        let e = VcrError::from_status(404, b"", None);
        assert!(e.is_not_found());
        assert_eq!(
            e.to_string(),
            "not found: HTTP 404 Not Found, with an empty body"
        );
        let e = VcrError::from_status(502, b"<html>bad gateway</html>", None);
        assert_eq!(e.status(), Some(502));
        assert!(e.to_string().contains("bad gateway"));
        let e = VcrError::from_status(418, br#"{"other":1}"#, None);
        assert!(matches!(e, VcrError::Status { status: 418, .. }));
    }

    #[test]
    fn the_iam_gateway_refusal_is_recognised() {
        let body = br#"[{"code":"IAM_PERMISSION_DENIED","message":"Permission denied"}]"#;
        let e = VcrError::from_status(403, body, None);
        assert!(e.lacks_vcr_policy(), "{e:?}");
        assert_eq!(
            e.to_string(),
            "forbidden: Permission denied [IAM_PERMISSION_DENIED]"
        );
        let other = VcrError::from_status(403, br#"{"message":"no"}"#, None);
        assert!(!other.lacks_vcr_policy());
        let not_403 = VcrError::from_status(401, body, None);
        assert!(!not_403.lacks_vcr_policy());
    }

    #[test]
    fn transport_and_decode_keep_their_source() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let e = VcrError::Transport {
            method: "GET".into(),
            path: "/v1/user".into(),
            source: Box::new(io),
            not_sent: false,
            setting: "endpoint_hcm",
        };
        assert_eq!(
            e.to_string(),
            "GET /v1/user: the exchange with the server broke off: reset by peer"
        );
        assert_eq!(e.transport_kind(), Some(TransportKind::Broken));
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
    fn a_refused_connection_is_said_once() {
        let e = VcrError::Transport {
            method: "POST".into(),
            path: "/token".into(),
            source: Box::new(std::io::Error::from_raw_os_error(111)),
            not_sent: true,
            setting: "token_url",
        };
        let text = e.to_string();
        assert_eq!(
            text.to_lowercase().matches("connection refused").count(),
            1,
            "{text}"
        );
        assert!(
            text.starts_with("POST /token: could not connect to the server: connection refused"),
            "{text}"
        );
    }

    #[test]
    fn transport_kinds_from_io_errors() {
        use std::io::{Error, ErrorKind};
        let kind = |k: ErrorKind| TransportKind::of(&Error::new(k, "x"));
        assert_eq!(kind(ErrorKind::ConnectionRefused), TransportKind::Refused);
        assert_eq!(kind(ErrorKind::TimedOut), TransportKind::Timeout);
        assert_eq!(kind(ErrorKind::UnexpectedEof), TransportKind::Broken);
        let dns = Error::other("dns error: failed to lookup address information");
        assert_eq!(TransportKind::of(&dns), TransportKind::Dns);
        assert!(TransportKind::Refused.never_connected());
        assert!(!TransportKind::Broken.never_connected());
        assert!(!TransportKind::Tls.never_connected());
    }

    #[test]
    fn redirects_say_where_and_what_to_set() {
        let e = VcrError::Redirect {
            method: "GET".into(),
            path: "/v1/repository".into(),
            status: 301,
            location: "https://vcr.api.example/v1/repository".into(),
            to_other_host: true,
            setting: "endpoint_hcm",
            suggested: "https://vcr.api.example/".into(),
        };
        let text = e.to_string();
        assert!(text.starts_with("GET /v1/repository: the server answered 301 Moved Permanently pointing to https://vcr.api.example/v1/repository;"), "{text}");
        assert!(
            text.ends_with("set endpoint_hcm to https://vcr.api.example/"),
            "{text}"
        );
        assert_eq!(e.status(), Some(301));
    }
}
