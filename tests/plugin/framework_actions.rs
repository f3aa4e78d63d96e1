//! Actions and functions of the framework in process, through the gRPC service
//! Terraform calls, with a toy provider (no vCR): schemas in GetProviderSchema and
//! GetMetadata (actions at field 8, as Terraform core reads it), ValidateActionConfig,
//! PlanAction with unknown values, InvokeAction streaming progress and ending with one
//! completed event (also after an error mid-stream or a panic), cancellation by the
//! provider's Stop and by a dropped stream between steps, and GetFunctions /
//! CallFunction with errors naming the argument.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use prost::Message;
use serde::{Deserialize, Serialize};
use tokio_stream::StreamExt;
use tonic::Request;
use vcr_provider::tfplugin::proto::invoke_action::event::Type as EventType;
use vcr_provider::tfplugin::proto::provider_server::Provider as _;
use vcr_provider::tfplugin::proto::{self, DynamicValue};
use vcr_provider::tfplugin::server::ProviderService;
use vcr_provider::tfplugin::validators::whole_at_least;
use vcr_provider::tfplugin::{
    codec, Action, Arguments, Attribute, Block, Components, ConfigureRequest, Diagnostic,
    Diagnostics, Function, FunctionError, InvokeRequest, Parameter, PlanActionRequest, Progress,
    Provider, Schema, Signature, Type, Value,
};

/// What the toy's actions did, step by step.
#[derive(Default)]
struct Log(Mutex<Vec<String>>);

impl Log {
    fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }
    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct CountdownConfig {
    steps: Option<i64>,
    fail_at: Option<i64>,
    pause_ms: Option<i64>,
    stall_ms: Option<i64>,
    panic: Option<bool>,
}

/// Counts steps, reporting each; fails at `fail_at`; pauses between steps.
struct Countdown;

#[async_trait]
impl Action<Arc<Log>> for Countdown {
    type Config = CountdownConfig;

    fn type_name(&self) -> &'static str {
        "toy_countdown"
    }
    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new("Counts.")
                .attribute(
                    Attribute::required("steps", Type::Number, "How many steps.")
                        .validate(whole_at_least(1)),
                )
                .attribute(Attribute::optional(
                    "fail_at",
                    Type::Number,
                    "Fail at this step.",
                ))
                .attribute(Attribute::optional(
                    "pause_ms",
                    Type::Number,
                    "Pause after each step.",
                ))
                .attribute(Attribute::optional(
                    "stall_ms",
                    Type::Number,
                    "One long wait first, abandoned when cancelled.",
                ))
                .attribute(Attribute::optional("panic", Type::Bool, "Panic.")),
        )
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        match (
            config.attr("steps").as_number(),
            config.attr("fail_at").as_number(),
        ) {
            (Some(s), Some(f)) if f.as_f64() > s.as_f64() => {
                Diagnostic::error("fail_at past the end", "fail_at must be at most steps.").into()
            }
            _ => Diagnostics::new(),
        }
    }
    async fn plan(&self, data: Option<&Arc<Log>>, req: PlanActionRequest) -> Diagnostics {
        let steps = req.config.attr("steps");
        if let Some(log) = data {
            log.push(format!("planned, steps known: {}", steps.is_wholly_known()));
        }
        Diagnostics::new()
    }
    async fn invoke(
        &self,
        log: &Arc<Log>,
        req: InvokeRequest<CountdownConfig>,
        progress: &Progress,
    ) -> Result<(), Diagnostics> {
        let c = req.config;
        if c.panic == Some(true) {
            panic!("the toy panics");
        }
        let steps = c.steps.unwrap_or_default();
        if let Some(ms) = c.stall_ms {
            progress.report("stalling").await;
            let wait = tokio::time::sleep(Duration::from_millis(ms as u64));
            progress
                .unless_cancelled(wait, || format!("0 of {steps} steps"))
                .await?;
            log.push("stalled".into());
        }
        for i in 1..=steps {
            progress.checkpoint(|| format!("{} of {steps} steps", i - 1))?;
            log.push(format!("step {i}"));
            if c.fail_at == Some(i) {
                return Err(
                    Diagnostic::error("Step failed", format!("step {i} of {steps}")).into(),
                );
            }
            progress.report(format!("step {i}/{steps}")).await;
            if let Some(ms) = c.pause_ms {
                tokio::time::sleep(Duration::from_millis(ms as u64)).await;
            }
        }
        progress.warn(Diagnostic::warning("Counted", format!("{steps} steps")));
        Ok(())
    }
}

struct Greet;

impl Function for Greet {
    type Output = Option<String>;
    fn name(&self) -> &'static str {
        "greet"
    }
    fn signature(&self) -> Signature {
        Signature::new("Greets", "Greets someone, or no one.", Type::String)
            .parameter(Parameter::new("greeting", Type::String, "The greeting."))
            .parameter(
                Parameter::new("name", Type::String, "Who; null for no one.").allow_null_value(),
            )
    }
    fn call(&self, args: &Arguments) -> Result<Option<String>, FunctionError> {
        let greeting = args.string(0)?;
        if greeting.is_empty() {
            return Err(FunctionError::argument(0, "must not be empty."));
        }
        Ok(args
            .value(1)
            .as_str()
            .map(|name| format!("{greeting}, {name}")))
    }
}

/// The toy provider; its log is what its actions did, shared with the test.
#[derive(Default)]
struct Toy {
    log: Arc<Log>,
}

#[async_trait]
impl Provider for Toy {
    type Data = Arc<Log>;
    fn schema(&self) -> Schema {
        Schema::new(0, Block::new("Toy."))
    }
    async fn configure(
        &self,
        _req: ConfigureRequest,
    ) -> Result<(Arc<Log>, Diagnostics), Diagnostics> {
        Ok((self.log.clone(), Diagnostics::new()))
    }
    fn components(&self) -> Components<Arc<Log>> {
        Components::new().action(Countdown).function(Greet)
    }
}

/// A configured service, and the log of what its actions did.
async fn configured_with_log() -> (ProviderService<Toy>, Arc<Log>) {
    let toy = Toy::default();
    let log = toy.log.clone();
    let service = ProviderService::new(toy);
    service
        .configure(Request::new(proto::configure::Request::default()))
        .await
        .unwrap();
    (service, log)
}

async fn configured() -> ProviderService<Toy> {
    configured_with_log().await.0
}

fn config(json: serde_json::Value) -> Option<DynamicValue> {
    let ty = Countdown.schema().value_type();
    Some(codec::encode(
        &Value::from_json(&json).conform(&ty).unwrap(),
    ))
}

/// Every event of an invocation, as Terraform reads them.
async fn invoke_all(
    service: &ProviderService<Toy>,
    json: serde_json::Value,
) -> Vec<proto::invoke_action::Event> {
    let stream = start(service, json).await;
    stream.map(|e| e.unwrap()).collect().await
}

/// An invocation's stream, as Terraform opens it.
async fn start(
    service: &ProviderService<Toy>,
    json: serde_json::Value,
) -> tonic::codegen::BoxStream<proto::invoke_action::Event> {
    service
        .invoke_action(Request::new(proto::invoke_action::Request {
            action_type: "toy_countdown".into(),
            config: config(json),
            client_capabilities: None,
        }))
        .await
        .unwrap()
        .into_inner()
}

fn progress_messages(events: &[proto::invoke_action::Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.r#type {
            Some(EventType::Progress(p)) => Some(p.message.clone()),
            _ => None,
        })
        .collect()
}

/// The diagnostics of the one completed event, which must be the last event.
fn completed(events: &[proto::invoke_action::Event]) -> Vec<(i32, String, String)> {
    let count = events
        .iter()
        .filter(|e| matches!(e.r#type, Some(EventType::Completed(_))))
        .count();
    assert_eq!(count, 1, "exactly one completed event: {events:?}");
    match &events.last().unwrap().r#type {
        Some(EventType::Completed(c)) => c
            .diagnostics
            .iter()
            .map(|d| (d.severity, d.summary.clone(), d.detail.clone()))
            .collect(),
        other => panic!("the last event is not the completed one: {other:?}"),
    }
}

const ERROR: i32 = proto::diagnostic::Severity::Error as i32;
const WARNING: i32 = proto::diagnostic::Severity::Warning as i32;

#[test]
fn every_part_matches_its_schema() {
    assert_eq!(
        Toy::default().components().type_mismatches(),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn schemas_and_metadata_offer_actions_and_functions() {
    let service = configured().await;
    let schema = service
        .get_schema(Request::new(proto::get_provider_schema::Request {}))
        .await
        .unwrap()
        .into_inner();
    let action = schema.action_schemas["toy_countdown"]
        .schema
        .clone()
        .unwrap();
    let steps = &action.block.unwrap().attributes[0];
    assert_eq!(steps.name, "steps");
    assert!(
        steps.description.starts_with("How many steps."),
        "{steps:?}"
    );
    let greet = &schema.functions["greet"];
    assert_eq!(greet.parameters.len(), 2);
    assert!(greet.parameters[1].allow_null_value && !greet.parameters[0].allow_null_value);
    assert_eq!(greet.r#return.as_ref().unwrap().r#type, b"\"string\"");

    let metadata = service
        .get_metadata(Request::new(proto::get_metadata::Request {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(metadata.actions[0].type_name, "toy_countdown");
    assert_eq!(metadata.functions[0].name, "greet");
    // Terraform core's tfplugin5 reads the actions at field 8 (length-delimited: 0x42).
    let only_actions = proto::get_metadata::Response {
        actions: metadata.actions.clone(),
        ..Default::default()
    };
    assert_eq!(only_actions.encode_to_vec()[0], (8 << 3) | 2);

    let functions = service
        .get_functions(Request::new(proto::get_functions::Request {}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(functions.functions["greet"], *greet);
}

#[tokio::test]
async fn action_config_is_validated_and_planned_with_unknowns() {
    let service = configured().await;
    let validate = |json| {
        service.validate_action_config(Request::new(proto::validate_action_config::Request {
            type_name: "toy_countdown".into(),
            config: config(json),
        }))
    };
    let answer = validate(serde_json::json!({"steps": 0}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.diagnostics.len(), 1);
    assert_eq!(answer.diagnostics[0].summary, "Invalid value for \"steps\"");
    let answer = validate(serde_json::json!({"steps": 2, "fail_at": 3}))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.diagnostics[0].summary, "fail_at past the end");
    assert!(validate(serde_json::json!({"steps": 2}))
        .await
        .unwrap()
        .into_inner()
        .diagnostics
        .is_empty());

    // At plan, a value not known yet is left to invoke: no error, no deferral.
    let ty = Countdown.schema().value_type();
    let mut unknown = Value::from_json(&serde_json::json!({}))
        .conform(&ty)
        .unwrap();
    unknown.set_attr("steps", Value::Unknown);
    let plan = |config| {
        service.plan_action(Request::new(proto::plan_action::Request {
            action_type: "toy_countdown".into(),
            config,
            client_capabilities: None,
        }))
    };
    let planned = plan(Some(codec::encode(&unknown)))
        .await
        .unwrap()
        .into_inner();
    assert!(planned.diagnostics.is_empty(), "{:?}", planned.diagnostics);
    assert!(planned.deferred.is_none());
    let planned = plan(config(serde_json::json!({"steps": 0})))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        planned.diagnostics[0].summary,
        "Invalid value for \"steps\""
    );

    // Invoke with a value still unknown is refused before any step.
    let stream = service
        .invoke_action(Request::new(proto::invoke_action::Request {
            action_type: "toy_countdown".into(),
            config: Some(codec::encode(&unknown)),
            client_capabilities: None,
        }))
        .await
        .unwrap()
        .into_inner();
    let events: Vec<_> = stream.map(|e| e.unwrap()).collect().await;
    let diags = completed(&events);
    assert_eq!(diags[0].1, "Action configuration not known");
}

#[tokio::test]
async fn invoke_streams_progress_then_one_completed_event() {
    let service = configured().await;
    let events = invoke_all(&service, serde_json::json!({"steps": 3})).await;
    assert_eq!(
        progress_messages(&events),
        ["step 1/3", "step 2/3", "step 3/3"]
    );
    assert_eq!(
        completed(&events),
        [(WARNING, "Counted".to_string(), "3 steps".to_string())]
    );
}

#[tokio::test]
async fn an_error_mid_stream_ends_it_with_the_error_after_the_progress_made() {
    let service = configured().await;
    let events = invoke_all(&service, serde_json::json!({"steps": 5, "fail_at": 3})).await;
    assert_eq!(progress_messages(&events), ["step 1/5", "step 2/5"]);
    assert_eq!(
        completed(&events),
        [(ERROR, "Step failed".to_string(), "step 3 of 5".to_string())]
    );

    let events = invoke_all(&service, serde_json::json!({"steps": 1, "panic": true})).await;
    let diags = completed(&events);
    assert_eq!(diags[0].0, ERROR);
    assert!(
        diags[0].2.contains("toy_countdown stopped unexpectedly"),
        "{diags:?}"
    );
}

#[tokio::test]
async fn stop_interrupts_an_action_between_steps_saying_what_was_done() {
    let service = configured().await;
    let mut stream = start(&service, serde_json::json!({"steps": 50, "pause_ms": 50})).await;
    let mut events = Vec::new();
    for _ in 0..2 {
        events.push(stream.next().await.unwrap().unwrap());
    }
    service
        .stop(Request::new(proto::stop::Request {}))
        .await
        .unwrap();
    while let Some(e) = stream.next().await {
        events.push(e.unwrap());
    }
    let done = progress_messages(&events).len();
    assert!((2..50).contains(&done), "stopped early: {done}");
    let diags = completed(&events);
    assert_eq!(diags.len(), 1, "{diags:?}");
    assert_eq!(diags[0].1, "Action interrupted");
    assert!(
        diags[0]
            .2
            .ends_with(&format!("Done before stopping: {done} of 50 steps")),
        "{diags:?}"
    );
}

#[tokio::test]
async fn stop_abandons_a_step_run_unless_cancelled() {
    let (service, log) = configured_with_log().await;
    let mut stream = start(
        &service,
        serde_json::json!({"steps": 2, "stall_ms": 600_000}),
    )
    .await;
    let first = stream.next().await.unwrap().unwrap();
    assert_eq!(progress_messages(&[first]), ["stalling"]);
    service
        .stop(Request::new(proto::stop::Request {}))
        .await
        .unwrap();
    // Ten minutes of waiting are abandoned: the stream ends (a hung one fails here).
    let rest = tokio::time::timeout(Duration::from_secs(60), async {
        let mut rest = Vec::new();
        while let Some(e) = stream.next().await {
            rest.push(e.unwrap());
        }
        rest
    })
    .await
    .expect("the stalled step was not abandoned");
    let diags = completed(&rest);
    assert_eq!(diags[0].1, "Action interrupted");
    assert!(
        diags[0].2.contains("during a step it could abandon")
            && diags[0].2.ends_with("Done before stopping: 0 of 2 steps"),
        "{diags:?}"
    );
    assert!(log
        .lines()
        .iter()
        .all(|l| l != "stalled" && !l.starts_with("step ")));
}

#[tokio::test]
async fn a_dropped_stream_stops_the_action_at_its_next_checkpoint() {
    let (service, log) = configured_with_log().await;
    let mut stream = start(&service, serde_json::json!({"steps": 50, "pause_ms": 20})).await;
    stream.next().await.unwrap().unwrap();
    drop(stream);
    // The log stops growing well before 50 steps: the action saw at a checkpoint
    // that nobody reads any more.
    let mut seen = log.lines().len();
    loop {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let now = log.lines().len();
        if now == seen {
            break;
        }
        seen = now;
    }
    let steps = log
        .lines()
        .iter()
        .filter(|l| l.starts_with("step "))
        .count();
    assert!(
        steps < 10,
        "the action went on after the stream was dropped: {steps}"
    );
}

#[tokio::test]
async fn functions_answer_results_and_errors_naming_the_argument() {
    let service = ProviderService::new(Toy::default()); // functions need no configure
    let call = |args: Vec<Value>| {
        service.call_function(Request::new(proto::call_function::Request {
            name: "greet".into(),
            arguments: args.iter().map(codec::encode).collect(),
        }))
    };
    let answer = call(vec![Value::from("Hello"), Value::from("vCR")])
        .await
        .unwrap()
        .into_inner();
    assert!(answer.error.is_none(), "{:?}", answer.error);
    let result = codec::decode(answer.result.as_ref(), &Type::String).unwrap();
    assert_eq!(result, Value::from("Hello, vCR"));

    let answer = call(vec![Value::from("Hello"), Value::Null])
        .await
        .unwrap()
        .into_inner();
    let result = codec::decode(answer.result.as_ref(), &Type::String).unwrap();
    assert_eq!(result, Value::Null, "an Option's None is null");

    let answer = call(vec![Value::from(""), Value::Null])
        .await
        .unwrap()
        .into_inner();
    let error = answer.error.unwrap();
    assert_eq!(error.function_argument, Some(0));
    assert_eq!(error.text, "must not be empty", "Terraform adds the period");
    assert!(answer.result.is_none());

    let answer = call(vec![Value::from("a"), Value::Null, Value::Null])
        .await
        .unwrap()
        .into_inner();
    let error = answer.error.unwrap();
    assert_eq!(error.function_argument, None);
    assert_eq!(error.text, "greet takes 2 arguments; got 3");

    let answer = service
        .call_function(Request::new(proto::call_function::Request {
            name: "nope".into(),
            arguments: vec![],
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.error.unwrap().text.contains("no function \"nope\""));
}
