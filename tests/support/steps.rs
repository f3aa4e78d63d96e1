//! Acceptance tests as scenarios of steps, checked the way terraform-plugin-testing
//! checks a provider.
//!
//! An apply step writes its configuration, plans to a file, checks the planned actions
//! and values in `terraform show -json` of that plan, applies exactly that plan, runs
//! its state checks, then requires a plan without refresh and a plan with refresh to be
//! empty. An import step imports into a fresh workspace (by id, or by identity with an
//! `import` block) and compares the imported attributes with the applied ones, less an
//! ignore list. A query step runs `terraform query` (Terraform 1.14+), optionally
//! generating configuration that later steps apply. A step may instead expect an
//! error (a regex on Terraform's output). Every scenario ends with a destroy, after
//! which nothing is left in state and the objects are gone from vcr-local.

use regex::Regex;
use serde_json::Value;
use vcr_provider::vcr::Region;

use super::local::LocalVcr;
use super::plan::{self, Action, PlanChanges, PlanCheck};
use super::query::QueryResults;
use super::state::{ImportVerify, Instance, State};
use super::terraform::{Run, Terraform};
use super::workspace::{Workspace, PLAN_FILE};

/// A hook a step runs before its commands or after them.
type Hook<'a> = Box<dyn FnOnce(&Ctx) + 'a>;
/// Makes an import step's configuration from the state.
type ImportConfig<'a> = Box<dyn FnOnce(&Ctx) -> String + 'a>;
/// A hook that looks at the plan before it is applied.
type PlanHook<'a> = Box<dyn FnOnce(&PlanChanges) + 'a>;

/// What a step runs.
enum Kind<'a> {
    /// plan -out, checks of the plan, apply of that plan, checks, two empty plans.
    Apply,
    /// plan -out and checks of the plan; nothing applied.
    PlanOnly,
    /// `apply -refresh-only`, checks, two empty plans.
    RefreshOnly,
    /// `destroy` in the middle of a scenario (an expected failure, usually).
    Destroy,
    Import(ImportStep<'a>),
    /// `terraform query -json` of a `.tfquery.hcl` file.
    Query(String),
}

/// The file a query step writes its `list` blocks to.
pub const QUERY_FILE: &str = "query.tfquery.hcl";

/// The oldest Terraform with `terraform query` and list resources.
const QUERY_SINCE: (u64, u64) = (1, 14);

/// Which id an import step imports by.
enum ImportId<'a> {
    /// The `id` attribute of the applied resource.
    FromState,
    Literal(String),
    From(Box<dyn FnOnce(&Ctx) -> String + 'a>),
    /// An `import { identity = ... }` block with the identity Terraform stored for
    /// the applied resource (Terraform 1.12+).
    StateIdentity,
    /// An `import { identity = ... }` block with this identity.
    Identity(Value),
}

struct ImportStep<'a> {
    address: String,
    /// The configuration of the import's workspace, when not the scenario's.
    config: Option<String>,
    /// Or one made from the state (with the ids of the objects applied so far).
    config_from: Option<ImportConfig<'a>>,
    id: ImportId<'a>,
    verify: ImportVerify,
    plan_empty_after: bool,
}

/// Where a step expects Terraform to fail.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Plan,
    Apply,
    Any,
}

/// One step of a scenario; built with the constructors and setters below.
pub struct Step<'a> {
    kind: Kind<'a>,
    name: Option<String>,
    /// Runs this step and the following ones with this terraform (an upgrade).
    terraform: Option<&'static Terraform>,
    /// `-generate-config-out` of a query or plan-only step.
    generate_config_out: Option<String>,
    config: Option<String>,
    env: Vec<(String, String)>,
    pre: Vec<Hook<'a>>,
    plan_checks: Vec<PlanCheck>,
    plan_fns: Vec<PlanHook<'a>>,
    expect_error: Option<(Phase, Regex)>,
    expect_output: Vec<Regex>,
    checks: Vec<Hook<'a>>,
    files: Vec<(String, String)>,
}

impl<'a> Step<'a> {
    fn new(kind: Kind<'a>) -> Step<'a> {
        Step {
            kind,
            name: None,
            terraform: None,
            generate_config_out: None,
            config: None,
            env: Vec::new(),
            pre: Vec::new(),
            plan_checks: Vec::new(),
            plan_fns: Vec::new(),
            expect_error: None,
            expect_output: Vec::new(),
            checks: Vec::new(),
            files: Vec::new(),
        }
    }

    /// Applies this configuration (the `required_providers` block is added).
    pub fn apply(config: impl Into<String>) -> Step<'a> {
        Step::new(Kind::Apply).config(config)
    }

    /// Applies this module text as it is, `required_providers` block and all (an
    /// example of the repository).
    pub fn apply_as_is(module: impl Into<String>) -> Step<'a> {
        Step::new(Kind::Apply).config_as_is(module)
    }

    /// Plans and applies the configuration of the step before again (after a change
    /// made outside Terraform, say).
    pub fn reapply() -> Step<'a> {
        Step::new(Kind::Apply)
    }

    /// Plans the configuration of the step before (or [`Step::config`]) and applies
    /// nothing.
    pub fn plan_only() -> Step<'a> {
        Step::new(Kind::PlanOnly)
    }

    /// `terraform apply -refresh-only`.
    pub fn refresh_only() -> Step<'a> {
        Step::new(Kind::RefreshOnly)
    }

    /// `terraform destroy` before the end of the scenario.
    pub fn destroy() -> Step<'a> {
        Step::new(Kind::Destroy)
    }

    /// Imports the resource at `address` into a fresh workspace holding the current
    /// configuration (or [`Step::config`]), by its `id` unless told otherwise, and
    /// compares every attribute with the applied state.
    pub fn import(address: &str) -> Step<'a> {
        Step::new(Kind::Import(ImportStep {
            address: address.to_string(),
            config: None,
            config_from: None,
            id: ImportId::FromState,
            verify: ImportVerify::default(),
            plan_empty_after: false,
        }))
    }

    /// Runs `terraform query -json` on these `list` blocks (written to
    /// [`QUERY_FILE`]), with the current configuration; what it found is
    /// [`Ctx::query`]. Needs Terraform 1.14 or newer.
    pub fn query(list_blocks: impl Into<String>) -> Step<'a> {
        Step::new(Kind::Query(list_blocks.into()))
    }

    /// A query or plan-only step generates configuration into this new file of the
    /// workspace (`-generate-config-out`), which the following steps plan and apply.
    pub fn generate_config_out(mut self, file: &str) -> Self {
        assert!(
            matches!(self.kind, Kind::Query(_) | Kind::PlanOnly),
            "generate_config_out on a step that is neither a query nor plan-only"
        );
        self.generate_config_out = Some(file.to_string());
        self
    }

    /// The plan imports exactly this many resources and changes nothing, them
    /// included.
    pub fn expect_only_imports(mut self, count: usize) -> Self {
        self.plan_checks.push(PlanCheck::OnlyImports(count));
        self
    }

    /// Runs this step, and every later one, with this terraform: a Terraform upgrade
    /// in the middle of a scenario, on the same state.
    pub fn with_terraform(mut self, terraform: &'static Terraform) -> Self {
        self.terraform = Some(terraform);
        self
    }

    /// A name for the step in messages.
    pub fn named(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// The configuration of this step, and of the next ones until another is given
    /// (but an import step's is for that import only).
    pub fn config(mut self, config: impl Into<String>) -> Self {
        self.config = Some(Workspace::with_required_providers(&config.into()));
        self
    }

    /// As [`Step::config`], but the text is the whole module: nothing is added.
    pub fn config_as_is(mut self, module: impl Into<String>) -> Self {
        self.config = Some(module.into());
        self
    }

    /// Writes a file of the workspace (a child module's `creds/main.tf`, a script a
    /// provisioner runs) before the step's commands; it stays for the next steps.
    pub fn file(mut self, path: &str, text: impl Into<String>) -> Self {
        self.files.push((path.to_string(), text.into()));
        self
    }

    /// An environment variable for this step's commands only.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Runs before the step's commands: a change outside Terraform, a fault.
    pub fn pre(mut self, hook: impl FnOnce(&Ctx) + 'a) -> Self {
        self.pre.push(Box::new(hook));
        self
    }

    /// Runs after the step's commands (after apply, before the empty plans).
    pub fn check(mut self, hook: impl FnOnce(&Ctx) + 'a) -> Self {
        self.checks.push(Box::new(hook));
        self
    }

    /// Runs on the plan before it is applied.
    pub fn check_plan(mut self, hook: impl FnOnce(&PlanChanges) + 'a) -> Self {
        self.plan_fns.push(Box::new(hook));
        self
    }

    /// The resource is planned with this action. A step plans no change to a managed
    /// resource it does not name (data sources aside): it says every change it expects.
    pub fn expect(mut self, address: &str, action: Action) -> Self {
        self.plan_checks
            .push(PlanCheck::Action(address.to_string(), action));
        self
    }

    /// Every resource is planned with this action.
    pub fn expect_all(mut self, action: Action) -> Self {
        self.plan_checks.push(PlanCheck::AllManaged(action));
        self
    }

    /// The plan changes nothing.
    pub fn expect_no_changes(self) -> Self {
        self.expect_all(Action::NoOp)
    }

    /// The attribute is planned to go from `before` to `after`.
    pub fn expect_value(
        mut self,
        address: &str,
        attribute: &str,
        before: impl Into<Value>,
        after: impl Into<Value>,
    ) -> Self {
        self.plan_checks.push(PlanCheck::Value {
            address: address.to_string(),
            attribute: attribute.to_string(),
            before: before.into(),
            after: after.into(),
        });
        self
    }

    /// The attribute keeps its known value.
    pub fn expect_unchanged(mut self, address: &str, attribute: &str) -> Self {
        self.plan_checks.push(PlanCheck::Unchanged {
            address: address.to_string(),
            attribute: attribute.to_string(),
        });
        self
    }

    /// The attribute is planned as known only after apply.
    pub fn expect_unknown(mut self, address: &str, attribute: &str) -> Self {
        self.plan_checks.push(PlanCheck::Unknown {
            address: address.to_string(),
            attribute: attribute.to_string(),
        });
        self
    }

    /// No planned value of the resource is unknown (no needless "known after apply").
    pub fn expect_known(mut self, address: &str) -> Self {
        self.plan_checks
            .push(PlanCheck::NoUnknowns(address.to_string()));
        self
    }

    /// The attribute is sensitive in the plan.
    pub fn expect_sensitive(mut self, address: &str, attribute: &str) -> Self {
        self.plan_checks.push(PlanCheck::Sensitive {
            address: address.to_string(),
            attribute: attribute.to_string(),
        });
        self
    }

    /// The resource is replaced (destroy, then create), forced by this attribute.
    pub fn expect_replaced_by(self, address: &str, attribute: &str) -> Self {
        let mut step = self.expect(address, Action::Replace);
        step.plan_checks.push(PlanCheck::ReplacedBecauseOf {
            address: address.to_string(),
            attribute: attribute.to_string(),
        });
        step
    }

    /// The plan fails, with output matching this regex.
    pub fn expect_plan_error(self, pattern: &str) -> Self {
        self.expecting_error(Phase::Plan, pattern)
    }

    /// The plan succeeds and the apply fails, with output matching this regex.
    pub fn expect_apply_error(self, pattern: &str) -> Self {
        self.expecting_error(Phase::Apply, pattern)
    }

    /// The step's command fails, with output matching this regex.
    pub fn expect_error(self, pattern: &str) -> Self {
        self.expecting_error(Phase::Any, pattern)
    }

    fn expecting_error(mut self, phase: Phase, pattern: &str) -> Self {
        self.expect_error = Some((phase, regex(pattern)));
        self
    }

    /// The output of the step's commands matches this regex (a warning, a log line).
    pub fn expect_output(mut self, pattern: &str) -> Self {
        self.expect_output.push(regex(pattern));
        self
    }

    /// Imports by this id.
    pub fn import_id(mut self, id: &str) -> Self {
        self.import_step().id = ImportId::Literal(id.to_string());
        self
    }

    /// Imports with an `import {{ to, identity }}` block and `terraform apply` instead
    /// of `terraform import`, by the identity Terraform stored for the applied
    /// resource; the plan (targeting that resource alone, as `terraform import`
    /// would) must import it and change nothing (Terraform 1.12+).
    pub fn by_identity(mut self) -> Self {
        self.import_step().id = ImportId::StateIdentity;
        self
    }

    /// Imports by identity, as [`Step::by_identity`], with this identity.
    pub fn import_identity(mut self, identity: Value) -> Self {
        self.import_step().id = ImportId::Identity(identity);
        self
    }

    /// Imports by the id this function makes from the state.
    pub fn import_id_from(mut self, f: impl FnOnce(&Ctx) -> String + 'a) -> Self {
        self.import_step().id = ImportId::From(Box::new(f));
        self
    }

    /// Imports with the configuration this function makes from the state (an import
    /// step's [`Step::config`], when it must name ids only known once applied).
    pub fn import_config_from(mut self, f: impl FnOnce(&Ctx) -> String + 'a) -> Self {
        let wrapped = move |ctx: &Ctx| Workspace::with_required_providers(&f(ctx));
        self.import_step().config_from = Some(Box::new(wrapped));
        self
    }

    /// Leaves these attributes out of the comparison (what the API never returns).
    pub fn ignoring(mut self, attributes: &[&str]) -> Self {
        let step = self.import_step();
        step.verify
            .ignore
            .extend(attributes.iter().map(|a| a.to_string()));
        self
    }

    /// Compares these attributes' arrays as sets (nested blocks of set nesting).
    pub fn unordered(mut self, attributes: &[&str]) -> Self {
        let step = self.import_step();
        step.verify
            .unordered
            .extend(attributes.iter().map(|a| a.to_string()));
        self
    }

    /// After the import, both plans in the import's workspace are empty.
    pub fn plan_empty_after(mut self) -> Self {
        self.import_step().plan_empty_after = true;
        self
    }

    fn import_step(&mut self) -> &mut ImportStep<'a> {
        match &mut self.kind {
            Kind::Import(i) => i,
            _ => panic!("an import setting on a step that is not an import"),
        }
    }

    fn describe(&self) -> String {
        let kind = match &self.kind {
            Kind::Apply => "apply".to_string(),
            Kind::PlanOnly => "plan only".to_string(),
            Kind::RefreshOnly => "refresh only".to_string(),
            Kind::Destroy => "destroy".to_string(),
            Kind::Import(i) => match i.id {
                ImportId::StateIdentity | ImportId::Identity(_) => {
                    format!("import {} by identity", i.address)
                }
                _ => format!("import {}", i.address),
            },
            Kind::Query(_) => "query".to_string(),
        };
        match &self.name {
            Some(name) => format!("{kind}: {name}"),
            None => kind,
        }
    }
}

/// Whether a plan changes no resource and imports none.
pub fn plans_nothing(plan: &PlanChanges) -> bool {
    plan.changes
        .iter()
        .all(|c| c.mode != "managed" || (c.action == Action::NoOp && !c.is_import()))
}

/// `-generate-config-out=FILE`, when the step generates configuration.
fn generated_config_arg(step: &Step<'_>) -> Option<String> {
    step.generate_config_out
        .as_ref()
        .map(|f| format!("-generate-config-out={f}"))
}

/// What an import step takes the resource in by.
enum Target {
    Id(String),
    Identity(Value),
}

impl Target {
    fn describe(&self) -> String {
        match self {
            Target::Id(id) => format!("{id:?}"),
            Target::Identity(identity) => format!("identity {identity}"),
        }
    }
}

/// An `import` block taking the resource at `address` in by `identity` (an object of
/// strings, numbers and booleans).
pub fn import_block(address: &str, identity: &Value) -> String {
    let fields = identity
        .as_object()
        .unwrap_or_else(|| panic!("an identity is an object: {identity}"));
    let lines: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("    {k} = {v}"))
        .collect();
    format!(
        "import {{\n  to = {address}\n  identity = {{\n{}\n  }}\n}}\n",
        lines.join("\n")
    )
}

/// Whether a module's text calls child modules (which `terraform get` must install
/// before any plan).
pub fn calls_modules(module_text: &str) -> bool {
    module_text.lines().any(|line| {
        let mut words = line.split_whitespace();
        words.next() == Some("module") && words.next().is_some_and(|w| w.starts_with('"'))
    })
}

/// A regex matching this text as it is.
pub fn literal(text: &str) -> String {
    regex::escape(text)
}

/// A regex matching these words as Terraform prints them: wrapped at any space.
pub fn words(text: &str) -> String {
    text.split(' ')
        .map(regex::escape)
        .collect::<Vec<_>>()
        .join(r"\s+")
}

fn regex(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("bad regex {pattern:?}: {e}"))
}

/// What a step's hooks see.
pub struct Ctx<'r> {
    ws: &'r Workspace,
    pub local: &'r LocalVcr,
    prior: &'r State,
    state: State,
    plan: Option<&'r PlanChanges>,
    runs: &'r [Run],
    imported: Option<&'r Instance>,
    query: Option<&'r QueryResults>,
}

impl Ctx<'_> {
    /// The attributes of a resource or data source in state now.
    pub fn state(&self, address: &str) -> &Value {
        self.state.expect(address)
    }

    /// The whole state now.
    pub fn full_state(&self) -> &State {
        &self.state
    }

    /// A string attribute in state now.
    pub fn attr(&self, address: &str, attribute: &str) -> String {
        let v = &self.state(address)[attribute];
        v.as_str()
            .unwrap_or_else(|| panic!("{address}.{attribute} is not a string: {v}"))
            .to_string()
    }

    /// The attributes at the start of the step.
    pub fn prior(&self, address: &str) -> &Value {
        self.prior.expect(address)
    }

    /// The step's plan (apply and plan-only steps).
    pub fn plan(&self) -> &PlanChanges {
        self.plan.expect("this step made no plan")
    }

    /// The attributes an import step imported.
    pub fn imported(&self) -> &Value {
        &self.imported.expect("not an import step").attributes
    }

    /// The identity Terraform stored for what an import step imported (null before
    /// Terraform 1.12).
    pub fn imported_identity(&self) -> &Value {
        &self.imported.expect("not an import step").identity
    }

    /// What a query step found.
    pub fn query(&self) -> &QueryResults {
        self.query.expect("not a query step, or the query failed")
    }

    /// The output of every command of the step so far.
    pub fn output(&self) -> String {
        self.runs.iter().map(Run::output).collect()
    }

    /// The first command of the step that ran this subcommand (`plan`, `apply`).
    pub fn run(&self, subcommand: &str) -> &Run {
        self.runs
            .iter()
            .find(|r| r.args.first().map(String::as_str) == Some(subcommand))
            .unwrap_or_else(|| panic!("the step ran no {subcommand}"))
    }

    /// `terraform output -json` of the scenario's workspace.
    pub fn outputs(&self) -> Value {
        let run = self.ws.must(&["output", "-json"]);
        serde_json::from_str(&run.stdout).expect("output -json")
    }

    pub fn workspace(&self) -> &Workspace {
        self.ws
    }
}

/// Objects a scenario expects vcr-local to hold after its destroy (made outside
/// Terraform).
#[derive(Default)]
struct Remaining {
    repositories: Vec<(Region, String)>,
    users: Vec<(Region, String)>,
}

/// A list of steps against one vcr-local, ended by a destroy and its check.
pub struct Scenario<'a> {
    local: &'a LocalVcr,
    ws: Workspace,
    args: Vec<String>,
    steps: Vec<Step<'a>>,
    remaining: Remaining,
}

impl<'a> Scenario<'a> {
    pub fn new(local: &'a LocalVcr) -> Scenario<'a> {
        Scenario {
            local,
            ws: Workspace::against(local),
            args: Vec::new(),
            steps: Vec::new(),
            remaining: Remaining::default(),
        }
    }

    /// Runs every command with this terraform.
    pub fn terraform(mut self, terraform: &'static Terraform) -> Self {
        self.ws = self.ws.with_terraform(terraform);
        self
    }

    /// An environment variable for every command.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.ws.set_env(key, value);
        self
    }

    /// Another provider, started from `binary`, for configurations that name `source`.
    pub fn provider(self, source: &str, binary: &std::path::Path) -> Self {
        self.ws.override_provider(source, binary);
        self
    }

    /// Extra arguments for every plan, apply and destroy (`-parallelism=32`).
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// A repository made outside Terraform, still there after the final destroy.
    pub fn keeps_outside_repository(mut self, region: Region, name: &str) -> Self {
        self.remaining.repositories.push((region, name.to_string()));
        self
    }

    /// A repository user made outside Terraform, still there after the final destroy.
    pub fn keeps_outside_user(mut self, region: Region, name: &str) -> Self {
        self.remaining.users.push((region, name.to_string()));
        self
    }

    pub fn step(mut self, step: Step<'a>) -> Self {
        self.steps.push(step);
        self
    }

    /// Runs every step, then the destroy and its check; panics at the first failure.
    pub fn run(self) {
        let Scenario {
            local,
            ws,
            args,
            steps,
            remaining,
        } = self;
        let runner = Runner {
            local,
            ws,
            args,
            config: None,
        };
        runner.run(steps, &remaining);
    }
}

/// The state of a scenario as it runs.
struct Runner<'a> {
    local: &'a LocalVcr,
    ws: Workspace,
    args: Vec<String>,
    /// The module text of the last step that gave one.
    config: Option<String>,
}

/// What a step's commands gave.
#[derive(Default)]
struct Outcome {
    runs: Vec<Run>,
    plan: Option<PlanChanges>,
    imported: Option<Instance>,
    query: Option<QueryResults>,
    /// The failed command, when one failed.
    failed: Option<(Phase, usize)>,
}

impl<'a> Runner<'a> {
    fn run(mut self, steps: Vec<Step<'a>>, remaining: &Remaining) {
        let count = steps.len();
        for (i, step) in steps.into_iter().enumerate() {
            if let Some(terraform) = step.terraform {
                self.ws.use_terraform(terraform);
            }
            let label = format!(
                "step {}/{count} ({}) with Terraform {}",
                i + 1,
                step.describe(),
                self.ws.terraform().version_string()
            );
            eprintln!("-- {label}");
            self.run_step(step, &label);
        }
        eprintln!("-- destroy and check");
        self.destroy_and_check(remaining);
    }

    fn run_step(&mut self, mut step: Step<'a>, label: &str) {
        // An import step's configuration is its own; another step's stays for the next.
        if let Some(config) = step.config.take() {
            match &mut step.kind {
                Kind::Import(import) => import.config = Some(config),
                _ => self.config = Some(config),
            }
        }
        let prior = self.ws.state();
        for hook in std::mem::take(&mut step.pre) {
            hook(&self.ctx(&prior, &Outcome::default()));
        }
        if !matches!(step.kind, Kind::Import(_)) {
            let config = self.config.as_deref().expect("no configuration yet");
            self.ws.write_file("main.tf", config);
        }
        for (path, text) in std::mem::take(&mut step.files) {
            self.ws.write_file(&path, &text);
        }
        let outcome = self.commands(&mut step, &prior, label);
        self.check_error(&step, &outcome, label);
        let output: String = outcome.runs.iter().map(Run::output).collect();
        for pattern in &step.expect_output {
            assert!(
                pattern.is_match(&output),
                "{label}: no match for {pattern} in:\n{output}"
            );
        }
        for hook in std::mem::take(&mut step.checks) {
            hook(&self.ctx(&prior, &outcome));
        }
        if outcome.failed.is_some() {
            return;
        }
        match step.kind {
            Kind::Apply | Kind::RefreshOnly => self.assert_empty_plans(&self.ws, &step.env, label),
            // A plan-only step that found nothing to do: without refresh, nothing either.
            Kind::PlanOnly if outcome.plan.as_ref().is_some_and(plans_nothing) => {
                self.assert_empty_plan(&self.ws, &step.env, "-refresh=false", label)
            }
            _ => {}
        }
    }

    fn ctx<'r>(&'r self, prior: &'r State, outcome: &'r Outcome) -> Ctx<'r> {
        Ctx {
            ws: &self.ws,
            local: self.local,
            prior,
            state: self.ws.state(),
            plan: outcome.plan.as_ref(),
            runs: &outcome.runs,
            imported: outcome.imported.as_ref(),
            query: outcome.query.as_ref(),
        }
    }

    /// Runs the step's commands, stopping at the first that fails.
    fn commands(&mut self, step: &mut Step<'a>, prior: &State, label: &str) -> Outcome {
        let mut out = Outcome::default();
        let modules = self.config.as_deref().is_some_and(calls_modules);
        if modules && !matches!(step.kind, Kind::Import(_)) {
            // Terraform reads a module only once `get` (or `init`) has installed it.
            let get = vec!["get".to_string(), "-no-color".to_string()];
            if !self.record(&mut out, Phase::Plan, get, &step.env) {
                return out;
            }
        }
        match &step.kind {
            Kind::Apply | Kind::PlanOnly => {
                if !self.plan_and_check(step, &mut out, label) {
                    return out;
                }
                if matches!(step.kind, Kind::Apply) {
                    let apply = self.tf(&["apply", "-input=false", "-no-color"], Some(PLAN_FILE));
                    self.record(&mut out, Phase::Apply, apply, &step.env);
                }
            }
            Kind::RefreshOnly => {
                let args = [
                    "apply",
                    "-refresh-only",
                    "-auto-approve",
                    "-input=false",
                    "-no-color",
                ];
                self.record(&mut out, Phase::Apply, self.tf(&args, None), &step.env);
            }
            Kind::Destroy => {
                let args = ["destroy", "-auto-approve", "-input=false", "-no-color"];
                self.record(&mut out, Phase::Apply, self.tf(&args, None), &step.env);
            }
            Kind::Import(_) => self.import(step, prior, &mut out, label),
            Kind::Query(_) => self.query(step, &mut out, label),
        }
        out
    }

    /// Runs `terraform query -json` on the step's list blocks and reads what it found.
    fn query(&self, step: &Step<'a>, out: &mut Outcome, label: &str) {
        let Kind::Query(query) = &step.kind else {
            unreachable!()
        };
        let version = self.ws.terraform().version_string();
        let numbers: Vec<u64> = version.split('.').filter_map(|n| n.parse().ok()).collect();
        assert!(
            numbers.len() >= 2 && (numbers[0], numbers[1]) >= QUERY_SINCE,
            "{label}: terraform query needs Terraform 1.14 or newer; this scenario runs {version}"
        );
        self.ws.write_file(QUERY_FILE, query);
        let mut args = vec!["query".to_string(), "-json".into(), "-no-color".into()];
        args.extend(generated_config_arg(step));
        let ok = self.record(out, Phase::Any, args, &step.env);
        let run = out.runs.last().expect("the query ran");
        let results = QueryResults::parse(&run.stdout)
            .unwrap_or_else(|e| panic!("{label}: terraform query -json: {e}\n{}", run.stdout));
        if ok {
            self.assert_generated(step, run, label);
        }
        out.query = Some(results);
    }

    /// The file a step generated configuration into exists.
    fn assert_generated(&self, step: &Step<'a>, run: &Run, label: &str) {
        if let Some(file) = &step.generate_config_out {
            assert!(
                self.ws.path().join(file).exists(),
                "{label}: {} wrote no {file}:\n{}",
                run.command(),
                run.output()
            );
        }
    }

    /// Plans to the plan file and checks the plan; false when the plan failed.
    fn plan_and_check(&self, step: &mut Step<'a>, out: &mut Outcome, label: &str) -> bool {
        let out_file = format!("-out={PLAN_FILE}");
        let mut plan = self.tf(&["plan", "-input=false", "-no-color", &out_file], None);
        plan.extend(generated_config_arg(step));
        if !self.record(out, Phase::Plan, plan, &step.env) {
            return false;
        }
        self.assert_generated(step, out.runs.last().expect("the plan ran"), label);
        let changes = self.ws.show_plan();
        assert_eq!(
            changes.terraform_version,
            self.ws.terraform().version_string(),
            "{label}: the plan was made by another terraform"
        );
        let failures = plan::verify(&changes, &step.plan_checks, true);
        assert!(
            failures.is_empty(),
            "{label}: the plan is not as expected:\n  {}\nplanned: {}",
            failures.join("\n  "),
            changes.summary()
        );
        for hook in std::mem::take(&mut step.plan_fns) {
            hook(&changes);
        }
        out.plan = Some(changes);
        true
    }

    /// Arguments for a command: the base, the scenario's extra ones, then `last`.
    fn tf(&self, base: &[&str], last: Option<&str>) -> Vec<String> {
        let mut args: Vec<String> = base.iter().map(|a| a.to_string()).collect();
        args.extend(self.args.iter().cloned());
        args.extend(last.map(str::to_string));
        args
    }

    /// Runs a command in the scenario's workspace; false when it failed.
    fn record(
        &self,
        out: &mut Outcome,
        phase: Phase,
        args: Vec<String>,
        env: &[(String, String)],
    ) -> bool {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = self.ws.run_with(&args, env);
        let ok = run.success();
        out.runs.push(run);
        if !ok {
            out.failed = Some((phase, out.runs.len() - 1));
        }
        ok
    }

    /// Fails the test when the step failed and should not have, or the other way round,
    /// or failed elsewhere or otherwise than expected.
    fn check_error(&self, step: &Step<'a>, outcome: &Outcome, label: &str) {
        match (&step.expect_error, outcome.failed) {
            (None, None) => {}
            (None, Some((_, i))) => {
                let run = &outcome.runs[i];
                panic!(
                    "{label}: {} failed ({}):\n{}",
                    run.command(),
                    run.code,
                    run.output()
                )
            }
            (Some((phase, pattern)), None) => {
                panic!("{label}: expected an error matching {pattern} at {phase:?}; every command succeeded")
            }
            (Some((phase, pattern)), Some((failed_at, i))) => {
                let run = &outcome.runs[i];
                // Terraform reports errors with exit code 1; anything else is a crash.
                assert_eq!(
                    run.code,
                    1,
                    "{label}: {} crashed:\n{}",
                    run.command(),
                    run.output()
                );
                assert!(
                    *phase == Phase::Any || *phase == failed_at,
                    "{label}: expected the error at {phase:?}, but {} failed:\n{}",
                    run.command(),
                    run.output()
                );
                assert!(
                    pattern.is_match(&run.output()),
                    "{label}: {} failed, but its output does not match {pattern}:\n{}",
                    run.command(),
                    run.output()
                );
            }
        }
    }

    /// Imports into a fresh workspace and compares the result with the applied state.
    fn import(&self, step: &mut Step<'a>, prior: &State, out: &mut Outcome, label: &str) {
        let Kind::Import(import) = &mut step.kind else {
            unreachable!()
        };
        let applied = prior.instance(&import.address);
        let target = match std::mem::replace(&mut import.id, ImportId::FromState) {
            ImportId::FromState => Target::Id(
                prior.expect(&import.address)["id"]
                    .as_str()
                    .expect("an id in state")
                    .to_string(),
            ),
            ImportId::Literal(id) => Target::Id(id),
            ImportId::From(f) => Target::Id(f(&self.ctx(prior, out))),
            ImportId::StateIdentity => {
                let identity = applied.map(|a| a.identity.clone()).unwrap_or_default();
                assert!(
                    identity.is_object(),
                    "{label}: Terraform {} stored no identity for {}",
                    self.ws.terraform().version_string(),
                    import.address
                );
                Target::Identity(identity)
            }
            ImportId::Identity(identity) => Target::Identity(identity),
        };
        let other = self.ws.sibling();
        let made = import.config_from.take().map(|f| f(&self.ctx(prior, out)));
        let config = made.as_deref().or(import.config.as_deref());
        let config = config.or(self.config.as_deref());
        other.write_file("main.tf", config.expect("no configuration yet"));
        if !self.run_import(&other, &import.address, &target, &step.env, out, label) {
            return;
        }
        let imported = other
            .state()
            .instance(&import.address)
            .unwrap_or_else(|| panic!("{label}: the import left no {} in state", import.address))
            .clone();
        let id = target.describe();
        let applied =
            applied.unwrap_or_else(|| panic!("{label}: {} is not in state", import.address));
        let mut verify = import.verify.clone();
        verify.sensitive.extend(applied.sensitive.iter().cloned());
        let differences = verify.differences(&applied.attributes, &imported.attributes);
        assert!(
            differences.is_empty(),
            "{label}: importing {} by {id} gave other values than the apply:\n  {}",
            import.address,
            differences.join("\n  ")
        );
        if applied.identity.is_object() || imported.identity.is_object() {
            assert_eq!(
                imported.identity, applied.identity,
                "{label}: importing {} by {id} gave another identity than the apply",
                import.address
            );
        }
        if import.plan_empty_after {
            self.assert_empty_plans(&other, &step.env, label);
        }
        out.imported = Some(imported);
    }

    /// Imports into `ws`: `terraform import` for an id; for an identity, an `import`
    /// block, a plan that must import the resource and change nothing, and its apply.
    /// False when a command failed.
    fn run_import(
        &self,
        ws: &Workspace,
        address: &str,
        target: &Target,
        env: &[(String, String)],
        out: &mut Outcome,
        label: &str,
    ) -> bool {
        let mut run = |args: &[&str]| {
            let run = ws.run_with(args, env);
            let ok = run.success();
            out.runs.push(run);
            if !ok {
                out.failed = Some((Phase::Any, out.runs.len() - 1));
            }
            ok
        };
        let identity = match target {
            Target::Id(id) => return run(&["import", "-input=false", "-no-color", address, id]),
            Target::Identity(identity) => identity,
        };
        ws.write_file("import.tf", &import_block(address, identity));
        let out_file = format!("-out={PLAN_FILE}");
        // As `terraform import` does, touch only the resource at `address`.
        let target = format!("-target={address}");
        if !run(&["plan", "-input=false", "-no-color", &out_file, &target]) {
            return false;
        }
        let failures = plan::verify(&ws.show_plan(), &[PlanCheck::OnlyImports(1)], true);
        assert!(
            failures.is_empty(),
            "{label}: the import of {address} by identity plans more than the import:\n  {}",
            failures.join("\n  ")
        );
        run(&["apply", "-input=false", "-no-color", PLAN_FILE])
    }

    /// A plan without refresh and a plan with refresh are both empty.
    fn assert_empty_plans(&self, ws: &Workspace, env: &[(String, String)], label: &str) {
        for refresh in ["-refresh=false", "-refresh=true"] {
            self.assert_empty_plan(ws, env, refresh, label);
        }
    }

    fn assert_empty_plan(
        &self,
        ws: &Workspace,
        env: &[(String, String)],
        refresh: &str,
        label: &str,
    ) {
        let mut args = vec![
            "plan",
            "-detailed-exitcode",
            "-input=false",
            "-no-color",
            refresh,
        ];
        args.extend(self.args.iter().map(String::as_str));
        let run = ws.run_with(&args, env);
        assert_eq!(
            run.code,
            0,
            "{label}: expected an empty plan ({refresh}), got exit code {}:\n{}",
            run.code,
            run.output()
        );
    }

    /// Destroys everything, then checks that the state is empty and that vcr-local no
    /// longer holds any object the state held.
    fn destroy_and_check(&self, remaining: &Remaining) {
        let before = self.ws.state();
        let args = self.tf(
            &["destroy", "-auto-approve", "-input=false", "-no-color"],
            None,
        );
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.ws.must(&args);
        let after = self.ws.state();
        let left: Vec<&str> = after.managed().map(|i| i.address.as_str()).collect();
        assert!(left.is_empty(), "still in state after destroy: {left:?}");
        let mut held = Vec::new();
        for region in Region::ALL {
            held.extend(self.local.repository_ids(region));
            held.extend(self.local.user_ids(region));
        }
        for instance in before.managed() {
            match instance.resource_type.as_str() {
                "vcr_repository" | "vcr_repository_user" => {}
                // Terraform's own, and tests' own providers: nothing of it is in vCR.
                "terraform_data" | "sink_exec" => continue,
                // A copied image: its destroy leaves it by design unless
                // delete_on_destroy (tests/acceptance/image_copy.rs checks both ways);
                // the repositories, checked here, take it with them.
                "vcr_image_copy" => continue,
                other => panic!("the destroy check does not know {other}: teach it"),
            }
            let id = instance.attributes["id"].as_str().unwrap_or_default();
            assert!(
                !held.iter().any(|h| h == id),
                "{} ({id}) is still in vcr-local after destroy",
                instance.address
            );
        }
        for region in Region::ALL {
            assert_eq!(
                self.local.repository_names(region),
                names_in(&remaining.repositories, region),
                "repositories left in {region:?} after destroy"
            );
            assert_eq!(
                self.local.user_names(region),
                names_in(&remaining.users, region),
                "users left in {region:?} after destroy"
            );
        }
    }
}

/// The names of a region, sorted.
fn names_in(objects: &[(Region, String)], region: Region) -> Vec<String> {
    let mut names: Vec<String> = objects
        .iter()
        .filter(|(r, _)| *r == region)
        .map(|(_, n)| n.clone())
        .collect();
    names.sort();
    names
}
