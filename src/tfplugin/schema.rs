//! Schemas: what a provider, resource or data source accepts and reports. Besides
//! what `GetSchema` tells Terraform, an attribute carries the rules the framework
//! enforces for it (validators, a default, plan modifiers), each with a sentence
//! that the schema's descriptions and the generated docs include, so that a rule is
//! written once.

use std::collections::BTreeMap;

use super::diag::{AttributePath, Diagnostic, Diagnostics};
use super::modifiers::{Modifier, PlanModifier, RequiresReplace, UseStateForUnknown};
use super::proto;
#[cfg(test)]
use super::validators;
use super::validators::{quoted_list, Validator};
use super::value::{Type, Value};

/// Whether the user sets an attribute, the provider does, or either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Required,
    Optional,
    /// Set by the provider only; refused in configuration.
    Computed,
    /// Set by the user, or by the provider when the user leaves it out.
    OptionalComputed,
}

#[derive(Debug, Clone)]
pub struct Attribute {
    pub name: String,
    pub ty: Type,
    pub description: String,
    pub mode: Mode,
    pub sensitive: bool,
    /// Sent by Terraform at apply only (Terraform 1.11+), never kept in plan or state:
    /// where an ephemeral value may go.
    pub write_only: bool,
    /// The value planned when the configuration leaves the attribute out.
    pub default: Option<Value>,
    /// Rules on the configured value, run by `validate_config`.
    pub validators: Vec<Validator>,
    /// How the planner plans the attribute, in order.
    pub modifiers: Vec<Modifier>,
}

impl Attribute {
    fn new(name: &str, ty: Type, mode: Mode, description: &str) -> Self {
        Attribute {
            name: name.to_string(),
            ty,
            description: description.to_string(),
            mode,
            sensitive: false,
            write_only: false,
            default: None,
            validators: Vec::new(),
            modifiers: Vec::new(),
        }
    }
    pub fn required(name: &str, ty: Type, description: &str) -> Self {
        Self::new(name, ty, Mode::Required, description)
    }
    pub fn optional(name: &str, ty: Type, description: &str) -> Self {
        Self::new(name, ty, Mode::Optional, description)
    }
    pub fn computed(name: &str, ty: Type, description: &str) -> Self {
        Self::new(name, ty, Mode::Computed, description)
    }
    pub fn optional_computed(name: &str, ty: Type, description: &str) -> Self {
        Self::new(name, ty, Mode::OptionalComputed, description)
    }
    /// The same attribute in another mode: a view of a model decides who sets what.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
    /// Adds a sentence to the description, for what one view adds to the model's.
    pub fn note(mut self, sentence: &str) -> Self {
        if !self.description.is_empty() {
            self.description.push(' ');
        }
        self.description.push_str(sentence);
        self
    }
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// Write-only: set by the user, given to the resource at apply, stored nowhere.
    /// Terraform refuses a write-only attribute that is also computed.
    pub fn write_only(mut self) -> Self {
        debug_assert!(!self.is_computed(), "{} is computed", self.name);
        self.write_only = true;
        self
    }
    /// A default makes the attribute optional and computed, so the plan shows the value.
    /// The planner applies it in nested blocks too. A default that is not a value of
    /// the attribute's type is refused here, when the schema is built.
    pub fn default(mut self, value: Value) -> Self {
        let value = match value.conform(&self.ty) {
            Ok(v) if !v.is_null() && v.is_wholly_known() => v,
            Ok(_) => panic!(
                "attribute {:?}: a default must be known and not null",
                self.name
            ),
            Err(e) => panic!(
                "attribute {:?}: the default does not fit its type: {e}",
                self.name
            ),
        };
        self.default = Some(value);
        self.mode = Mode::OptionalComputed;
        self
    }
    /// Adds a rule on the configured value. A validator that cannot read values of the
    /// attribute's type is refused here, when the schema is built (a bug every schema
    /// test catches), instead of passing every value it cannot read.
    pub fn validate(mut self, validator: Validator) -> Self {
        assert!(
            validator.checks() == self.ty,
            "attribute {:?} is of type {}, but the validator \"{}\" checks {} values",
            self.name,
            self.ty.to_json(),
            validator.description(),
            validator.checks().to_json()
        );
        self.validators.push(validator);
        self
    }
    pub fn plan(mut self, modifier: impl PlanModifier + 'static) -> Self {
        self.modifiers.push(Modifier::from(modifier));
        self
    }
    /// Shorthand for [`RequiresReplace`].
    pub fn requires_replace(self) -> Self {
        self.plan(RequiresReplace)
    }
    /// Shorthand for [`UseStateForUnknown`].
    pub fn use_state_for_unknown(self) -> Self {
        self.plan(UseStateForUnknown)
    }
    pub fn is_computed(&self) -> bool {
        matches!(self.mode, Mode::Computed | Mode::OptionalComputed)
    }

    /// The description followed by the sentences of the default, the validators and
    /// the plan modifiers: what GetSchema and the docs say.
    pub fn documentation(&self) -> String {
        let mut parts = vec![self.description.clone()];
        if let Some(default) = &self.default {
            parts.push(format!("Defaults to `{}`.", literal(default)));
        }
        parts.extend(self.validators.iter().map(|v| v.description().to_string()));
        parts.extend(self.modifiers.iter().map(|m| m.0.description()));
        if self.write_only {
            parts.push(
                "Write-only (Terraform 1.11+): used at apply, never stored in the plan or the state."
                    .to_string(),
            );
        }
        join_sentences(parts)
    }

    fn to_proto(&self, documentation: String) -> proto::schema::Attribute {
        proto::schema::Attribute {
            name: self.name.clone(),
            r#type: self.ty.to_json().to_string().into_bytes(),
            description: documentation,
            required: self.mode == Mode::Required,
            optional: matches!(self.mode, Mode::Optional | Mode::OptionalComputed),
            computed: self.is_computed(),
            sensitive: self.sensitive,
            description_kind: proto::StringKind::Markdown as i32,
            deprecated: false,
            write_only: self.write_only,
            deprecation_message: String::new(),
        }
    }
}

/// A value as a configuration would write it, for the docs.
fn literal(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => serde_json::to_string(&other.to_json()).unwrap_or_default(),
    }
}

fn join_sentences(parts: Vec<String>) -> String {
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The attributes a model declares once, from which each view (resource, data
/// source, list item) takes its own: the same names, types and descriptions, with
/// the view's modes and rules.
#[derive(Debug, Clone, Default)]
pub struct AttributeSet(Vec<Attribute>);

impl AttributeSet {
    pub fn new(attributes: Vec<Attribute>) -> Self {
        AttributeSet(attributes)
    }
    /// Changes attribute `name` for this view. Panics when the model has no such
    /// attribute: a bug every schema test catches.
    pub fn with(mut self, name: &str, change: impl FnOnce(Attribute) -> Attribute) -> Self {
        let i = self.position(name);
        let a = self.0.remove(i);
        self.0.insert(i, change(a));
        self
    }
    /// Leaves attribute `name` out of this view (panics when there is none).
    pub fn without(mut self, name: &str) -> Self {
        let i = self.position(name);
        self.0.remove(i);
        self
    }
    /// Adds an attribute only this view has.
    pub fn and(mut self, attribute: Attribute) -> Self {
        self.0.push(attribute);
        self
    }
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|a| a.name.as_str()).collect()
    }
    /// The object type of the attributes, for a list of them in another schema.
    pub fn value_type(&self) -> Type {
        Type::Object(
            self.0
                .iter()
                .map(|a| (a.name.clone(), a.ty.clone()))
                .collect(),
        )
    }
    fn position(&self, name: &str) -> usize {
        self.0
            .iter()
            .position(|a| a.name == name)
            .unwrap_or_else(|| panic!("the model has no attribute {name:?}"))
    }
}

impl IntoIterator for AttributeSet {
    type Item = Attribute;
    type IntoIter = std::vec::IntoIter<Attribute>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// A rule across attributes of a block, checked with the configuration and stated in
/// the docs of each attribute it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigValidator {
    /// Exactly one of these attributes is set (not null).
    ExactlyOneOf(Vec<String>),
}

impl ConfigValidator {
    /// The attributes the rule is about.
    pub fn names(&self) -> &[String] {
        match self {
            ConfigValidator::ExactlyOneOf(names) => names,
        }
    }

    /// The rule in one sentence, for the docs of each attribute it names.
    pub fn description(&self) -> String {
        match self {
            ConfigValidator::ExactlyOneOf(names) => {
                format!("Set exactly one of {}.", quoted_list(names, "`", "and"))
            }
        }
    }

    /// Checks a configuration; values not yet known are checked again once known.
    pub fn check(&self, config: &Value, path: &AttributePath) -> Diagnostics {
        match self {
            ConfigValidator::ExactlyOneOf(names) => exactly_one_of(names, config, path),
        }
    }
}

fn exactly_one_of(names: &[String], config: &Value, path: &AttributePath) -> Diagnostics {
    let values: Vec<&Value> = names.iter().map(|n| config.attr(n)).collect();
    if values.iter().any(|v| v.is_unknown()) {
        return Diagnostics::new();
    }
    let set: Vec<&String> = names
        .iter()
        .zip(&values)
        .filter(|(_, v)| !v.is_null())
        .map(|(n, _)| n)
        .collect();
    match set.as_slice() {
        [_] => Diagnostics::new(),
        [] => {
            let missing = Diagnostic::error(
                format!("Missing {}", quoted_list(names, "", "or")),
                format!("Set exactly one of {}.", quoted_list(names, "\"", "and")),
            );
            // In a nested block, say which one (`rule[1]`); at the top, the resource.
            if path.0.is_empty() {
                missing.into()
            } else {
                missing.at(path.clone()).into()
            }
        }
        [.., last] => {
            let rule = if names.len() == 2 {
                format!(
                    "set only one of {}, not both.",
                    quoted_list(names, "\"", "and")
                )
            } else {
                format!(
                    "set only one of {}; {} are set.",
                    quoted_list(names, "\"", "and"),
                    quoted_list(&set, "\"", "and")
                )
            };
            Diagnostic::invalid_attribute(path_to(path, last), rule).into()
        }
    }
}

/// How a nested block repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    Single,
    List,
    Set,
}

#[derive(Debug, Clone)]
pub struct NestedBlock {
    pub name: String,
    pub nesting: Nesting,
    pub block: Block,
    pub min_items: i64,
    pub max_items: i64,
}

impl NestedBlock {
    pub fn new(name: &str, nesting: Nesting, block: Block) -> Self {
        NestedBlock {
            name: name.to_string(),
            nesting,
            block,
            min_items: 0,
            max_items: if nesting == Nesting::Single { 1 } else { 0 },
        }
    }
    pub fn min_items(mut self, n: i64) -> Self {
        self.min_items = n;
        self
    }
    pub fn max_items(mut self, n: i64) -> Self {
        self.max_items = n;
        self
    }

    fn value_type(&self) -> Type {
        let inner = self.block.value_type();
        match self.nesting {
            Nesting::Single => inner,
            Nesting::List => Type::list(inner),
            Nesting::Set => Type::set(inner),
        }
    }

    fn to_proto(&self, version: i64) -> proto::schema::NestedBlock {
        use proto::schema::nested_block::NestingMode;
        proto::schema::NestedBlock {
            type_name: self.name.clone(),
            block: Some(self.block.to_proto(version)),
            nesting: match self.nesting {
                Nesting::Single => NestingMode::Single,
                Nesting::List => NestingMode::List,
                Nesting::Set => NestingMode::Set,
            } as i32,
            min_items: self.min_items,
            max_items: self.max_items,
        }
    }

    /// Checks the block's count and each of its items.
    fn validate_config(&self, value: &Value, at: AttributePath) -> Diagnostics {
        let mut diags = Diagnostics::new();
        if self.nesting == Nesting::Single {
            if !value.is_null() && !value.is_unknown() {
                diags.extend(self.block.validate_config(value, &at));
            }
            return diags;
        }
        let Some(items) = value.as_elements() else {
            return diags;
        };
        let count = items.len() as i64;
        if count < self.min_items && value.is_wholly_known() {
            diags.push(Diagnostic::invalid_attribute(
                at.clone(),
                format!(
                    "at least {} \"{}\" block(s) are required, found {count}.",
                    self.min_items, self.name
                ),
            ));
        }
        if self.max_items > 0 && count > self.max_items {
            diags.push(Diagnostic::invalid_attribute(
                at.clone(),
                format!(
                    "at most {} \"{}\" block(s) are allowed, found {count}.",
                    self.max_items, self.name
                ),
            ));
        }
        for (i, item) in items.iter().enumerate() {
            let item_path = match self.nesting {
                Nesting::List => at.clone().index(i as i64),
                _ => at.clone(),
            };
            diags.extend(self.block.validate_config(item, &item_path));
        }
        diags
    }
}

/// A block: attributes, nested blocks, and rules across its attributes.
#[derive(Debug, Clone, Default)]
pub struct Block {
    pub description: String,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
    pub rules: Vec<ConfigValidator>,
}

impl Block {
    pub fn new(description: &str) -> Self {
        Block {
            description: description.to_string(),
            ..Block::default()
        }
    }
    pub fn attribute(mut self, a: Attribute) -> Self {
        self.attributes.push(a);
        self
    }
    /// Every attribute of a model's view.
    pub fn attributes(mut self, set: AttributeSet) -> Self {
        self.attributes.extend(set);
        self
    }
    pub fn block(mut self, b: NestedBlock) -> Self {
        self.blocks.push(b);
        self
    }
    /// Exactly one of the attributes `names` must be set.
    pub fn exactly_one_of(mut self, names: &[&str]) -> Self {
        self.rules.push(ConfigValidator::ExactlyOneOf(
            names.iter().map(|n| n.to_string()).collect(),
        ));
        self
    }
    pub fn get_attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// What GetSchema and the docs say of an attribute of this block: its own
    /// documentation and the rules of the block that name it.
    pub fn documentation(&self, attribute: &Attribute) -> String {
        let mut parts = vec![attribute.documentation()];
        parts.extend(
            self.rules
                .iter()
                .filter(|r| r.names().contains(&attribute.name))
                .map(ConfigValidator::description),
        );
        join_sentences(parts)
    }

    /// The object type of this block's values.
    pub fn value_type(&self) -> Type {
        let mut attrs = BTreeMap::new();
        for a in &self.attributes {
            attrs.insert(a.name.clone(), a.ty.clone());
        }
        for b in &self.blocks {
            attrs.insert(b.name.clone(), b.value_type());
        }
        Type::Object(attrs)
    }

    fn to_proto(&self, version: i64) -> proto::schema::Block {
        proto::schema::Block {
            version,
            attributes: self
                .attributes
                .iter()
                .map(|a| a.to_proto(self.documentation(a)))
                .collect(),
            block_types: self.blocks.iter().map(|b| b.to_proto(version)).collect(),
            description: self.description.clone(),
            description_kind: proto::StringKind::Markdown as i32,
            deprecated: false,
            deprecation_message: String::new(),
        }
    }

    /// Sets every write-only attribute of an object of this block (and of its nested
    /// blocks) to null: what a plan or a state must hold for them.
    pub fn forget_write_only(&self, value: &mut Value) {
        let Value::Object(fields) = value else {
            return;
        };
        for a in self.attributes.iter().filter(|a| a.write_only) {
            if let Some(v) = fields.get_mut(&a.name) {
                *v = Value::Null;
            }
        }
        for b in &self.blocks {
            match fields.get_mut(&b.name) {
                Some(Value::List(items) | Value::Set(items)) => {
                    items.iter_mut().for_each(|i| b.block.forget_write_only(i))
                }
                Some(item) => b.block.forget_write_only(item),
                None => {}
            }
        }
    }

    /// Where a configuration sets a write-only attribute: refused by a Terraform too
    /// old to keep such values out of its plan and state.
    pub fn write_only_set(&self, config: &Value, path: &AttributePath) -> Vec<AttributePath> {
        let mut found: Vec<AttributePath> = self
            .attributes
            .iter()
            .filter(|a| a.write_only && !config.attr(&a.name).is_null())
            .map(|a| path_to(path, &a.name))
            .collect();
        for b in &self.blocks {
            let at = path_to(path, &b.name);
            let value = config.attr(&b.name);
            match value.as_elements() {
                Some(items) => {
                    for (i, item) in items.iter().enumerate() {
                        let item_path = match b.nesting {
                            Nesting::List => at.clone().index(i as i64),
                            _ => at.clone(),
                        };
                        found.extend(b.block.write_only_set(item, &item_path));
                    }
                }
                None => found.extend(b.block.write_only_set(value, &at)),
            }
        }
        found
    }

    /// Checks a configuration against the block's own rules: computed-only attributes
    /// left out, validators passed, block counts and cross-attribute rules respected.
    /// Unknown values are skipped: they are checked again once known.
    pub fn validate_config(&self, config: &Value, path: &AttributePath) -> Diagnostics {
        let mut diags = Diagnostics::new();
        for a in &self.attributes {
            diags.extend(validate_attribute(a, config.attr(&a.name), path));
        }
        for b in &self.blocks {
            diags.extend(b.validate_config(config.attr(&b.name), path_to(path, &b.name)));
        }
        for rule in &self.rules {
            diags.extend(rule.check(config, path));
        }
        diags
    }
}

fn validate_attribute(a: &Attribute, v: &Value, path: &AttributePath) -> Diagnostics {
    let mut diags = Diagnostics::new();
    let at = path_to(path, &a.name);
    if a.mode == Mode::Computed && !v.is_null() {
        diags.push(Diagnostic::invalid_attribute(
            at,
            format!(
                "\"{}\" is set by the provider and cannot be configured; remove it from the configuration.",
                a.name
            ),
        ));
        return diags;
    }
    if v.is_null() || !v.is_wholly_known() {
        return diags;
    }
    for validator in &a.validators {
        if let Err(rule) = validator.check(v) {
            diags.push(Diagnostic::invalid_attribute(at.clone(), rule));
        }
    }
    diags
}

/// The path of attribute `name` of the object at `parent` (the root when empty).
pub(crate) fn path_to(parent: &AttributePath, name: &str) -> AttributePath {
    if parent.0.is_empty() {
        AttributePath::root(name)
    } else {
        parent.clone().attr(name)
    }
}

/// A versioned schema. Bump the version when the stored state's shape changes, and
/// teach the resource's `upgrade_state` the old shape.
#[derive(Debug, Clone)]
pub struct Schema {
    pub version: i64,
    pub block: Block,
}

impl Schema {
    pub fn new(version: i64, block: Block) -> Self {
        Schema { version, block }
    }
    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }
    pub fn to_proto(&self) -> proto::Schema {
        proto::Schema {
            version: self.version,
            block: Some(self.block.to_proto(self.version)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block() -> Block {
        Block::new("test")
            .attribute(
                Attribute::required("name", Type::String, "the name")
                    .validate(validators::one_of(&["a", "b"])),
            )
            .attribute(Attribute::computed("id", Type::String, "the id"))
            .block(
                NestedBlock::new(
                    "perm",
                    Nesting::Set,
                    Block::new("p").attribute(
                        Attribute::required("level", Type::Number, "level")
                            .validate(validators::whole_at_least(1)),
                    ),
                )
                .min_items(1),
            )
    }

    fn config(json: serde_json::Value) -> Value {
        Value::from_json(&json)
            .conform(&block().value_type())
            .unwrap()
    }

    #[test]
    fn computed_only_attributes_are_refused_in_config() {
        let diags = block().validate_config(
            &config(serde_json::json!({"name": "a", "id": "x", "perm": [{"level": 1}]})),
            &AttributePath::default(),
        );
        assert_eq!(diags.0.len(), 1);
        assert_eq!(diags.0[0].path, Some(AttributePath::root("id")));
    }

    #[test]
    fn validators_name_the_attribute_and_rule() {
        let diags = block().validate_config(
            &config(serde_json::json!({"name": "c", "perm": [{"level": 0}]})),
            &AttributePath::default(),
        );
        let text: Vec<String> = diags
            .0
            .iter()
            .map(|d| format!("{} {}", d.summary, d.detail))
            .collect();
        assert_eq!(diags.0.len(), 2, "{text:?}");
        assert!(text[0].contains("\"name\"") && text[0].contains("\"a\", \"b\""));
        assert!(text[1].contains("perm.level") && text[1].contains("at least 1"));
    }

    #[test]
    fn write_only_attributes_are_found_and_forgotten_in_nested_blocks_too() {
        let token = || Attribute::optional("token_wo", Type::String, "t").write_only();
        let b = Block::new("w").attribute(token()).block(NestedBlock::new(
            "item",
            Nesting::List,
            Block::new("i")
                .attribute(Attribute::required("n", Type::Number, "n"))
                .attribute(token()),
        ));
        let mut v = Value::from_json(&serde_json::json!({
            "token_wo": "a", "item": [{"n": 1, "token_wo": null}, {"n": 2, "token_wo": "b"}]
        }))
        .conform(&b.value_type())
        .unwrap();
        let found: Vec<String> = b
            .write_only_set(&v, &AttributePath::default())
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(found, ["token_wo", "item[1].token_wo"]);
        b.forget_write_only(&mut v);
        assert!(b.write_only_set(&v, &AttributePath::default()).is_empty());
        assert_eq!(
            v.to_json(),
            serde_json::json!({
                "token_wo": null, "item": [{"n": 1, "token_wo": null}, {"n": 2, "token_wo": null}]
            })
        );
        let documented = token().documentation();
        assert!(
            documented.contains("Write-only (Terraform 1.11+)"),
            "{documented}"
        );
    }

    #[test]
    fn min_items_is_enforced() {
        let diags = block().validate_config(
            &config(serde_json::json!({"name": "a", "perm": []})),
            &AttributePath::default(),
        );
        assert!(diags.0[0].detail.contains("at least 1"));
    }

    #[test]
    fn unknown_values_are_not_validated_yet() {
        let mut c = config(serde_json::json!({"perm": [{"level": 1}]}));
        c.set_attr("name", Value::Unknown);
        assert!(block()
            .validate_config(&c, &AttributePath::default())
            .is_empty());
    }

    #[test]
    fn schema_proto_carries_types_and_descriptions() {
        let p = Schema::new(1, block()).to_proto();
        let b = p.block.unwrap();
        assert_eq!(b.attributes[0].r#type, b"\"string\"");
        assert!(b.attributes[0].required);
        assert!(b.attributes[1].computed && !b.attributes[1].optional);
        assert_eq!(
            b.block_types[0].nesting,
            proto::schema::nested_block::NestingMode::Set as i32
        );
        assert_eq!(b.block_types[0].min_items, 1);
    }

    fn lookup() -> Block {
        Block::new("lookup")
            .attribute(Attribute::optional("tag", Type::String, "A tag."))
            .attribute(Attribute::optional("digest", Type::String, "A digest."))
            .attribute(Attribute::optional(
                "most_recent",
                Type::Bool,
                "The newest.",
            ))
            .exactly_one_of(&["tag", "digest", "most_recent"])
    }

    fn lookup_config(json: serde_json::Value) -> Value {
        Value::from_json(&json)
            .conform(&lookup().value_type())
            .unwrap()
    }

    #[test]
    fn exactly_one_of_any_names() {
        let check =
            |json| lookup().validate_config(&lookup_config(json), &AttributePath::default());
        assert!(check(serde_json::json!({"tag": "v1"})).is_empty());
        assert!(check(serde_json::json!({"most_recent": true})).is_empty());

        let none = check(serde_json::json!({}));
        assert_eq!(none.0.len(), 1);
        assert_eq!(none.0[0].summary, "Missing tag, digest or most_recent");
        assert!(none.0[0]
            .detail
            .contains("\"tag\", \"digest\" and \"most_recent\""));

        let two = check(serde_json::json!({"tag": "v1", "digest": "sha256:x"}));
        assert_eq!(two.0.len(), 1);
        assert_eq!(two.0[0].path, Some(AttributePath::root("digest")));
        assert!(
            two.0[0].detail.contains("\"tag\" and \"digest\" are set"),
            "{}",
            two.0[0].detail
        );

        let mut pending = lookup_config(serde_json::json!({"tag": "v1"}));
        pending.set_attr("digest", Value::Unknown);
        assert!(
            lookup()
                .validate_config(&pending, &AttributePath::default())
                .is_empty(),
            "checked again once known"
        );
    }

    #[test]
    fn documentation_gathers_the_rules_of_an_attribute() {
        let block = lookup().attribute(
            Attribute::optional("level", Type::String, "Who may pull.")
                .default(Value::from("private"))
                .validate(validators::one_of(&["private", "public"]))
                .requires_replace()
                .use_state_for_unknown(),
        );
        let level = block.get_attribute("level").unwrap();
        assert_eq!(
            block.documentation(level),
            "Who may pull. Defaults to `private`. One of `private` or `public`. Changing it replaces the resource."
        );
        let tag = block.get_attribute("tag").unwrap();
        assert_eq!(
            block.documentation(tag),
            "A tag. Set exactly one of `tag`, `digest` and `most_recent`."
        );
        let proto = Schema::new(0, block).to_proto().block.unwrap();
        let sent = proto.attributes.iter().find(|a| a.name == "level").unwrap();
        assert!(
            sent.description.ends_with("replaces the resource."),
            "GetSchema says what the docs say"
        );
    }

    #[test]
    fn views_change_modes_and_add_notes() {
        let model = AttributeSet::new(vec![
            Attribute::computed("id", Type::String, "The id."),
            Attribute::computed("name", Type::String, "The name."),
        ]);
        let view = model
            .with("name", |a| a.with_mode(Mode::Required).note("Unique."))
            .and(Attribute::optional("flag", Type::Bool, "A flag."));
        let block = Block::new("v").attributes(view);
        let name = block.get_attribute("name").unwrap();
        assert_eq!(name.mode, Mode::Required);
        assert_eq!(name.description, "The name. Unique.");
        assert_eq!(block.attributes.len(), 3);
    }

    #[test]
    #[should_panic(expected = "no attribute \"nmae\"")]
    fn a_view_of_a_missing_attribute_is_a_bug() {
        let _ = AttributeSet::new(vec![Attribute::computed("name", Type::String, "n")])
            .with("nmae", |a| a);
    }

    #[test]
    #[should_panic(expected = "attribute \"quota\" is of type \"number\", but the validator")]
    fn a_validator_of_another_type_is_refused_when_the_schema_is_built() {
        // Before validators were typed, this one_of read every number as absent.
        let _ = Attribute::required("quota", Type::Number, "q")
            .validate(validators::one_of(&["a", "b"]));
    }

    #[test]
    #[should_panic(expected = "attribute \"keep\": the default does not fit its type")]
    fn a_default_of_another_type_is_refused_when_the_schema_is_built() {
        let _ = Attribute::optional("keep", Type::Number, "k").default(Value::from("many"));
    }
}
