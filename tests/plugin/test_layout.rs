//! The tests are grouped into a few test binaries (`tests/README.md`): a file that is
//! in none of them is either compiled on its own (the slow way this layout replaced)
//! or, inside a group's folder without its `mod` line, never compiled nor run.

use std::collections::BTreeSet;
use std::path::Path;

/// The groups, each a folder with a `main.rs` that declares its files as modules.
const GROUPS: [&str; 3] = ["acceptance", "local", "plugin"];

/// Test files that stay binaries of their own, and why: `write_only.rs` has its own
/// `main` (`harness = false`), since Terraform starts it as a provider.
const OWN_BINARIES: [&str; 1] = ["write_only.rs"];

fn tests_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests"))
}

fn rust_files(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".rs"))
        .collect()
}

#[test]
fn no_test_file_sits_outside_a_group() {
    let stray: Vec<String> = rust_files(tests_dir())
        .into_iter()
        .filter(|name| !OWN_BINARIES.contains(&name.as_str()))
        .collect();
    assert!(
        stray.is_empty(),
        "tests/{stray:?} would each be a test binary of their own: move each into one of \
         tests/{GROUPS:?}/ and add `mod <name>;` to that folder's main.rs (see tests/README.md)"
    );
}

/// The modules a `main.rs` declares and compiles: `mod x;` with any visibility
/// (`pub mod x;`), but not one under a `#[cfg(...)]`, which may never be compiled.
fn compiled_modules(main: &str) -> BTreeSet<&str> {
    let mut modules = BTreeSet::new();
    let mut under_cfg = false;
    for line in main.lines().map(str::trim) {
        if line.starts_with("#[cfg") {
            under_cfg = true;
            continue;
        }
        if line.starts_with("#[") || line.starts_with("//") {
            continue;
        }
        let item = ["pub(crate) ", "pub "]
            .iter()
            .find_map(|v| line.strip_prefix(v))
            .unwrap_or(line);
        if let Some(name) = item.strip_prefix("mod ").and_then(|m| m.strip_suffix(';')) {
            if !under_cfg {
                modules.insert(name);
            }
        }
        under_cfg = false;
    }
    modules
}

#[test]
fn module_declarations_are_read_with_visibility_and_without_cfg() {
    let main = "mod a;\npub mod b;\npub(crate) mod c;\n#[cfg(any())]\nmod d;\n#[allow(dead_code)]\nmod e;\n// mod f;\n";
    assert_eq!(
        compiled_modules(main).into_iter().collect::<Vec<_>>(),
        ["a", "b", "c", "e"]
    );
}

#[test]
fn every_file_of_a_group_is_one_of_its_modules() {
    let mut missing = Vec::new();
    for group in GROUPS {
        let dir = tests_dir().join(group);
        let main = std::fs::read_to_string(dir.join("main.rs")).unwrap();
        let declared = compiled_modules(&main);
        for file in rust_files(&dir) {
            let module = file.trim_end_matches(".rs");
            if file != "main.rs" && !declared.contains(module) {
                missing.push(format!(
                    "tests/{group}/{file}: add `mod {module};` to tests/{group}/main.rs"
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "files that are never compiled nor run:\n{}",
        missing.join("\n")
    );
}
