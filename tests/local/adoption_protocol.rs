//! Adopting what exists, at the protocol, in process against a real vcr-local: the
//! identity `{ id, region }` of both resources in every answer and in imports, the
//! list resources (`ListResource` streaming every page, the limit, an API error in
//! the middle of the stream, the filters) and the configuration generated for what
//! they find (`GenerateResourceConfig`). `tests/acceptance/adoption.rs` runs the same
//! through a real Terraform.

use crate::vcr_support;

use std::collections::BTreeSet;

use serde_json::{json, Value as Json};
use tokio_stream::StreamExt;
use tonic::Request;
use vcr_provider::local::RunningServer;
use vcr_provider::provider::{repository, repository_user, VcrProvider};
use vcr_provider::tfplugin::proto::provider_server::Provider as _;
use vcr_provider::tfplugin::proto::{self, DynamicValue};
use vcr_provider::tfplugin::server::ProviderService;
use vcr_provider::tfplugin::{codec, Provider as _, Type, Value};
use vcr_provider::vcr::{
    Client, CreateRepository, CreateUser, Permission, PermissionRequest, Region, Repository,
};

const REPO: &str = "vcr_repository";
const USER: &str = "vcr_repository_user";

/// vcr-local, a client for it, and the provider configured against it (region HCM).
struct Setup {
    local: RunningServer,
    client: Client,
    service: ProviderService<VcrProvider>,
}

async fn setup() -> Setup {
    let local = vcr_support::server().await;
    let client = vcr_support::client(&local);
    let settings: std::collections::HashMap<_, _> = local.settings().into_iter().collect();
    let config = json!({
        "client_id": settings["VCR_CLIENT_ID"],
        "client_secret": settings["VCR_CLIENT_SECRET"],
        "token_url": local.token_url(),
        "endpoints": { "hcm": local.endpoint_hcm(), "han": local.endpoint_han() },
        "max_retries": 0,
    });
    let service = ProviderService::new(VcrProvider);
    let answer = service
        .configure(Request::new(proto::configure::Request {
            config: Some(encode(&VcrProvider.schema().value_type(), config)),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.diagnostics.is_empty(), "{:?}", answer.diagnostics);
    Setup {
        local,
        client,
        service,
    }
}

fn encode(ty: &Type, json: Json) -> DynamicValue {
    codec::encode(&Value::from_json(&json).conform(ty).unwrap())
}

fn decode(dv: Option<&DynamicValue>, ty: &Type) -> Json {
    codec::decode(dv, ty).unwrap().to_json()
}

fn state_type(type_name: &str) -> Type {
    match type_name {
        REPO => repository::schema().value_type(),
        _ => repository_user::schema().value_type(),
    }
}

fn identity_type() -> Type {
    vcr_provider::provider::model::ObjectIdentity::schema("object").value_type()
}

fn identity_data(json: Json) -> Option<proto::ResourceIdentityData> {
    Some(proto::ResourceIdentityData {
        identity_data: Some(encode(&identity_type(), json)),
    })
}

fn identity_of(data: Option<&proto::ResourceIdentityData>) -> Json {
    decode(
        data.and_then(|d| d.identity_data.as_ref()),
        &identity_type(),
    )
}

/// A repository made through the API, not by Terraform.
async fn make_repository(client: &Client, region: Region, name: &str) -> Repository {
    client
        .repositories(region)
        .create(&CreateRepository {
            name: name.into(),
            is_public: false,
            quota_limit_gb: 1,
        })
        .await
        .unwrap()
}

/// A user made through the API with these permissions; its id.
async fn make_user(
    client: &Client,
    region: Region,
    name: &str,
    grants: &[(&str, Permission)],
) -> String {
    let users = client.users(region);
    let policies = users.policies().await.unwrap();
    let permissions = grants
        .iter()
        .map(|(repo_id, p)| PermissionRequest {
            repo_id: repo_id.to_string(),
            policy_ids: p.policy_ids(&policies).unwrap(),
        })
        .collect();
    users
        .create(&CreateUser {
            name: name.into(),
            duration_days: Some(30),
            description: Some(format!("{name}, made in the portal")),
            permissions,
        })
        .await
        .unwrap();
    users.find_by_name(name).await.unwrap().unwrap().uuid
}

impl Setup {
    async fn import(
        &self,
        type_name: &str,
        id: &str,
        identity: Option<Json>,
    ) -> proto::import_resource_state::Response {
        self.service
            .import_resource_state(Request::new(proto::import_resource_state::Request {
                type_name: type_name.into(),
                id: id.into(),
                identity: identity.and_then(identity_data),
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
    }

    /// The state and identity an import gives, after the diagnostics were checked to
    /// hold no error.
    async fn imported(&self, type_name: &str, id: &str, identity: Option<Json>) -> (Json, Json) {
        let answer = self.import(type_name, id, identity).await;
        assert!(
            answer
                .diagnostics
                .iter()
                .all(|d| d.severity != proto::diagnostic::Severity::Error as i32),
            "{:?}",
            answer.diagnostics
        );
        let imported = &answer.imported_resources[0];
        (
            decode(imported.state.as_ref(), &state_type(type_name)),
            identity_of(imported.identity.as_ref()),
        )
    }

    async fn list(
        &self,
        type_name: &str,
        config: Json,
        limit: i64,
        include: bool,
    ) -> Vec<proto::list_resource::Event> {
        self.list_stream(type_name, config, limit, include)
            .await
            .map(|e| e.unwrap())
            .collect()
            .await
    }

    async fn list_stream(
        &self,
        type_name: &str,
        config: Json,
        limit: i64,
        include: bool,
    ) -> tonic::codegen::BoxStream<proto::list_resource::Event> {
        let ty = vcr_provider::provider::listing::schema("objects").value_type();
        self.service
            .list_resource(Request::new(proto::list_resource::Request {
                type_name: type_name.into(),
                config: Some(encode(&ty, config)),
                include_resource_object: include,
                limit,
            }))
            .await
            .unwrap()
            .into_inner()
    }

    async fn generate(
        &self,
        type_name: &str,
        state: Json,
    ) -> proto::generate_resource_config::Response {
        self.service
            .generate_resource_config(Request::new(proto::generate_resource_config::Request {
                type_name: type_name.into(),
                state: Some(encode(&state_type(type_name), state)),
            }))
            .await
            .unwrap()
            .into_inner()
    }

    /// How many pages of `GET /{region}/v1/repository` vcr-local answered.
    async fn repository_pages(&self, region: &str) -> u64 {
        vcr_support::count(&self.local, "GET", &format!("/{region}/v1/repository"))
            .await
            .0
    }
}

fn display_names(events: &[proto::list_resource::Event]) -> Vec<String> {
    events.iter().map(|e| e.display_name.clone()).collect()
}

fn errors(events: &[proto::list_resource::Event]) -> Vec<&proto::Diagnostic> {
    events.iter().flat_map(|e| &e.diagnostic).collect()
}

#[tokio::test]
async fn identity_travels_in_every_answer_and_never_changes() {
    let s = setup().await;
    let ty = state_type(REPO);
    let planned = json!({"name": "north-app", "quota_limit_gb": 1, "access_level": "private", "region": "HAN", "force_destroy": false});
    let plan_create = s
        .service
        .plan_resource_change(Request::new(proto::plan_resource_change::Request {
            type_name: REPO.into(),
            proposed_new_state: Some(encode(&ty, planned.clone())),
            config: Some(encode(
                &ty,
                json!({"name": "north-app", "quota_limit_gb": 1, "region": "HAN"}),
            )),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(
        plan_create.planned_identity.is_none(),
        "not known before the create"
    );

    let applied = s
        .service
        .apply_resource_change(Request::new(proto::apply_resource_change::Request {
            type_name: REPO.into(),
            planned_state: Some(encode(&ty, planned.clone())),
            config: Some(encode(&ty, planned)),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    let state = decode(applied.new_state.as_ref(), &ty);
    let id = state["id"].as_str().unwrap().to_string();
    let identity = json!({"id": id, "region": "HAN"});
    assert_eq!(identity_of(applied.new_identity.as_ref()), identity);

    let read = |held: Json| {
        s.service
            .read_resource(Request::new(proto::read_resource::Request {
                type_name: REPO.into(),
                current_state: applied.new_state.clone(),
                current_identity: identity_data(held),
                ..Default::default()
            }))
    };
    let fresh = read(identity.clone()).await.unwrap().into_inner();
    assert!(fresh.diagnostics.is_empty(), "{:?}", fresh.diagnostics);
    assert_eq!(identity_of(fresh.new_identity.as_ref()), identity);

    let mut bigger = state.clone();
    bigger["quota_limit_gb"] = json!(2);
    let plan_update = s
        .service
        .plan_resource_change(Request::new(proto::plan_resource_change::Request {
            type_name: REPO.into(),
            prior_state: applied.new_state.clone(),
            proposed_new_state: Some(encode(&ty, bigger.clone())),
            config: Some(encode(
                &ty,
                json!({"name": "north-app", "quota_limit_gb": 2, "region": "HAN"}),
            )),
            prior_identity: identity_data(identity.clone()),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(
        plan_update.diagnostics.is_empty(),
        "{:?}",
        plan_update.diagnostics
    );
    assert_eq!(identity_of(plan_update.planned_identity.as_ref()), identity);

    // Terraform holding another identity for this object: refused, state kept.
    let moved = read(json!({"id": id, "region": "HCM"}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(moved.diagnostics[0].summary, "Unexpected identity change");
    assert_eq!(moved.new_state, applied.new_state);

    // An import by identity gives what an import by id gives.
    let by_id = s.imported(REPO, &format!("HAN/{id}"), None).await;
    let by_identity = s.imported(REPO, "", Some(identity.clone())).await;
    assert_eq!(by_identity, by_id);
    assert_eq!(by_identity.1, identity);
    assert_eq!(by_identity.0, state, "and what the apply made");
}

#[tokio::test]
async fn an_import_by_identity_names_an_id_in_a_region_exactly() {
    let s = setup().await;
    let repo = make_repository(&s.client, Region::Han, "only-han").await;
    let error = |answer: proto::import_resource_state::Response| {
        assert!(answer.imported_resources.is_empty());
        format!(
            "{} {}",
            answer.diagnostics[0].summary, answer.diagnostics[0].detail
        )
    };
    let wrong_region = s
        .import(REPO, "", Some(json!({"id": repo.uuid, "region": "HCM"})))
        .await;
    assert!(
        error(wrong_region).contains(&format!("No repository has the id {:?} in HCM", repo.uuid))
    );
    let by_name = s
        .import(REPO, "", Some(json!({"id": "only-han", "region": "HAN"})))
        .await;
    assert!(
        error(by_name).contains("No repository has the id \"only-han\" in HAN"),
        "names are for import ids"
    );
    let bad_region = s
        .import(REPO, "", Some(json!({"id": repo.uuid, "region": "SGN"})))
        .await;
    assert!(error(bad_region).contains("identity.region must be \"HCM\" or \"HAN\"; got \"SGN\""));

    let user = make_user(
        &s.client,
        Region::Han,
        "han-ci",
        &[(&repo.uuid, Permission::PullOnly)],
    )
    .await;
    let by_identity = s
        .imported(USER, "", Some(json!({"id": user, "region": "HAN"})))
        .await;
    assert_eq!(
        by_identity,
        s.imported(USER, &format!("HAN/{user}"), None).await
    );
    assert_eq!(
        by_identity.0["repository_permission"],
        json!([{"repository_id": repo.uuid, "permission": "pull_only"}])
    );
    assert!(by_identity.0["secret"].is_null());
    let missing = s
        .import(USER, "", Some(json!({"id": "han-ci", "region": "HAN"})))
        .await;
    assert!(error(missing).contains("No repository user has the id \"han-ci\" in HAN"));
}

/// 120 repositories: three pages of 50 for the provider to walk.
async fn many_repositories(s: &Setup) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for i in 0..120 {
        ids.insert(
            make_repository(&s.client, Region::Hcm, &format!("app-{i:03}"))
                .await
                .uuid,
        );
    }
    make_repository(&s.client, Region::Hcm, "other-app").await;
    make_repository(&s.client, Region::Han, "app-north").await;
    vcr_support::reset_counts(&s.local).await;
    ids
}

#[tokio::test]
async fn listing_reads_every_page_and_sends_each_object_once() {
    let s = setup().await;
    let ids = many_repositories(&s).await;
    let events = s
        .list(REPO, json!({"name_prefix": "app-"}), 1000, false)
        .await;
    assert!(errors(&events).is_empty(), "{:?}", errors(&events));
    assert_eq!(events.len(), 120);
    let listed: BTreeSet<String> = events
        .iter()
        .map(|e| {
            let identity = identity_of(e.identity.as_ref());
            assert_eq!(identity["region"], "HCM");
            assert!(e.resource_object.is_none(), "not asked for");
            identity["id"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(listed, ids, "each once");
    assert!(display_names(&events).contains(&"app-042 (HCM)".to_string()));
    assert_eq!(s.repository_pages("hcm").await, 3, "every page, each once");

    let everything = s.list(REPO, json!({}), 1000, false).await;
    assert_eq!(everything.len(), 121, "no prefix: other-app too, not HAN's");
    let north = s.list(REPO, json!({"region": "HAN"}), 1000, false).await;
    assert_eq!(display_names(&north), vec!["app-north (HAN)"]);
}

#[tokio::test]
async fn the_limit_ends_the_listing_and_the_paging() {
    let s = setup().await;
    many_repositories(&s).await;
    let events = s
        .list(REPO, json!({"name_prefix": "app-"}), 60, false)
        .await;
    assert_eq!(events.len(), 60);
    assert!(errors(&events).is_empty());
    assert_eq!(
        s.repository_pages("hcm").await,
        2,
        "no page after the limit"
    );

    vcr_support::reset_counts(&s.local).await;
    let events = s.list(REPO, json!({}), 50, false).await;
    assert_eq!(events.len(), 50);
    assert_eq!(s.repository_pages("hcm").await, 1);
}

#[tokio::test]
async fn an_api_error_mid_stream_arrives_after_what_was_found() {
    let s = setup().await;
    many_repositories(&s).await;
    let mut stream = s.list_stream(REPO, json!({}), 1000, false).await;
    // The first page is being sent (the stream holds 16 events at a time): the
    // second page will fail.
    let first = stream.next().await.unwrap().unwrap();
    assert!(first.diagnostic.is_empty());
    vcr_support::fault(
        &s.local,
        json!({"method": "GET", "path": "/hcm/v1/repository", "status": 500, "message": "disk on fire"}),
    )
    .await;
    let rest: Vec<_> = stream.map(|e| e.unwrap()).collect().await;
    let (found, last) = rest.split_at(rest.len() - 1);
    assert_eq!(found.len() + 1, 50, "the first page, then the error");
    assert!(errors(found).is_empty());
    let error = &last[0].diagnostic[0];
    assert_eq!(error.severity, proto::diagnostic::Severity::Error as i32);
    assert_eq!(error.summary, "Could not list the repositories of HCM");
    assert!(
        error.detail.contains("500") && error.detail.contains("disk on fire"),
        "{}",
        error.detail
    );
    assert!(last[0].identity.is_none());
}

#[tokio::test]
async fn users_are_listed_as_an_import_takes_them() {
    let s = setup().await;
    let api = make_repository(&s.client, Region::Hcm, "team-api").await;
    let web = make_repository(&s.client, Region::Hcm, "team-web").await;
    let ci = make_user(
        &s.client,
        Region::Hcm,
        "team-ci",
        &[
            (&api.uuid, Permission::PushPull),
            (&web.uuid, Permission::PullOnly),
        ],
    )
    .await;
    make_user(
        &s.client,
        Region::Hcm,
        "other-ci",
        &[(&api.uuid, Permission::PullOnly)],
    )
    .await;
    let north = make_repository(&s.client, Region::Han, "team-north").await;
    make_user(
        &s.client,
        Region::Han,
        "team-han",
        &[(&north.uuid, Permission::PullOnly)],
    )
    .await;

    let events = s
        .list(USER, json!({"name_prefix": "team-"}), 100, true)
        .await;
    assert_eq!(display_names(&events), vec!["team-ci (HCM)"]);
    let event = &events[0];
    assert_eq!(
        identity_of(event.identity.as_ref()),
        json!({"id": ci, "region": "HCM"})
    );
    let object = decode(event.resource_object.as_ref(), &state_type(USER));
    let (imported, _) = s.imported(USER, &ci, None).await;
    assert_eq!(
        object, imported,
        "the full object is what an import takes in"
    );
    assert_eq!(object["repository_permission"].as_array().unwrap().len(), 2);

    let han = s.list(USER, json!({"region": "HAN"}), 100, false).await;
    assert_eq!(display_names(&han), vec!["team-han (HAN)"]);
}

#[tokio::test]
async fn list_config_is_validated_naming_the_attribute() {
    let s = setup().await;
    let ty = vcr_provider::provider::listing::schema("objects").value_type();
    let answer = s
        .service
        .validate_list_resource_config(Request::new(
            proto::validate_list_resource_config::Request {
                type_name: REPO.into(),
                config: Some(encode(&ty, json!({"region": "SGN"}))),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.diagnostics.len(), 1, "{:?}", answer.diagnostics);
    let d = &answer.diagnostics[0];
    assert_eq!(d.summary, "Invalid value for \"region\"");
    assert_eq!(d.detail, "must be one of \"HCM\", \"HAN\"; got \"SGN\".");

    let schema = s.service.schema_response();
    for name in [REPO, USER] {
        let list = &schema.list_resource_schemas[name].block.as_ref().unwrap();
        let names: Vec<&str> = list.attributes.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, vec!["region", "name_prefix"]);
    }
    let identities = s
        .service
        .get_resource_identity_schemas(Request::new(Default::default()))
        .await
        .unwrap()
        .into_inner();
    for name in [REPO, USER] {
        let attributes = &identities.identity_schemas[name].identity_attributes;
        let required: Vec<(&str, bool)> = attributes
            .iter()
            .map(|a| (a.name.as_str(), a.required_for_import))
            .collect();
        assert_eq!(required, vec![("id", true), ("region", true)]);
    }
}

#[tokio::test]
async fn generated_configuration_is_what_a_person_would_write() {
    let s = setup().await;
    let local_repo = make_repository(&s.client, Region::Hcm, "plain-app").await;
    let north = s
        .client
        .repositories(Region::Han)
        .create(&CreateRepository {
            name: "open-north".into(),
            is_public: true,
            quota_limit_gb: 3,
        })
        .await
        .unwrap();
    let config = |type_name: &'static str, state: Json| {
        let s = &s;
        async move {
            let answer = s.generate(type_name, state).await;
            assert!(answer.diagnostics.is_empty(), "{:?}", answer.diagnostics);
            let config = decode(answer.config.as_ref(), &state_type(type_name));
            // What is set; Terraform writes nothing for a null computed attribute.
            config
                .as_object()
                .unwrap()
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<serde_json::Map<_, _>>()
        }
    };
    let (plain, _) = s.imported(REPO, &local_repo.uuid, None).await;
    assert_eq!(
        Json::Object(config(REPO, plain).await),
        json!({"name": "plain-app", "quota_limit_gb": 1}),
        "private, the provider's region, no force_destroy: all defaults"
    );
    let (open, _) = s.imported(REPO, &format!("HAN/{}", north.uuid), None).await;
    assert_eq!(
        Json::Object(config(REPO, open).await),
        json!({"name": "open-north", "quota_limit_gb": 3, "access_level": "public", "region": "HAN"})
    );

    let id = make_user(
        &s.client,
        Region::Hcm,
        "portal-ci",
        &[(&local_repo.uuid, Permission::PushPull)],
    )
    .await;
    let (user, _) = s.imported(USER, &id, None).await;
    let written = config(USER, user.clone()).await;
    assert_eq!(
        written.keys().cloned().collect::<Vec<_>>(),
        vec![
            "description",
            "expiration_date",
            "name",
            "repository_permission"
        ],
        "no secret, no computed attribute, enabled left at its default"
    );
    assert_eq!(
        written["repository_permission"],
        json!([{"repository_id": local_repo.uuid, "permission": "push_pull"}])
    );
    assert_eq!(written["expiration_date"], user["expiration_date"]);

    let mut disabled = user;
    disabled["enabled"] = json!(false);
    assert_eq!(
        config(USER, disabled).await["enabled"],
        json!(false),
        "not the default: written"
    );
}

/// Terraform asks to upgrade an identity stored at an older version, or stored
/// before the resource had one (version 0, nothing stored): the latter stays empty
/// until the next read makes it, and a stored `{ id, region }` is kept as it is.
#[tokio::test]
async fn identities_stored_earlier_upgrade_to_the_current_one() {
    let s = setup().await;
    for type_name in [REPO, USER] {
        let upgrade = |json: &str| {
            s.service.upgrade_resource_identity(Request::new(
                proto::upgrade_resource_identity::Request {
                    type_name: type_name.into(),
                    version: 0,
                    raw_identity: Some(proto::RawState {
                        json: json.as_bytes().to_vec(),
                        ..Default::default()
                    }),
                },
            ))
        };
        let none = upgrade("").await.unwrap().into_inner();
        assert!(none.diagnostics.is_empty(), "{:?}", none.diagnostics);
        assert_eq!(identity_of(none.upgraded_identity.as_ref()), Json::Null);
        let kept = upgrade(r#"{"id": "repo-1", "region": "HAN"}"#)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            identity_of(kept.upgraded_identity.as_ref()),
            json!({"id": "repo-1", "region": "HAN"})
        );
    }
}
