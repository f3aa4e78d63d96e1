//! Where vCR client errors become what the user reads: what failed, who said so (vCR,
//! IAM, or no one, when nothing answered), what to try, and the original error. The
//! one place that turns [`VcrError`] into diagnostics.

use crate::tfplugin::{Diagnostic, Diagnostics};
use crate::vcr::{contract, TransportKind, VcrError};

/// The settings that hold the URLs, as the provider block and the environment spell them.
const URL_SETTINGS: &str =
    "token_url and endpoints { hcm, han } (or VCR_TOKEN_URL, VCR_ENDPOINT_HCM, VCR_ENDPOINT_HAN)";

/// A diagnostic for a failed API call. `what` completes "Could not ...", e.g.
/// `create repository "my-app" in HAN`.
pub fn api_error(what: &str, err: &VcrError) -> Diagnostic {
    // The cause first: in a CI log it is what the reader looks for.
    Diagnostic::error(
        format!("Could not {what}"),
        format!("{}\n\n{}", cause(err), hint(err)),
    )
}

/// [`api_error`] as diagnostics, for `map_err`.
pub fn api(what: impl Into<String>) -> impl FnOnce(VcrError) -> Diagnostics {
    let what = what.into();
    move |e| api_error(&what, &e).into()
}

/// How to plan without reaching IAM, appended to every failed credentials check.
const SKIP_HINT: &str = "The provider checks the credentials as it starts, so that a plan fails rather than an apply. To plan without reaching IAM (offline), set skip_credentials_validation = true (or VCR_SKIP_CREDENTIALS_VALIDATION=true).";

/// The diagnostic for a failed check of the credentials at configure: refused
/// credentials name `client_id`, `client_secret` and their variables.
pub fn credentials_error(err: &VcrError) -> Diagnostic {
    match err {
        VcrError::Auth {
            status: 400 | 401 | 403,
            ..
        } => Diagnostic::error(
            "Invalid vCR credentials: client_id or client_secret",
            format!(
                "{}\n\nVNG Cloud IAM refused the service account's client_id and client_secret. Check both values, set in the provider \"vcr\" block or in VCR_CLIENT_ID and VCR_CLIENT_SECRET (the block wins), and that the service account is active.\n\n{SKIP_HINT}",
                cause(err)
            ),
        ),
        _ => {
            let mut d = api_error("obtain an IAM token to check client_id and client_secret", err);
            d.detail.push_str("\n\n");
            d.detail.push_str(SKIP_HINT);
            d
        }
    }
}

/// The provider block's name (and variable) for a client setting.
pub fn setting_name(client_setting: &str) -> &'static str {
    match client_setting {
        "token_url" => "token_url (or VCR_TOKEN_URL)",
        "endpoint_han" => "endpoints { han } (or VCR_ENDPOINT_HAN)",
        _ => "endpoints { hcm } (or VCR_ENDPOINT_HCM)",
    }
}

/// Who said what: "vCR said" only for an answer vCR gave in its own words.
pub fn cause(err: &VcrError) -> String {
    match err {
        VcrError::Auth { .. } => format!("The IAM token endpoint said: {err}"),
        VcrError::Forbidden { .. } if err.lacks_vcr_policy() => {
            format!("VNG Cloud's IAM gateway said: {err}")
        }
        _ if err.message().is_some_and(|m| m.excerpt) => {
            format!("The server answered with something other than vCR's error: {err}")
        }
        _ if err.message().is_some() => format!("vCR said: {err}"),
        VcrError::Redirect {
            method,
            path,
            status,
            location,
            ..
        } => format!("{method} {path}: the server answered {status}, pointing to {location}."),
        VcrError::Decode { .. } => format!("vCR's answer could not be read: {err}"),
        // A transport failure, a refused answer size, the configuration: no one answered.
        _ => err.to_string(),
    }
}

fn hint(err: &VcrError) -> String {
    match err {
        VcrError::Auth { status: 404 | 405, .. } => {
            "The IAM token endpoint was not found there: check token_url (or VCR_TOKEN_URL).".into()
        }
        VcrError::Unauthorized { .. } | VcrError::Auth { .. } => {
            "Check client_id and client_secret (or VCR_CLIENT_ID and VCR_CLIENT_SECRET), and that the service account may use vCR.".into()
        }
        VcrError::Forbidden { .. } if err.lacks_vcr_policy() => format!(
            "The IAM service account lacks the {policy} policy, which vCR requires; the call was refused before it reached vCR, so nothing was changed. \
             To fix it, open {console}, select the service account whose client_id the provider uses, and on its Permission tab choose Attach Policies and attach {policy}. Then run the command again.",
            policy = contract::VCR_IAM_POLICY,
            console = contract::IAM_SERVICE_ACCOUNTS_CONSOLE,
        ),
        VcrError::Forbidden { .. } => {
            "The service account is not allowed to do this; grant it vCR permissions in the IAM portal.".into()
        }
        VcrError::RateLimited { .. } => {
            "vCR kept throttling the requests after every retry. Try again later, raise max_retries, or lower terraform's -parallelism.".into()
        }
        VcrError::Server { .. } | VcrError::Status { .. } => {
            "vCR failed on its side. Nothing was lost from the state; run the command again.".into()
        }
        VcrError::Redirect {
            to_other_host: true,
            setting,
            suggested,
            ..
        } => format!(
            "The provider does not follow a redirect to another host: the credentials would not go along, and the call would fail with a puzzling 401. \
             If that host is the new home of the API, set {} to {suggested}.",
            setting_name(setting)
        ),
        VcrError::Redirect { method, .. } => format!(
            "The provider follows a redirect on the same host only for GET (any method with 307 and 308), at most {} in a row; this one was for a {method}. Check {}.",
            contract::MAX_SAME_HOST_REDIRECTS,
            setting_hint(err)
        ),
        VcrError::Transport { setting, .. } => {
            transport_hint(err.transport_kind(), setting_name(setting))
        }
        VcrError::TooLarge { .. } => format!(
            "No vCR answer is that large: check {URL_SETTINGS} point at the vCR API."
        ),
        VcrError::ListTooLong { .. } => format!(
            "No vCR list is that long: check {URL_SETTINGS} point at the vCR API."
        ),
        VcrError::Invalid { .. } => "vCR refused the request for the rule it names above.".into(),
        VcrError::Conflict { .. } => "vCR refused the change in the current state of the object.".into(),
        VcrError::NotFound { .. } => "The object does not exist (any more) in vCR.".into(),
        VcrError::Decode { .. } => {
            "vCR answered in a shape this provider does not understand. Please report this with the provider's version.".into()
        }
        _ => "Fix the provider configuration.".into(),
    }
}

fn setting_hint(err: &VcrError) -> &'static str {
    match err {
        VcrError::Redirect { setting, .. } => setting_name(setting),
        _ => URL_SETTINGS,
    }
}

/// What to check when no answer came; `setting` names where the URL came from.
fn transport_hint(kind: Option<TransportKind>, setting: &str) -> String {
    match kind {
        Some(TransportKind::Refused) => format!(
            "Nothing listens at that address. Check {setting}; with vcr-local, check that it runs and use the settings it printed."
        ),
        Some(TransportKind::Dns) => format!(
            "The host name does not resolve. Check its spelling in {setting}, and this machine's DNS."
        ),
        Some(TransportKind::Tls) => format!(
            "The server's certificate was not accepted. Check that {setting} names the vCR API itself (a proxy that intercepts TLS needs its certificate authority trusted by this machine)."
        ),
        Some(TransportKind::ConnectTimeout) => format!(
            "No connection could be made in time: check the network (a firewall, a proxy) and {setting}."
        ),
        _ => "The exchange with vCR did not complete. Nothing was lost from the state; check the network, then run the command again.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_what_failed_what_to_try_and_the_cause() {
        let d = api_error(
            "create repository \"app\" in HCM",
            &VcrError::RateLimited {
                retry_after: None,
                message: "slow down".into(),
            },
        );
        assert_eq!(d.summary, "Could not create repository \"app\" in HCM");
        assert!(d.detail.contains("max_retries"));
        assert!(
            d.detail.starts_with("vCR said: rate limited: slow down"),
            "{}",
            d.detail
        );
    }

    #[test]
    fn only_answers_in_vcrs_words_are_what_vcr_said() {
        let refused = VcrError::Transport {
            method: "POST".into(),
            path: "/token".into(),
            source: Box::new(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "refused",
            )),
            not_sent: true,
            setting: "token_url",
        };
        let page = VcrError::Server {
            status: 502,
            message: crate::vcr::ApiMessage::from_body(502, b"<html>Bad Gateway</html>"),
        };
        let iam = VcrError::Auth {
            status: 401,
            message: "bad credentials".into(),
        };
        for (err, starts) in [
            (
                &refused,
                "POST /token: could not connect to the server: connection refused",
            ),
            (
                &page,
                "The server answered with something other than vCR's error",
            ),
            (&iam, "The IAM token endpoint said:"),
        ] {
            let d = api_error("list repositories", err);
            assert!(d.detail.starts_with(starts), "{}", d.detail);
            assert!(!d.detail.contains("vCR said"), "{}", d.detail);
        }
        assert!(api_error("x", &refused).detail.contains("Nothing listens"));
    }

    #[test]
    fn a_missing_vcr_policy_says_which_and_how_to_attach_it() {
        let err = VcrError::from_status(
            403,
            br#"[{"code":"IAM_PERMISSION_DENIED","message":"Permission denied"}]"#,
            None,
        );
        let d = api_error("create repository \"app\" in HCM", &err);
        assert!(
            d.detail
                .starts_with("VNG Cloud's IAM gateway said: forbidden: Permission denied [IAM_PERMISSION_DENIED]"),
            "{}",
            d.detail
        );
        assert!(
            d.detail.contains("lacks the vcrFullAccess policy"),
            "{}",
            d.detail
        );
        assert!(d.detail.contains("Attach Policies"), "{}", d.detail);
    }

    #[test]
    fn a_cross_host_redirect_names_the_setting_to_change() {
        let err = VcrError::Redirect {
            method: "GET".into(),
            path: "/v1/repository".into(),
            status: 301,
            location: "https://new.example/v1/repository".into(),
            to_other_host: true,
            setting: "endpoint_han",
            suggested: "https://new.example/".into(),
        };
        let d = api_error("list repositories", &err);
        assert!(d.detail.starts_with("GET /v1/repository: the server answered 301, pointing to https://new.example/v1/repository."), "{}", d.detail);
        assert!(
            d.detail
                .contains("set endpoints { han } (or VCR_ENDPOINT_HAN) to https://new.example/"),
            "{}",
            d.detail
        );
    }
}
