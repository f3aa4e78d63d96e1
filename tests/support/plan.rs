//! What a saved plan will do, read from `terraform show -json PLANFILE` (the
//! machine-readable form, the same across Terraform versions, unlike the plan text),
//! and the expectations a step states about it.

use serde_json::Value;

/// What a plan does to one resource instance (`change.actions` in the JSON plan).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    NoOp,
    Create,
    /// A data source read during apply.
    Read,
    /// An update in place.
    Update,
    Delete,
    /// Destroy, then create the replacement (the default way to replace).
    Replace,
    /// Create the replacement, then destroy (`create_before_destroy`).
    ReplaceCreateFirst,
    /// Removed from state without destroying (a `removed` block).
    Forget,
}

impl Action {
    /// The action of a JSON plan's `actions` list.
    pub fn from_actions(actions: &[&str]) -> Result<Action, String> {
        Ok(match actions {
            ["no-op"] => Action::NoOp,
            ["create"] => Action::Create,
            ["read"] => Action::Read,
            ["update"] => Action::Update,
            ["delete"] => Action::Delete,
            ["delete", "create"] => Action::Replace,
            ["create", "delete"] => Action::ReplaceCreateFirst,
            ["forget"] => Action::Forget,
            other => return Err(format!("unknown actions {other:?}")),
        })
    }

    pub fn is_replace(self) -> bool {
        matches!(self, Action::Replace | Action::ReplaceCreateFirst)
    }
}

/// The planned change of one resource instance.
#[derive(Debug, Clone)]
pub struct Change {
    pub address: String,
    /// `managed` or `data`.
    pub mode: String,
    pub action: Action,
    /// The refreshed prior values (null for a create).
    pub before: Value,
    /// The planned values; an unknown one is null here and true in `after_unknown`.
    pub after: Value,
    pub after_unknown: Value,
    pub before_sensitive: Value,
    pub after_sensitive: Value,
    /// The attribute paths that force a replacement.
    pub replace_paths: Vec<Vec<Value>>,
}

impl Change {
    /// Whether the attribute's planned value is unknown ("known after apply").
    pub fn is_unknown(&self, attribute: &str) -> bool {
        self.after_unknown[attribute] == Value::Bool(true)
    }

    /// Whether any planned value, at any depth, is unknown.
    pub fn has_unknowns(&self) -> bool {
        fn any_true(v: &Value) -> bool {
            match v {
                Value::Bool(b) => *b,
                Value::Array(items) => items.iter().any(any_true),
                Value::Object(map) => map.values().any(any_true),
                _ => false,
            }
        }
        any_true(&self.after_unknown)
    }

    /// Whether the attribute is marked sensitive before and after (so the plan text
    /// shows "(sensitive value)" rather than the value).
    pub fn is_sensitive(&self, attribute: &str) -> bool {
        let marked = |v: &Value| v == &Value::Bool(true) || v[attribute] == Value::Bool(true);
        marked(&self.before_sensitive) && marked(&self.after_sensitive)
    }

    /// Whether a change of this top-level attribute forces the replacement.
    pub fn replaced_because_of(&self, attribute: &str) -> bool {
        self.replace_paths
            .iter()
            .any(|p| p.first() == Some(&Value::String(attribute.to_string())))
    }
}

/// Every planned change of a plan.
#[derive(Debug, Clone)]
pub struct PlanChanges {
    pub terraform_version: String,
    pub changes: Vec<Change>,
}

impl PlanChanges {
    /// Parses `terraform show -json PLANFILE`.
    pub fn parse(text: &str) -> Result<PlanChanges, String> {
        let json: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let format = json["format_version"].as_str().unwrap_or_default();
        if !format.starts_with("1.") {
            return Err(format!("plan format {format:?} is not 1.x"));
        }
        let mut changes = Vec::new();
        for rc in json["resource_changes"].as_array().into_iter().flatten() {
            let address = rc["address"].as_str().ok_or("a change without address")?;
            let c = &rc["change"];
            let actions: Vec<&str> = c["actions"]
                .as_array()
                .ok_or_else(|| format!("{address}: no actions"))?
                .iter()
                .map(|a| a.as_str().unwrap_or_default())
                .collect();
            let replace_paths = c["replace_paths"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| p.as_array().cloned().unwrap_or_default())
                .collect();
            changes.push(Change {
                address: address.to_string(),
                mode: rc["mode"].as_str().unwrap_or("managed").to_string(),
                action: Action::from_actions(&actions).map_err(|e| format!("{address}: {e}"))?,
                before: c["before"].clone(),
                after: c["after"].clone(),
                after_unknown: c["after_unknown"].clone(),
                before_sensitive: c["before_sensitive"].clone(),
                after_sensitive: c["after_sensitive"].clone(),
                replace_paths,
            });
        }
        Ok(PlanChanges {
            terraform_version: json["terraform_version"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            changes,
        })
    }

    pub fn get(&self, address: &str) -> Option<&Change> {
        self.changes.iter().find(|c| c.address == address)
    }

    /// The planned action for an address: no-op when the plan does not mention it.
    pub fn action(&self, address: &str) -> Action {
        self.get(address).map_or(Action::NoOp, |c| c.action)
    }

    /// Every address and its action, for messages.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .changes
            .iter()
            .map(|c| format!("{} {:?}", c.address, c.action))
            .collect();
        parts.join(", ")
    }
}

/// One expectation about a plan.
#[derive(Debug, Clone)]
pub enum PlanCheck {
    /// The instance is planned with this action.
    Action(String, Action),
    /// Every managed instance is planned with this action.
    AllManaged(Action),
    /// The attribute goes from `before` to `after`, both known.
    Value {
        address: String,
        attribute: String,
        before: Value,
        after: Value,
    },
    /// The attribute keeps its value (and it is known).
    Unchanged { address: String, attribute: String },
    /// The attribute will be known only after apply.
    Unknown { address: String, attribute: String },
    /// No planned value of the instance is unknown.
    NoUnknowns(String),
    /// The attribute is sensitive before and after.
    Sensitive { address: String, attribute: String },
    /// A change of this attribute forces the replacement.
    ReplacedBecauseOf { address: String, attribute: String },
}

/// Checks a plan against a step's expectations; returns what does not hold (empty
/// when all do). With `strict`, managed instances the expectations do not name must
/// be no-ops: a step says every change it expects.
pub fn verify(plan: &PlanChanges, checks: &[PlanCheck], strict: bool) -> Vec<String> {
    let mut failures = Vec::new();
    let mut named: Vec<&str> = Vec::new();
    let mut all_managed = false;
    for check in checks {
        if let Err(e) = verify_one(plan, check) {
            failures.push(e);
        }
        match check {
            PlanCheck::Action(address, _) => named.push(address),
            PlanCheck::AllManaged(_) => all_managed = true,
            _ => {}
        }
    }
    if strict && !all_managed {
        for c in &plan.changes {
            if c.mode == "managed"
                && c.action != Action::NoOp
                && !named.contains(&c.address.as_str())
            {
                failures.push(format!(
                    "{}: planned {:?}, but the step expects no change to it",
                    c.address, c.action
                ));
            }
        }
    }
    failures
}

fn verify_one(plan: &PlanChanges, check: &PlanCheck) -> Result<(), String> {
    let change = |address: &str| {
        plan.get(address)
            .ok_or_else(|| format!("{address}: not in the plan ({})", plan.summary()))
    };
    match check {
        PlanCheck::Action(address, expected) => {
            let actual = plan.action(address);
            if actual != *expected {
                return Err(format!(
                    "{address}: planned {actual:?}, expected {expected:?}"
                ));
            }
        }
        PlanCheck::AllManaged(expected) => {
            for c in plan.changes.iter().filter(|c| c.mode == "managed") {
                if c.action != *expected {
                    return Err(format!(
                        "{}: planned {:?}, expected {expected:?} like every resource",
                        c.address, c.action
                    ));
                }
            }
            if *expected != Action::NoOp && !plan.changes.iter().any(|c| c.mode == "managed") {
                return Err(format!("no resource in the plan, expected {expected:?}"));
            }
        }
        PlanCheck::Value {
            address,
            attribute,
            before,
            after,
        } => {
            let c = change(address)?;
            if c.is_unknown(attribute) {
                return Err(format!(
                    "{address}.{attribute}: planned unknown, expected {after}"
                ));
            }
            let (b, a) = (&c.before[attribute], &c.after[attribute]);
            if (b, a) != (before, after) {
                return Err(format!(
                    "{address}.{attribute}: planned {b} -> {a}, expected {before} -> {after}"
                ));
            }
        }
        PlanCheck::Unchanged { address, attribute } => {
            let c = change(address)?;
            if c.is_unknown(attribute) {
                return Err(format!(
                    "{address}.{attribute}: planned unknown, expected unchanged"
                ));
            }
            if c.before[attribute] != c.after[attribute] {
                return Err(format!(
                    "{address}.{attribute}: planned to change, expected unchanged"
                ));
            }
        }
        PlanCheck::Unknown { address, attribute } => {
            if !change(address)?.is_unknown(attribute) {
                return Err(format!(
                    "{address}.{attribute}: planned known, expected unknown"
                ));
            }
        }
        PlanCheck::NoUnknowns(address) => {
            let c = change(address)?;
            if c.has_unknowns() {
                return Err(format!(
                    "{address}: planned values unknown: {}",
                    c.after_unknown
                ));
            }
        }
        PlanCheck::Sensitive { address, attribute } => {
            if !change(address)?.is_sensitive(attribute) {
                return Err(format!(
                    "{address}.{attribute}: not marked sensitive in the plan"
                ));
            }
        }
        PlanCheck::ReplacedBecauseOf { address, attribute } => {
            let c = change(address)?;
            if !c.action.is_replace() || !c.replaced_because_of(attribute) {
                return Err(format!(
                    "{address}: planned {:?} with replace paths {:?}, expected a replacement forced by {attribute}",
                    c.action, c.replace_paths
                ));
            }
        }
    }
    Ok(())
}
