//! Actions (Terraform 1.14+): operations a provider offers that run on demand
//! (`terraform apply -invoke=action.TYPE.NAME`) or when a resource changes
//! (`action_trigger` in a resource's `lifecycle`). An action writes no state: it does
//! something now and reports as it goes.
//!
//! The protocol: `ValidateActionConfig` (the schema's rules and the action's own),
//! `PlanAction` (the configuration may still hold unknown values there: they are
//! checked again at invoke; the framework never defers, as Terraform does not allow
//! actions to), then `InvokeAction`, a stream of progress events that ends with one
//! completed event carrying the diagnostics. The configuration at invoke is wholly
//! known.
//!
//! Cancellation: Terraform's interrupt (Ctrl-C) calls the provider's `Stop` and
//! drops the stream. Either one cancels every invocation under way; an action looks
//! at [`Progress::checkpoint`] between its steps and stops there, saying what it did.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{mpsc, Notify};

use super::diag::{Diagnostic, Diagnostics};
use super::proto;
use super::schema::Schema;
use super::value::Value;

/// Plan: the configuration as Terraform has it at plan time, where values not yet
/// known are [`Value::Unknown`]: check what is known, leave the rest to invoke.
#[derive(Debug)]
pub struct PlanActionRequest {
    pub config: Value,
}

/// Invoke: the configuration, typed and wholly known.
#[derive(Debug)]
pub struct InvokeRequest<C> {
    pub config: C,
}

/// A one-way switch that says "stop": set once, seen by everyone holding it, and
/// awaitable. The provider's `Stop` sets the server's; each invocation also stops
/// when Terraform stops reading its stream.
#[derive(Debug, Default)]
pub struct StopSignal {
    stopped: AtomicBool,
    notify: Notify,
}

impl StopSignal {
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the switch and wakes every waiter. Setting it again does nothing more.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }
    /// Returns once the switch is set (at once if it already is).
    pub async fn stopped(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_stopped() {
                return;
            }
            notified.await;
        }
    }
}

/// What an invocation reports to, and asks whether to go on. Handed to
/// [`Action::invoke`] by the framework; every method takes `&self`, so steps that
/// run side by side can share it.
pub struct Progress {
    events: mpsc::Sender<proto::invoke_action::Event>,
    stop: Arc<StopSignal>,
    warnings: Mutex<Diagnostics>,
}

impl Progress {
    pub(crate) fn new(
        events: mpsc::Sender<proto::invoke_action::Event>,
        stop: Arc<StopSignal>,
    ) -> Self {
        Progress {
            events,
            stop,
            warnings: Mutex::new(Diagnostics::new()),
        }
    }

    /// Sends one progress message: Terraform prints it with the action's address as
    /// it arrives (`Action action.vcr_image_cleanup.nightly (triggered by CLI):
    /// deleted 40/400 ...`).
    /// Returns `false` when nobody reads any more (Terraform was interrupted): the
    /// action should then stop at its next [`checkpoint`](Progress::checkpoint).
    ///
    /// Once the action is cancelled, nothing more is sent: Terraform (1.14 to 1.15 at
    /// least) stops reading the stream at the first progress event after its
    /// interrupt, and crashes ("range function continued iteration") on any event
    /// after that one. The completed event still ends the stream.
    pub async fn report(&self, message: impl Into<String>) -> bool {
        if self.is_cancelled() {
            return false;
        }
        let event = proto::invoke_action::Event {
            r#type: Some(proto::invoke_action::event::Type::Progress(
                proto::invoke_action::event::Progress {
                    message: message.into(),
                },
            )),
        };
        self.events.send(event).await.is_ok()
    }

    /// Whether the action should stop: Terraform asked the provider to stop, or
    /// dropped the stream.
    pub fn is_cancelled(&self) -> bool {
        self.stop.is_stopped() || self.events.is_closed()
    }

    /// Returns once the action should stop: to race a long single step
    /// (`tokio::select!`) when waiting for its end is not acceptable.
    pub async fn cancelled(&self) {
        tokio::select! {
            _ = self.stop.stopped() => {}
            _ = self.events.closed() => {}
        }
    }

    /// The place between two steps where an action may stop: `Ok(())` to go on, or,
    /// when cancelled, the error to return at once. `done` says what the action did
    /// before stopping (called only then); the error carries it, so the user knows
    /// where things stand.
    pub fn checkpoint(&self, done: impl FnOnce() -> String) -> Result<(), Diagnostics> {
        match self.is_cancelled() {
            false => Ok(()),
            true => Err(interrupted("between two steps", done())),
        }
    }

    /// Runs one step unless the action is cancelled first or meanwhile; then the
    /// step is abandoned (its future dropped) and the error says what was `done`.
    /// Only for a step that is safe to abandon halfway, such as a read: a deletion
    /// should run to its end and be followed by a [`checkpoint`](Progress::checkpoint).
    pub async fn unless_cancelled<T>(
        &self,
        step: impl std::future::Future<Output = T>,
        done: impl FnOnce() -> String,
    ) -> Result<T, Diagnostics> {
        tokio::select! {
            biased;
            _ = self.cancelled() => Err(interrupted("during a step it could abandon", done())),
            out = step => Ok(out),
        }
    }

    /// A warning for the completed event (it does not fail the action).
    pub fn warn(&self, warning: Diagnostic) {
        self.lock_warnings().push(warning);
    }

    pub(crate) fn take_warnings(&self) -> Diagnostics {
        std::mem::take(&mut *self.lock_warnings())
    }

    fn lock_warnings(&self) -> std::sync::MutexGuard<'_, Diagnostics> {
        // Diagnostics left by a panicking step are still whole.
        self.warnings.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// An action: a schema for its configuration block, a typed `Config` mirroring it
/// (like a data source's state), and `invoke`, which does the work step by step.
///
/// **Progress.** Call [`Progress::report`] for every step worth telling (a batch done,
/// with counts). Terraform prints each message as it arrives.
///
/// **Cancellation.** Between steps, call [`Progress::checkpoint`] with a sentence of
/// what is done so far and return its error with `?`: after Terraform's interrupt (or
/// the provider's `Stop`) it stops the action there, and the user reads what was done.
/// A step already started finishes first (nothing is left half done); a step that is
/// safe to abandon (a read, a wait) can run under [`Progress::unless_cancelled`],
/// which stops it at once.
///
/// **Result.** `Ok(())` ends the stream with a completed event without errors (with
/// the warnings given to [`Progress::warn`]); `Err(diagnostics)` ends it with them, after
/// whatever progress was reported. A panic in `invoke` is reported as an error too.
///
/// **Registering.** List it with [`Components::action`](super::Components::action);
/// `GetProviderSchema` and `GetMetadata` then offer it, and the docs test renders its
/// page from `schema()`.
///
/// ```ignore
/// struct Cleanup;
///
/// #[derive(Debug, Default, Serialize, Deserialize)]
/// struct CleanupConfig { repository_id: Option<String>, dry_run: Option<bool> }
///
/// #[async_trait]
/// impl Action<ProviderData> for Cleanup {
///     type Config = CleanupConfig;
///     fn type_name(&self) -> &'static str { "vcr_image_cleanup" }
///     fn schema(&self) -> Schema {
///         Schema::new(0, Block::new("Deletes what the rules select, now.")
///             .attribute(Attribute::required("repository_id", Type::String, "The repository."))
///             .attribute(Attribute::optional("dry_run", Type::Bool, "List only.")))
///     }
///     async fn invoke(
///         &self,
///         data: &ProviderData,
///         req: InvokeRequest<CleanupConfig>,
///         progress: &Progress,
///     ) -> Result<(), Diagnostics> {
///         let batches = plan_batches(data, &req.config).await?;
///         let mut deleted = 0;
///         for (i, batch) in batches.iter().enumerate() {
///             progress.checkpoint(|| format!("deleted {deleted} artifacts in {i} batches"))?;
///             deleted += delete(data, batch).await?;
///             progress.report(format!("deleted {deleted}/{}", total(&batches))).await;
///         }
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait Action<D: Send + Sync + 'static>: Send + Sync + 'static {
    /// The configuration block, typed; attributes left out read as `None`.
    type Config: Serialize + DeserializeOwned + Default + Send + Sync;

    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// Rules across attributes, beyond the schema's own (`ValidateActionConfig` and
    /// `PlanAction`); the configuration may hold unknowns.
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    /// Checks that need the configured provider (`PlanAction`), where `data` is
    /// `None` when the provider is not configured yet. Values still unknown are
    /// checked at invoke. By default nothing more is checked.
    async fn plan(&self, _data: Option<&D>, _req: PlanActionRequest) -> Diagnostics {
        Diagnostics::new()
    }

    /// Does the work, reporting to `progress` and stopping at its checkpoints when
    /// cancelled.
    async fn invoke(
        &self,
        data: &D,
        req: InvokeRequest<Self::Config>,
        progress: &Progress,
    ) -> Result<(), Diagnostics>;
}

/// The error of an action stopped by a cancellation: where it stopped, what was done.
fn interrupted(at: &str, done: String) -> Diagnostics {
    Diagnostic::error(
        "Action interrupted",
        format!(
            "Terraform asked the provider to stop, so the action stopped {at}. Done before stopping: {done}"
        ),
    )
    .into()
}

/// The completed event that ends an invocation's stream.
pub(crate) fn completed(diagnostics: &Diagnostics) -> proto::invoke_action::Event {
    proto::invoke_action::Event {
        r#type: Some(proto::invoke_action::event::Type::Completed(
            proto::invoke_action::event::Completed {
                diagnostics: diagnostics.to_proto(),
            },
        )),
    }
}
