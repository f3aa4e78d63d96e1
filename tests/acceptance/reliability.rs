//! Faults, lost answers, crashes and load, with a real Terraform against a real
//! `vcr-local`: whatever happens, no orphan in vCR, no object missing from state, no
//! duplicate, and a clear error. Scenarios of steps (see `support::steps`) where they
//! fit; the crash test restarts vcr-local in the middle, so it drives Terraform itself.

use crate::support;

use std::collections::BTreeSet;

use support::controls::Fault;
use support::local::LocalVcr;
use support::state::State;
use support::{literal, words, Action, Scenario, Step, Workspace};
use vcr_provider::vcr::Region;

/// Every object in vcr-local is in the state, every object in the state is in
/// vcr-local, and there is no duplicate.
fn assert_state_matches_local(state: &State, local: &LocalVcr, repos: usize, users: usize) {
    let in_local = local.repository_ids(Region::Hcm);
    let set: BTreeSet<String> = in_local.iter().cloned().collect();
    assert_eq!(set.len(), in_local.len(), "duplicate repositories");
    assert_eq!(in_local.len(), repos, "repositories in vcr-local");
    assert_eq!(
        state.ids_of("vcr_repository"),
        set,
        "state and vcr-local disagree on repositories"
    );
    let in_local = local.user_ids(Region::Hcm);
    let set: BTreeSet<String> = in_local.iter().cloned().collect();
    assert_eq!(in_local.len(), users, "users in vcr-local");
    assert_eq!(
        state.ids_of("vcr_repository_user"),
        set,
        "state and vcr-local disagree on users"
    );
}

fn many(repos: usize, users: usize) -> String {
    let mut hcl = format!(
        r#"
resource "vcr_repository" "r" {{
  count          = {repos}
  name           = format("repo-%04d", count.index)
  quota_limit_gb = 1
}}
"#
    );
    if users > 0 {
        hcl.push_str(&format!(
            r#"
resource "vcr_repository_user" "u" {{
  count = {users}
  name  = format("user-%04d", count.index)
  repository_permission {{
    repository_id = vcr_repository.r[count.index].id
    permission    = count.index % 2 == 0 ? "push_pull" : "pull_only"
  }}
}}
"#
        ));
    }
    hcl
}

#[test]
fn apply_succeeds_through_throttling_and_gateway_errors() {
    let local = LocalVcr::start();
    Scenario::new(&local)
        .env("VCR_MAX_RETRIES", "8")
        .step(
            Step::apply(many(100, 50))
                .named("a fifth of the API requests are throttled or fail at the gateway, slowly")
                .pre(|ctx| {
                    let controls = ctx.local.controls();
                    for (status, fraction) in [(429, 0.08), (502, 0.06), (503, 0.06)] {
                        let fault = Fault::status("/hcm/v1/*", status)
                            .fraction(fraction)
                            .retry_after(1);
                        controls.add_fault(&fault);
                    }
                    controls.add_fault(&Fault::delay("/hcm/v1/*", 20).fraction(0.2));
                })
                .expect_all(Action::Create)
                .check(|ctx| {
                    let controls = ctx.local.controls();
                    let injected = controls.status_fault_hits();
                    assert!(injected >= 20, "faults were injected: {:?}", controls.faults());
                    controls.clear_faults();
                    assert_state_matches_local(ctx.full_state(), ctx.local, 100, 50);
                    let requests = controls.requests();
                    // Figures for RELIABILITY.md (shown with --nocapture).
                    println!(
                        "faults: {} API requests, {injected} faults injected, answers by status {:?}, 150 objects, 0 orphans, 0 missing, 0 duplicates",
                        requests.total,
                        requests.by_status()
                    );
                }),
        )
        .run();
}

#[test]
fn lost_create_answers_leave_no_orphan() {
    let local = LocalVcr::start();
    Scenario::new(&local)
        .step(
            Step::apply(many(3, 2))
                .named("vcr-local performs three creates, then drops the connection unanswered")
                .env("TF_LOG", "trace")
                .pre(|ctx| {
                    let controls = ctx.local.controls();
                    let repos = Fault::drop_answer("POST", "/hcm/v1/repository").times(2);
                    controls.add_fault(&repos);
                    controls.add_fault(&Fault::drop_answer("POST", "/hcm/v1/user").times(1));
                })
                .expect_all(Action::Create)
                .check(|ctx| {
                    assert_state_matches_local(ctx.full_state(), ctx.local, 3, 2);
                    let requests = ctx.local.controls().requests();
                    println!(
                        "lost answers: 3 dropped create answers, {} API requests, answers by status {:?}, 5 objects, 0 orphans",
                        requests.total,
                        requests.by_status()
                    );
                    let dropped = requests.by_status().get("dropped").copied();
                    assert_eq!(dropped, Some(3), "every fault dropped an answer");
                    // The user whose answer was lost got a working secret all the same,
                    // and no secret reached the trace log on the way.
                    assert!(
                        ctx.run("apply").stderr.contains("the create's answer was lost"),
                        "the recovery is logged"
                    );
                    let output = ctx.output();
                    assert!(!output.contains(&ctx.local.settings["VCR_CLIENT_SECRET"]));
                    for i in 0..2 {
                        let address = format!("vcr_repository_user.u[{i}]");
                        let secret = ctx.attr(&address, "secret");
                        assert!(!output.contains(&secret), "a secret is in the trace");
                        let login = ctx.attr(&address, "backend_name");
                        let controls = ctx.local.controls();
                        if let Err(why) = controls.check_login(Region::Hcm, &login, &secret) {
                            panic!("user {i} cannot log in: {why}");
                        }
                    }
                }),
        )
        .run();
}

#[test]
fn a_name_taken_outside_terraform_is_a_clear_error() {
    let local = LocalVcr::start();
    Scenario::new(&local)
        .keeps_outside_repository(Region::Hcm, "repo-0000")
        .step(
            Step::apply(many(1, 0))
                .pre(|ctx| {
                    let client = ctx.local.client();
                    let repo = vcr_provider::vcr::CreateRepository {
                        name: "repo-0000".into(),
                        is_public: false,
                        quota_limit_gb: 1,
                    };
                    let repositories = client.repositories(Region::Hcm);
                    ctx.local.block_on(repositories.create(&repo)).unwrap();
                })
                .expect_all(Action::Create)
                .expect_apply_error(&literal(
                    "A repository named \"repo-0000\" already exists in HCM",
                ))
                .expect_output(&words(
                    "terraform import vcr_repository.LABEL HCM/repo-0000",
                ))
                .check(|ctx| {
                    let ids = ctx.local.repository_ids(Region::Hcm);
                    assert_eq!(ids.len(), 1, "no second repository");
                }),
        )
        .run();
}

#[test]
fn vcr_local_killed_mid_apply_loses_nothing_and_the_next_apply_converges() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap().to_string();
    // A fixed port, so the provider finds vcr-local again after its restart.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let start = || LocalVcr::start_with_listen(&listen, &["--data", &data_dir]);

    let local = start();
    let mut ws = Workspace::against(&local);
    ws.set_env("VCR_MAX_RETRIES", "1");
    ws.write_config(&many(40, 10));
    local.controls().add_fault(&Fault::delay("/hcm/v1/*", 150));
    let apply = std::thread::scope(|scope| {
        let apply = scope.spawn(|| {
            ws.run(&[
                "apply",
                "-auto-approve",
                "-no-color",
                "-input=false",
                "-parallelism=4",
            ])
        });
        // Kill vcr-local (SIGKILL) once part of the apply is acknowledged.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while local.repository_ids(Region::Hcm).len() < 8 {
            assert!(
                std::time::Instant::now() < deadline,
                "the apply made no progress"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        local.kill();
        apply.join().unwrap()
    });
    assert!(
        !apply.success(),
        "the apply cannot finish without vcr-local"
    );
    drop(local);

    let local = start();
    let acknowledged = local.repository_ids(Region::Hcm).len();
    println!("crash: vcr-local killed with SIGKILL after {acknowledged} repositories were acknowledged; all of them were still there after the restart");
    assert!(
        acknowledged >= 8,
        "acknowledged creates survived the crash: {acknowledged}"
    );
    let run = ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert!(run.success(), "the next apply converges:\n{}", run.output());
    ws.assert_no_changes();
    assert_state_matches_local(&ws.state(), &local, 40, 10);
    ws.destroy();
    assert_state_matches_local(&ws.state(), &local, 0, 0);
}

/// Objects the load test applies: `RELIABILITY_OBJECTS`, which `make reliability` sets
/// to the 500 that RELIABILITY.md reports. The routine run applies 120 (four fifths
/// repositories, one fifth users): still almost four times the 32 requests Terraform
/// keeps in flight, at a quarter of the CPU.
fn load_objects() -> usize {
    match std::env::var("RELIABILITY_OBJECTS") {
        Ok(count) => count
            .parse()
            .unwrap_or_else(|_| panic!("RELIABILITY_OBJECTS={count:?} is not a count")),
        Err(_) => 120,
    }
}

#[test]
fn many_resources_at_parallelism_32() {
    let objects = load_objects();
    assert!(
        objects >= 64,
        "a load test needs at least twice the parallelism"
    );
    let users = objects / 5;
    let repos = objects - users;
    let local = LocalVcr::start();
    Scenario::new(&local)
        .args(&["-parallelism=32"])
        .step(
            Step::apply(many(repos, users))
                .expect_all(Action::Create)
                .check(move |ctx| {
                    assert_state_matches_local(ctx.full_state(), ctx.local, repos, users);
                    let total = ctx.local.controls().requests().total;
                    println!(
                        "load: {objects} objects applied at -parallelism=32 with {total} API requests"
                    );
                }),
        )
        .run();
}
