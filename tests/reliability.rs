//! Faults, lost answers, crashes and load, with a real Terraform against a real
//! `vcr-local`: whatever happens, no orphan in vCR, no object missing from state, no
//! duplicate, and a clear error.

mod support;

use std::collections::BTreeSet;

use support::local::LocalVcr;
use support::Workspace;
use vcr_provider::vcr::Region;

fn workspace(local: &LocalVcr) -> Workspace {
    let mut ws = Workspace::new();
    local.configure(&mut ws);
    ws
}

/// Requests vcr-local received, and how many were answered with each status.
fn request_figures(local: &LocalVcr) -> (u64, std::collections::BTreeMap<String, u64>) {
    let (_, counters) = local.local_call("GET", "/_local/requests", None);
    let mut statuses = std::collections::BTreeMap::new();
    for r in counters["requests"].as_array().into_iter().flatten() {
        for (status, n) in r["statuses"].as_object().into_iter().flatten() {
            *statuses.entry(status.clone()).or_default() += n.as_u64().unwrap_or(0);
        }
    }
    (counters["total"].as_u64().unwrap_or(0), statuses)
}

fn add_fault(local: &LocalVcr, fault: serde_json::Value) {
    let (status, body) = local.local_call("POST", "/_local/faults", Some(fault));
    assert!(status < 300, "fault refused: {body}");
}

/// The ids of the objects of one type in Terraform's state.
fn state_ids(ws: &Workspace, resource_type: &str) -> BTreeSet<String> {
    let show = ws.show_json();
    let mut ids = BTreeSet::new();
    for r in show["values"]["root_module"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if r["type"] == resource_type && r["mode"] == "managed" {
            ids.insert(r["values"]["id"].as_str().unwrap_or("<no id>").to_string());
        }
    }
    ids
}

fn local_repo_ids(local: &LocalVcr, region: Region) -> Vec<String> {
    let client = local.client();
    local
        .block_on(client.repositories(region).list_all(None, None))
        .unwrap()
        .into_iter()
        .map(|r| r.uuid)
        .collect()
}

fn local_user_ids(local: &LocalVcr, region: Region) -> Vec<String> {
    let client = local.client();
    local
        .block_on(client.users(region).list_all(None))
        .unwrap()
        .into_iter()
        .map(|u| u.uuid)
        .collect()
}

/// Every object in vcr-local is in the state, every object in the state is in
/// vcr-local, and there is no duplicate.
fn assert_state_matches_local(ws: &Workspace, local: &LocalVcr, repos: usize, users: usize) {
    let in_local = local_repo_ids(local, Region::Hcm);
    let set: BTreeSet<String> = in_local.iter().cloned().collect();
    assert_eq!(set.len(), in_local.len(), "duplicate repositories");
    assert_eq!(in_local.len(), repos, "repositories in vcr-local");
    assert_eq!(
        state_ids(ws, "vcr_repository"),
        set,
        "state and vcr-local disagree on repositories"
    );
    let in_local = local_user_ids(local, Region::Hcm);
    let set: BTreeSet<String> = in_local.iter().cloned().collect();
    assert_eq!(in_local.len(), users, "users in vcr-local");
    assert_eq!(
        state_ids(ws, "vcr_repository_user"),
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
    let mut ws = workspace(&local);
    ws.set_env("VCR_MAX_RETRIES", "8");
    ws.write_config(&many(100, 50));
    // A fifth of the API requests are throttled or fail at the gateway, slowly.
    for (status, fraction) in [(429, 0.08), (502, 0.06), (503, 0.06)] {
        add_fault(
            &local,
            serde_json::json!({"path": "/hcm/v1/*", "status": status, "fraction": fraction, "retryAfter": 1}),
        );
    }
    add_fault(
        &local,
        serde_json::json!({"path": "/hcm/v1/*", "delayMs": 20, "fraction": 0.2}),
    );
    let run = ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert!(
        run.success(),
        "apply failed under faults:\n{}",
        run.output()
    );
    let (_, faults) = local.local_call("GET", "/_local/faults", None);
    let injected: u64 = faults
        .as_array()
        .or_else(|| faults["faults"].as_array())
        .into_iter()
        .flatten()
        .filter(|f| f["status"].is_number())
        .map(|f| f["hits"].as_u64().unwrap_or(0))
        .sum();
    assert!(injected >= 20, "faults were injected: {faults}");
    local.local_call("DELETE", "/_local/faults", None);
    assert_state_matches_local(&ws, &local, 100, 50);
    let (total, statuses) = request_figures(&local);
    // Figures for RELIABILITY.md (shown with --nocapture).
    println!("faults: {total} API requests, {injected} faults injected, answers by status {statuses:?}, 150 objects, 0 orphans, 0 missing, 0 duplicates");
    ws.assert_no_changes();
    ws.destroy();
    assert_state_matches_local(&ws, &local, 0, 0);
}

#[test]
fn lost_create_answers_leave_no_orphan() {
    let local = LocalVcr::start();
    let mut ws = workspace(&local);
    ws.set_env("TF_LOG", "trace");
    ws.write_config(&many(3, 2));
    // vcr-local performs these creates, then drops the connection without answering.
    add_fault(
        &local,
        serde_json::json!({"method": "POST", "path": "/hcm/v1/repository", "dropAfter": true, "times": 2}),
    );
    add_fault(
        &local,
        serde_json::json!({"method": "POST", "path": "/hcm/v1/user", "dropAfter": true, "times": 1}),
    );
    let run = ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert!(run.success(), "{}", run.output());
    assert_state_matches_local(&ws, &local, 3, 2);
    let (total, statuses) = request_figures(&local);
    println!("lost answers: 3 dropped create answers, {total} API requests, answers by status {statuses:?}, 5 objects, 0 orphans");
    ws.assert_no_changes();

    // The user whose answer was lost got a working secret all the same, and no
    // secret reached the trace log on the way.
    assert!(
        run.stderr.contains("the create's answer was lost"),
        "the recovery is logged"
    );
    assert!(!run.output().contains(&local.settings["VCR_CLIENT_SECRET"]));
    for i in 0..2 {
        let user = ws.state_values(&format!("vcr_repository_user.u[{i}]"));
        assert!(
            !run.output().contains(user["secret"].as_str().unwrap()),
            "a secret is in the trace"
        );
        let (status, body) = local.local_call(
            "POST",
            "/_local/hcm/check-login",
            Some(serde_json::json!({"username": user["backend_name"], "password": user["secret"]})),
        );
        assert_eq!(status, 200, "user {i} cannot log in: {body}");
    }
    ws.destroy();
    assert_state_matches_local(&ws, &local, 0, 0);
}

#[test]
fn a_name_taken_outside_terraform_is_a_clear_error() {
    let local = LocalVcr::start();
    let client = local.client();
    local
        .block_on(
            client
                .repositories(Region::Hcm)
                .create(&vcr_provider::vcr::CreateRepository {
                    name: "repo-0000".into(),
                    is_public: false,
                    quota_limit_gb: 1,
                }),
        )
        .unwrap();
    let ws = workspace(&local);
    ws.write_config(&many(1, 0));
    let run = ws.apply_raw();
    assert!(!run.success());
    let out = run.output();
    assert!(
        out.contains("A repository named \"repo-0000\" already exists in HCM"),
        "{out}"
    );
    assert!(
        out.contains("terraform import") && out.contains("HCM/repo-0000"),
        "{out}"
    );
    assert_eq!(
        local_repo_ids(&local, Region::Hcm).len(),
        1,
        "no second repository"
    );
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
    let mut ws = workspace(&local);
    ws.set_env("VCR_MAX_RETRIES", "1");
    ws.write_config(&many(40, 10));
    add_fault(
        &local,
        serde_json::json!({"path": "/hcm/v1/*", "delayMs": 150}),
    );
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
        while local_repo_ids(&local, Region::Hcm).len() < 8 {
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
    let acknowledged = local_repo_ids(&local, Region::Hcm).len();
    println!("crash: vcr-local killed with SIGKILL after {acknowledged} repositories were acknowledged; all of them were still there after the restart");
    assert!(
        acknowledged >= 8,
        "acknowledged creates survived the crash: {acknowledged}"
    );
    let run = ws.run(&["apply", "-auto-approve", "-no-color", "-input=false"]);
    assert!(run.success(), "the next apply converges:\n{}", run.output());
    ws.assert_no_changes();
    assert_state_matches_local(&ws, &local, 40, 10);
    ws.destroy();
    assert_state_matches_local(&ws, &local, 0, 0);
}

#[test]
fn five_hundred_resources_at_parallelism_32() {
    let local = LocalVcr::start();
    let ws = workspace(&local);
    ws.write_config(&many(400, 100));
    ws.must(&[
        "apply",
        "-auto-approve",
        "-no-color",
        "-input=false",
        "-parallelism=32",
    ]);
    assert_state_matches_local(&ws, &local, 400, 100);
    let (total, _) = request_figures(&local);
    println!("load: 500 objects applied at -parallelism=32 with {total} API requests");
    let plan = ws.run(&["plan", "-detailed-exitcode", "-no-color", "-parallelism=32"]);
    assert_eq!(plan.code, 0, "{}", plan.output());
    ws.must(&[
        "destroy",
        "-auto-approve",
        "-no-color",
        "-input=false",
        "-parallelism=32",
    ]);
    assert_state_matches_local(&ws, &local, 0, 0);
}
