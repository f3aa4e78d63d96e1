//! What an error answer says, whatever its shape.
//!
//! vCR, the IAM gateway in front of it and the proxies on the way answer errors in
//! several shapes (listed, with their sources, in [`super::contract::ERROR_BODY_SHAPES`]).
//! Each is read into one [`ApiMessage`]; a body that is none of them (an HTML page
//! from a proxy, an empty body) becomes the status and a short excerpt, never a
//! decode error.

use std::fmt;

use serde_json::Value;

use super::redact::redact;

/// The longest excerpt of an unreadable body kept in a message.
pub const MAX_EXCERPT: usize = 200;

/// What an error answer said: the server's words and its error code, if any.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiMessage {
    /// The human message (several joined with `; `).
    pub text: String,
    /// The machine code (`errorCode`, or the first item's `code`), if any.
    pub code: Option<String>,
    /// Whether this is an excerpt of a body that is none of the known error shapes
    /// (a proxy's page, an empty body): then it may not come from vCR at all.
    pub excerpt: bool,
}

impl ApiMessage {
    /// Reads an error answer's body. `status` only serves bodies that say nothing.
    /// Whatever looks like an `Authorization` value or a token is redacted
    /// ([`redact`]): the message goes to Terraform's output and the logs.
    pub fn from_body(status: u16, body: &[u8]) -> ApiMessage {
        let message = match serde_json::from_slice::<Value>(body) {
            Ok(v) => from_json(&v).unwrap_or_else(|| excerpt(status, body)),
            Err(_) => excerpt(status, body),
        };
        ApiMessage {
            text: redact(&message.text),
            code: message.code.map(|c| redact(&c)),
            ..message
        }
    }
}

impl fmt::Display for ApiMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.text, &self.code) {
            (t, Some(c)) if t.is_empty() => f.write_str(c),
            (t, Some(c)) => write!(f, "{t} [{c}]"),
            (t, None) => f.write_str(t),
        }
    }
}

impl From<&str> for ApiMessage {
    fn from(text: &str) -> Self {
        ApiMessage {
            text: text.to_string(),
            ..ApiMessage::default()
        }
    }
}

impl From<String> for ApiMessage {
    fn from(text: String) -> Self {
        ApiMessage {
            text,
            ..ApiMessage::default()
        }
    }
}

/// A non-empty string field.
fn text_of(v: &Value, field: &str) -> Option<String> {
    v.get(field)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// A code field: a non-empty string, or a number.
fn code_of(v: &Value, field: &str) -> Option<String> {
    match v.get(field)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The four shapes (and a bare JSON string); `None` for JSON of another shape.
fn from_json(v: &Value) -> Option<ApiMessage> {
    match v {
        // The IAM gateway: `[{"code","message"}]`.
        Value::Array(items) => from_items(items),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string().into()),
        Value::Object(map) => {
            // The distribution-spec style: `{"errors":[{"code","message"}]}`.
            if let Some(Value::Array(items)) = map.get("errors") {
                if let Some(m) = from_items(items) {
                    return Some(m);
                }
            }
            // `{"message"}` and `{"message","code","errorCode","success"}`; OAuth 2's
            // `{"error","error_description"}` from a token endpoint.
            let text = text_of(v, "message").or_else(|| text_of(v, "error_description"));
            let code = code_of(v, "errorCode")
                .or_else(|| text_of(v, "code"))
                .or_else(|| text_of(v, "error"))
                .filter(|c| text.as_deref() != Some(c.as_str()));
            match (text, code) {
                (None, None) => None,
                (text, code) => Some(ApiMessage {
                    text: text.unwrap_or_default(),
                    code,
                    excerpt: false,
                }),
            }
        }
        _ => None,
    }
}

/// Items of `{"code","message"}`: their messages joined, the first code.
fn from_items(items: &[Value]) -> Option<ApiMessage> {
    let texts: Vec<String> = items.iter().filter_map(|i| text_of(i, "message")).collect();
    let code = items.iter().find_map(|i| code_of(i, "code"));
    if texts.is_empty() && code.is_none() {
        return None;
    }
    Some(ApiMessage {
        text: texts.join("; "),
        code,
        excerpt: false,
    })
}

/// The status and a short excerpt of a body that is not an error body we know.
fn excerpt(status: u16, body: &[u8]) -> ApiMessage {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let head = format!("HTTP {status} {reason}").trim_end().to_string();
    // Redacted before it is cut short, so that no part of a token is left behind.
    let raw = redact(&String::from_utf8_lossy(body));
    let raw = raw.trim();
    let text = if raw.is_empty() {
        format!("{head}, with an empty body")
    } else {
        let html = raw.starts_with('<');
        let readable = if html {
            strip_tags(raw)
        } else {
            raw.to_string()
        };
        let words: Vec<&str> = readable.split_whitespace().collect();
        let mut short: String = words.join(" ").chars().take(MAX_EXCERPT).collect();
        if short.chars().count() < words.join(" ").chars().count() {
            short.push('…');
        }
        let kind = if html { "an HTML page" } else { "a body" };
        format!("{head}, with {kind} that is not vCR's JSON: {short:?}")
    };
    ApiMessage {
        text,
        code: None,
        excerpt: true,
    }
}

/// The text of an HTML page: tags, and what `<script>` and `<style>` hold, left out.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        out.push(' ');
        let tag = &rest[open..];
        let lower = tag.get(..8).unwrap_or(tag).to_ascii_lowercase();
        // Where the skipped part ends: the end of the tag, or of the element.
        let closing = ["script", "style"]
            .into_iter()
            .find(|name| lower[1..].starts_with(name))
            .and_then(|name| tag.to_ascii_lowercase().find(&format!("</{name}")));
        let from = closing.unwrap_or(0);
        rest = match tag[from..].find('>') {
            Some(end) => &tag[from + end + 1..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> ApiMessage {
        ApiMessage::from_body(400, body.as_bytes())
    }

    #[test]
    fn the_four_shapes() {
        assert_eq!(
            read(r#"{"message":"name too short"}"#).to_string(),
            "name too short"
        );
        let m = read(
            r#"{"message":"Repository already exists","code":409,"errorCode":"REPO_EXISTS","success":false}"#,
        );
        assert_eq!(m.text, "Repository already exists");
        assert_eq!(m.code.as_deref(), Some("REPO_EXISTS"));
        let m = read(
            r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#,
        );
        assert_eq!(
            m.to_string(),
            "requested access to the resource is denied [DENIED]"
        );
        let m = read(r#"[{"code":"IAM_PERMISSION_DENIED","message":"Permission denied"}]"#);
        assert_eq!(m.code.as_deref(), Some("IAM_PERMISSION_DENIED"));
        assert_eq!(m.text, "Permission denied");
        let m = read(r#"[{"code":"A","message":"one"},{"code":"B","message":"two"}]"#);
        assert_eq!(m.to_string(), "one; two [A]");
    }

    #[test]
    fn other_json_shapes() {
        assert_eq!(read(r#""plain words""#).to_string(), "plain words");
        let m = read(r#"{"error":"invalid_client","error_description":"Bad credentials"}"#);
        assert_eq!(m.to_string(), "Bad credentials [invalid_client]");
        assert_eq!(
            read(r#"{"errorCode":"ONLY_CODE"}"#).to_string(),
            "ONLY_CODE"
        );
        // JSON that says nothing we know: the status and the text.
        let m = ApiMessage::from_body(418, br#"{"other":1}"#);
        assert!(m.text.starts_with("HTTP 418 I'm a teapot"), "{m}");
        assert!(m.text.contains(r#"{\"other\":1}"#), "{m}");
    }

    #[test]
    fn html_and_empty_bodies_give_the_status_and_an_excerpt() {
        let page = "<html><head><title>502 Bad Gateway</title><style>body{}</style></head>\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>";
        let m = ApiMessage::from_body(502, page.as_bytes());
        assert_eq!(
            m.text,
            r#"HTTP 502 Bad Gateway, with an HTML page that is not vCR's JSON: "502 Bad Gateway 502 Bad Gateway nginx""#
        );
        assert_eq!(m.code, None);
        assert!(m.excerpt);
        assert!(!read(r#"{"message":"x"}"#).excerpt);
        let m = ApiMessage::from_body(404, b"  \n");
        assert_eq!(m.text, "HTTP 404 Not Found, with an empty body");
        let m = ApiMessage::from_body(500, b"upstream connect error");
        assert!(
            m.text
                .ends_with(r#"not vCR's JSON: "upstream connect error""#),
            "{m}"
        );
    }

    #[test]
    fn long_bodies_are_cut() {
        let body = format!("<html><body>{}</body></html>", "word ".repeat(2000));
        let m = ApiMessage::from_body(503, body.as_bytes());
        assert!(
            m.text.chars().count() < MAX_EXCERPT + 100,
            "{}",
            m.text.len()
        );
        assert!(m.text.ends_with("…\""), "{m}");
        let garbage = [0xff_u8, 0xfe, b'<', b'x'];
        assert!(ApiMessage::from_body(500, &garbage)
            .text
            .starts_with("HTTP 500"));
    }
}
