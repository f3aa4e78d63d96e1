//! Every example under `examples/` is valid for a real Terraform, and the quickstart
//! applies against `vcr-local`, plans empty, and destroys to nothing (a scenario of
//! one step, see `support::steps`).

mod support;

use std::path::Path;

use support::local::LocalVcr;
use support::{Action, Scenario, Step, Workspace};
use vcr_provider::vcr::Region;

fn example_dirs() -> Vec<std::path::PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut dirs = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        let mut has_tf = false;
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "tf") {
                has_tf = true;
            }
        }
        if has_tf {
            dirs.push(dir);
        }
    }
    dirs.sort();
    dirs
}

/// Copies an example's `.tf` files into a workspace, adding `required_providers`
/// where the example leaves it out (the registry's snippets do).
fn load(ws: &Workspace, dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "tf") {
            let text = std::fs::read_to_string(&path).unwrap();
            let name = path.file_name().unwrap().to_str().unwrap();
            if text.contains("required_providers") {
                ws.write_file(name, &text);
            } else {
                ws.write_file(name, &text);
                ws.write_file(
                    "versions.tf",
                    "terraform {\n  required_providers {\n    vcr = { source = \"vngcloud/vcr\" }\n  }\n}\n",
                );
            }
        }
    }
}

#[test]
fn every_example_validates() {
    let dirs = example_dirs();
    assert!(dirs.len() >= 8, "examples found: {dirs:?}");
    for dir in dirs {
        let ws = Workspace::new();
        load(&ws, &dir);
        let run = ws.validate();
        assert!(
            run.success(),
            "{} does not validate:\n{}",
            dir.display(),
            run.output()
        );
    }
}

#[test]
fn quickstart_applies_plans_empty_and_destroys() {
    let local = LocalVcr::start();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/quickstart");
    let module = std::fs::read_to_string(dir.join("main.tf")).unwrap();
    let tf_files = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "tf"))
        .count();
    assert_eq!(tf_files, 1, "the quickstart is one main.tf");
    Scenario::new(&local)
        .step(
            Step::apply_as_is(module)
                .expect_all(Action::Create)
                .check(|ctx| {
                    let out = ctx.outputs();
                    let login = out["ci_docker_login"]["value"].as_str().unwrap();
                    // The registry hosts follow VCR_REGISTRY_*: vcr-local's own.
                    let hcm = &local.settings["VCR_REGISTRY_HCM"];
                    let han = &local.settings["VCR_REGISTRY_HAN"];
                    assert!(
                        login.contains(&format!("docker login {hcm} -u "))
                            && login.contains("-quick-ci"),
                        "{login}"
                    );
                    let push = out["ci_docker_push"]["value"].as_str().unwrap();
                    assert!(
                        push.contains(&format!("docker push {hcm}/"))
                            && push.contains("-quickstart-app/my-app:1.0"),
                        "{push}"
                    );
                    assert!(out["mirror_docker_pull"]["value"]
                        .as_str()
                        .unwrap()
                        .starts_with(&format!("docker pull {han}/")));
                    assert_eq!(out["ci_secret"]["sensitive"], true);
                    assert_eq!(local.repository_names(Region::Hcm), vec!["quickstart-app"]);
                    assert_eq!(
                        local.repository_names(Region::Han),
                        vec!["quickstart-mirror"]
                    );
                    assert_eq!(
                        local.user_names(Region::Hcm),
                        vec!["quick-ci", "quick-deploy"]
                    );
                }),
        )
        .run();
}
