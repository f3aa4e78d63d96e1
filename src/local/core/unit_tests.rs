//! The core called directly, in process and in memory: repositories, users,
//! authentication and authorization, blobs, uploads (with the "busy" path),
//! images and manifests, and the store's work kept off the async workers.

use bytes::Bytes;

use super::auth::BAD_CREDENTIALS;
use super::manifests::{digest_of, OCI_INDEX, OCI_MANIFEST};
use super::model::{Action, Principal, QuotaUnit, RepoRef, POLICIES};
use super::users::NewUser;
use super::{Core, DomainError, DomainResult, LocalRegion, RegistryErrorKind};

const HCM: LocalRegion = LocalRegion::Hcm;
const HAN: LocalRegion = LocalRegion::Han;
const PULL: &str = POLICIES[0].id;
const PUSH: &str = POLICIES[1].id;

fn core() -> Core {
    Core::open(None, 7).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// The registry's refusal kind of an error (panics on another error).
fn kind<T: std::fmt::Debug>(r: DomainResult<T>) -> RegistryErrorKind {
    match r {
        Err(DomainError::Registry { kind, .. }) => kind,
        other => panic!("not a registry refusal: {other:?}"),
    }
}

/// A repository of HCM as the data plane sees it.
fn repo(core: &Core, name: &str, public: bool) -> RepoRef {
    core.create_repository(HCM, name, public, 1).unwrap();
    let backend = core.backend_name(name);
    core.rights(&Principal::Anonymous, HCM, &backend)
        .unwrap()
        .unwrap()
        .0
}

/// A user of HCM with these policies on `repo_uuid`: its id and secret.
fn user(core: &Core, name: &str, repo_uuid: &str, policies: &[&str]) -> (String, String) {
    let new = NewUser {
        name: name.into(),
        grants: vec![super::model::GrantRequest {
            repo_uuid: repo_uuid.into(),
            policy_ids: policies.iter().map(|p| p.to_string()).collect(),
        }],
        ..NewUser::default()
    };
    let secret = core.create_user(HCM, &new).unwrap();
    let id = core.list_users(HCM, Some(name), None).unwrap()[0]
        .uuid
        .clone();
    (id, secret)
}

/// Uploads `bytes` as a blob of the repository in two chunks; its digest.
async fn push_blob(core: &Core, repo: &RepoRef, bytes: &[u8]) -> DomainResult<String> {
    let digest = digest_of(bytes);
    let id = core.start_upload(HCM, repo).await?;
    let mut lease = core.lease_upload(&id, HCM, repo)?;
    let (a, b) = bytes.split_at(bytes.len() / 2);
    let chunks = vec![
        Ok::<_, std::io::Error>(Bytes::copy_from_slice(a)),
        Ok(Bytes::copy_from_slice(b)),
    ];
    core.append(&mut lease, repo, futures_util::stream::iter(chunks))
        .await?;
    core.finish_upload(lease, repo, &digest).await?;
    Ok(digest)
}

/// Pushes a config and a layer, then a manifest naming them under `tag`:
/// the manifest's digest and the layer's.
async fn push_image(
    core: &Core,
    repo: &RepoRef,
    image: &str,
    tag: &str,
    layer: &str,
) -> (String, String) {
    let config = push_blob(core, repo, b"{}").await.unwrap();
    let layer = push_blob(core, repo, layer.as_bytes()).await.unwrap();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{config}","size":2}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"{layer}","size":1}}]}}"#
    );
    let pushed = core
        .put_manifest(repo, image, tag, Some(OCI_MANIFEST), Bytes::from(manifest))
        .await
        .unwrap();
    (pushed.digest, layer)
}

#[test]
fn repositories_are_unique_per_region_and_deleted_only_empty() {
    let core = core();
    let made = core.create_repository(HCM, "team-app", false, 2).unwrap();
    assert_eq!(made.backend_name, "7-team-app");
    assert_eq!(
        (made.quota_limit_gb, made.used_bytes, made.image_count),
        (2, 0, 0)
    );
    match core.create_repository(HCM, "team-app", true, 1) {
        Err(DomainError::Conflict { code, .. }) => assert_eq!(code, "REPO_NAME_TAKEN"),
        other => panic!("a second team-app in HCM: {other:?}"),
    }
    core.create_repository(HAN, "team-app", true, 1)
        .expect("names are unique per region");
    assert!(matches!(
        core.repository(HAN, &made.uuid),
        Err(DomainError::NotFound(_))
    ));
    core.create_repository(HCM, "team-web", true, 1).unwrap();
    let names = |public| -> Vec<String> {
        core.list_repositories(HCM, Some("team"), public)
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect()
    };
    assert_eq!(names(None), ["team-app", "team-web"], "creation order");
    assert_eq!(names(Some(true)), ["team-web"]);

    let quota = core.set_quota(HCM, &made.uuid, 5).unwrap();
    assert_eq!(quota.quota_limit_gb, 5);
    let history = core.history(HCM, &made.uuid).unwrap();
    let actions: Vec<&str> = history.iter().map(|h| h.action.as_str()).collect();
    assert_eq!(
        actions,
        ["UPDATE_QUOTA", "CREATE_REPOSITORY"],
        "newest first"
    );
    assert!(
        history[0].detail.contains("from 2 GB to 5 GB"),
        "{history:?}"
    );

    let rt = runtime();
    let data = repo(&core, "holding", false);
    rt.block_on(push_image(&core, &data, "web", "v1", "layer"));
    let full = core.repository(HCM, &data.uuid).unwrap();
    assert_eq!(full.image_count, 1);
    match core.delete_repository(HCM, &data.uuid) {
        Err(DomainError::Conflict { code, .. }) => assert_eq!(code, "REPO_NOT_EMPTY"),
        other => panic!("deleting a repository with an image: {other:?}"),
    }
    core.delete_image(HCM, &data.uuid, "web").unwrap();
    core.delete_repository(HCM, &data.uuid).unwrap();
    assert!(matches!(
        core.repository(HCM, &data.uuid),
        Err(DomainError::NotFound(_))
    ));
}

#[test]
fn users_log_in_until_disabled_expired_refreshed_or_deleted() {
    let core = core();
    let repo = core.create_repository(HCM, "shared", false, 1).unwrap();
    let (id, secret) = user(&core, "builder", &repo.uuid, &[PULL]);
    let login = "7-builder";
    let principal = core.authenticate(HCM, Some((login, &secret))).unwrap();
    assert_eq!(principal.subject(), id);
    assert_eq!(core.authenticate(HCM, None).unwrap(), Principal::Anonymous);
    for (name, secret) in [(login, "wrong"), ("7-nobody", secret.as_str())] {
        match core.authenticate(HCM, Some((name, secret))) {
            Err(DomainError::Unauthenticated(why)) => assert_eq!(why, BAD_CREDENTIALS),
            other => panic!("{name}: {other:?}"),
        }
    }
    assert!(
        core.authenticate(HAN, Some((login, &secret))).is_err(),
        "a user belongs to its region"
    );
    match core.create_user(
        HCM,
        &NewUser {
            name: "builder".into(),
            ..NewUser::default()
        },
    ) {
        Err(DomainError::Conflict { code, .. }) => assert_eq!(code, "USER_NAME_TAKEN"),
        other => panic!("a second builder: {other:?}"),
    }

    let refused = |secret: &str| match core.authenticate(HCM, Some((login, secret))) {
        Err(DomainError::Unauthenticated(why)) => why,
        other => panic!("not refused: {other:?}"),
    };
    core.set_user_disabled(HCM, &id, true).unwrap();
    assert_eq!(refused(&secret), "the user is disabled");
    assert!(
        core.rights(&principal, HCM, "7-shared").is_err(),
        "a token of a user disabled since stops working"
    );
    core.set_user_disabled(HCM, &id, false).unwrap();
    let changed = core
        .update_user(HCM, &id, Some(1), Some("ci".into()))
        .unwrap();
    assert_eq!(changed.description.as_deref(), Some("ci"));
    assert!(changed.expires_at.is_some());
    core.clock.set_offset(2 * 86_400);
    assert_eq!(refused(&secret), "the user has expired");
    core.update_user(HCM, &id, None, None).unwrap();
    core.authenticate(HCM, Some((login, &secret)))
        .expect("no duration: never expires");

    let fresh = core.refresh_secret(HCM, &id).unwrap();
    assert_ne!(fresh, secret);
    assert_eq!(
        refused(&secret),
        BAD_CREDENTIALS,
        "the old secret stops working"
    );
    core.authenticate(HCM, Some((login, &fresh))).unwrap();

    core.delete_user(HCM, &id).unwrap();
    assert!(core.list_users(HCM, None, None).unwrap().is_empty());
    match core.rights(&principal, HCM, "7-shared") {
        Err(DomainError::Unauthenticated(why)) => assert_eq!(why, "the user no longer exists"),
        other => panic!("a deleted user's token: {other:?}"),
    }
}

#[test]
fn grants_are_checked_and_give_exactly_their_rights() {
    let core = core();
    let private = core.create_repository(HCM, "private", false, 1).unwrap();
    core.create_repository(HCM, "public", true, 1).unwrap();
    let (id, secret) = user(&core, "reader", &private.uuid, &[PULL]);
    let me = core.authenticate(HCM, Some(("7-reader", &secret))).unwrap();
    let allowed =
        |who: &Principal, backend: &str, action| core.authorize(who, HCM, backend, action).is_ok();
    assert!(allowed(&me, "7-private", Action::Pull));
    assert!(!allowed(&me, "7-private", Action::Push));
    assert!(!allowed(&Principal::Anonymous, "7-private", Action::Pull));
    assert!(allowed(&Principal::Anonymous, "7-public", Action::Pull));
    assert!(!allowed(&Principal::Anonymous, "7-public", Action::Push));
    assert!(
        !allowed(&me, "7-missing", Action::Pull),
        "no repository: denied"
    );

    let grant = |repo: &str, policies: &[&str]| super::model::GrantRequest {
        repo_uuid: repo.into(),
        policy_ids: policies.iter().map(|p| p.to_string()).collect(),
    };
    let invalid =
        |grants: &[super::model::GrantRequest]| match core.set_user_grants(HCM, &id, grants) {
            Err(DomainError::Invalid(why)) => why,
            other => panic!("accepted: {other:?}"),
        };
    assert!(invalid(&[grant("repo-nope", &[PULL])]).contains("permissionRequestList[0].repoId"));
    let twice = invalid(&[grant(&private.uuid, &[PULL]), grant(&private.uuid, &[PUSH])]);
    assert!(twice.contains("listed twice"), "{twice}");
    assert!(
        allowed(&me, "7-private", Action::Pull),
        "a refused change changed nothing"
    );

    let user = core
        .set_user_grants(HCM, &id, &[grant(&private.uuid, &[PUSH])])
        .unwrap();
    assert_eq!(user.grants[0].repo_backend_name, "7-private");
    assert!(allowed(&me, "7-private", Action::Push));
    assert!(
        allowed(&me, "7-private", Action::Delete),
        "push brings delete"
    );
    assert!(!allowed(&me, "7-private", Action::Pull));

    core.detach_users(HCM, &private.uuid, std::slice::from_ref(&id))
        .unwrap();
    assert!(!allowed(&me, "7-private", Action::Push));
    let repo = core
        .attach_users(HCM, &private.uuid, &[(id.clone(), vec![PULL.to_string()])])
        .unwrap();
    assert_eq!(repo.attached_users, 1);
    assert!(allowed(&me, "7-private", Action::Pull));
}

#[test]
fn blobs_are_checked_held_per_repository_mounted_and_refused_while_used() {
    let core = core();
    let rt = runtime();
    let a = repo(&core, "blobs-a", false);
    let b = repo(&core, "blobs-b", false);
    rt.block_on(async {
        let id = core.start_upload(HCM, &a).await.unwrap();
        let mut lease = core.lease_upload(&id, HCM, &a).unwrap();
        let body =
            futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"abc"))]);
        assert_eq!(core.append(&mut lease, &a, body).await.unwrap(), 3);
        let wrong = core.finish_upload(lease, &a, &digest_of(b"abd")).await;
        assert_eq!(kind(wrong), RegistryErrorKind::DigestInvalid);
        assert_eq!(core.uploads_in_progress(), 0, "a refused upload is gone");

        let digest = push_blob(&core, &a, b"layer bytes").await.unwrap();
        assert_eq!(core.blob_size(&a, &digest).unwrap(), 11);
        assert_eq!(core.usage(&a.uuid).unwrap(), 11);
        let read = core.open_blob(&a, &digest).await.unwrap();
        assert_eq!(read.len, 11);
        assert_eq!(
            kind(core.blob_size(&b, &digest)),
            RegistryErrorKind::BlobUnknown
        );
        assert!(
            core.open_blob(&b, &digest).await.is_err(),
            "held by another repository only"
        );

        assert!(core.mount_blob(&b, &a, &digest).unwrap());
        assert_eq!(core.usage(&b.uuid).unwrap(), 11);
        assert!(!core
            .mount_blob(&b, &a, &digest_of(b"never pushed"))
            .unwrap());
        push_blob(&core, &a, b"layer bytes").await.unwrap();
        assert_eq!(
            core.usage(&a.uuid).unwrap(),
            11,
            "a blob held already costs nothing"
        );

        core.delete_blob(&b, &digest).unwrap();
        assert_eq!(
            kind(core.blob_size(&b, &digest)),
            RegistryErrorKind::BlobUnknown
        );
        assert_eq!(
            kind(core.delete_blob(&b, &digest)),
            RegistryErrorKind::BlobUnknown
        );
        assert_eq!(core.blob_size(&a, &digest).unwrap(), 11, "a still holds it");

        let (manifest, layer) = push_image(&core, &a, "web", "v1", "used layer").await;
        assert_eq!(kind(core.delete_blob(&a, &layer)), RegistryErrorKind::InUse);
        assert_eq!(
            kind(core.delete_blob(&a, &manifest)),
            RegistryErrorKind::InUse
        );
    });
}

/// A GB of quota is vCR's GiB; a core given a smaller unit (a test's
/// `--quota-unit-bytes`) counts quotas, usage and its messages in that unit.
#[test]
fn a_gb_of_quota_is_a_gib_unless_the_core_is_given_a_smaller_unit() {
    assert_eq!(repo(&core(), "gib-quota", false).quota_bytes, 1 << 30);
    assert_eq!(QuotaUnit::new(512), None, "below a KiB");
    assert_eq!(QuotaUnit::new((1 << 30) + 1), None, "above a GiB");

    let core = core().with_quota_unit(QuotaUnit::new(1 << 20).unwrap());
    core.create_repository(HCM, "mib-quota", false, 2).unwrap();
    let small = core
        .rights(&Principal::Anonymous, HCM, &core.backend_name("mib-quota"))
        .unwrap()
        .unwrap()
        .0;
    assert_eq!(small.quota_bytes, 2 << 20);
    let rt = runtime();
    rt.block_on(async {
        let over = push_blob(&core, &small, &vec![1u8; (2 << 20) + 1]).await;
        let Err(DomainError::QuotaExceeded(message)) = over else {
            panic!("one byte over the quota: {over:?}");
        };
        assert!(
            message.contains("usage of 2048.0 MiB") && message.contains("limit of 2 GiB"),
            "sizes in the unit: {message}"
        );
        push_blob(&core, &small, &vec![2u8; 3 << 19]).await.unwrap();
    });
    let view = core.repository(HCM, &small.uuid).unwrap();
    assert_eq!((view.used_bytes, view.quota_used_gb), (3 << 19, 1.5));
    let refused = core.set_quota(HCM, &small.uuid, 1);
    assert!(
        matches!(&refused, Err(DomainError::Invalid(m)) if m.contains("1.5 GB")),
        "{refused:?}"
    );
}

/// One request at a time writes to an upload: a second one gets "busy"
/// (`BLOB_UPLOAD_INVALID`) while the first holds it, and the upload comes
/// back whole for the next request; another repository does not see it.
#[test]
fn an_upload_is_busy_while_a_request_holds_it() {
    let core = core();
    let rt = runtime();
    let a = repo(&core, "upload-a", false);
    let b = repo(&core, "upload-b", false);
    rt.block_on(async {
        let id = core.start_upload(HCM, &a).await.unwrap();
        let mut first = core.lease_upload(&id, HCM, &a).unwrap();
        let body =
            futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"part one "))]);
        core.append(&mut first, &a, body).await.unwrap();
        match core.lease_upload(&id, HCM, &a) {
            Err(DomainError::Registry { kind, message }) => {
                assert_eq!(kind, RegistryErrorKind::BlobUploadInvalid);
                assert!(message.contains("another request is writing"), "{message}");
            }
            Err(other) => panic!("a second request on a busy upload: {other:?}"),
            Ok(_) => panic!("a second request leased a busy upload"),
        }
        assert!(
            matches!(
                core.upload_size(&id, HCM, &a),
                Err(DomainError::Registry {
                    kind: RegistryErrorKind::BlobUploadUnknown,
                    ..
                })
            ),
            "a busy upload has no size to report"
        );
        assert_eq!(
            kind(core.lease_upload(&id, HCM, &b).map(drop)),
            RegistryErrorKind::BlobUploadUnknown
        );
        assert_eq!(core.uploads.held(&a.uuid), 9);
        first.give_back();

        assert_eq!(core.upload_size(&id, HCM, &a).unwrap(), 9);
        let mut second = core.lease_upload(&id, HCM, &a).unwrap();
        let body =
            futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"part two"))]);
        core.append(&mut second, &a, body).await.unwrap();
        let digest = digest_of(b"part one part two");
        assert_eq!(core.finish_upload(second, &a, &digest).await.unwrap(), 17);
        assert_eq!(core.uploads.held(&a.uuid), 0);
        assert_eq!(
            kind(core.lease_upload(&id, HCM, &a).map(drop)),
            RegistryErrorKind::BlobUploadUnknown
        );
    });
}

#[test]
fn images_list_pull_tag_and_delete_what_was_pushed() {
    let core = core();
    let rt = runtime();
    let r = repo(&core, "images", false);
    rt.block_on(async {
        let (m1, _) = push_image(&core, &r, "web", "v1", "one").await;
        core.clock.set_offset(1); // pushes in one millisecond would tie
        let (m2, _) = push_image(&core, &r, "web", "v2", "two").await;
        core.put_manifest(&r, "web", "latest", Some(OCI_MANIFEST), {
            let (meta, bytes) = core.pull_manifest(&r, "web", "v2").await.unwrap();
            assert_eq!(meta.digest, m2);
            bytes
        })
        .await
        .unwrap();

        let image = core.image(HCM, &r.uuid, "web").unwrap();
        assert_eq!((image.artifact_count, image.pull_count), (2, 1));
        let artifacts = core.artifacts(HCM, &r.uuid, "web", None).unwrap();
        let seen: Vec<(&str, Vec<String>)> = artifacts
            .iter()
            .map(|a| (a.digest.as_str(), a.tags.clone()))
            .collect();
        assert_eq!(
            seen,
            [(m2.as_str(), vec!["latest".to_string(), "v2".into()]), (m1.as_str(), vec!["v1".into()])],
            "newest push first, tags in order"
        );
        assert!(artifacts[0].pulled_at.is_some() && artifacts[1].pulled_at.is_none());
        assert_eq!(core.artifacts(HCM, &r.uuid, "web", Some("v1")).unwrap().len(), 1);
        assert_eq!(
            core.tags(&r, "web", Some(2), None).unwrap(),
            (vec!["latest".to_string(), "v1".into()], true)
        );
        assert_eq!(
            core.tags(&r, "web", Some(2), Some("v1")).unwrap(),
            (vec!["v2".to_string()], false)
        );
        assert_eq!(kind(core.manifest(&r, "web", "bad tag!")), RegistryErrorKind::ManifestUnknown);

        core.delete_manifest(&r, "web", "latest").unwrap();
        assert_eq!(kind(core.manifest(&r, "web", "latest")), RegistryErrorKind::ManifestUnknown);
        assert_eq!(core.manifest(&r, "web", "v2").unwrap().digest, m2, "a tag goes alone");

        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX}","manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{m1}","size":1}}]}}"#
        );
        let index = core
            .put_manifest(&r, "web", "multi", Some(OCI_INDEX), Bytes::from(index))
            .await
            .unwrap()
            .digest;
        match core.delete_artifact(HCM, &r.uuid, "web", &m1) {
            Err(DomainError::Conflict { code, .. }) => assert_eq!(code, "ARTIFACT_IN_USE"),
            other => panic!("deleting a manifest an index lists: {other:?}"),
        }
        core.delete_artifact(HCM, &r.uuid, "web", &index).unwrap();
        assert_eq!(
            kind(core.manifest(&r, "web", &m1)),
            RegistryErrorKind::ManifestUnknown,
            "the platform manifest only the index listed went with it"
        );
        let left = core.artifacts(HCM, &r.uuid, "web", None).unwrap();
        assert_eq!(left.iter().map(|a| a.digest.as_str()).collect::<Vec<_>>(), [m2.as_str()]);

        core.delete_image(HCM, &r.uuid, "web").unwrap();
        assert!(core.list_images(HCM, &r.uuid, None).unwrap().is_empty());
        assert_eq!(core.usage(&r.uuid).unwrap(), 0, "every blob went with the image");
        assert!(matches!(core.image(HCM, &r.uuid, "web"), Err(DomainError::NotFound(_))));
    });
}

/// A write waiting for the store (here: its lock, held by another thread)
/// does not stall the async workers: on a runtime with a single worker,
/// another task still runs meanwhile. Without handing the worker over, that
/// task could only run once the lock is released, and the wait below would
/// end in failure instead.
#[test]
fn a_waiting_write_leaves_the_async_workers_free() {
    use std::sync::{mpsc, Arc};
    let core = Arc::new(core());
    let (held_tx, held) = mpsc::channel();
    let (release_tx, release) = mpsc::channel();
    let holder = {
        let core = core.clone();
        std::thread::spawn(move || core.store.hold_lock_until(held_tx, release))
    };
    held.recv().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let (started_tx, started) = mpsc::channel();
    let write = {
        let core = core.clone();
        rt.spawn(async move {
            started_tx.send(()).unwrap();
            core.create_repository(HCM, "waited", false, 1)
                .map(|r| r.name)
        })
    };
    started.recv().unwrap();
    let (ran_tx, ran) = mpsc::channel();
    rt.spawn(async move { ran_tx.send(()).unwrap() });
    let other_task_ran = ran.recv_timeout(std::time::Duration::from_secs(60));
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert!(
        other_task_ran.is_ok(),
        "another task ran while the write waited for the store"
    );
    assert_eq!(rt.block_on(write).unwrap().unwrap(), "waited");
}
