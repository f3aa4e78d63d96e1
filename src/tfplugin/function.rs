//! Provider-defined functions (Terraform 1.8+, OpenTofu 1.7+): `provider::NAME::FUNC(...)`
//! in a configuration. A function is pure: the same arguments give the same result,
//! with no provider configuration and no network, so Terraform may call it at any
//! time, even before `Configure`.
//!
//! A function declares its [`Signature`] (parameters with descriptions, the return
//! type) and turns [`Arguments`] into a typed result; an error names the argument at
//! fault by its index, which Terraform turns into the parameter's name.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::proto;
use super::state;
use super::value::{Type, Value};

/// One parameter of a function.
#[derive(Debug, Clone)]
pub struct Parameter {
    pub name: String,
    pub ty: Type,
    pub description: String,
    /// Terraform passes a null argument through instead of refusing it.
    pub allow_null_value: bool,
    /// Terraform passes a value not yet known instead of answering "known after
    /// apply" without calling the function.
    pub allow_unknown_values: bool,
}

impl Parameter {
    /// A parameter that is never null and always known when the function runs.
    pub fn new(name: &str, ty: Type, description: &str) -> Self {
        Parameter {
            name: name.to_string(),
            ty,
            description: description.to_string(),
            allow_null_value: false,
            allow_unknown_values: false,
        }
    }
    pub fn allow_null_value(mut self) -> Self {
        self.allow_null_value = true;
        self
    }
    pub fn allow_unknown_values(mut self) -> Self {
        self.allow_unknown_values = true;
        self
    }

    fn to_proto(&self) -> proto::function::Parameter {
        proto::function::Parameter {
            name: self.name.clone(),
            r#type: self.ty.to_json().to_string().into_bytes(),
            allow_null_value: self.allow_null_value,
            allow_unknown_values: self.allow_unknown_values,
            description: self.description.clone(),
            description_kind: proto::StringKind::Markdown as i32,
        }
    }
}

/// What a function takes and gives, and what the docs say of it.
#[derive(Debug, Clone)]
pub struct Signature {
    /// One line, for listings.
    pub summary: String,
    pub description: String,
    pub parameters: Vec<Parameter>,
    /// A last parameter taking zero or more arguments (Terraform sends them as a list).
    pub variadic: Option<Parameter>,
    pub returns: Type,
}

impl Signature {
    pub fn new(summary: &str, description: &str, returns: Type) -> Self {
        Signature {
            summary: summary.to_string(),
            description: description.to_string(),
            parameters: Vec::new(),
            variadic: None,
            returns,
        }
    }
    pub fn parameter(mut self, p: Parameter) -> Self {
        self.parameters.push(p);
        self
    }
    pub fn variadic(mut self, p: Parameter) -> Self {
        self.variadic = Some(p);
        self
    }

    pub fn to_proto(&self) -> proto::Function {
        proto::Function {
            parameters: self.parameters.iter().map(Parameter::to_proto).collect(),
            variadic_parameter: self.variadic.as_ref().map(Parameter::to_proto),
            r#return: Some(proto::function::Return {
                r#type: self.returns.to_json().to_string().into_bytes(),
            }),
            summary: self.summary.clone(),
            description: self.description.clone(),
            description_kind: proto::StringKind::Markdown as i32,
            deprecation_message: String::new(),
        }
    }

    /// The type of argument `index` (the variadic parameter's past the fixed ones).
    pub(crate) fn argument_type(&self, index: usize) -> Option<Type> {
        match self.parameters.get(index) {
            Some(p) => Some(p.ty.clone()),
            None => self.variadic.as_ref().map(|v| Type::list(v.ty.clone())),
        }
    }
}

/// Why a call failed: a sentence, and the index of the argument at fault when one is
/// (Terraform then names that parameter: `Invalid value for "ref" parameter: ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    pub text: String,
    pub argument: Option<usize>,
}

impl FunctionError {
    /// An error about argument `index` (0-based).
    pub fn argument(index: usize, text: impl Into<String>) -> Self {
        FunctionError {
            text: text.into(),
            argument: Some(index),
        }
    }
    /// An error about the call as a whole.
    pub fn call(text: impl Into<String>) -> Self {
        FunctionError {
            text: text.into(),
            argument: None,
        }
    }
    /// Terraform ends the message with its own period (`...parameter: TEXT.`): one
    /// at the end of the text is dropped.
    pub fn to_proto(&self) -> proto::FunctionError {
        proto::FunctionError {
            text: self
                .text
                .strip_suffix('.')
                .unwrap_or(&self.text)
                .to_string(),
            function_argument: self.argument.map(|i| i as i64),
        }
    }
}

/// The arguments of one call, decoded with the parameters' types.
#[derive(Debug, Clone)]
pub struct Arguments(pub(crate) Vec<Value>);

impl Arguments {
    pub fn new(values: Vec<Value>) -> Self {
        Arguments(values)
    }
    /// Argument `index` as Terraform sent it (null or unknown only where allowed).
    pub fn value(&self, index: usize) -> &Value {
        static NULL: Value = Value::Null;
        self.0.get(index).unwrap_or(&NULL)
    }
    /// A string argument; an error naming it when it is null or not a string.
    pub fn string(&self, index: usize) -> Result<&str, FunctionError> {
        self.value(index)
            .as_str()
            .ok_or_else(|| FunctionError::argument(index, "must be a string, not null."))
    }
    /// Argument `index` read into a serde type (an object into a struct, say).
    pub fn typed<T: DeserializeOwned>(&self, index: usize) -> Result<T, FunctionError> {
        serde_json::from_value(self.value(index).to_json())
            .map_err(|e| FunctionError::argument(index, format!("has an unexpected shape: {e}.")))
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A provider-defined function. `Output` is serialized into the signature's return
/// type (a struct into an object; `None` into null).
///
/// ```ignore
/// struct Upper;
/// impl Function for Upper {
///     type Output = String;
///     fn name(&self) -> &'static str { "upper" }
///     fn signature(&self) -> Signature {
///         Signature::new("Upper case", "Returns `text` in upper case.", Type::String)
///             .parameter(Parameter::new("text", Type::String, "The text."))
///     }
///     fn call(&self, args: &Arguments) -> Result<String, FunctionError> {
///         Ok(args.string(0)?.to_uppercase())
///     }
/// }
/// ```
pub trait Function: Send + Sync + 'static {
    type Output: Serialize;

    /// The name after `provider::<provider>::`.
    fn name(&self) -> &'static str;
    fn signature(&self) -> Signature;
    fn call(&self, args: &Arguments) -> Result<Self::Output, FunctionError>;
}

/// A function with its output type erased, and its signature built once.
pub(crate) trait AnyFunction: Send + Sync {
    fn name(&self) -> &'static str;
    fn signature(&self) -> &Signature;
    fn call(&self, args: &Arguments) -> Result<Value, FunctionError>;
}

pub(crate) struct FunctionAdapter<F> {
    function: F,
    signature: Signature,
}

impl<F: Function> FunctionAdapter<F> {
    pub(crate) fn new(function: F) -> Self {
        FunctionAdapter {
            signature: function.signature(),
            function,
        }
    }
}

impl<F: Function> AnyFunction for FunctionAdapter<F> {
    fn name(&self) -> &'static str {
        self.function.name()
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn call(&self, args: &Arguments) -> Result<Value, FunctionError> {
        let output = self.function.call(args)?;
        state::to_value_of(&output, &self.signature.returns).map_err(|d| {
            FunctionError::call(
                d.0.first()
                    .map(|d| d.detail.clone())
                    .unwrap_or_else(|| "the result does not fit the return type".into()),
            )
        })
    }
}
