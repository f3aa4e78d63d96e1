//! Redaction of server text: what a server says in an error body reaches Terraform's
//! output and the logs, and a server (or a proxy) that echoes the request would put
//! the bearer token there. Anything shaped like an `Authorization` value or a token
//! is replaced by [`REDACTED`] before the text goes anywhere.

use std::sync::LazyLock;

use regex::{Captures, Regex};

/// What a redacted value reads as.
pub const REDACTED: &str = "[redacted]";

/// The shapes, in the order they are replaced: whole `Authorization` values first (a
/// header echoed as `Authorization: Bearer x` or `"authorization":"Bearer x"`), then
/// credentials named by their key, then a credential after its scheme anywhere, then
/// JWTs, then long opaque runs.
static AUTHORIZATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)((?:proxy-)?authorization\\?"?\s*[:=]\s*\\?"?)[^"\\\r\n,}]+"#).unwrap()
});
static NAMED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)((?:access|refresh|id|auth|bearer|session)?[_-]?token|(?:client[_-]?)?secret|password|api[_-]?key|x-auth-token)(\\?"?\s*[:=]\s*\\?"?)[^"\\\s,;&}]+"#,
    )
    .unwrap()
});
static SCHEME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{8,}").unwrap());
static JWT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*)?").unwrap()
});
static OPAQUE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[A-Za-z0-9_+/=-]{40,}").unwrap());

/// `text` with every credential-shaped part replaced by [`REDACTED`]. Digests
/// (hex) and ids (UUIDs) stay: they name objects and are no secret.
pub fn redact(text: &str) -> String {
    let text = AUTHORIZATION.replace_all(text, format!("${{1}}{REDACTED}"));
    let text = NAMED.replace_all(&text, format!("${{1}}${{2}}{REDACTED}"));
    let text = SCHEME.replace_all(&text, format!("${{1}} {REDACTED}"));
    let text = JWT.replace_all(&text, REDACTED);
    OPAQUE
        .replace_all(&text, |c: &Captures<'_>| {
            let run = &c[0];
            // A digest, or an id such as `repo-<uuid>`: groups of hex or of letters.
            let hex_or_id = run.split('-').all(|group| {
                group.chars().all(|ch| ch.is_ascii_hexdigit())
                    || group.chars().all(|ch| ch.is_ascii_alphabetic())
            });
            let mixed = run.chars().any(|ch| ch.is_ascii_digit())
                && run.chars().any(|ch| ch.is_ascii_alphabetic());
            if mixed && !hex_or_id {
                REDACTED.to_string()
            } else {
                run.to_string()
            }
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT_TOKEN: &str =
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzYS0xIiwiZXhwIjoxfQ.c2lnbmF0dXJlLWJ5dGVz";

    #[test]
    fn authorization_values_and_tokens_are_redacted() {
        for (said, kept) in [
            (
                format!("echo: Authorization: Bearer {JWT_TOKEN}\r\nHost: x"),
                "echo: Authorization: [redacted]\r\nHost: x".to_string(),
            ),
            (
                format!(r#"{{"headers":{{"authorization":"Bearer {JWT_TOKEN}","host":"x"}}}}"#),
                r#"{"headers":{"authorization":"[redacted]","host":"x"}}"#.to_string(),
            ),
            (
                "bad token bearer abcdefgh12345678 here".to_string(),
                "bad token bearer [redacted] here".to_string(),
            ),
            (
                format!("token expired: {JWT_TOKEN}"),
                "token expired: [redacted]".to_string(),
            ),
            (
                r#"access_token="s3cr3t-value", client_secret=hunter22&x=1"#.to_string(),
                r#"access_token="[redacted]", client_secret=[redacted]&x=1"#.to_string(),
            ),
            (
                "key AKIAx9f8g7h6j5k4l3m2n1b0v9c8x7z6l5k4j3h2 leaked".to_string(),
                "key [redacted] leaked".to_string(),
            ),
        ] {
            assert_eq!(redact(&said), kept);
        }
    }

    #[test]
    fn names_ids_and_digests_stay() {
        let text = "repository \"web-app\" (repo-3f2a9c1e-5b7d-4e8f-9a0b-1c2d3e4f5a6b) has image sha256:4f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80: Page or size invalid";
        assert_eq!(redact(text), text);
    }
}
