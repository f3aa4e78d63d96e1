//! Logs in the form Terraform reads from a plugin's stderr: one go-hclog JSON object
//! per line (`@level`, `@message`, `@module`, `@timestamp`, then the fields), at the
//! level `TF_LOG_PROVIDER` or `TF_LOG` asks for.

use std::io::Write;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

const HCLOG_TIMESTAMP: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
);

/// Reads the level Terraform's variables ask for; `None` means logging is off.
pub fn level_from_env(tf_log_provider: Option<&str>, tf_log: Option<&str>) -> Option<Level> {
    let raw = tf_log_provider
        .filter(|s| !s.is_empty())
        .or(tf_log.filter(|s| !s.is_empty()))?;
    match raw.trim().to_ascii_uppercase().as_str() {
        "TRACE" | "JSON" => Some(Level::TRACE),
        "DEBUG" => Some(Level::DEBUG),
        "INFO" => Some(Level::INFO),
        "WARN" => Some(Level::WARN),
        "ERROR" => Some(Level::ERROR),
        "OFF" => None,
        // Terraform treats an unrecognised level as TRACE.
        _ => Some(Level::TRACE),
    }
}

/// Installs the hclog-JSON logger on stderr for this process. `crate_target` (this
/// program's own events) logs at the level asked for; libraries log warnings and errors
/// only, so a trace log stays readable. When Terraform asks for no log, warnings and
/// errors are still written (Terraform discards them then).
pub fn init(module: &'static str, crate_target: &'static str) {
    let level = level_from_env(
        std::env::var("TF_LOG_PROVIDER").ok().as_deref(),
        std::env::var("TF_LOG").ok().as_deref(),
    )
    .unwrap_or(Level::WARN);
    let layer = HclogLayer {
        module,
        writer: std::io::stderr,
    }
    .with_filter(
        tracing_subscriber::filter::Targets::new()
            .with_default(Level::WARN)
            .with_target(crate_target, level),
    );
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// A tracing layer writing go-hclog JSON lines to `writer`.
pub struct HclogLayer<W> {
    pub module: &'static str,
    pub writer: W,
}

struct JsonFields {
    message: String,
    fields: serde_json::Map<String, serde_json::Value>,
}

impl Visit for JsonFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_string();
        } else {
            self.fields.insert(field.name().to_string(), value.into());
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields.insert(field.name().to_string(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields.insert(field.name().to_string(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields.insert(field.name().to_string(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.fields
                .insert(field.name().to_string(), format!("{value:?}").into());
        }
    }
}

/// Formats one event as a go-hclog JSON line (without the newline).
pub fn format_event(module: &str, event: &Event<'_>) -> String {
    let mut visitor = JsonFields {
        message: String::new(),
        fields: serde_json::Map::new(),
    };
    event.record(&mut visitor);
    let level = match *event.metadata().level() {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    };
    // go-plugin parses "@timestamp" with Go's layout 2006-01-02T15:04:05.000000Z07:00:
    // exactly six fractional digits, else the line is shown raw.
    let timestamp = time::OffsetDateTime::now_utc()
        .format(HCLOG_TIMESTAMP)
        .unwrap_or_default();
    let mut line = serde_json::Map::new();
    line.insert("@level".into(), level.into());
    line.insert("@message".into(), visitor.message.into());
    line.insert("@module".into(), module.into());
    line.insert("@timestamp".into(), timestamp.into());
    line.insert("target".into(), event.metadata().target().into());
    line.extend(visitor.fields);
    serde_json::Value::Object(line).to_string()
}

impl<S, W> Layer<S> for HclogLayer<W>
where
    S: Subscriber,
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + 'static,
{
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut line = format_event(self.module, event);
        line.push('\n');
        let _ = self.writer.make_writer().write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    #[test]
    fn levels_follow_terraform_variables() {
        assert_eq!(level_from_env(None, None), None);
        assert_eq!(level_from_env(None, Some("debug")), Some(Level::DEBUG));
        assert_eq!(
            level_from_env(Some("WARN"), Some("TRACE")),
            Some(Level::WARN)
        );
        assert_eq!(level_from_env(None, Some("json")), Some(Level::TRACE));
        assert_eq!(level_from_env(Some("off"), None), None);
    }

    #[test]
    fn events_are_hclog_json_lines() {
        let buf = Buffer::default();
        let subscriber = tracing_subscriber::registry().with(HclogLayer {
            module: "provider.test",
            writer: buf.clone(),
        });
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(attempt = 2, path = "/v1/repository", "retrying");
        });
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["@level"], "info");
        assert_eq!(line["@message"], "retrying");
        assert_eq!(line["@module"], "provider.test");
        assert_eq!(line["attempt"], 2);
        assert_eq!(line["path"], "/v1/repository");
        // Exactly the layout go-plugin parses: 2006-01-02T15:04:05.000000Z07:00.
        let ts = line["@timestamp"].as_str().unwrap();
        assert_eq!(ts.len(), "2006-01-02T15:04:05.000000Z".len(), "{ts}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[19] == b'.', "{ts}");
    }
}
