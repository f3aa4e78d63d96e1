//! The docs say what the schema says. Each page under `docs/` has hand-written prose
//! and generated regions (example usage, the schema reference, import) that this test
//! rebuilds from the schema and `examples/`. A page that disagrees with the schema, an
//! attribute missing from its page, or an empty description fails the test.
//!
//! An attribute's documentation is its description followed by the sentences of its
//! default, validators, plan modifiers and the block's rules that name it: the same
//! text GetSchema sends Terraform.
//!
//! After changing a schema or an example: `make docs` (UPDATE_DOCS=1) rewrites them.

use std::path::Path;

use vcr_provider::provider::VcrProvider;
use vcr_provider::tfplugin::schema::Mode;
use vcr_provider::tfplugin::{Block, IdentitySchema, Nesting, Provider, Schema, Signature, Type};

fn type_name(ty: &Type) -> String {
    match ty {
        Type::String => "String".into(),
        Type::Number => "Number".into(),
        Type::Bool => "Boolean".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(e) => format!("List of {}", type_name(e)),
        Type::Set(e) => format!("Set of {}", type_name(e)),
        Type::Map(e) => format!("Map of {}", type_name(e)),
        Type::Object(_) => "Object".into(),
    }
}

/// The schema reference in the layout of the Terraform registry's docs.
fn render_block(block: &Block, anchor: &str, out: &mut String, nested: &mut Vec<(String, Block)>) {
    let groups = [
        ("Required", Mode::Required),
        ("Optional", Mode::Optional),
        ("Read-Only", Mode::Computed),
    ];
    for (title, mode) in groups {
        let mut lines = Vec::new();
        for a in &block.attributes {
            let group = match a.mode {
                Mode::OptionalComputed => Mode::Optional,
                m => m,
            };
            if group != mode {
                continue;
            }
            let mut kind = type_name(&a.ty);
            if a.sensitive {
                kind.push_str(", Sensitive");
            }
            lines.push(format!(
                "- `{}` ({kind}) {}",
                a.name,
                block.documentation(a)
            ));
        }
        for b in &block.blocks {
            let group = if b.min_items > 0 {
                Mode::Required
            } else {
                Mode::Optional
            };
            if group != mode {
                continue;
            }
            let id = if anchor.is_empty() {
                format!("nestedblock--{}", b.name)
            } else {
                format!("{anchor}--{}", b.name)
            };
            let what = match b.nesting {
                Nesting::Single => "Block".to_string(),
                Nesting::List => "Block List".to_string(),
                Nesting::Set => "Block Set".to_string(),
            };
            let limits = match (b.min_items, b.max_items) {
                (0, 0) => String::new(),
                (min, 0) => format!(", Min: {min}"),
                (0, max) => format!(", Max: {max}"),
                (min, max) => format!(", Min: {min}, Max: {max}"),
            };
            lines.push(format!(
                "- `{}` ({what}{limits}) {} (see [below for nested schema](#{id}))",
                b.name, b.block.description
            ));
            nested.push((id, b.block.clone()));
        }
        if !lines.is_empty() {
            if anchor.is_empty() {
                out.push_str(&format!("### {title}\n\n"));
            } else {
                out.push_str(&format!("{title}:\n\n"));
            }
            out.push_str(&lines.join("\n"));
            out.push_str("\n\n");
        }
    }
}

fn render_schema(schema: &Schema) -> String {
    let mut out = String::from("## Schema\n\n");
    let mut nested = Vec::new();
    render_block(&schema.block, "", &mut out, &mut nested);
    while !nested.is_empty() {
        let (id, block) = nested.remove(0);
        let name = id.rsplit("--").next().unwrap().to_string();
        out.push_str(&format!(
            "<a id=\"{id}\"></a>\n### Nested Schema for `{name}`\n\n"
        ));
        let mut deeper = Vec::new();
        render_block(&block, &id, &mut out, &mut deeper);
        nested.extend(deeper);
    }
    out.trim_end().to_string()
}

/// The identity of a resource: the example of an import by identity, then the
/// identity's attributes, required for import first, in the registry's layout.
fn render_identity(example: &str, identity: &IdentitySchema) -> String {
    let mut out = code("terraform", example);
    out.push_str("\n\n### Identity Schema\n");
    for (title, required) in [("Required", true), ("Optional", false)] {
        let lines: Vec<String> = identity
            .attributes
            .iter()
            .filter(|a| a.required_for_import == required)
            .map(|a| format!("- `{}` ({}) {}", a.name, type_name(&a.ty), a.description))
            .collect();
        if !lines.is_empty() {
            out.push_str(&format!("\n#### {title}\n\n{}\n", lines.join("\n")));
        }
    }
    out.trim_end().to_string()
}

fn code(lang: &str, path: &str) -> String {
    let text = std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    format!("```{lang}\n{}\n```", text.trim_end())
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Replaces the content between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->`.
fn fill(page: &str, name: &str, content: &str, path: &str) -> String {
    let open = format!("<!-- generated:{name} -->");
    let close = format!("<!-- /generated:{name} -->");
    let start = page
        .find(&open)
        .unwrap_or_else(|| panic!("{path} has no {open} region"));
    let end = page
        .find(&close)
        .unwrap_or_else(|| panic!("{path} has no {close} marker"));
    format!("{}{open}\n{content}\n{}", &page[..start], &page[end..])
}

struct Page {
    path: &'static str,
    schema: Schema,
    example: Option<(&'static str, &'static str)>,
    import: Option<&'static str>,
    /// The import-by-identity example and the identity schema of a resource.
    identity: Option<(&'static str, IdentitySchema)>,
}

fn pages() -> Vec<Page> {
    let provider = VcrProvider;
    let components = provider.components();
    let resource = |name: &str| {
        components
            .resource_schema(name)
            .unwrap_or_else(|| panic!("no resource {name}"))
    };
    let identity = |name: &str, example: &'static str| {
        let schema = components
            .identity_schema(name)
            .unwrap_or_else(|| panic!("no identity for {name}"));
        Some((example, schema))
    };
    let list_resource = |name: &str| {
        components
            .list_resource_schema(name)
            .unwrap_or_else(|| panic!("no list resource {name}"))
    };
    let data_source = |name: &str| {
        components
            .data_source_schema(name)
            .unwrap_or_else(|| panic!("no data source {name}"))
    };
    let action = |name: &str| {
        components
            .action_schema(name)
            .unwrap_or_else(|| panic!("no action {name}"))
    };
    let ephemeral = |name: &str| {
        components
            .ephemeral_resource_schema(name)
            .unwrap_or_else(|| panic!("no ephemeral resource {name}"))
    };
    vec![
        Page {
            path: "docs/index.md",
            schema: provider.schema(),
            example: Some(("terraform", "examples/provider/provider.tf")),
            import: None,
            identity: None,
        },
        Page {
            path: "docs/resources/repository.md",
            schema: resource("vcr_repository"),
            example: Some(("terraform", "examples/resources/vcr_repository/resource.tf")),
            import: Some("examples/resources/vcr_repository/import.sh"),
            identity: identity(
                "vcr_repository",
                "examples/resources/vcr_repository/import-by-identity.tf",
            ),
        },
        Page {
            path: "docs/resources/repository_user.md",
            schema: resource("vcr_repository_user"),
            example: Some((
                "terraform",
                "examples/resources/vcr_repository_user/resource.tf",
            )),
            import: Some("examples/resources/vcr_repository_user/import.sh"),
            identity: identity(
                "vcr_repository_user",
                "examples/resources/vcr_repository_user/import-by-identity.tf",
            ),
        },
        Page {
            path: "docs/resources/retention_policy.md",
            schema: resource("vcr_retention_policy"),
            example: Some((
                "terraform",
                "examples/resources/vcr_retention_policy/resource.tf",
            )),
            import: Some("examples/resources/vcr_retention_policy/import.sh"),
            identity: None,
        },
        Page {
            path: "docs/resources/image_copy.md",
            schema: resource("vcr_image_copy"),
            example: Some(("terraform", "examples/resources/vcr_image_copy/resource.tf")),
            import: None,
            identity: None,
        },
        Page {
            path: "docs/list-resources/repository.md",
            schema: list_resource("vcr_repository"),
            example: Some((
                "terraform",
                "examples/list-resources/vcr_repository/list-resource.tfquery.hcl",
            )),
            import: None,
            identity: None,
        },
        Page {
            path: "docs/list-resources/repository_user.md",
            schema: list_resource("vcr_repository_user"),
            example: Some((
                "terraform",
                "examples/list-resources/vcr_repository_user/list-resource.tfquery.hcl",
            )),
            import: None,
            identity: None,
        },
        Page {
            path: "docs/data-sources/repository.md",
            schema: data_source("vcr_repository"),
            example: Some((
                "terraform",
                "examples/data-sources/vcr_repository/data-source.tf",
            )),
            import: None,
            identity: None,
        },
        Page {
            path: "docs/data-sources/repositories.md",
            schema: data_source("vcr_repositories"),
            example: Some((
                "terraform",
                "examples/data-sources/vcr_repositories/data-source.tf",
            )),
            import: None,
            identity: None,
        },
        Page {
            path: "docs/data-sources/repository_user.md",
            schema: data_source("vcr_repository_user"),
            example: Some((
                "terraform",
                "examples/data-sources/vcr_repository_user/data-source.tf",
            )),
            import: None,
            identity: None,
        },
        Page {
            path: "docs/data-sources/repository_users.md",
            schema: data_source("vcr_repository_users"),
            example: Some((
                "terraform",
                "examples/data-sources/vcr_repository_users/data-source.tf",
            )),
            import: None,
            identity: None,
        },
        Page {
            path: "docs/data-sources/image.md",
            schema: data_source("vcr_image"),
            example: Some((
                "terraform",
                "examples/data-sources/vcr_image/data-source.tf",
            )),
            import: None,
            identity: None,
        },
        Page {
            path: "docs/data-sources/images.md",
            schema: data_source("vcr_images"),
            example: Some((
                "terraform",
                "examples/data-sources/vcr_images/data-source.tf",
            )),
            import: None,
            identity: None,
        },
        Page {
            path: "docs/actions/image_check.md",
            schema: action("vcr_image_check"),
            example: Some(("terraform", "examples/actions/vcr_image_check/action.tf")),
            import: None,
            identity: None,
        },
        Page {
            path: "docs/actions/image_cleanup.md",
            schema: action("vcr_image_cleanup"),
            example: Some(("terraform", "examples/actions/vcr_image_cleanup/action.tf")),
            import: None,
            identity: None,
        },
        Page {
            path: "docs/ephemeral-resources/registry_credentials.md",
            schema: ephemeral("vcr_registry_credentials"),
            example: Some((
                "terraform",
                "examples/ephemeral-resources/vcr_registry_credentials/ephemeral-resource.tf",
            )),
            import: None,
            identity: None,
        },
    ]
}

/// A type as a function's signature writes it, in Terraform's notation.
fn hcl_type(ty: &Type) -> String {
    match ty {
        Type::String => "string".into(),
        Type::Number => "number".into(),
        Type::Bool => "bool".into(),
        Type::Dynamic => "any".into(),
        Type::List(e) => format!("list({})", hcl_type(e)),
        Type::Set(e) => format!("set({})", hcl_type(e)),
        Type::Map(e) => format!("map({})", hcl_type(e)),
        Type::Object(attrs) => format!(
            "object({{{}}})",
            attrs
                .iter()
                .map(|(k, t)| format!("{k}={}", hcl_type(t)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `name(param type, ...) return`, as the registry's function pages show it.
fn render_signature(name: &str, signature: &Signature) -> String {
    let params: Vec<String> = signature
        .parameters
        .iter()
        .map(|p| format!("{} {}", p.name, hcl_type(&p.ty)))
        .chain(
            signature
                .variadic
                .iter()
                .map(|p| format!("{}... {}", p.name, hcl_type(&p.ty))),
        )
        .collect();
    format!(
        "```text\n{name}({}) {}\n```",
        params.join(", "),
        hcl_type(&signature.returns)
    )
}

/// The numbered arguments, each with its type and description.
fn render_arguments(signature: &Signature) -> String {
    signature
        .parameters
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let nullable = if p.allow_null_value { ", Nullable" } else { "" };
            format!(
                "{}. `{}` ({}{nullable}) {}",
                i + 1,
                p.name,
                type_name(&p.ty),
                p.description
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A function's page: generated signature and arguments, and its example.
struct FunctionPage {
    path: &'static str,
    name: &'static str,
    example: &'static str,
}

fn function_pages() -> Vec<FunctionPage> {
    vec![
        FunctionPage {
            path: "docs/functions/image_reference.md",
            name: "image_reference",
            example: "examples/functions/image_reference/function.tf",
        },
        FunctionPage {
            path: "docs/functions/parse_image_reference.md",
            name: "parse_image_reference",
            example: "examples/functions/parse_image_reference/function.tf",
        },
    ]
}

fn signature_of(name: &str) -> Signature {
    VcrProvider
        .components()
        .function_signatures()
        .into_iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no function {name}"))
        .1
}

#[test]
fn function_pages_match_the_signatures_and_examples() {
    let listed: Vec<&str> = function_pages().iter().map(|p| p.name).collect();
    let mut served: Vec<&str> = VcrProvider
        .components()
        .function_signatures()
        .iter()
        .map(|(n, _)| *n)
        .collect();
    served.sort();
    assert_eq!(listed, served, "every function has a page");
    let mut stale = Vec::new();
    for page in function_pages() {
        let signature = signature_of(page.name);
        for p in &signature.parameters {
            assert!(
                !p.description.trim().is_empty(),
                "{}: {}",
                page.name,
                p.name
            );
        }
        let file = root().join(page.path);
        let current =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", page.path));
        let mut wanted = fill(
            &current,
            "example",
            &code("terraform", page.example),
            page.path,
        );
        let rendered = render_signature(page.name, &signature);
        wanted = fill(&wanted, "signature", &rendered, page.path);
        wanted = fill(
            &wanted,
            "arguments",
            &render_arguments(&signature),
            page.path,
        );
        if wanted != current && !rewrite(&file, &wanted) {
            stale.push(page.path);
        }
    }
    assert!(
        stale.is_empty(),
        "these pages disagree with the functions or the examples: {stale:?}; run `make docs` and review the diff"
    );
}

#[test]
fn signatures_are_rendered_as_the_registry_does() {
    let text = render_signature(
        "parse_image_reference",
        &signature_of("parse_image_reference"),
    );
    assert_eq!(
        text,
        "```text\nparse_image_reference(ref string) object({digest=string, image=string, registry=string, repository=string, tag=string})\n```"
    );
    let args = render_arguments(&signature_of("image_reference"));
    assert!(
        args.starts_with("1. `registry` (String) The registry host"),
        "{args}"
    );
    assert!(args.contains("\n4. `tag_or_digest` (String) "), "{args}");
}

/// With `UPDATE_DOCS=1` (`make docs`), writes a page's wanted text and says so;
/// otherwise leaves the page alone (the caller reports it stale).
fn rewrite(file: &Path, wanted: &str) -> bool {
    let update = std::env::var("UPDATE_DOCS").is_ok_and(|v| v == "1");
    if update {
        std::fs::write(file, wanted).unwrap();
    }
    update
}

fn check_descriptions(block: &Block, context: &str, missing: &mut Vec<String>) {
    for a in &block.attributes {
        if block.documentation(a).trim().is_empty() {
            missing.push(format!("{context}.{}", a.name));
        }
    }
    for b in &block.blocks {
        if b.block.description.trim().is_empty() {
            missing.push(format!("{context}.{} (block)", b.name));
        }
        check_descriptions(&b.block, &format!("{context}.{}", b.name), missing);
    }
}

#[test]
fn every_attribute_has_a_description() {
    let mut missing = Vec::new();
    for page in pages() {
        check_descriptions(&page.schema.block, page.path, &mut missing);
        for a in page.identity.iter().flat_map(|(_, i)| &i.attributes) {
            if a.description.trim().is_empty() {
                missing.push(format!("{} identity.{}", page.path, a.name));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "attributes without a description: {missing:#?}"
    );
}

#[test]
fn docs_match_the_schema_and_examples() {
    let mut stale = Vec::new();
    for page in pages() {
        let file = root().join(page.path);
        let current =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", page.path));
        let mut wanted = fill(&current, "schema", &render_schema(&page.schema), page.path);
        if let Some((lang, example)) = page.example {
            wanted = fill(&wanted, "example", &code(lang, example), page.path);
        }
        if let Some(import) = page.import {
            wanted = fill(&wanted, "import", &code("shell", import), page.path);
        }
        if let Some((example, identity)) = &page.identity {
            let rendered = render_identity(example, identity);
            wanted = fill(&wanted, "identity", &rendered, page.path);
        }
        // Every attribute of the schema appears on the page, by name.
        for a in &page.schema.block.attributes {
            assert!(
                wanted.contains(&format!("- `{}` (", a.name)),
                "{}: {} missing",
                page.path,
                a.name
            );
        }
        if wanted != current && !rewrite(&file, &wanted) {
            stale.push(page.path);
        }
    }
    assert!(
        stale.is_empty(),
        "these pages disagree with the schema or the examples: {stale:?}; run `make docs` and review the diff"
    );
}

#[test]
fn identities_are_rendered_as_the_registry_does() {
    let components = VcrProvider.components();
    let identity = components.identity_schema("vcr_repository").unwrap();
    let text = render_identity(
        "examples/resources/vcr_repository/import-by-identity.tf",
        &identity,
    );
    assert!(
        text.starts_with("```terraform\n# Terraform 1.12 and later"),
        "{text}"
    );
    assert!(text.contains("to = vcr_repository.app"), "{text}");
    assert!(
        text.ends_with("### Identity Schema\n\n#### Required\n\n- `id` (String) The repository's id in vCR.\n- `region` (String) The repository's region, `HCM` or `HAN`."),
        "{text}"
    );
}

#[test]
fn sensitive_and_modes_are_rendered() {
    let schema = VcrProvider
        .components()
        .resource_schema("vcr_repository_user")
        .unwrap();
    let text = render_schema(&schema);
    assert!(text.contains("- `secret` (String, Sensitive)"), "{text}");
    let read_only = text.split("### Read-Only").nth(1).unwrap();
    assert!(read_only.contains("- `id` (String)"));
    let required = text
        .split("### Required")
        .nth(1)
        .unwrap()
        .split("###")
        .next()
        .unwrap();
    assert!(
        required.contains("`repository_permission` (Block Set, Min: 1)"),
        "{text}"
    );
    assert!(text.contains("### Nested Schema for `repository_permission`"));
}

/// The registry publishes `docs/index.md` and the pages under `guides/`, `resources/`,
/// `data-sources/`, `ephemeral-resources/`, `list-resources/`, `actions/` and
/// `functions/`, each with front matter; anything else under `docs/` never reaches
/// users. `development/` holds the pages for contributors (the vCR API contract),
/// read in the repository.
#[test]
fn docs_are_where_the_registry_publishes_them() {
    let docs = root().join("docs");
    let mut pages = Vec::new();
    let mut dirs = vec![docs.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            if entry.file_type().unwrap().is_dir() {
                dirs.push(entry.path());
            } else {
                let rel = entry.path().strip_prefix(&docs).unwrap().to_path_buf();
                let rel = rel.to_string_lossy().into_owned();
                if !rel.starts_with("development/") {
                    pages.push(rel);
                }
            }
        }
    }
    pages.sort();
    let published = |page: &str| {
        page == "index.md"
            || [
                "guides/",
                "resources/",
                "data-sources/",
                "ephemeral-resources/",
                "list-resources/",
                "actions/",
                "functions/",
            ]
            .iter()
            .any(|dir| {
                page.strip_prefix(dir)
                    .is_some_and(|name| name.ends_with(".md") && !name.contains('/'))
            })
    };
    let unpublished: Vec<_> = pages.iter().filter(|p| !published(p)).collect();
    assert!(
        unpublished.is_empty(),
        "the registry does not publish these docs/ pages: {unpublished:?}"
    );
    for page in &pages {
        let text = std::fs::read_to_string(docs.join(page)).unwrap();
        let front = text
            .strip_prefix("---\n")
            .and_then(|rest| rest.split_once("\n---\n"))
            .unwrap_or_else(|| panic!("docs/{page} has no front matter"))
            .0;
        for key in ["page_title:", "description:"] {
            assert!(
                front.contains(key),
                "docs/{page}: no {key} in its front matter"
            );
        }
        if page.starts_with("guides/") {
            assert!(
                front.contains("subcategory:"),
                "docs/{page}: no subcategory:"
            );
        }
    }
}

/// The registry serves the index at `.../docs` (no trailing slash) and does not rewrite
/// relative links, so the index links guides by their registry address.
#[test]
fn the_index_links_every_guide_by_its_registry_address() {
    let index = std::fs::read_to_string(root().join("docs/index.md")).unwrap();
    let guides = std::fs::read_dir(root().join("docs/guides"))
        .unwrap_or_else(|e| panic!("docs/guides: {e}"));
    for entry in guides.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let slug = name.strip_suffix(".md").unwrap();
        let address = format!(
            "(https://registry.terraform.io/providers/vngcloud/vcr/latest/docs/guides/{slug})"
        );
        assert!(
            index.contains(&address),
            "docs/index.md does not link {address}"
        );
    }
    let relative: Vec<_> = index
        .match_indices("](")
        .map(|(at, _)| &index[at + 2..])
        .filter(|target| !target.starts_with("http") && !target.starts_with('#'))
        .map(|target| target.split(')').next().unwrap())
        .collect();
    assert!(
        relative.is_empty(),
        "relative links in docs/index.md break on the registry: {relative:?}"
    );
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The registry ports a page shows for vcr-local are the ones it listens on by default.
#[test]
fn pages_show_vcr_locals_registry_ports() {
    use vcr_provider::local::{DEFAULT_REGISTRY_PORT_HAN, DEFAULT_REGISTRY_PORT_HCM};
    let port_of = |line: &str| -> Option<u16> {
        let value = line.split('"').nth(1)?;
        value.rsplit(':').next()?.parse().ok()
    };
    for path in ["docs/index.md", "examples/provider/provider.tf"] {
        let text = read(path);
        let mut seen = 0;
        for line in text.lines().map(str::trim) {
            let expected = if line.starts_with("registry_hcm") {
                DEFAULT_REGISTRY_PORT_HCM
            } else if line.starts_with("registry_han") {
                DEFAULT_REGISTRY_PORT_HAN
            } else {
                continue;
            };
            if let Some(port) = port_of(line) {
                seen += 1;
                assert_eq!(port, expected, "{path}: {line}");
            }
        }
        assert!(seen >= 2, "{path} shows no registry ports");
    }
}

/// The vcr_image page says why its results can be "(known after apply)" when the
/// repository changes, and how to avoid it.
#[test]
fn the_image_page_explains_known_after_apply() {
    let page = read("docs/data-sources/image.md");
    let prose = page.split("## Example Usage").next().unwrap();
    let prose = prose.split_whitespace().collect::<Vec<_>>().join(" ");
    for said in [
        "as `(known after apply)`",
        "Terraform defers a data source whose managed dependency has a change planned",
        "depend on the repository's id only",
        "look the repository up by name with `data \"vcr_repository\"`",
        "pass its id in as a variable",
    ] {
        assert!(
            prose.contains(said),
            "docs/data-sources/image.md does not say {said:?}"
        );
    }
}

/// What the README promises about the first run matches what it does.
#[test]
fn the_readme_says_what_the_first_run_costs() {
    let readme = read("README.md");
    let flat = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    // Before the commands are run: the system-wide installs and the way out.
    let before_walkthrough = flat(
        readme
            .split("## From zero to `docker push`")
            .next()
            .unwrap(),
    );
    assert!(
        readme.contains("## From zero to `docker push`"),
        "README.md: no walk-through heading"
    );
    for said in [
        "installs Debian's `skopeo`, `docker.io` and `gnupg` **system-wide**, with `apt-get`",
        "run `make test INSTALL_MISSING=no`: nothing is installed",
    ] {
        assert!(
            before_walkthrough.contains(said),
            "README.md, before the walk-through, does not say {said:?}"
        );
    }
    let makefile = read("Makefile");
    assert!(
        makefile.contains("INSTALL_MISSING ?= yes"),
        "the Makefile has no INSTALL_MISSING"
    );
    // No promise of minutes the first make demo does not keep: it says what it costs.
    assert!(
        !readme.contains("Five minutes"),
        "README.md promises five minutes"
    );
    assert!(
        flat(&readme).contains("A first `make demo` costs a build of the provider, `vcr-local` and the example registry client: about ten minutes on two cores, with cargo's progress shown all along"),
        "README.md does not say what a first make demo costs"
    );
    // ... and the build of the example client shows its progress.
    let demo = read("scripts/demo.sh");
    for line in demo
        .lines()
        .filter(|l| l.trim_start().starts_with("cargo build"))
    {
        assert!(
            !line.contains("--quiet") && !line.split_whitespace().any(|w| w == "-q"),
            "scripts/demo.sh builds silently: {line}"
        );
    }
    // make test makes no release build, so the README claims none.
    let makes_release = makefile
        .split("\ntest:")
        .nth(1)
        .and_then(|t| t.split("\n\n").next())
        .is_some_and(|recipe| recipe.contains("--release"));
    let developing = flat(readme.split("## Developing").nth(1).unwrap());
    let claim = developing
        .split("- `make test` runs everything CI runs")
        .nth(1)
        .and_then(|t| t.split(" - ").next())
        .expect("README.md: the make test timing");
    assert!(
        makes_release || !claim.contains("debug and release"),
        "README.md claims a release build that make test does not make: {claim}"
    );
}

/// A reader of the repository alone can follow every pointer: no source, test or
/// doc sends them to a file outside it (the vCR API contract is
/// `docs/development/vcr-api.md`).
#[test]
fn nothing_points_outside_the_repository() {
    let mut files = vec![root().join("README.md")];
    let mut dirs = vec![
        root().join("src"),
        root().join("tests"),
        root().join("docs"),
    ];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "rs" || e == "md" || e == "tf" || e == "sh")
            {
                files.push(path);
            }
        }
    }
    // Spelled in two parts so that this file does not name them itself.
    let outside = [
        concat!("shared", "/vcr-api"),
        concat!("shared", "/design"),
        concat!("shared", "/plugin-protocol"),
        concat!("/wo", "rk/"),
    ];
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            if outside.iter().any(|o| line.contains(o)) {
                let rel = file.strip_prefix(root()).unwrap().display();
                found.push(format!("{rel}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "pointers outside the repository:\n{}",
        found.join("\n")
    );
    assert!(root().join("docs/development/vcr-api.md").is_file());
}
