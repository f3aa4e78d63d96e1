//! The framework's contract in process, through the gRPC service Terraform calls, with
//! a toy provider (no vCR): private state and identity in every answer, import by
//! identity, a refused identity change, an identity upgraded from an older version, a
//! state upgraded through its prior schema,
//! list resources streaming with a limit and errors, generated configuration,
//! ephemeral resources with private data, and Unimplemented for what no part serves. The vCR provider's own parts are tested against vcr-local elsewhere.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio_stream::StreamExt;
use tonic::Request;
use vcr_provider::tfplugin::proto::provider_server::Provider as _;
use vcr_provider::tfplugin::proto::{self, DynamicValue};
use vcr_provider::tfplugin::server::ProviderService;
use vcr_provider::tfplugin::{
    codec, Attribute, Block, Components, ConfigureRequest, CreateRequest, DeleteRequest,
    Diagnostic, Diagnostics, EphemeralRequest, EphemeralResource, Failure, IdentityAttribute,
    IdentitySchema, ImportRequest, ImportTarget, ListItem, ListRequest, ListResource, ListSink,
    OpenRequest, Opened, Private, Provider, ReadRequest, Renewed, Resource, Saved, Schema,
    StateUpgrade, Type, UpdateRequest, UpgradeRequest, Value,
};

/// The toy's remote objects: names by id.
#[derive(Default)]
struct Store {
    things: Mutex<BTreeMap<String, String>>,
    closed: Mutex<Vec<String>>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
struct Thing {
    id: Option<String>,
    name: Option<String>,
    /// What the last read found in private state.
    seen_private: Option<String>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq)]
struct ThingIdentity {
    id: Option<String>,
}

struct ThingResource;

#[async_trait]
impl Resource<Store> for ThingResource {
    type State = Thing;
    type Identity = ThingIdentity;

    fn type_name(&self) -> &'static str {
        "toy_thing"
    }
    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("A thing.")
                .attribute(Attribute::computed("id", Type::String, "Id.").use_state_for_unknown())
                .attribute(Attribute::required("name", Type::String, "Name."))
                .attribute(Attribute::computed(
                    "seen_private",
                    Type::String,
                    "Private seen.",
                )),
        )
    }
    fn identity_schema(&self) -> Option<IdentitySchema> {
        Some(IdentitySchema::new(
            1,
            vec![IdentityAttribute::required("id", Type::String, "Id.")],
        ))
    }
    /// Version 0 of the toy's identity called its one attribute `thing`.
    fn upgrade_identity(&self, req: UpgradeRequest) -> Result<serde_json::Value, Diagnostics> {
        match req.version {
            0 => Ok(serde_json::json!({ "id": req.json["thing"] })),
            _ => Ok(req.json),
        }
    }
    /// A thing named like its id needs no name in configuration.
    fn generate_config(
        &self,
        _store: Option<&Store>,
        mut config: Thing,
    ) -> Result<Thing, Diagnostics> {
        config.name = config.name.filter(|n| n != "implied");
        Ok(config)
    }
    fn identity(&self, state: &Thing) -> Option<ThingIdentity> {
        state.id.clone().map(|id| ThingIdentity { id: Some(id) })
    }
    async fn create(
        &self,
        store: &Store,
        req: CreateRequest<Thing>,
    ) -> Result<Saved<Thing>, Failure<Thing>> {
        let id = format!("t-{}", req.planned.name.clone().unwrap_or_default());
        store
            .things
            .lock()
            .unwrap()
            .insert(id.clone(), req.planned.name.clone().unwrap_or_default());
        let mut private = Private::default();
        private.set("made_by", &"create").unwrap();
        let state = Thing {
            id: Some(id),
            seen_private: None,
            ..req.planned
        };
        Ok(Saved::new(state).with_private(private))
    }
    async fn read(
        &self,
        store: &Store,
        req: ReadRequest<Thing>,
    ) -> Result<Option<Saved<Thing>>, Diagnostics> {
        let id = req.state.id.clone().unwrap_or_default();
        let Some(name) = store.things.lock().unwrap().get(&id).cloned() else {
            return Ok(None);
        };
        let state = Thing {
            id: Some(id),
            name: Some(name),
            seen_private: req.private.get::<String>("made_by")?,
        };
        Ok(Some(Saved::new(state).with_private(req.private)))
    }
    async fn update(
        &self,
        _store: &Store,
        req: UpdateRequest<Thing>,
    ) -> Result<Saved<Thing>, Failure<Thing>> {
        Ok(req.planned.into())
    }
    async fn delete(&self, store: &Store, req: DeleteRequest<Thing>) -> Result<(), Diagnostics> {
        store
            .things
            .lock()
            .unwrap()
            .remove(&req.prior.id.unwrap_or_default());
        Ok(())
    }
    async fn import(
        &self,
        store: &Store,
        req: ImportRequest<ThingIdentity>,
    ) -> Result<Saved<Thing>, Diagnostics> {
        let id = match req.target {
            ImportTarget::Id(id) => id,
            ImportTarget::Identity(identity) => identity.id.unwrap_or_default(),
        };
        let name = store.things.lock().unwrap().get(&id).cloned();
        let name =
            name.ok_or_else(|| Diagnostics::from(Diagnostic::error("No such thing", id.clone())))?;
        Ok(Thing {
            id: Some(id),
            name: Some(name),
            seen_private: None,
        }
        .into())
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct ListConfig {
    prefix: Option<String>,
}

struct ThingList;

#[async_trait]
impl ListResource<Store> for ThingList {
    type Config = ListConfig;
    type Resource = ThingResource;

    fn type_name(&self) -> &'static str {
        "toy_thing"
    }
    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("Things.").attribute(Attribute::optional("prefix", Type::String, "Prefix.")),
        )
    }
    async fn list(
        &self,
        store: &Store,
        req: ListRequest<ListConfig>,
        sink: &mut ListSink<Thing>,
    ) -> Result<(), Diagnostics> {
        let prefix = req.config.prefix.unwrap_or_default();
        let things: Vec<(String, String)> =
            store.things.lock().unwrap().clone().into_iter().collect();
        for (id, name) in things.into_iter().filter(|(_, n)| n.starts_with(&prefix)) {
            if name.ends_with("broken") {
                return Err(Diagnostic::error("The listing failed", "at a broken thing").into());
            }
            let item = ListItem {
                display_name: format!("{name} ({id})"),
                state: Thing {
                    id: Some(id),
                    name: Some(name),
                    seen_private: None,
                },
            };
            if !sink.send(item).await {
                break;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Ticket {
    purpose: Option<String>,
    token: Option<String>,
}

struct TicketResource;

#[async_trait]
impl EphemeralResource<Store> for TicketResource {
    type State = Ticket;

    fn type_name(&self) -> &'static str {
        "toy_ticket"
    }
    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("A ticket.")
                .attribute(Attribute::required("purpose", Type::String, "Why."))
                .attribute(Attribute::computed("token", Type::String, "The token.").sensitive()),
        )
    }
    async fn open(
        &self,
        _store: &Store,
        req: OpenRequest<Ticket>,
    ) -> Result<Opened<Ticket>, Diagnostics> {
        let purpose = req.config.purpose.unwrap_or_default();
        let mut opened = Opened::new(Ticket {
            token: Some(format!("token-for-{purpose}")),
            purpose: Some(purpose.clone()),
        });
        opened.private.set("ticket", &purpose)?;
        opened.renew_at =
            Some(std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(4_000_000_000));
        Ok(opened)
    }
    async fn renew(&self, _store: &Store, req: EphemeralRequest) -> Result<Renewed, Diagnostics> {
        let mut private = req.private;
        private.set("renewed", &true)?;
        Ok(Renewed {
            private,
            ..Renewed::default()
        })
    }
    async fn close(&self, store: &Store, req: EphemeralRequest) -> Diagnostics {
        match req.private.get::<String>("ticket") {
            Ok(Some(t)) => {
                store.closed.lock().unwrap().push(t.clone());
                Diagnostic::warning("Ticket closed", t).into()
            }
            Ok(None) => Diagnostic::error("No ticket in private state", "").into(),
            Err(d) => d,
        }
    }
}

struct Toy;

#[async_trait]
impl Provider for Toy {
    type Data = Store;
    fn schema(&self) -> Schema {
        Schema::new(0, Block::new("Toy."))
    }
    async fn configure(&self, _req: ConfigureRequest) -> Result<(Store, Diagnostics), Diagnostics> {
        Ok((Store::default(), Diagnostics::new()))
    }
    fn components(&self) -> Components<Store> {
        Components::new()
            .resource(ThingResource)
            .resource(NoteResource)
            .list_resource(ThingList)
            .ephemeral_resource(TicketResource)
    }
}

/// A toy note at schema version 1; version 0 called `text` `body` and had `draft`,
/// which version 1 folds into `text`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Note {
    id: Option<String>,
    text: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct NoteV0 {
    id: Option<String>,
    body: Option<String>,
    draft: Option<bool>,
}

fn note_v0() -> Schema {
    Schema::new(
        0,
        Block::new("A note.")
            .attribute(Attribute::computed("id", Type::String, "Id."))
            .attribute(Attribute::required("body", Type::String, "Body."))
            .attribute(Attribute::optional("draft", Type::Bool, "Draft.")),
    )
}

struct NoteResource;

#[async_trait]
impl Resource<Store> for NoteResource {
    type State = Note;
    type Identity = vcr_provider::tfplugin::NoIdentity;

    fn type_name(&self) -> &'static str {
        "toy_note"
    }
    fn schema(&self) -> Schema {
        Schema::new(
            1,
            Block::new("A note.")
                .attribute(Attribute::computed("id", Type::String, "Id."))
                .attribute(Attribute::required("text", Type::String, "Text.")),
        )
    }
    fn prior_schema(&self, version: i64) -> Option<Schema> {
        (version == 0).then(note_v0)
    }
    fn upgrade_state(&self, req: StateUpgrade) -> Result<Note, Diagnostics> {
        let old: NoteV0 = req.prior_as()?;
        let draft = if old.draft == Some(true) {
            "draft: "
        } else {
            ""
        };
        Ok(Note {
            id: old.id,
            text: old.body.map(|b| format!("{draft}{b}")),
        })
    }
    async fn create(
        &self,
        _: &Store,
        req: CreateRequest<Note>,
    ) -> Result<Saved<Note>, Failure<Note>> {
        Ok(req.planned.into())
    }
    async fn read(
        &self,
        _: &Store,
        req: ReadRequest<Note>,
    ) -> Result<Option<Saved<Note>>, Diagnostics> {
        Ok(Some(req.state.into()))
    }
    async fn update(
        &self,
        _: &Store,
        req: UpdateRequest<Note>,
    ) -> Result<Saved<Note>, Failure<Note>> {
        Ok(req.planned.into())
    }
    async fn delete(&self, _: &Store, _: DeleteRequest<Note>) -> Result<(), Diagnostics> {
        Ok(())
    }
    async fn import(
        &self,
        _: &Store,
        _: ImportRequest<vcr_provider::tfplugin::NoIdentity>,
    ) -> Result<Saved<Note>, Diagnostics> {
        Err(Diagnostic::error("No import", "Notes cannot be imported.").into())
    }
}

fn dv(ty: &Type, json: serde_json::Value) -> Option<DynamicValue> {
    Some(codec::encode(&Value::from_json(&json).conform(ty).unwrap()))
}

fn thing_type() -> Type {
    ThingResource.schema().value_type()
}

fn identity_type() -> Type {
    ThingResource.identity_schema().unwrap().value_type()
}

fn identity(json: serde_json::Value) -> Option<proto::ResourceIdentityData> {
    Some(proto::ResourceIdentityData {
        identity_data: dv(&identity_type(), json),
    })
}

fn decode(value: Option<&DynamicValue>, ty: &Type) -> serde_json::Value {
    codec::decode(value, ty).unwrap().to_json()
}

async fn configured() -> ProviderService<Toy> {
    let service = ProviderService::new(Toy);
    let answer = service
        .configure(Request::new(proto::configure::Request::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.diagnostics.is_empty());
    service
}

async fn create(
    service: &ProviderService<Toy>,
    name: &str,
) -> proto::apply_resource_change::Response {
    let planned = dv(&thing_type(), serde_json::json!({"name": name}));
    service
        .apply_resource_change(Request::new(proto::apply_resource_change::Request {
            type_name: "toy_thing".into(),
            prior_state: None,
            planned_state: planned.clone(),
            config: planned,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
}

#[test]
fn every_part_matches_its_schema() {
    assert_eq!(Toy.components().type_mismatches(), Vec::<String>::new());
}

#[tokio::test]
async fn schemas_announce_every_kind_and_identities() {
    let service = ProviderService::new(Toy);
    let schema = service.schema_response();
    assert!(schema.resource_schemas.contains_key("toy_thing"));
    assert!(schema.list_resource_schemas.contains_key("toy_thing"));
    assert!(schema.ephemeral_resource_schemas.contains_key("toy_ticket"));
    let identities = service
        .get_resource_identity_schemas(Request::new(Default::default()))
        .await
        .unwrap()
        .into_inner();
    let thing = &identities.identity_schemas["toy_thing"];
    assert_eq!(thing.identity_attributes[0].name, "id");
    assert!(thing.identity_attributes[0].required_for_import);
}

#[tokio::test]
async fn an_identity_of_an_older_version_is_upgraded() {
    let service = ProviderService::new(Toy);
    let upgrade = |version: i64, json: &str| {
        service.upgrade_resource_identity(Request::new(proto::upgrade_resource_identity::Request {
            type_name: "toy_thing".into(),
            version,
            raw_identity: Some(proto::RawState {
                json: json.as_bytes().to_vec(),
                ..Default::default()
            }),
        }))
    };
    let answer = upgrade(0, r#"{"thing": "t-old"}"#)
        .await
        .unwrap()
        .into_inner();
    assert!(answer.diagnostics.is_empty(), "{:?}", answer.diagnostics);
    let upgraded = answer.upgraded_identity.unwrap().identity_data;
    assert_eq!(decode(upgraded.as_ref(), &identity_type())["id"], "t-old");

    // Stored before the resource had an identity: none yet, the next read makes one.
    let answer = upgrade(0, "").await.unwrap().into_inner();
    assert!(answer.diagnostics.is_empty(), "{:?}", answer.diagnostics);
    let none = answer.upgraded_identity.and_then(|i| i.identity_data);
    assert!(codec::decode(none.as_ref(), &identity_type())
        .unwrap()
        .is_null());

    let answer = upgrade(1, r#"{"id": "t-new", "extra": 1}"#)
        .await
        .unwrap()
        .into_inner();
    let current = answer.upgraded_identity.unwrap().identity_data;
    assert_eq!(
        decode(current.as_ref(), &identity_type()),
        serde_json::json!({"id": "t-new"})
    );
}

#[tokio::test]
async fn generated_configuration_leaves_out_what_configuration_need_not_say() {
    let service = configured().await;
    assert!(
        service
            .schema_response()
            .server_capabilities
            .unwrap()
            .generate_resource_config,
        "announced, so that Terraform 1.14+ asks"
    );
    let generate = |json: serde_json::Value| {
        service.generate_resource_config(Request::new(proto::generate_resource_config::Request {
            type_name: "toy_thing".into(),
            state: dv(&thing_type(), json),
        }))
    };
    let answer = generate(serde_json::json!({"id": "t-1", "name": "one", "seen_private": "x"}))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.diagnostics.is_empty(), "{:?}", answer.diagnostics);
    assert_eq!(
        decode(answer.config.as_ref(), &thing_type()),
        serde_json::json!({"id": null, "name": "one", "seen_private": null}),
        "computed-only attributes are left out"
    );
    let answer = generate(serde_json::json!({"id": "t-2", "name": "implied"}))
        .await
        .unwrap()
        .into_inner();
    assert!(
        decode(answer.config.as_ref(), &thing_type())["name"].is_null(),
        "the resource's own hook left it out"
    );
}

#[tokio::test]
async fn private_state_and_identity_travel_in_every_answer() {
    let service = configured().await;
    let applied = create(&service, "one").await;
    assert!(applied.diagnostics.is_empty(), "{:?}", applied.diagnostics);
    assert_eq!(
        decode(
            applied.new_identity.unwrap().identity_data.as_ref(),
            &identity_type()
        )["id"],
        "t-one"
    );
    assert!(
        !applied.private.is_empty(),
        "the private state the create made"
    );

    let read = service
        .read_resource(Request::new(proto::read_resource::Request {
            type_name: "toy_thing".into(),
            current_state: applied.new_state.clone(),
            private: applied.private.clone(),
            current_identity: identity(serde_json::json!({"id": "t-one"})),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
    let state = decode(read.new_state.as_ref(), &thing_type());
    assert_eq!(
        state["seen_private"], "create",
        "the read saw the private state"
    );
    assert_eq!(read.private, applied.private);
    assert!(read.new_identity.is_some());

    // A plan of no change keeps the private state and gives the identity.
    let plan = service
        .plan_resource_change(Request::new(proto::plan_resource_change::Request {
            type_name: "toy_thing".into(),
            prior_state: read.new_state.clone(),
            proposed_new_state: read.new_state.clone(),
            config: dv(&thing_type(), serde_json::json!({"name": "one"})),
            prior_private: read.private.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(plan.planned_private, read.private);
    assert!(plan.planned_identity.is_some());
}

#[tokio::test]
async fn an_identity_that_changes_is_refused() {
    let service = configured().await;
    let applied = create(&service, "moved").await;
    let read = service
        .read_resource(Request::new(proto::read_resource::Request {
            type_name: "toy_thing".into(),
            current_state: applied.new_state.clone(),
            current_identity: identity(serde_json::json!({"id": "t-moved-not"})),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(read.diagnostics.len(), 1);
    assert_eq!(read.diagnostics[0].summary, "Unexpected identity change");
    assert_eq!(
        read.new_state, applied.new_state,
        "the state stays as it was"
    );
}

#[tokio::test]
async fn import_takes_an_id_or_an_identity() {
    let service = configured().await;
    create(&service, "two").await;
    let by_identity = service
        .import_resource_state(Request::new(proto::import_resource_state::Request {
            type_name: "toy_thing".into(),
            id: String::new(),
            identity: identity(serde_json::json!({"id": "t-two"})),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(
        by_identity.diagnostics.is_empty(),
        "{:?}",
        by_identity.diagnostics
    );
    let imported = &by_identity.imported_resources[0];
    assert_eq!(
        decode(imported.state.as_ref(), &thing_type())["name"],
        "two"
    );
    assert!(imported.identity.is_some());

    let by_id = service
        .import_resource_state(Request::new(proto::import_resource_state::Request {
            type_name: "toy_thing".into(),
            id: "t-two".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_id.imported_resources[0].state, imported.state);
}

async fn list(
    service: &ProviderService<Toy>,
    prefix: &str,
    limit: i64,
    include: bool,
) -> Vec<proto::list_resource::Event> {
    let config = dv(
        &ThingList.schema().value_type(),
        serde_json::json!({"prefix": prefix}),
    );
    let stream = service
        .list_resource(Request::new(proto::list_resource::Request {
            type_name: "toy_thing".into(),
            config,
            include_resource_object: include,
            limit,
        }))
        .await
        .unwrap()
        .into_inner();
    stream.map(|e| e.unwrap()).collect().await
}

#[tokio::test]
async fn list_resources_stream_identities_up_to_the_limit() {
    let service = configured().await;
    for i in 0..30 {
        create(&service, &format!("item-{i:02}")).await;
    }
    create(&service, "other").await;

    let events = list(&service, "item-", 100, false).await;
    assert_eq!(events.len(), 30);
    let first = &events[0];
    assert_eq!(first.display_name, "item-00 (t-item-00)");
    assert_eq!(
        decode(
            first.identity.as_ref().unwrap().identity_data.as_ref(),
            &identity_type()
        )["id"],
        "t-item-00"
    );
    assert!(first.resource_object.is_none(), "not asked for");

    let events = list(&service, "item-", 7, true).await;
    assert_eq!(events.len(), 7, "the limit is honoured");
    let object = decode(events[6].resource_object.as_ref(), &thing_type());
    assert_eq!(object["name"], "item-06");

    // An error mid-stream arrives as a diagnostic event after what was found.
    create(&service, "zz-broken").await;
    let events = list(&service, "", 100, false).await;
    let last = events.last().unwrap();
    assert_eq!(last.diagnostic[0].summary, "The listing failed");
    assert_eq!(events.len(), 32, "the 31 found before it, then the error");
}

#[tokio::test]
async fn ephemeral_resources_open_renew_and_close_with_private_data() {
    let service = configured().await;
    let ty = TicketResource.schema().value_type();
    let opened = service
        .open_ephemeral_resource(Request::new(proto::open_ephemeral_resource::Request {
            type_name: "toy_ticket".into(),
            config: dv(&ty, serde_json::json!({"purpose": "push"})),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(opened.diagnostics.is_empty(), "{:?}", opened.diagnostics);
    assert_eq!(
        decode(opened.result.as_ref(), &ty)["token"],
        "token-for-push"
    );
    assert_eq!(opened.renew_at.unwrap().seconds, 4_000_000_000);

    let renewed = service
        .renew_ephemeral_resource(Request::new(proto::renew_ephemeral_resource::Request {
            type_name: "toy_ticket".into(),
            private: opened.private.clone(),
        }))
        .await
        .unwrap()
        .into_inner();
    let private = Private::from_bytes(renewed.private.as_deref().unwrap()).unwrap();
    assert_eq!(private.get::<bool>("renewed").unwrap(), Some(true));

    let closed = service
        .close_ephemeral_resource(Request::new(proto::close_ephemeral_resource::Request {
            type_name: "toy_ticket".into(),
            private: renewed.private,
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(closed.diagnostics[0].summary, "Ticket closed");
    assert_eq!(closed.diagnostics[0].detail, "push");
}

#[tokio::test]
async fn what_no_part_serves_answers_unimplemented() {
    let service = configured().await;
    let status = service
        .move_resource_state(Request::new(Default::default()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unimplemented);
}

async fn upgrade_note(version: i64, json: &str) -> proto::upgrade_resource_state::Response {
    ProviderService::new(Toy)
        .upgrade_resource_state(Request::new(proto::upgrade_resource_state::Request {
            type_name: "toy_note".into(),
            version,
            raw_state: Some(proto::RawState {
                json: json.as_bytes().to_vec(),
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner()
}

/// An upgrade reads the stored state with the prior version's schema and struct, and
/// writes the current struct: a renamed attribute carries over, and a stored field
/// the prior schema does not declare is an error rather than dropped.
#[tokio::test]
async fn a_state_of_an_older_version_is_upgraded_through_the_prior_schema() {
    let note_type = NoteResource.schema().value_type();
    let answer = upgrade_note(0, r#"{"id": "n-1", "body": "hello", "draft": true}"#).await;
    assert!(answer.diagnostics.is_empty(), "{:?}", answer.diagnostics);
    assert_eq!(
        decode(answer.upgraded_state.as_ref(), &note_type),
        serde_json::json!({"id": "n-1", "text": "draft: hello"})
    );

    // Left out in the stored JSON: null in the prior view, as Terraform stores nulls.
    let answer = upgrade_note(0, r#"{"id": "n-2", "body": "hi"}"#).await;
    assert!(answer.diagnostics.is_empty(), "{:?}", answer.diagnostics);
    assert_eq!(
        decode(answer.upgraded_state.as_ref(), &note_type)["text"],
        "hi"
    );

    let answer = upgrade_note(0, r#"{"id": "n-3", "body": "x", "colour": "red"}"#).await;
    assert!(answer.upgraded_state.is_none());
    assert_eq!(answer.diagnostics.len(), 1);
    assert!(
        answer.diagnostics[0].detail.contains("\"colour\""),
        "{:?}",
        answer.diagnostics[0]
    );

    // Newer than the provider, or older without a prior schema: refused, named.
    for version in [2, -1] {
        let answer = upgrade_note(version, r#"{"id": "n-4", "text": "x"}"#).await;
        assert_eq!(answer.diagnostics.len(), 1, "version {version}");
        assert!(answer.diagnostics[0]
            .detail
            .contains(&format!("schema version {version}")));
    }
}

/// The prior view's struct must name every attribute of the prior schema: a struct
/// that forgets one cannot read the state and so cannot drop it.
#[test]
fn a_prior_struct_that_forgets_an_attribute_is_refused() {
    #[derive(Debug, Serialize, Deserialize)]
    struct Forgetful {
        id: Option<String>,
        body: Option<String>,
    }
    let ty = note_v0().value_type();
    let prior = Value::from_json(&serde_json::json!({"id": "n", "body": "b", "draft": true}))
        .conform(&ty)
        .unwrap();
    let req = StateUpgrade::new(0, prior, ty);
    let err = req.prior_as::<Forgetful>().unwrap_err();
    assert!(err.0[0].detail.contains("\"draft\""), "{:?}", err.0[0]);
    assert!(req.prior_as::<NoteV0>().is_ok());
}
