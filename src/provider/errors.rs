//! Where vCR client errors become what the user reads: what failed, what to try, and
//! the original error. The one place that turns [`VcrError`] into diagnostics.

use crate::tfplugin::{Diagnostic, Diagnostics};
use crate::vcr::VcrError;

/// A diagnostic for a failed API call. `what` completes "Could not ...", e.g.
/// `create repository "my-app" in HAN`.
pub fn api_error(what: &str, err: &VcrError) -> Diagnostic {
    let hint = match err {
        VcrError::Auth { status: 404 | 405, .. } => {
            "The IAM token endpoint was not found there: check token_url (or VCR_TOKEN_URL)."
        }
        VcrError::Unauthorized { .. } | VcrError::Auth { .. } => {
            "Check client_id and client_secret (or VCR_CLIENT_ID and VCR_CLIENT_SECRET), and that the service account may use vCR."
        }
        VcrError::Forbidden { .. } => {
            "The service account is not allowed to do this; grant it vCR permissions in the IAM portal."
        }
        VcrError::RateLimited { .. } => {
            "vCR kept throttling the requests after every retry. Try again later, raise max_retries, or lower terraform's -parallelism."
        }
        VcrError::Server { .. } | VcrError::Status { .. } => {
            "vCR failed on its side. Nothing was lost from the state; run the command again."
        }
        VcrError::Transport { .. } => {
            "vCR could not be reached. Check the network, token_url and endpoints { hcm, han } (or VCR_TOKEN_URL, VCR_ENDPOINT_HCM, VCR_ENDPOINT_HAN), then run the command again."
        }
        VcrError::Invalid { .. } => "vCR refused the request for the rule it names above.",
        VcrError::Conflict { .. } => "vCR refused the change in the current state of the object.",
        VcrError::NotFound { .. } => "The object does not exist (any more) in vCR.",
        VcrError::Decode { .. } => {
            "vCR answered in a shape this provider does not understand. Please report this with the provider's version."
        }
        VcrError::Config(_) => "Fix the provider configuration.",
    };
    // The cause first: in a CI log it is what the reader looks for.
    Diagnostic::error(
        format!("Could not {what}"),
        format!("vCR said: {err}\n\n{hint}"),
    )
}

/// [`api_error`] as diagnostics, for `map_err`.
pub fn api(what: impl Into<String>) -> impl FnOnce(VcrError) -> Diagnostics {
    let what = what.into();
    move |e| api_error(&what, &e).into()
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
}
