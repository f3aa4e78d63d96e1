//! Where a repository's images live: the `registry_url` of a repository, and the
//! registry host of image URIs, taken from what vCR reports (`registryUrl`), with
//! `endpoints { registry_hcm, registry_han }` as an explicit override. Says so when
//! the two disagree, or when the API is local but the registry is vCR's production
//! one (images meant for a local stand-in would go to vCR).

use crate::tfplugin::{Diagnostic, Diagnostics};
use crate::vcr::Region;

/// `registryUrl` as image names use it: no scheme, no trailing slash.
pub fn normalise(url: &str) -> String {
    let url = url.trim();
    let url = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    url.trim_end_matches('/').to_string()
}

/// What decides a repository's registry URL.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    pub region: Region,
    /// `endpoints { registry_* }` or `VCR_REGISTRY_*`.
    pub override_host: Option<&'a str>,
    /// `endpoints { hcm | han }` or `VCR_ENDPOINT_*`; `None` for vCR's own.
    pub api_endpoint: Option<&'a str>,
}

/// The settings' names for a region's registry override.
fn override_setting(region: Region) -> &'static str {
    match region {
        Region::Hcm => "endpoints { registry_hcm } (or VCR_REGISTRY_HCM)",
        Region::Han => "endpoints { registry_han } (or VCR_REGISTRY_HAN)",
    }
}

/// Whether the API endpoint is a local stand-in rather than vCR: plain HTTP, or a
/// loopback host.
fn is_local(endpoint: &str) -> bool {
    let Ok(url) = reqwest::Url::parse(endpoint) else {
        return false;
    };
    let host = url.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host == "localhost" || host.ends_with(".localhost"),
    };
    loopback || url.scheme() == "http"
}

/// Whether `host` is one of vCR's production registries.
fn is_production(host: &str) -> bool {
    Region::ALL.iter().any(|r| r.registry_host() == host)
}

/// The registry URL of a repository (`<host>/<backend_name>`) and the warnings about
/// it. `reported` is vCR's `registryUrl` for it (may be empty).
pub fn repository_url(
    sources: Sources<'_>,
    backend_name: &str,
    reported: &str,
) -> (String, Diagnostics) {
    let reported = Some(normalise(reported)).filter(|r| !r.is_empty());
    let url = match (sources.override_host, &reported) {
        (Some(host), _) => format!("{host}/{backend_name}"),
        (None, Some(reported)) => reported.clone(),
        (None, None) => format!("{}/{backend_name}", sources.region.registry_host()),
    };
    let mut diags = Diagnostics::new();
    let setting = override_setting(sources.region);
    if let (Some(host), Some(reported)) = (sources.override_host, &reported) {
        if *reported != url {
            diags.push(Diagnostic::warning(
                format!("The registry of {} differs from what vCR reports", sources.region),
                format!(
                    "{setting} is {host:?}, so registry_url (and the docker commands built from it) is {url:?}, \
                     but vCR reports this repository at {reported:?}. If vCR's is right, remove the override."
                ),
            ));
        }
    }
    let host = url.split('/').next().unwrap_or_default();
    if let Some(endpoint) = sources.api_endpoint.filter(|e| is_local(e)) {
        if is_production(host) {
            diags.push(Diagnostic::warning(
                format!("registry_url in {} points at vCR's production registry", sources.region),
                format!(
                    "The API of {} is local ({endpoint:?}), but registry_url is {url:?}, on vCR's production \
                     registry {host:?}: images pushed with it would go to vCR, not to the local registry. \
                     Set {setting} to the local registry's host (vcr-local prints it as VCR_REGISTRY_{}).",
                    sources.region,
                    sources.region
                ),
            ));
        }
    }
    (url, diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources<'a>(override_host: Option<&'a str>, api: Option<&'a str>) -> Sources<'a> {
        Sources {
            region: Region::Hcm,
            override_host,
            api_endpoint: api,
        }
    }

    #[test]
    fn vcrs_registry_url_is_used_normalised() {
        for reported in [
            "127.0.0.1:5080/100001-app",
            "http://127.0.0.1:5080/100001-app/",
            "https://127.0.0.1:5080/100001-app",
        ] {
            let (url, diags) = repository_url(
                sources(None, Some("http://127.0.0.1:8080/hcm")),
                "100001-app",
                reported,
            );
            assert_eq!(url, "127.0.0.1:5080/100001-app", "{reported}");
            assert!(diags.is_empty(), "{diags:?}");
        }
        // Nothing reported: vCR's host.
        let (url, diags) = repository_url(sources(None, None), "1-app", "");
        assert_eq!(url, "vcr.vngcloud.vn/1-app");
        assert!(diags.is_empty());
    }

    #[test]
    fn an_override_wins_and_a_disagreement_names_both_values() {
        let (url, diags) = repository_url(
            sources(Some("127.0.0.1:5000"), None),
            "1-app",
            "127.0.0.1:5080/1-app",
        );
        assert_eq!(url, "127.0.0.1:5000/1-app");
        assert_eq!(diags.0.len(), 1, "{diags:?}");
        let detail = &diags.0[0].detail;
        assert!(detail.contains("\"127.0.0.1:5000\""), "{detail}");
        assert!(detail.contains("\"127.0.0.1:5080/1-app\""), "{detail}");
        assert!(detail.contains("endpoints { registry_hcm }"), "{detail}");
        // Agreeing: nothing to say.
        let (_, diags) = repository_url(
            sources(Some("127.0.0.1:5080"), None),
            "1-app",
            "127.0.0.1:5080/1-app",
        );
        assert!(diags.is_empty(), "{diags:?}");
    }

    #[test]
    fn a_local_api_with_vcrs_production_registry_is_said() {
        let local = Some("http://127.0.0.1:8080/hcm");
        let (url, diags) = repository_url(sources(None, local), "1-app", "vcr.vngcloud.vn/1-app");
        assert_eq!(url, "vcr.vngcloud.vn/1-app");
        assert_eq!(diags.0.len(), 1, "{diags:?}");
        let detail = &diags.0[0].detail;
        assert!(detail.contains("http://127.0.0.1:8080/hcm"), "{detail}");
        assert!(detail.contains("\"vcr.vngcloud.vn\""), "{detail}");
        // vCR's own API with vCR's registry: as it should be.
        let (_, diags) = repository_url(
            sources(None, Some("https://vcr.api.vngcloud.vn")),
            "1-app",
            "vcr.vngcloud.vn/1-app",
        );
        assert!(diags.is_empty(), "{diags:?}");
    }
}
