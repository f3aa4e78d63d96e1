//! The step runner's own logic: reading plans (fixtures of `terraform show -json` from
//! Terraform 1.11.4, 1.6.6 and 1.15.5), state and `terraform query -json` (1.15.5),
//! comparing imports, and a few scenarios that must fail, so that a runner which
//! checks nothing cannot pass.

use crate::support;

use serde_json::json;
use support::plan::{verify, Action, PlanChanges, PlanCheck};
use support::query::QueryResults;
use support::state::{ImportVerify, State};
use support::steps::{calls_modules, import_block, plans_nothing};
use support::terraform::{NEWEST_AVAILABLE, OLDEST_SUPPORTED};
use support::{local::LocalVcr, Scenario, Step, Terraform};
use vcr_provider::vcr::Region;

fn fixture(name: &str) -> PlanChanges {
    let path = format!("{}/tests/fixtures/plans/{name}", env!("CARGO_MANIFEST_DIR"));
    PlanChanges::parse(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn action(address: &str, action: Action) -> PlanCheck {
    PlanCheck::Action(address.to_string(), action)
}

#[test]
fn actions_are_read_from_the_json_plan() {
    let create = fixture("create.json");
    assert_eq!(create.terraform_version, "1.11.4");
    assert_eq!(create.action("vcr_repository.app"), Action::Create);
    assert_eq!(create.action("vcr_repository_user.ci"), Action::Create);
    assert_eq!(create.action("data.vcr_repository.app"), Action::Read);

    let changed = fixture("update_and_replace.json");
    assert_eq!(changed.action("vcr_repository.app"), Action::Update);
    let user = changed.get("vcr_repository_user.ci").unwrap();
    assert_eq!(user.action, Action::Replace);
    assert!(user.replaced_because_of("name"));
    assert!(!user.replaced_because_of("description"));
    assert!(user.is_unknown("secret") && user.is_sensitive("secret"));
    assert!(!user.is_unknown("name") && user.has_unknowns());
    assert!(!changed.get("vcr_repository.app").unwrap().has_unknowns());

    let other = fixture("delete_and_create_before_destroy.json");
    assert_eq!(
        other.action("vcr_repository.app"),
        Action::ReplaceCreateFirst
    );
    assert_eq!(other.action("vcr_repository.other"), Action::Create);
    assert_eq!(other.action("vcr_repository_user.ci"), Action::Delete);

    let old = fixture("no_op_terraform_1_6.json");
    assert_eq!(old.terraform_version, "1.6.6");
    assert_eq!(old.action("vcr_repository.app"), Action::NoOp);
    assert_eq!(old.action("vcr_repository.other"), Action::NoOp);

    assert!(Action::from_actions(&["update", "delete"]).is_err());
    assert!(PlanChanges::parse(r#"{"format_version":"2.0"}"#).is_err());
}

#[test]
fn expectations_hold_or_say_what_differs() {
    let plan = fixture("update_and_replace.json");
    let app = "vcr_repository.app";
    let ci = "vcr_repository_user.ci";
    let good = [
        action(app, Action::Update),
        action(ci, Action::Replace),
        PlanCheck::Value {
            address: app.into(),
            attribute: "quota_limit_gb".into(),
            before: json!(5),
            after: json!(7),
        },
        PlanCheck::Unchanged {
            address: app.into(),
            attribute: "name".into(),
        },
        PlanCheck::NoUnknowns(app.into()),
        PlanCheck::Unknown {
            address: ci.into(),
            attribute: "secret".into(),
        },
        PlanCheck::Sensitive {
            address: ci.into(),
            attribute: "secret".into(),
        },
        PlanCheck::ReplacedBecauseOf {
            address: ci.into(),
            attribute: "name".into(),
        },
    ];
    assert_eq!(verify(&plan, &good, true), Vec::<String>::new());

    let wrong = [
        (action(app, Action::NoOp), "planned Update, expected NoOp"),
        (
            PlanCheck::Value {
                address: app.into(),
                attribute: "quota_limit_gb".into(),
                before: json!(5),
                after: json!(8),
            },
            "planned 5 -> 7, expected 5 -> 8",
        ),
        (
            PlanCheck::Unchanged {
                address: app.into(),
                attribute: "quota_limit_gb".into(),
            },
            "planned to change",
        ),
        (PlanCheck::NoUnknowns(ci.into()), "planned values unknown"),
        (
            PlanCheck::Unknown {
                address: app.into(),
                attribute: "id".into(),
            },
            "planned known, expected unknown",
        ),
        (
            PlanCheck::ReplacedBecauseOf {
                address: app.into(),
                attribute: "name".into(),
            },
            "expected a replacement forced by name",
        ),
        (PlanCheck::AllManaged(Action::Update), "like every resource"),
        (
            PlanCheck::NoUnknowns("vcr_repository.absent".into()),
            "not in the plan",
        ),
    ];
    for (check, message) in wrong {
        let failures = verify(&plan, std::slice::from_ref(&check), false);
        assert_eq!(failures.len(), 1, "{check:?}: {failures:?}");
        assert!(failures[0].contains(message), "{check:?}: {failures:?}");
    }
}

#[test]
fn a_strict_step_names_every_change() {
    let plan = fixture("update_and_replace.json");
    let only_app = [action("vcr_repository.app", Action::Update)];
    let failures = verify(&plan, &only_app, true);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].contains("vcr_repository_user.ci: planned Replace"),
        "{failures:?}"
    );
    // A data source read is not a change of a resource.
    assert!(!failures[0].contains("data."), "{failures:?}");
    assert!(verify(&plan, &only_app, false).is_empty());
    let noop = fixture("no_op_terraform_1_6.json");
    assert!(verify(&noop, &[PlanCheck::AllManaged(Action::NoOp)], true).is_empty());
    assert!(verify(&noop, &[], true).is_empty());
}

#[test]
fn imports_are_read_from_the_json_plan_and_must_change_nothing() {
    let plan = fixture("import_by_identity.json");
    assert_eq!(plan.terraform_version, "1.15.5");
    let han = plan.get("vcr_repository.han_0").unwrap();
    assert!(han.is_import() && han.action == Action::NoOp);
    assert_eq!(han.importing["identity"]["region"], "HAN");
    assert!(verify(&plan, &[PlanCheck::OnlyImports(4)], true).is_empty());
    let failures = verify(&plan, &[PlanCheck::OnlyImports(3)], true);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].contains("4 imports planned, expected 3"),
        "{failures:?}"
    );

    // A create is no import, and an update is not allowed beside the imports.
    let create = fixture("create.json");
    assert!(!create.get("vcr_repository.app").unwrap().is_import());
    let failures = verify(&create, &[PlanCheck::OnlyImports(0)], false);
    assert!(
        failures[0].contains("vcr_repository.app: planned Create, expected only imports"),
        "{failures:?}"
    );
    assert!(!plans_nothing(&plan), "an import is something to do");
    assert!(plans_nothing(&fixture("no_op_terraform_1_6.json")));
    let mut updated = plan.clone();
    updated.changes[0].action = Action::Update;
    let failures = verify(&updated, &[PlanCheck::OnlyImports(4)], false);
    assert!(
        failures[0].contains("imported, but also planned Update"),
        "{failures:?}"
    );
}

#[test]
fn query_results_are_read_from_the_json_lines() {
    let read = |name: &str| {
        let path = format!("{}/tests/fixtures/query/{name}", env!("CARGO_MANIFEST_DIR"));
        QueryResults::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let found = read("found.jsonl");
    assert_eq!(
        found.names("list.vcr_repository.team_hcm"),
        vec!["team-api (HCM)"]
    );
    assert_eq!(found.total("list.vcr_repository_user.users"), Some(2));
    let users = found.of("list.vcr_repository_user.users");
    assert_eq!(users.len(), 2);
    assert_eq!(users[0].identity["region"], "HCM");
    assert_eq!(users[0].resource_type, "vcr_repository_user");
    let ci = users
        .iter()
        .find(|u| u.display_name == "team-ci (HCM)")
        .unwrap();
    let object = ci.resource_object.as_ref().expect("include_resource");
    assert_eq!(object["repository_permission"].as_array().unwrap().len(), 2);
    assert!(
        found.of("list.vcr_repository.han")[0]
            .resource_object
            .is_none(),
        "not asked for"
    );
    assert!(found.errors().is_empty());
    assert!(ci.config.is_none(), "no configuration generated");

    let failed = read("error.jsonl");
    let errors = failed.errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].summary,
        "Could not list the repository users of HCM"
    );
    assert_eq!(
        errors[0].address.as_deref(),
        Some("list.vcr_repository_user.users")
    );
    assert_eq!(failed.total("list.vcr_repository_user.users"), None);
    assert_eq!(failed.total("list.vcr_repository.han"), Some(1));

    let broken = r#"{"type":"list_resource_found","list_resource_found":{"address":"list.x.y"}}"#;
    assert!(QueryResults::parse(broken)
        .unwrap_err()
        .contains("without identity"));
}

#[test]
fn an_identity_becomes_an_import_block() {
    let block = import_block(
        "vcr_repository.app",
        &json!({"id": "repo-1", "region": "HAN"}),
    );
    assert_eq!(
        block,
        "import {\n  to = vcr_repository.app\n  identity = {\n    id = \"repo-1\"\n    region = \"HAN\"\n  }\n}\n"
    );
}

#[test]
fn state_addresses_follow_terraform() {
    let state = State::parse(
        &json!({
            "version": 4,
            "resources": [
                {"mode": "managed", "type": "vcr_repository", "name": "r", "instances": [
                    {"index_key": 0, "attributes": {"id": "repo-1"}},
                    {"index_key": 1, "attributes": {"id": "repo-2"}}
                ]},
                {"mode": "managed", "type": "vcr_repository_user", "name": "u", "instances": [
                    {"index_key": "ci", "attributes": {"id": "ra-1"},
                     "identity": {"id": "ra-1", "region": "HAN"}, "identity_schema_version": 0}
                ]},
                {"mode": "data", "type": "vcr_repository", "name": "d", "instances": [
                    {"attributes": {"id": "repo-1"}}
                ]},
                {"module": "module.m", "mode": "managed", "type": "vcr_repository", "name": "x",
                 "instances": [{"attributes": {"id": "repo-3"}}]}
            ]
        })
        .to_string(),
    )
    .unwrap();
    assert_eq!(
        state.addresses(),
        vec![
            "vcr_repository.r[0]",
            "vcr_repository.r[1]",
            "vcr_repository_user.u[\"ci\"]",
            "data.vcr_repository.d",
            "module.m.vcr_repository.x",
        ]
    );
    assert_eq!(state.expect("vcr_repository.r[1]")["id"], "repo-2");
    assert_eq!(
        state
            .ids_of("vcr_repository")
            .into_iter()
            .collect::<Vec<_>>(),
        vec!["repo-1", "repo-2", "repo-3"]
    );
    assert_eq!(state.managed().count(), 4);
    let user = state.instance("vcr_repository_user.u[\"ci\"]").unwrap();
    assert_eq!(user.identity, json!({"id": "ra-1", "region": "HAN"}));
    assert!(state
        .instance("vcr_repository.r[0]")
        .unwrap()
        .identity
        .is_null());
    assert!(State::parse(r#"{"version": 3}"#).is_err());
}

#[test]
fn import_verify_reports_differences_but_not_ignored_values() {
    let applied = json!({
        "id": "ra-1", "secret": "s3cr3t-applied", "enabled": true,
        "repository_permission": [{"repository_id": "a"}, {"repository_id": "b"}]
    });
    let imported = json!({
        "id": "ra-1", "secret": null, "enabled": true,
        "repository_permission": [{"repository_id": "b"}, {"repository_id": "a"}]
    });
    let strict = ImportVerify::default();
    let d = strict.differences(&applied, &imported);
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(d[0].starts_with("repository_permission:"), "{d:?}");
    assert_eq!(d[1], "secret: applied (sensitive value), imported null");

    let verify = ImportVerify {
        ignore: vec!["secret".into()],
        unordered: vec!["repository_permission".into()],
        sensitive: vec!["enabled".into()],
    };
    let marked = verify.differences(&json!({"enabled": true}), &json!({"enabled": false}));
    assert_eq!(
        marked,
        vec!["enabled: applied (sensitive value), imported (sensitive value)".to_string()]
    );
    let verify = ImportVerify {
        sensitive: Vec::new(),
        ..verify
    };
    assert!(verify.differences(&applied, &imported).is_empty());

    let mut disabled = imported.clone();
    disabled["enabled"] = json!(false);
    disabled["secret"] = json!("s3cr3t-imported");
    let d = verify.differences(&applied, &disabled);
    assert_eq!(d, vec!["enabled: applied true, imported false".to_string()]);
    assert!(!d.concat().contains("s3cr3t"));

    let mut missing = imported.clone();
    missing.as_object_mut().unwrap().remove("enabled");
    assert_eq!(
        verify.differences(&applied, &missing),
        vec!["enabled: applied true, imported (absent)".to_string()]
    );
}

#[test]
fn module_calls_are_recognised() {
    assert!(calls_modules(
        "module \"creds\" {\n  source = \"./creds\"\n}"
    ));
    assert!(calls_modules(
        "locals {}\n  module   \"x\" { source = \"./x\" }"
    ));
    assert!(!calls_modules("resource \"terraform_data\" \"module\" {}"));
    assert!(!calls_modules(
        "output \"x\" { value = module.creds.login }"
    ));
    assert!(!calls_modules("# module \"commented\" {}"));
}

/// A child module that writes nothing anywhere but its own terraform_data.
const CHILD: &str = r#"
variable "word" {
  type = string
}
resource "terraform_data" "echo" {
  input = var.word
}
output "word" {
  value = terraform_data.echo.output
}
"#;

#[test]
fn a_step_writes_its_files_and_installs_the_modules_it_calls() {
    let local = LocalVcr::start();
    let config = r#"
module "child" {
  source = "./child"
  word   = "hello"
}
output "word" {
  value = module.child.word
}
"#;
    Scenario::new(&local)
        .step(
            Step::apply(config)
                .file("child/main.tf", CHILD)
                .file("notes/readme.txt", "kept")
                .expect("module.child.terraform_data.echo", Action::Create)
                .check(|ctx| {
                    assert_eq!(ctx.outputs()["word"]["value"], "hello");
                    let ws = ctx.workspace();
                    assert_eq!(ws.read_file("notes/readme.txt").as_deref(), Some("kept"));
                    assert_eq!(ws.read_file("missing.txt"), None);
                    assert!(ws.state_text().contains("module.child"));
                    assert_eq!(ctx.run("get").args, ["get", "-no-color"]);
                }),
        )
        // The files stay for the steps after.
        .step(Step::plan_only().expect_no_changes())
        .run();
}

const TIMESTAMP: &str = r#"resource "terraform_data" "clock" { input = timestamp() }"#;

#[test]
#[should_panic(expected = "expected an empty plan (-refresh=false)")]
fn a_perpetual_diff_fails_the_step() {
    let local = LocalVcr::start();
    Scenario::new(&local)
        .step(Step::apply(TIMESTAMP).expect("terraform_data.clock", Action::Create))
        .run();
}

#[test]
#[should_panic(expected = "terraform_data.clock: planned Create, expected Update")]
fn a_wrong_expected_action_fails_the_step() {
    let local = LocalVcr::start();
    Scenario::new(&local)
        .step(Step::apply(TIMESTAMP).expect("terraform_data.clock", Action::Update))
        .run();
}

#[test]
#[should_panic(expected = "expected an error matching")]
fn an_expected_error_that_does_not_come_fails_the_step() {
    let local = LocalVcr::start();
    Scenario::new(&local)
        .step(
            Step::plan_only()
                .config(TIMESTAMP)
                .expect("terraform_data.clock", Action::Create)
                .expect_plan_error("never"),
        )
        .run();
}

#[test]
#[should_panic(expected = "repositories left in Hcm after destroy")]
fn an_object_left_in_vcr_local_fails_the_destroy_check() {
    let local = LocalVcr::start();
    Scenario::new(&local)
        .step(
            Step::apply("resource \"terraform_data\" \"x\" { input = 1 }")
                .expect("terraform_data.x", Action::Create)
                .check(|ctx| {
                    let client = ctx.local.client();
                    ctx.local
                        .block_on(client.repositories(Region::Hcm).create(
                            &vcr_provider::vcr::CreateRepository {
                                name: "left-behind".into(),
                                is_public: false,
                                quota_limit_gb: 1,
                            },
                        ))
                        .unwrap();
                }),
        )
        .run();
}

#[test]
#[should_panic(expected = "users left in Han after destroy")]
fn a_user_left_in_vcr_local_fails_the_destroy_check() {
    let local = LocalVcr::start();
    Scenario::new(&local)
        .step(
            Step::apply("resource \"terraform_data\" \"x\" { input = 1 }")
                .expect("terraform_data.x", Action::Create)
                .check(|ctx| create_user(ctx.local, Region::Han, "left-user")),
        )
        .run();
}

#[test]
fn objects_made_outside_terraform_may_be_declared_kept() {
    let local = LocalVcr::start();
    Scenario::new(&local)
        .keeps_outside_user(Region::Han, "kept-user")
        .step(
            Step::apply("resource \"terraform_data\" \"x\" { input = 1 }")
                .expect("terraform_data.x", Action::Create)
                .check(|ctx| create_user(ctx.local, Region::Han, "kept-user")),
        )
        .run();
    assert_eq!(local.user_names(Region::Han), vec!["kept-user"]);
}

/// A user with no permission (vcr-local allows it), made outside Terraform.
fn create_user(local: &LocalVcr, region: Region, name: &str) {
    local.make_user(region, name, &[], None, None);
}

#[test]
fn a_step_may_upgrade_terraform() {
    let local = LocalVcr::start();
    let version_in_state = |ctx: &support::steps::Ctx| {
        let path = ctx.workspace().path().join("terraform.tfstate");
        let state: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        state["terraform_version"].as_str().unwrap().to_string()
    };
    Scenario::new(&local)
        .terraform(Terraform::version(OLDEST_SUPPORTED))
        .step(
            Step::apply("resource \"terraform_data\" \"x\" { input = 1 }")
                .expect("terraform_data.x", Action::Create)
                .check(|ctx| assert_eq!(version_in_state(ctx), OLDEST_SUPPORTED)),
        )
        .step(
            Step::apply("resource \"terraform_data\" \"x\" { input = 2 }")
                .with_terraform(Terraform::version(NEWEST_AVAILABLE))
                .expect("terraform_data.x", Action::Update)
                .check(|ctx| assert_eq!(version_in_state(ctx), NEWEST_AVAILABLE)),
        )
        .run();
}

#[test]
#[should_panic(expected = "terraform query needs Terraform 1.14 or newer")]
fn a_query_on_an_older_terraform_is_a_mistake_of_the_test() {
    let local = LocalVcr::start();
    Scenario::new(&local)
        .terraform(Terraform::version(OLDEST_SUPPORTED))
        .step(Step::query("").config("resource \"terraform_data\" \"x\" { input = 1 }"))
        .run();
}

/// A repository with `force_destroy`, which an import cannot know: an import of it
/// differs from the apply.
const FORCE_DESTROY_APP: &str = r#"
resource "vcr_repository" "app" {
  name           = "verify-app"
  quota_limit_gb = 1
  force_destroy  = true
}
"#;

/// An import by identity is a plan and an apply: one that would also change the
/// object (here `force_destroy`, which an import cannot know) must not be applied.
#[test]
#[should_panic(
    expected = "plans more than the import:\n  vcr_repository.app: imported, but also planned Update"
)]
fn an_import_by_identity_that_differs_from_the_apply_fails_the_step() {
    let local = LocalVcr::start();
    Scenario::new(&local)
        .terraform(Terraform::version(NEWEST_AVAILABLE))
        .step(Step::apply(FORCE_DESTROY_APP).expect("vcr_repository.app", Action::Create))
        .step(Step::import("vcr_repository.app").by_identity())
        .run();
}

#[test]
#[should_panic(expected = "force_destroy: applied true, imported false")]
fn an_import_that_differs_from_the_apply_fails_the_step() {
    let local = LocalVcr::start();
    Scenario::new(&local)
        .step(Step::apply(FORCE_DESTROY_APP).expect("vcr_repository.app", Action::Create))
        .step(Step::import("vcr_repository.app"))
        .run();
}

#[test]
fn the_typed_controls_speak_vcr_local() {
    use support::controls::Fault;
    let local = LocalVcr::start();
    let controls = local.controls();
    let added = controls.add_fault(&Fault::status("/hcm/v1/repository", 503).times(1));
    assert!(added.id.starts_with("fault-"), "{added:?}");
    assert_eq!(controls.faults().len(), 1);
    let repositories = || local.repository_names(Region::Hcm);
    let client = local.client();
    let list = client.repositories(Region::Hcm);
    let answer = local.block_on(list.list_all(None, None));
    assert!(answer.is_err(), "the fault answered 503");
    assert_eq!(controls.faults()[0].hits, 1);
    assert_eq!(controls.status_fault_hits(), 1);
    let counts = controls.requests();
    assert!(counts.total >= 2, "{counts:?}");
    assert_eq!(counts.by_status().get("503"), Some(&1), "{counts:?}");
    controls.reset_requests();
    assert_eq!(controls.requests().total, 0);

    let before = controls.clock();
    assert_eq!(before.offset_seconds, 0);
    let after = controls.advance_clock(86_400);
    assert_eq!(after.offset_seconds, 86_400);
    assert!(after.now > before.now, "{before:?} {after:?}");

    let repo = vcr_provider::vcr::CreateRepository {
        name: "reset-app".into(),
        is_public: false,
        quota_limit_gb: 1,
    };
    local
        .block_on(client.repositories(Region::Hcm).create(&repo))
        .unwrap();
    assert_eq!(repositories(), vec!["reset-app"]);
    assert!(!controls.can_login(Region::Hcm, "100001-nobody", "wrong"));
    let why = controls.check_login(Region::Hcm, "100001-nobody", "wrong");
    assert_eq!(
        why,
        Err("login refused: the user name or secret is wrong".to_string())
    );
    controls.add_fault(&Fault::delay("/han/*", 1));
    controls.reset();
    assert!(repositories().is_empty());
    assert!(controls.faults().is_empty());
    assert_eq!(controls.clock().offset_seconds, 0);
    controls.clear_faults();
}
