//! Short-lived repository users: the provider's own registry access for one run (the
//! ephemeral `vcr_registry_credentials`, the copies of `vcr_image_copy`). Created with
//! vCR's shortest expiry, so that one the provider could not delete (a crash, a lost
//! answer) stops working within a day; deleted as soon as the work is done.

use std::time::Duration;

use super::errors::api_error;
use super::recovery::{create_exactly_once, CreateFailure, Created};
use crate::provider::expiry::parse_api_time;
use crate::tfplugin::{Diagnostic, Diagnostics};
use crate::vcr::{CreateUser, Region, RobotAccount, Secret, Users, VcrError};

/// The pause before a create is sent again after a lost answer (times the attempt).
const RESEND_BACKOFF: Duration = Duration::from_millis(500);

/// The secret of a user just created, whatever became of the create's answer; an
/// error says whether a user may have been left behind.
pub async fn create_user(
    users: &Users<'_>,
    create: &CreateUser,
    max_resends: u32,
    name_prefix: &str,
) -> Result<Secret, Diagnostics> {
    let (name, region) = (&create.name, users.region());
    let outcome = create_exactly_once(
        &format!("repository user {name:?} in {region}"),
        max_resends,
        RESEND_BACKOFF,
        || async { users.create(create).await.map(Some) },
        || async {
            Ok(users
                .find_by_name(name)
                .await?
                .map(|u| (None, parse_api_time(&u.created_at))))
        },
    )
    .await;
    let what = format!("create the short-lived repository user {name:?} in {region}");
    match outcome {
        Ok(Created::Answered(Some(secret))) => Ok(secret),
        // The user exists but its secret was lost with the answer: get a fresh one.
        Ok(Created::Answered(None) | Created::Recovered(_)) => {
            let user = find_user(users, name).await?;
            match users.refresh_secret(&user.uuid).await {
                Ok(secret) => Ok(secret),
                Err(e) => Err(cleanup_after(users, &user.uuid, name, api_error(&what, &e)).await),
            }
        }
        Err(CreateFailure::Failed(e)) => Err(api_error(&what, &e).into()),
        Err(CreateFailure::NameTaken { .. }) => Err(Diagnostic::error(
            format!("Could not {what}"),
            format!("A user named {name:?} already exists (names starting with {name_prefix:?} are this provider's short-lived users). Run the command again: the next name is drawn at random."),
        )
        .into()),
        Err(CreateFailure::Unknown { create, lookup }) => Err(Diagnostic::error(
            format!("Could not {what}"),
            format!("The create's answer was lost and vCR could not be asked afterwards, so the user may exist; if it does, it expires within a day.\n\nCreate error: {create}\nLookup error: {lookup}"),
        )
        .into()),
    }
}

/// The user just created, by name.
pub async fn find_user(users: &Users<'_>, name: &str) -> Result<RobotAccount, Diagnostics> {
    let region = users.region();
    let lost = |why: String| {
        Diagnostics::from(Diagnostic::error(
            format!("Created the short-lived repository user {name:?} in {region} but cannot read it back"),
            format!("{why}\n\nThe user cannot be deleted by this run; it expires within a day of its creation."),
        ))
    };
    match users.find_by_name(name).await {
        Ok(Some(user)) => Ok(user),
        Ok(None) => Err(lost("vCR accepted the user but does not list it.".into())),
        Err(e) => Err(lost(format!("vCR said: {e}"))),
    }
}

/// Deletes a user Open made but cannot hand over, and returns the open's error, with
/// a note when the user stays.
pub async fn cleanup_after(
    users: &Users<'_>,
    id: &str,
    name: &str,
    err: Diagnostic,
) -> Diagnostics {
    let mut diags = Diagnostics::from(err);
    if let Err(e) = users.delete(id).await {
        diags.push(not_deleted_warning(
            name,
            users.region(),
            None,
            &e,
            "The provider could not delete the short-lived user it had just created",
        ));
    }
    diags
}

/// The warning of a short-lived user that could not be deleted: it stays until it
/// expires.
pub fn not_deleted_warning(
    name: &str,
    region: Region,
    expires_at: Option<&str>,
    err: &VcrError,
    who: &str,
) -> Diagnostic {
    let until = match expires_at {
        Some(at) => format!("It expires at {at}, within a day of its creation"),
        None => "It expires within a day of its creation".to_string(),
    };
    Diagnostic::warning(
        format!("Could not delete the short-lived repository user {name:?} in {region}"),
        format!(
            "{who}, so its credentials keep working until the user expires. \
             {until}; delete it sooner in the vCR console if needed. Nothing else is affected.\n\nvCR said: {err}"
        ),
    )
}
