//! Plan modifiers: how one attribute is planned, as values with a description. The
//! planner ([`super::plan`]) runs them; the generated docs print their descriptions.
//!
//! The planner first plans, on an update that changes anything, every computed
//! attribute the configuration leaves open as unknown ("known after apply"). A
//! modifier then adjusts that: [`UseStateForUnknown`] keeps the prior value,
//! [`RequiresReplace`] turns a change into a replacement.

use std::fmt;
use std::sync::Arc;

use super::diag::Diagnostics;
use super::value::Value;

/// One attribute being planned: what the modifier reads, and what it may change.
#[derive(Debug)]
pub struct AttributePlan<'a> {
    /// The attribute's name.
    pub name: &'a str,
    /// Its value in the configuration (null when left out).
    pub config: &'a Value,
    /// Its value in the prior state (null on create, and in an element of a nested
    /// block that the prior state does not have).
    pub prior: &'a Value,
    /// The whole prior state (null on create).
    pub prior_state: &'a Value,
    /// Whether the resource is being created.
    pub is_create: bool,
    /// The planned value, which a modifier may change.
    pub planned: Value,
    /// Set by a modifier when this change cannot be made in place.
    pub requires_replace: bool,
    /// Plan-time errors and warnings about the attribute.
    pub diagnostics: Diagnostics,
}

impl AttributePlan<'_> {
    /// Whether the planned value differs from the prior one, on an update.
    pub fn changed(&self) -> bool {
        !self.is_create && !self.planned.semantically_equal(self.prior)
    }
}

/// A rule for planning one attribute.
pub trait PlanModifier: Send + Sync {
    /// The behaviour in one Markdown sentence for the docs; empty when it is an
    /// internal matter of planning that users need not read about.
    fn description(&self) -> String;
    /// Adjusts the plan of the attribute.
    fn modify(&self, plan: &mut AttributePlan<'_>);
}

/// A shared plan modifier, as attributes hold them.
#[derive(Clone)]
pub struct Modifier(pub Arc<dyn PlanModifier>);

impl fmt::Debug for Modifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Modifier")
            .field(&self.0.description())
            .finish()
    }
}

impl<M: PlanModifier + 'static> From<M> for Modifier {
    fn from(m: M) -> Self {
        Modifier(Arc::new(m))
    }
}

/// A computed value that an update does not change (ids, creation times, figures the
/// update carries over): the plan shows the prior value instead of "known after
/// apply". Not on create, and not when the object is replaced.
#[derive(Debug, Clone, Copy, Default)]
pub struct UseStateForUnknown;

impl PlanModifier for UseStateForUnknown {
    fn description(&self) -> String {
        String::new()
    }
    fn modify(&self, plan: &mut AttributePlan<'_>) {
        // No prior value (a create, or an element of a nested block that is new): the
        // value stays unknown, as in the plugin framework.
        if plan.is_create
            || plan.prior.is_null()
            || !plan.planned.is_unknown()
            || plan.config.is_unknown()
        {
            return;
        }
        plan.planned = plan.prior.clone();
    }
}

/// A change cannot be made in place: the object is replaced. A computed value the
/// configuration leaves open, planned unknown only because something else changes,
/// is no change of its own.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequiresReplace;

impl PlanModifier for RequiresReplace {
    fn description(&self) -> String {
        "Changing it replaces the resource.".to_string()
    }
    fn modify(&self, plan: &mut AttributePlan<'_>) {
        let left_open = plan.config.is_null() && plan.planned.is_unknown();
        if plan.changed() && !left_open {
            plan.requires_replace = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute<'a>(config: &'a Value, prior: &'a Value, planned: Value) -> AttributePlan<'a> {
        AttributePlan {
            name: "a",
            config,
            prior,
            prior_state: &Value::Null,
            is_create: prior.is_null(),
            planned,
            requires_replace: false,
            diagnostics: Diagnostics::new(),
        }
    }

    #[test]
    fn use_state_for_unknown_keeps_the_prior_value_on_update_only() {
        let prior = Value::from("x");
        let mut p = attribute(&Value::Null, &prior, Value::Unknown);
        UseStateForUnknown.modify(&mut p);
        assert_eq!(p.planned, Value::from("x"));

        let mut p = attribute(&Value::Null, &Value::Null, Value::Unknown);
        UseStateForUnknown.modify(&mut p);
        assert_eq!(p.planned, Value::Unknown, "a create has no prior value");
        assert!(UseStateForUnknown.description().is_empty());
    }

    #[test]
    fn requires_replace_on_a_change_of_an_existing_object() {
        let (config, prior) = (Value::from("b"), Value::from("a"));
        let mut p = attribute(&config, &prior, Value::from("b"));
        RequiresReplace.modify(&mut p);
        assert!(p.requires_replace);

        let mut p = attribute(&config, &Value::Null, Value::from("b"));
        RequiresReplace.modify(&mut p);
        assert!(!p.requires_replace, "not on create");

        let mut p = attribute(&Value::Null, &prior, Value::Unknown);
        RequiresReplace.modify(&mut p);
        assert!(
            !p.requires_replace,
            "a computed value left open is no change"
        );

        let mut p = attribute(&Value::Unknown, &prior, Value::Unknown);
        RequiresReplace.modify(&mut p);
        assert!(
            p.requires_replace,
            "a configured value not yet known may be a change"
        );
        assert!(RequiresReplace.description().contains("replaces"));
    }
}
