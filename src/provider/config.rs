//! The `provider "vcr"` block: its schema, environment fallbacks, and the settings
//! every resource works from.

use crate::tfplugin::schema::rules;
use crate::tfplugin::{
    Attribute, Block, Diagnostic, Diagnostics, NestedBlock, Nesting, Schema, Type, Value,
};

/// The regions vCR runs in, as users write them.
pub const REGIONS: &[&str] = &["HCM", "HAN"];
/// Retries of a throttled or failed API call when `max_retries` is not set.
pub const DEFAULT_MAX_RETRIES: u32 = 5;

pub fn schema() -> Schema {
    Schema::new(
        0,
        Block::new("The vCR provider manages repositories and repository users of VNG Cloud vContainer Registry (vCR).")
            .attribute(
                Attribute::optional(
                    "region",
                    Type::String,
                    "The region resources live in when they do not set their own: `HCM` (Ho Chi Minh, the default) or `HAN` (Hanoi). Environment variable: `VCR_REGION`.",
                )
                .validate(rules::one_of(REGIONS)),
            )
            .attribute(Attribute::optional(
                "client_id",
                Type::String,
                "Client ID of the VNG Cloud IAM service account. Environment variable: `VCR_CLIENT_ID`.",
            ))
            .attribute(
                Attribute::optional(
                    "client_secret",
                    Type::String,
                    "Client secret of the VNG Cloud IAM service account. Environment variable: `VCR_CLIENT_SECRET`.",
                )
                .sensitive(),
            )
            .attribute(
                Attribute::optional(
                    "token_url",
                    Type::String,
                    "IAM token endpoint. Defaults to VNG Cloud's IAM; set it to use `vcr-local`. Environment variable: `VCR_TOKEN_URL`.",
                )
                .validate(http_url),
            )
            .attribute(
                Attribute::optional(
                    "max_retries",
                    Type::Number,
                    "How many times a throttled (429) or unavailable (502, 503, 504) API call is retried, with exponential backoff. Defaults to 5. Environment variable: `VCR_MAX_RETRIES`.",
                )
                .validate(rules::whole_at_least(0)),
            )
            .block(
                NestedBlock::new(
                    "endpoints",
                    Nesting::Single,
                    Block::new("Base URLs of the vCR API per region, to override the defaults (for example to use `vcr-local`).")
                        .attribute(
                            Attribute::optional(
                                "hcm",
                                Type::String,
                                "Base URL of the vCR API in HCM. Environment variable: `VCR_ENDPOINT_HCM`.",
                            )
                            .validate(http_url),
                        )
                        .attribute(
                            Attribute::optional(
                                "han",
                                Type::String,
                                "Base URL of the vCR API in HAN. Environment variable: `VCR_ENDPOINT_HAN`.",
                            )
                            .validate(http_url),
                        ),
                )
                .max_items(1),
            ),
    )
}

fn http_url(v: &Value) -> Result<(), String> {
    match v.as_str() {
        Some(s) if s.starts_with("http://") || s.starts_with("https://") => Ok(()),
        Some(s) => Err(format!("must be an http:// or https:// URL; got {s:?}.")),
        None => Ok(()),
    }
}

/// The provider's settings after environment fallbacks. Credentials may be missing:
/// that is an error only when a resource needs the API.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    pub region: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub token_url: Option<String>,
    pub endpoint_hcm: Option<String>,
    pub endpoint_han: Option<String>,
    pub max_retries: u32,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("region", &self.region)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("token_url", &self.token_url)
            .field("endpoint_hcm", &self.endpoint_hcm)
            .field("endpoint_han", &self.endpoint_han)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

impl Settings {
    /// Merges the provider block with the environment (`env` looks a variable up).
    /// The block wins over the environment.
    pub fn resolve(
        config: &Value,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, Diagnostics> {
        let text = |v: &Value| v.as_str().map(str::to_string).filter(|s| !s.is_empty());
        let pick =
            |attr: &Value, var: &str| text(attr).or_else(|| env(var).filter(|s| !s.is_empty()));
        let endpoints = config.attr("endpoints");
        let mut diags = Diagnostics::new();

        let region = match text(config.attr("region")) {
            Some(r) => r,
            None => match env("VCR_REGION").filter(|s| !s.is_empty()) {
                Some(r) if REGIONS.contains(&r.as_str()) => r,
                Some(r) => {
                    // No attribute path: the value is not in the configuration.
                    diags.push(Diagnostic::error(
                        "Invalid environment variable VCR_REGION",
                        format!("VCR_REGION must be one of \"HCM\", \"HAN\"; got {r:?}. Fix or unset it, or set region in the provider block."),
                    ));
                    r
                }
                None => "HCM".to_string(),
            },
        };
        let max_retries = match config
            .attr("max_retries")
            .as_number()
            .and_then(|n| n.as_i64())
        {
            Some(n) => n.clamp(0, 100) as u32,
            None => match env("VCR_MAX_RETRIES").filter(|s| !s.is_empty()) {
                None => DEFAULT_MAX_RETRIES,
                Some(s) => match s.trim().parse::<u32>() {
                    Ok(n) => n.min(100),
                    Err(_) => {
                        diags.push(Diagnostic::error(
                            "Invalid environment variable VCR_MAX_RETRIES",
                            format!("VCR_MAX_RETRIES must be a whole number of at least 0; got {s:?}. Fix or unset it, or set max_retries in the provider block."),
                        ));
                        DEFAULT_MAX_RETRIES
                    }
                },
            },
        };
        let settings = Settings {
            region,
            client_id: pick(config.attr("client_id"), "VCR_CLIENT_ID"),
            client_secret: pick(config.attr("client_secret"), "VCR_CLIENT_SECRET"),
            token_url: pick(config.attr("token_url"), "VCR_TOKEN_URL"),
            endpoint_hcm: pick(endpoints.attr("hcm"), "VCR_ENDPOINT_HCM"),
            endpoint_han: pick(endpoints.attr("han"), "VCR_ENDPOINT_HAN"),
            max_retries,
        };
        if diags.has_errors() {
            Err(diags)
        } else {
            Ok(settings)
        }
    }

    /// The error a resource reports when it needs the API and credentials are missing.
    pub fn missing_credentials(&self) -> Option<Diagnostic> {
        let missing: Vec<&str> = [
            ("client_id (or VCR_CLIENT_ID)", self.client_id.is_none()),
            (
                "client_secret (or VCR_CLIENT_SECRET)",
                self.client_secret.is_none(),
            ),
        ]
        .iter()
        .filter(|(_, m)| *m)
        .map(|(n, _)| *n)
        .collect();
        if missing.is_empty() {
            return None;
        }
        Some(Diagnostic::error(
            "vCR credentials are missing",
            format!(
                "The provider needs an IAM service account to call the vCR API, and {} {}. \
                 Set {} in the provider \"vcr\" block or in the environment of terraform. To try the \
                 provider without a cloud account, run vcr-local and export the VCR_* settings it prints.",
                missing.join(" and "),
                if missing.len() > 1 { "are not set" } else { "is not set" },
                if missing.len() > 1 { "them" } else { "it" },
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(json: serde_json::Value) -> Value {
        Value::from_json(&json)
            .conform(&schema().value_type())
            .unwrap()
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn block_wins_over_environment() {
        let s = Settings::resolve(
            &config(serde_json::json!({"region": "HAN", "client_id": "a", "endpoints": {"hcm": "http://x"}})),
            env(&[("VCR_REGION", "HCM"), ("VCR_CLIENT_ID", "b"), ("VCR_CLIENT_SECRET", "s"), ("VCR_ENDPOINT_HAN", "http://y")]),
        )
        .unwrap();
        assert_eq!(s.region, "HAN");
        assert_eq!(s.client_id.as_deref(), Some("a"));
        assert_eq!(s.client_secret.as_deref(), Some("s"));
        assert_eq!(s.endpoint_hcm.as_deref(), Some("http://x"));
        assert_eq!(s.endpoint_han.as_deref(), Some("http://y"));
        assert_eq!(s.max_retries, DEFAULT_MAX_RETRIES);
        assert!(s.missing_credentials().is_none());
    }

    #[test]
    fn defaults_and_missing_credentials() {
        let s = Settings::resolve(&Value::Null, env(&[])).unwrap();
        assert_eq!(s.region, "HCM");
        let d = s.missing_credentials().unwrap();
        assert!(d.detail.contains("client_id") && d.detail.contains("client_secret"));
    }

    #[test]
    fn bad_environment_region_names_the_variable() {
        let err = Settings::resolve(&Value::Null, env(&[("VCR_REGION", "SGN")])).unwrap_err();
        assert!(err.0[0].summary.contains("VCR_REGION"));
        assert!(
            err.0[0].path.is_none(),
            "not an attribute of the configuration"
        );
    }

    #[test]
    fn secret_is_not_in_debug_output() {
        let s = Settings::resolve(
            &Value::Null,
            env(&[("VCR_CLIENT_SECRET", "hunter2-secret")]),
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn wrong_region_in_block_fails_validation_naming_it() {
        let diags = schema().block.validate_config(
            &config(serde_json::json!({"region": "SGN"})),
            &crate::tfplugin::AttributePath::default(),
        );
        assert_eq!(diags.0.len(), 1);
        assert_eq!(diags.0[0].summary, "Invalid value for \"region\"");
        assert!(diags.0[0].detail.contains("\"HCM\", \"HAN\""));
    }
}
