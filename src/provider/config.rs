//! The `provider "vcr"` block: its schema, environment fallbacks, and the settings
//! every resource works from.

use crate::tfplugin::validators::{one_of, whole_at_least};
use crate::tfplugin::{
    Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, Nesting, Schema, Type,
    Validator, Value,
};
use crate::vcr::Region;

/// The regions vCR runs in, as users write them.
pub const REGIONS: &[&str] = &["HCM", "HAN"];
/// Retries of a throttled or failed API call when `max_retries` is not set.
pub const DEFAULT_MAX_RETRIES: u32 = 5;
/// API calls at once in work that makes many (retention reads and deletes) when
/// `max_parallel_requests` is not set.
pub const DEFAULT_MAX_PARALLEL_REQUESTS: usize = 8;

pub fn schema() -> Schema {
    Schema::new(
        0,
        Block::new("The vCR provider manages repositories and repository users of VNG Cloud vContainer Registry (vCR).")
            .attribute(
                Attribute::optional(
                    "region",
                    Type::String,
                    "The region resources live in when they do not set their own: `HCM` (Ho Chi Minh) or `HAN` (Hanoi). Defaults to `HCM`. Environment variable: `VCR_REGION`.",
                )
                .validate(one_of(REGIONS)),
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
                .validate(http_url()),
            )
            .attribute(Attribute::optional(
                "skip_credentials_validation",
                Type::Bool,
                "Skip the check of `client_id` and `client_secret` when the provider starts. By default the provider obtains its IAM token as it starts (the token every later call reuses), so that wrong credentials fail `terraform plan` rather than `apply`. Set `true` to plan offline: nothing is then sent when the provider starts, and a plan of new objects does not require credentials. Defaults to `false`. Environment variable: `VCR_SKIP_CREDENTIALS_VALIDATION`.",
            ))
            .attribute(Attribute::optional(
                "insecure_http",
                Type::Bool,
                "Allow plain `http://` in `token_url` and `endpoints` for hosts other than this machine. **Risky**: the client secret and every access token then cross the network unencrypted, readable by anyone on the way. Loopback hosts (`localhost`, `127.0.0.1`, `::1`, as `vcr-local` uses) never need it. Defaults to `false`. Environment variable: `VCR_INSECURE_HTTP`.",
            ))
            .attribute(
                Attribute::optional(
                    "max_retries",
                    Type::Number,
                    "How many times a throttled (429) or unavailable (502, 503, 504) API call is retried, with exponential backoff. Defaults to `5`. Environment variable: `VCR_MAX_RETRIES`.",
                )
                .validate(whole_at_least(0)),
            )
            .attribute(
                Attribute::optional(
                    "max_parallel_requests",
                    Type::Number,
                    "How many API calls may run at once where the provider makes many (reading every image of a repository and deleting artifacts for `vcr_retention_policy`). Defaults to `8`; at most `64`.",
                )
                .validate(whole_at_least(1)),
            )
            .block(
                NestedBlock::new(
                    "endpoints",
                    Nesting::Single,
                    Block::new("Where vCR is reached, per region: the API's base URL and the Docker registry's host, to override the defaults (for example to use `vcr-local`).")
                        .attribute(
                            Attribute::optional(
                                "hcm",
                                Type::String,
                                "Base URL of the vCR API in HCM. Environment variable: `VCR_ENDPOINT_HCM`.",
                            )
                            .validate(http_url()),
                        )
                        .attribute(
                            Attribute::optional(
                                "han",
                                Type::String,
                                "Base URL of the vCR API in HAN. Environment variable: `VCR_ENDPOINT_HAN`.",
                            )
                            .validate(http_url()),
                        )
                        .attribute(
                            Attribute::optional(
                                "registry_hcm",
                                Type::String,
                                "An override of the Docker registry host in HCM, as `docker login` and image names use it (`host` or `host:port`, no scheme). Unset, `registry_url` (and the docker commands in outputs built from it) is what vCR reports for each repository (`registryUrl`); set, it wins, and a warning names both values when they differ. Environment variable: `VCR_REGISTRY_HCM`.",
                            )
                            .validate(registry_host()),
                        )
                        .attribute(
                            Attribute::optional(
                                "registry_han",
                                Type::String,
                                "An override of the Docker registry host in HAN (`host` or `host:port`, no scheme), as `registry_hcm` is for HCM. Environment variable: `VCR_REGISTRY_HAN`.",
                            )
                            .validate(registry_host()),
                        ),
                )
                .max_items(1),
            ),
    )
}

fn http_url() -> Validator {
    Validator::string("An `http://` or `https://` URL.", |s| {
        if s.starts_with("http://") || s.starts_with("https://") {
            Ok(())
        } else {
            Err(format!("must be an http:// or https:// URL; got {s:?}."))
        }
    })
}

/// Why `text` is not a registry host (`host` or `host:port`), if it is not.
pub(crate) fn registry_host_rule(text: &str) -> Result<(), String> {
    let rule = "must be a registry host, `host` or `host:port`, without scheme or path";
    if text.contains("://") {
        return Err(format!(
            "{rule}; {text:?} has a scheme (drop the \"http://\")."
        ));
    }
    let (host, port) = match text.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (text, None),
    };
    let bad_host = host.is_empty()
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let bad_port = port.is_some_and(|p| p.parse::<u16>().map_or(true, |n| n == 0));
    if bad_host || bad_port {
        return Err(format!("{rule}; got {text:?}."));
    }
    Ok(())
}

fn registry_host() -> Validator {
    Validator::string("A host or `host:port`, without scheme.", registry_host_rule)
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string).filter(|s| !s.is_empty())
}

fn region_rule(text: &str) -> Result<(), String> {
    match REGIONS.contains(&text) {
        true => Ok(()),
        false => Err(format!("must be one of \"HCM\", \"HAN\"; got {text:?}.")),
    }
}

fn bool_rule(text: &str) -> Result<(), String> {
    match parse_bool(text) {
        Some(_) => Ok(()),
        None => Err(format!("must be true or false; got {text:?}.")),
    }
}

/// `true`/`false` (or `1`/`0`), in any case.
fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

/// A bool setting: the block's value, else the environment's, else `false`.
fn flag(attr: &Value, var: &str, env: Option<String>, diags: &mut Diagnostics) -> bool {
    match attr.as_bool() {
        Some(b) => b,
        None => parse_bool(&from_env(var, env, "false".into(), bool_rule, diags)).unwrap_or(false),
    }
}

/// The URL settings: the block's path, the environment variable, and where the value
/// sits in the block.
const URL_SETTINGS: [(&str, &str, &[&str]); 3] = [
    ("token_url", "VCR_TOKEN_URL", &["token_url"]),
    ("endpoints.hcm", "VCR_ENDPOINT_HCM", &["endpoints", "hcm"]),
    ("endpoints.han", "VCR_ENDPOINT_HAN", &["endpoints", "han"]),
];

/// Why `url` may not be used without `insecure_http`, if it may not: plain HTTP to a
/// host that is not this machine would carry the client secret in clear.
pub fn plain_http_rule(url: &str) -> Result<(), String> {
    let Ok(parsed) = reqwest::Url::parse(url.trim()) else {
        return Ok(()); // not a URL at all: the URL rule says so
    };
    if !crate::vcr::sends_in_clear(&parsed) {
        return Ok(());
    }
    Err(format!(
        "must use https:// for a host that is not this machine; got {url:?}. Plain HTTP \
         would carry the client secret and every access token across the network \
         unencrypted. If you accept that risk (a test server on a network you trust), set \
         insecure_http = true in the provider block (or VCR_INSECURE_HTTP=true)."
    ))
}

/// The value at a path of the block.
fn at<'v>(config: &'v Value, path: &[&str]) -> &'v Value {
    path.iter().fold(config, |v, step| v.attr(step))
}

fn block_path(path: &[&str]) -> AttributePath {
    let mut p = AttributePath::root(path[0]);
    for step in &path[1..] {
        p = p.attr(step);
    }
    p
}

/// The plain-HTTP refusals for the URLs written in the block, for `terraform validate`.
/// `env_allows` is `VCR_INSECURE_HTTP` being true; an unknown `insecure_http` is given
/// the benefit of the doubt.
pub fn validate_plain_http(config: &Value, env_allows: bool) -> Diagnostics {
    let insecure = config.attr("insecure_http");
    let mut diags = Diagnostics::new();
    if insecure.is_unknown() || insecure.as_bool().unwrap_or(env_allows) {
        return diags;
    }
    for (_, _, path) in URL_SETTINGS {
        if let Some(Err(why)) = at(config, path).as_str().map(plain_http_rule) {
            diags.push(Diagnostic::invalid_attribute(block_path(path), why));
        }
    }
    diags
}

fn retries_rule(text: &str) -> Result<(), String> {
    match text.trim().parse::<u32>() {
        Ok(_) => Ok(()),
        Err(_) => Err(format!(
            "must be a whole number of at least 0; got {text:?}."
        )),
    }
}

/// A setting from the environment variable `var`, checked by `rule`; `default` when
/// unset. A value that breaks the rule is an error naming the variable (no attribute
/// path: the value is not in the configuration).
fn from_env(
    var: &str,
    value: Option<String>,
    default: String,
    rule: fn(&str) -> Result<(), String>,
    diags: &mut Diagnostics,
) -> String {
    let Some(value) = value else {
        return default;
    };
    if let Err(why) = rule(&value) {
        let attribute = match var.trim_start_matches("VCR_").to_ascii_lowercase() {
            a if a.starts_with("registry_") => format!("endpoints {{ {a} }}"),
            a => a,
        };
        diags.push(Diagnostic::error(
            format!("Invalid environment variable {var}"),
            format!("{var} {why} Fix or unset it, or set {attribute} in the provider block."),
        ));
        return default;
    }
    value
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
    /// The docker registry host per region set in `endpoints` or the environment, in
    /// [`Region::ALL`] order: overrides of what vCR reports.
    pub registry_overrides: [Option<String>; 2],
    pub max_retries: u32,
    /// API calls at once in work that makes many (1 to 64).
    pub max_parallel_requests: usize,
    /// Whether configure leaves the credentials unchecked (and sends nothing).
    pub skip_credentials_validation: bool,
    /// Whether plain `http://` to hosts other than loopback is allowed.
    pub insecure_http: bool,
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
            .field("registry_overrides", &self.registry_overrides)
            .field("max_retries", &self.max_retries)
            .field("max_parallel_requests", &self.max_parallel_requests)
            .field(
                "skip_credentials_validation",
                &self.skip_credentials_validation,
            )
            .field("insecure_http", &self.insecure_http)
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
        let env = |var: &str| env(var).filter(|s| !s.is_empty());
        let pick = |attr: &Value, var: &str| text(attr).or_else(|| env(var));
        let endpoints = config.attr("endpoints");
        let mut diags = Diagnostics::new();
        // An override only: without one, vCR's own `registryUrl` of each repository is
        // used (see `super::registry`).
        let registry =
            |attr: &str, var: &str, diags: &mut Diagnostics| match text(endpoints.attr(attr)) {
                Some(host) => Some(host),
                None => Some(from_env(
                    var,
                    env(var),
                    String::new(),
                    registry_host_rule,
                    diags,
                ))
                .filter(|h| !h.is_empty()),
            };
        let settings = Settings {
            region: match text(config.attr("region")) {
                Some(r) => r,
                None => from_env(
                    "VCR_REGION",
                    env("VCR_REGION"),
                    "HCM".into(),
                    region_rule,
                    &mut diags,
                ),
            },
            client_id: pick(config.attr("client_id"), "VCR_CLIENT_ID"),
            client_secret: pick(config.attr("client_secret"), "VCR_CLIENT_SECRET"),
            token_url: pick(config.attr("token_url"), "VCR_TOKEN_URL"),
            endpoint_hcm: pick(endpoints.attr("hcm"), "VCR_ENDPOINT_HCM"),
            endpoint_han: pick(endpoints.attr("han"), "VCR_ENDPOINT_HAN"),
            registry_overrides: [
                registry("registry_hcm", "VCR_REGISTRY_HCM", &mut diags),
                registry("registry_han", "VCR_REGISTRY_HAN", &mut diags),
            ],
            max_retries: match config
                .attr("max_retries")
                .as_number()
                .and_then(|n| n.as_i64())
            {
                Some(n) => n.clamp(0, 100) as u32,
                None => {
                    let default = DEFAULT_MAX_RETRIES.to_string();
                    from_env(
                        "VCR_MAX_RETRIES",
                        env("VCR_MAX_RETRIES"),
                        default,
                        retries_rule,
                        &mut diags,
                    )
                    .trim()
                    .parse::<u32>()
                    .map_or(DEFAULT_MAX_RETRIES, |n| n.min(100))
                }
            },
            max_parallel_requests: config
                .attr("max_parallel_requests")
                .as_number()
                .and_then(|n| n.as_i64())
                .map_or(DEFAULT_MAX_PARALLEL_REQUESTS, |n| n.clamp(1, 64) as usize),
            skip_credentials_validation: flag(
                config.attr("skip_credentials_validation"),
                "VCR_SKIP_CREDENTIALS_VALIDATION",
                env("VCR_SKIP_CREDENTIALS_VALIDATION"),
                &mut diags,
            ),
            insecure_http: flag(
                config.attr("insecure_http"),
                "VCR_INSECURE_HTTP",
                env("VCR_INSECURE_HTTP"),
                &mut diags,
            ),
        };
        diags.extend(settings.plain_http_refusals(config));
        if diags.has_errors() {
            Err(diags)
        } else {
            Ok(settings)
        }
    }

    /// Errors for URLs that would carry the credentials in clear, naming the attribute
    /// (or the environment variable the value came from), unless `insecure_http`.
    fn plain_http_refusals(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        if self.insecure_http {
            return diags;
        }
        let values = [&self.token_url, &self.endpoint_hcm, &self.endpoint_han];
        for ((name, var, path), value) in URL_SETTINGS.into_iter().zip(values) {
            let Some(Err(why)) = value.as_deref().map(plain_http_rule) else {
                continue;
            };
            let in_block = text(at(config, path)).is_some();
            diags.push(match in_block {
                true => Diagnostic::error(
                    format!("Plain HTTP refused for {name}"),
                    format!("{name} {why}"),
                )
                .at(block_path(path)),
                false => Diagnostic::error(
                    format!("Plain HTTP refused for {var}"),
                    format!("{var} (used for {name}) {why}"),
                ),
            });
        }
        diags
    }

    /// The registry host set for a region in `endpoints` or the environment, if any.
    pub fn registry_override(&self, region: Region) -> Option<&str> {
        match region {
            Region::Hcm => self.registry_overrides[0].as_deref(),
            Region::Han => self.registry_overrides[1].as_deref(),
        }
    }

    /// The docker registry host of a region when no repository says it: the override,
    /// else vCR's.
    pub fn registry_host(&self, region: Region) -> &str {
        self.registry_override(region)
            .unwrap_or_else(|| region.registry_host())
    }

    /// The API base URL set for a region, if any (vCR's own otherwise).
    pub fn endpoint(&self, region: Region) -> Option<&str> {
        match region {
            Region::Hcm => self.endpoint_hcm.as_deref(),
            Region::Han => self.endpoint_han.as_deref(),
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
            &config(serde_json::json!({"region": "HAN", "client_id": "a", "endpoints": {"hcm": "https://x"}})),
            env(&[("VCR_REGION", "HCM"), ("VCR_CLIENT_ID", "b"), ("VCR_CLIENT_SECRET", "s"), ("VCR_ENDPOINT_HAN", "http://127.0.0.1:9/y")]),
        )
        .unwrap();
        assert_eq!(s.region, "HAN");
        assert_eq!(s.client_id.as_deref(), Some("a"));
        assert_eq!(s.client_secret.as_deref(), Some("s"));
        assert_eq!(s.endpoint_hcm.as_deref(), Some("https://x"));
        assert_eq!(s.endpoint_han.as_deref(), Some("http://127.0.0.1:9/y"));
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
    fn registry_hosts_default_to_vcr_and_follow_block_then_environment() {
        let s = Settings::resolve(&Value::Null, env(&[])).unwrap();
        assert_eq!(s.registry_host(Region::Hcm), "vcr.vngcloud.vn");
        assert_eq!(s.registry_host(Region::Han), "vcr-han.vngcloud.vn");

        let s = Settings::resolve(
            &config(serde_json::json!({"endpoints": {"registry_han": "127.0.0.1:5001"}})),
            env(&[
                ("VCR_REGISTRY_HCM", "127.0.0.1:5000"),
                ("VCR_REGISTRY_HAN", "ignored:1"),
            ]),
        )
        .unwrap();
        assert_eq!(s.registry_host(Region::Hcm), "127.0.0.1:5000");
        assert_eq!(s.registry_host(Region::Han), "127.0.0.1:5001");

        let err = Settings::resolve(&Value::Null, env(&[("VCR_REGISTRY_HCM", "http://x:5000")]))
            .unwrap_err();
        assert_eq!(
            err.0[0].summary,
            "Invalid environment variable VCR_REGISTRY_HCM"
        );
        assert!(
            err.0[0].detail.contains("endpoints { registry_hcm }"),
            "{}",
            err.0[0].detail
        );
    }

    #[test]
    fn registry_hosts_are_checked_in_the_block() {
        for bad in ["http://127.0.0.1:5000", "host/path", "host:0", "host:x", ""] {
            assert!(registry_host_rule(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["vcr.vngcloud.vn", "127.0.0.1:5000", "localhost:5001"] {
            assert!(registry_host_rule(good).is_ok(), "{good:?} refused");
        }
        let diags = schema().block.validate_config(
            &config(serde_json::json!({"endpoints": {"registry_hcm": "https://r"}})),
            &crate::tfplugin::AttributePath::default(),
        );
        assert_eq!(diags.0.len(), 1);
        assert!(
            diags.0[0].summary.contains("registry_hcm"),
            "{:?}",
            diags.0[0]
        );
    }

    #[test]
    fn the_two_switches_come_from_the_block_or_the_environment() {
        let s = Settings::resolve(&Value::Null, env(&[])).unwrap();
        assert!(!s.skip_credentials_validation && !s.insecure_http);
        let s = Settings::resolve(
            &Value::Null,
            env(&[
                ("VCR_SKIP_CREDENTIALS_VALIDATION", "TRUE"),
                ("VCR_INSECURE_HTTP", "1"),
            ]),
        )
        .unwrap();
        assert!(s.skip_credentials_validation && s.insecure_http);
        let s = Settings::resolve(
            &config(serde_json::json!({"skip_credentials_validation": false})),
            env(&[("VCR_SKIP_CREDENTIALS_VALIDATION", "true")]),
        )
        .unwrap();
        assert!(!s.skip_credentials_validation, "the block wins");
        let err = Settings::resolve(
            &Value::Null,
            env(&[("VCR_SKIP_CREDENTIALS_VALIDATION", "yes please")]),
        )
        .unwrap_err();
        assert_eq!(
            err.0[0].summary,
            "Invalid environment variable VCR_SKIP_CREDENTIALS_VALIDATION"
        );
    }

    #[test]
    fn plain_http_off_this_machine_is_refused_naming_the_setting() {
        let block = config(serde_json::json!({
            "token_url": "http://iam.example/token",
            "endpoints": {"hcm": "http://127.0.0.1:8080/hcm"}
        }));
        let err = Settings::resolve(&block, env(&[("VCR_ENDPOINT_HAN", "http://10.0.0.9/han")]))
            .unwrap_err();
        let found: Vec<(&str, Option<String>)> = err
            .0
            .iter()
            .map(|d| (d.summary.as_str(), d.path.as_ref().map(|p| p.to_string())))
            .collect();
        assert_eq!(
            found,
            [
                ("Plain HTTP refused for token_url", Some("token_url".into())),
                ("Plain HTTP refused for VCR_ENDPOINT_HAN", None),
            ]
        );
        assert!(
            err.0[0].detail.contains("insecure_http = true"),
            "{}",
            err.0[0].detail
        );
        assert!(
            err.0[1].detail.contains("endpoints.han"),
            "{}",
            err.0[1].detail
        );
        // Allowed explicitly, in the block or the environment.
        let mut allowed = block.clone();
        allowed.set_attr("insecure_http", Value::Bool(true));
        assert!(Settings::resolve(&allowed, env(&[])).unwrap().insecure_http);
        assert!(Settings::resolve(&block, env(&[("VCR_INSECURE_HTTP", "true")])).is_ok());
    }

    #[test]
    fn validate_refuses_plain_http_written_in_the_block() {
        let block = config(serde_json::json!({"endpoints": {"han": "http://vcr.example/han"}}));
        let d = validate_plain_http(&block, false);
        assert_eq!(d.0.len(), 1);
        assert_eq!(d.0[0].summary, "Invalid value for \"endpoints.han\"");
        assert!(validate_plain_http(&block, true).is_empty());
        let mut unknown = block.clone();
        unknown.set_attr("insecure_http", Value::Unknown);
        assert!(validate_plain_http(&unknown, false).is_empty());
        let local = config(serde_json::json!({"token_url": "http://localhost:8080/iam"}));
        assert!(validate_plain_http(&local, false).is_empty());
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
