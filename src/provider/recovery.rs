//! Creating an object exactly once when answers get lost.
//!
//! vCR creates are not idempotent, and the client never resends one that may have
//! reached vCR. When a create's answer is lost (a reset connection, a timeout, a
//! gateway's 502/503/504, a 500), the object may or may not exist. Rather than fail
//! and leave an orphan behind (the next apply would then fail with "already exists"),
//! the provider looks the name up: an object created since the attempt began is its
//! own and is taken into state; if there is none, the create is tried again.

use std::future::Future;
use std::time::Duration;

use time::OffsetDateTime;

use crate::vcr::VcrError;

/// How far vCR's clock may run behind ours when judging that an object was created by
/// this attempt. Names are unique per account and region, so another writer would have
/// to create the very same name within this window to be mistaken for us.
pub const CLOCK_SKEW: Duration = Duration::from_secs(60);

/// Whether a failed create may nonetheless have created the object.
pub fn is_ambiguous(err: &VcrError) -> bool {
    match err {
        VcrError::Transport { not_sent, .. } => !not_sent,
        VcrError::Server { .. } | VcrError::Decode { .. } => true,
        VcrError::Status { status, .. } => *status >= 500,
        _ => false,
    }
}

/// Whether a create that failed this way is worth sending again once we know the
/// object does not exist.
fn worth_resending(err: &VcrError) -> bool {
    match err {
        VcrError::Transport { .. } => true,
        VcrError::Server { status, .. } | VcrError::Status { status, .. } => {
            matches!(status, 502..=504)
        }
        _ => false,
    }
}

/// The outcome of [`create_exactly_once`].
#[derive(Debug)]
pub enum Created<T> {
    /// vCR answered the create.
    Answered(T),
    /// The answer was lost; the object was found by name and proven ours.
    Recovered(T),
}

/// Why [`create_exactly_once`] gave up.
#[derive(Debug)]
pub enum CreateFailure {
    /// The create failed and the object surely does not exist.
    Failed(VcrError),
    /// An object of that name exists but predates this attempt: someone else's.
    NameTaken { created_at: Option<OffsetDateTime> },
    /// The create may have succeeded, but vCR could not be asked whether it did.
    Unknown { create: VcrError, lookup: VcrError },
}

/// Creates an object, recovering from lost answers.
///
/// `lookup` finds the object by its unique name, with its creation time.
/// `max_resends` bounds how many times the create is sent again after a lost answer
/// whose object turned out not to exist.
pub async fn create_exactly_once<T, C, CF, L, LF>(
    what: &str,
    max_resends: u32,
    backoff: Duration,
    create: C,
    lookup: L,
) -> Result<Created<T>, CreateFailure>
where
    C: Fn() -> CF,
    CF: Future<Output = Result<T, VcrError>>,
    L: Fn() -> LF,
    LF: Future<Output = Result<Option<(T, Option<OffsetDateTime>)>, VcrError>>,
{
    let started = OffsetDateTime::now_utc() - CLOCK_SKEW;
    let mut resends = 0;
    let mut earlier_attempt_was_ambiguous = false;
    loop {
        let err = match create().await {
            Ok(obj) => return Ok(Created::Answered(obj)),
            Err(e) => e,
        };
        let ambiguous = is_ambiguous(&err);
        // A duplicate after an attempt whose answer was lost: that attempt made it.
        let conflict_after_lost_answer = err.is_conflict() && earlier_attempt_was_ambiguous;
        if !ambiguous && !conflict_after_lost_answer {
            if err.is_conflict() {
                if let Ok(Some((_, created_at))) = lookup().await {
                    return Err(CreateFailure::NameTaken { created_at });
                }
            }
            return Err(CreateFailure::Failed(err));
        }
        tracing::warn!(what, error = %err, "the create's answer was lost: looking the object up by name");
        match lookup().await {
            Ok(Some((obj, created_at))) => {
                if created_at.is_none_or(|t| t >= started) {
                    tracing::warn!(
                        what,
                        "found the object this create made: taking it into state"
                    );
                    return Ok(Created::Recovered(obj));
                }
                return Err(CreateFailure::NameTaken { created_at });
            }
            Ok(None) if worth_resending(&err) && resends < max_resends => {
                resends += 1;
                earlier_attempt_was_ambiguous = true;
                tracing::warn!(
                    what,
                    attempt = resends,
                    "the object does not exist: creating it again"
                );
                tokio::time::sleep(backoff * resends).await;
            }
            Ok(None) => return Err(CreateFailure::Failed(err)),
            Err(lookup) => {
                return Err(CreateFailure::Unknown {
                    create: err,
                    lookup,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex;

    fn transport() -> VcrError {
        VcrError::Transport {
            method: "POST".into(),
            path: "/v1/repository".into(),
            source: Box::new(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection reset",
            )),
            not_sent: false,
            setting: "endpoint_hcm",
        }
    }

    #[tokio::test]
    async fn a_lost_answer_is_recovered_by_name() {
        let created: Mutex<Option<OffsetDateTime>> = Mutex::new(None);
        let out = create_exactly_once(
            "repository",
            3,
            Duration::ZERO,
            || async {
                *created.lock().unwrap() = Some(OffsetDateTime::now_utc());
                Err::<&str, _>(transport())
            },
            || async { Ok(created.lock().unwrap().map(|t| ("repo-1", Some(t)))) },
        )
        .await
        .unwrap();
        assert!(matches!(out, Created::Recovered("repo-1")));
    }

    #[tokio::test]
    async fn an_older_object_of_that_name_is_not_taken() {
        let old = OffsetDateTime::now_utc() - Duration::from_secs(3600);
        let out = create_exactly_once(
            "repository",
            3,
            Duration::ZERO,
            || async { Err::<&str, _>(transport()) },
            || async { Ok(Some(("repo-old", Some(old)))) },
        )
        .await;
        assert!(matches!(out, Err(CreateFailure::NameTaken { .. })));
    }

    #[tokio::test]
    async fn a_gateway_error_without_an_object_is_resent_a_bounded_number_of_times() {
        let calls = AtomicU32::new(0);
        let out = create_exactly_once(
            "repository",
            2,
            Duration::ZERO,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<&str, _>(VcrError::Server {
                    status: 503,
                    message: "busy".into(),
                })
            },
            || async { Ok(None) },
        )
        .await;
        assert!(matches!(
            out,
            Err(CreateFailure::Failed(VcrError::Server { status: 503, .. }))
        ));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_500_is_looked_up_but_not_resent() {
        let calls = AtomicU32::new(0);
        let out = create_exactly_once(
            "repository",
            5,
            Duration::ZERO,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err::<&str, _>(VcrError::Server {
                    status: 500,
                    message: "bug".into(),
                })
            },
            || async { Ok(None) },
        )
        .await;
        assert!(matches!(out, Err(CreateFailure::Failed(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_plain_duplicate_reports_the_name_taken() {
        let out = create_exactly_once(
            "repository",
            5,
            Duration::ZERO,
            || async {
                Err::<&str, _>(VcrError::Conflict {
                    message: "duplicate".into(),
                })
            },
            || async { Ok(Some(("repo-x", None))) },
        )
        .await;
        assert!(matches!(out, Err(CreateFailure::NameTaken { .. })));
    }

    #[tokio::test]
    async fn when_vcr_cannot_be_asked_the_outcome_is_unknown() {
        let out = create_exactly_once(
            "repository",
            5,
            Duration::ZERO,
            || async { Err::<&str, _>(transport()) },
            || async { Err::<Option<(&str, Option<OffsetDateTime>)>, _>(transport()) },
        )
        .await;
        assert!(matches!(out, Err(CreateFailure::Unknown { .. })));
    }
}
