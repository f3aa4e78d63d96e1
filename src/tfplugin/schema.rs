//! Schemas: what a provider, resource or data source accepts and reports. Besides
//! what `GetSchema` tells Terraform, an attribute here carries the rules the framework
//! enforces for it (validators, a default, whether a change replaces the object).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::diag::{AttributePath, Diagnostic, Diagnostics};
use super::proto;
use super::value::{Type, Value};

/// Checks a known, non-null value; the error is the rule in words, shown to the user.
pub type Validator = Arc<dyn Fn(&Value) -> Result<(), String> + Send + Sync>;

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

#[derive(Clone)]
pub struct Attribute {
    pub name: String,
    pub ty: Type,
    pub description: String,
    pub mode: Mode,
    pub sensitive: bool,
    /// A change to this attribute cannot be made in place: the object is replaced.
    pub force_new: bool,
    /// The value planned when the configuration leaves the attribute out.
    pub default: Option<Value>,
    /// A computed value that never changes once set (ids, creation times): plans keep it.
    pub stable: bool,
    pub validators: Vec<Validator>,
}

impl fmt::Debug for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attribute")
            .field("name", &self.name)
            .field("ty", &self.ty)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Attribute {
    fn new(name: &str, ty: Type, mode: Mode, description: &str) -> Self {
        Attribute {
            name: name.to_string(),
            ty,
            description: description.to_string(),
            mode,
            sensitive: false,
            force_new: false,
            default: None,
            stable: false,
            validators: Vec::new(),
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
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }
    /// A default makes the attribute optional and computed, so the plan shows the value.
    pub fn default(mut self, value: Value) -> Self {
        self.default = Some(value);
        self.mode = Mode::OptionalComputed;
        self
    }
    pub fn stable(mut self) -> Self {
        self.stable = true;
        self
    }
    pub fn validate(
        mut self,
        check: impl Fn(&Value) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.validators.push(Arc::new(check));
        self
    }
    pub fn is_computed(&self) -> bool {
        matches!(self.mode, Mode::Computed | Mode::OptionalComputed)
    }
    pub fn is_settable(&self) -> bool {
        self.mode != Mode::Computed
    }

    fn to_proto(&self) -> proto::schema::Attribute {
        proto::schema::Attribute {
            name: self.name.clone(),
            r#type: self.ty.to_json().to_string().into_bytes(),
            description: self.description.clone(),
            required: self.mode == Mode::Required,
            optional: matches!(self.mode, Mode::Optional | Mode::OptionalComputed),
            computed: self.is_computed(),
            sensitive: self.sensitive,
            description_kind: proto::StringKind::Markdown as i32,
            deprecated: false,
            write_only: false,
            deprecation_message: String::new(),
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
    pub force_new: bool,
}

impl NestedBlock {
    pub fn new(name: &str, nesting: Nesting, block: Block) -> Self {
        NestedBlock {
            name: name.to_string(),
            nesting,
            block,
            min_items: 0,
            max_items: if nesting == Nesting::Single { 1 } else { 0 },
            force_new: false,
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
}

/// A block: attributes and nested blocks.
#[derive(Debug, Clone, Default)]
pub struct Block {
    pub description: String,
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
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
    pub fn block(mut self, b: NestedBlock) -> Self {
        self.blocks.push(b);
        self
    }
    pub fn get_attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
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
            attributes: self.attributes.iter().map(Attribute::to_proto).collect(),
            block_types: self
                .blocks
                .iter()
                .map(|b| proto::schema::NestedBlock {
                    type_name: b.name.clone(),
                    block: Some(b.block.to_proto(version)),
                    nesting: match b.nesting {
                        Nesting::Single => proto::schema::nested_block::NestingMode::Single,
                        Nesting::List => proto::schema::nested_block::NestingMode::List,
                        Nesting::Set => proto::schema::nested_block::NestingMode::Set,
                    } as i32,
                    min_items: b.min_items,
                    max_items: b.max_items,
                })
                .collect(),
            description: self.description.clone(),
            description_kind: proto::StringKind::Markdown as i32,
            deprecated: false,
            deprecation_message: String::new(),
        }
    }

    /// Checks a configuration against the block's own rules: computed-only attributes
    /// left out, validators passed, block counts respected. Unknown values are skipped:
    /// they are checked again once known.
    pub fn validate_config(&self, config: &Value, path: &AttributePath) -> Diagnostics {
        let mut diags = Diagnostics::new();
        for a in &self.attributes {
            let v = config.attr(&a.name);
            let at = path_to(path, &a.name);
            if a.mode == Mode::Computed && !v.is_null() {
                diags.push(Diagnostic::invalid_attribute(
                    at,
                    format!(
                        "\"{}\" is set by the provider and cannot be configured; remove it from the configuration.",
                        a.name
                    ),
                ));
                continue;
            }
            if v.is_null() || !v.is_wholly_known() {
                continue;
            }
            for check in &a.validators {
                if let Err(rule) = check(v) {
                    diags.push(Diagnostic::invalid_attribute(at.clone(), rule));
                }
            }
        }
        for b in &self.blocks {
            let v = config.attr(&b.name);
            let at = path_to(path, &b.name);
            match b.nesting {
                Nesting::Single => {
                    if !v.is_null() && !v.is_unknown() {
                        diags.extend(b.block.validate_config(v, &at));
                    }
                }
                Nesting::List | Nesting::Set => {
                    let Some(items) = v.as_elements() else {
                        continue;
                    };
                    let count = items.len() as i64;
                    if count < b.min_items && v.is_wholly_known() {
                        diags.push(Diagnostic::invalid_attribute(
                            at.clone(),
                            format!(
                                "at least {} \"{}\" block(s) are required, found {count}.",
                                b.min_items, b.name
                            ),
                        ));
                    }
                    if b.max_items > 0 && count > b.max_items {
                        diags.push(Diagnostic::invalid_attribute(
                            at.clone(),
                            format!(
                                "at most {} \"{}\" block(s) are allowed, found {count}.",
                                b.max_items, b.name
                            ),
                        ));
                    }
                    for (i, item) in items.iter().enumerate() {
                        let item_path = if b.nesting == Nesting::List {
                            at.clone().index(i as i64)
                        } else {
                            at.clone()
                        };
                        diags.extend(b.block.validate_config(item, &item_path));
                    }
                }
            }
        }
        diags
    }
}

fn path_to(parent: &AttributePath, name: &str) -> AttributePath {
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

/// Validators used across schemas. Each returns the rule in words when it fails.
pub mod rules {
    use super::Value;

    /// The value must be one of `allowed`.
    pub fn one_of(allowed: &'static [&'static str]) -> impl Fn(&Value) -> Result<(), String> {
        move |v| match v.as_str() {
            Some(s) if allowed.contains(&s) => Ok(()),
            Some(s) => Err(format!(
                "must be one of {}; got {s:?}.",
                allowed
                    .iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            None => Ok(()),
        }
    }

    /// A whole number of at least `min`.
    pub fn whole_at_least(min: i64) -> impl Fn(&Value) -> Result<(), String> {
        move |v| match v.as_number() {
            Some(n) => match n.as_i64() {
                Some(i) if i >= min => Ok(()),
                Some(i) => Err(format!(
                    "must be a whole number of at least {min}; got {i}."
                )),
                None => Err(format!(
                    "must be a whole number of at least {min}; got {n}."
                )),
            },
            None => Ok(()),
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
                    .validate(rules::one_of(&["a", "b"])),
            )
            .attribute(Attribute::computed("id", Type::String, "the id"))
            .block(
                NestedBlock::new(
                    "perm",
                    Nesting::Set,
                    Block::new("p").attribute(
                        Attribute::required("level", Type::Number, "level")
                            .validate(rules::whole_at_least(1)),
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
}
