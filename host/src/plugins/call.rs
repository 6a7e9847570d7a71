//! One plugin call: a fresh `Store` from the cached pre-instantiated component, the sandbox
//! (WASI with nothing, stderr captured), the limits, the export call, and the classification
//! of what went wrong.
//!
//! Limits of one call:
//! - memory: a limiter refuses to grow any linear memory past the configured size, which traps;
//! - CPU: the guest's CPU time is measured with the thread CPU clock
//!   (`CLOCK_THREAD_CPUTIME_ID`), so time the thread was descheduled (a busy machine) is not
//!   counted. It is sampled when guest code starts or resumes on a thread, and charged at every
//!   epoch tick (10 ms, where the callback yields to tokio so timers and other tasks run) and
//!   at every HTTP host call, before the call waits: a plugin that spins between host calls is
//!   charged like any other. One charge is at most two ticks, so time another task used the
//!   thread while the guest waited in a WASI call is not billed to the guest. Past the budget
//!   the guest is interrupted (at a tick) or trapped (at a host call);
//! - wall clock: a tokio timeout around instantiation and the call;
//! - HTTP: the request budget and size cap in [`super::host_http`].
//!
//! A trapped store is dropped with the call; nothing carries over to the next call.

use super::bindings::{auth, connector, oauth, wit};
use super::error::CrashKind;
use super::host_http::{HttpShared, RequestBudget, ServerHandle};
use super::host_log::{StderrCapture, log_stderr, panic_message};
use super::types::{Manifest, ServerContext};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::component::{Instance, InstancePre, Resource, ResourceTable};
use wasmtime::{Engine, Store, UpdateDeadline};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// Length of one epoch tick; the ticker thread increments the engine's epoch this often.
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// The store data of one call.
pub(crate) struct CallState {
    pub(crate) table: ResourceTable,
    wasi: WasiCtx,
    limiter: MemoryLimiter,
    cpu: CpuMeter,
    pub(crate) io: CallIo,
}

/// What the host imports need during a call.
pub(crate) struct CallIo {
    pub(crate) plugin_id: Arc<str>,
    /// `None` while `describe()` runs at load time: no network then.
    pub(crate) manifest: Option<Arc<Manifest>>,
    /// Whether an admin approved this version's extra hosts (see `LoadedPlugin::reach_approved`).
    pub(crate) reach_approved: bool,
    pub(crate) http: Arc<HttpShared>,
    pub(crate) budget: RequestBudget,
    pub(crate) install_id: Arc<str>,
    pub(crate) log_lines: u32,
    /// Denied requests of this call that were logged (the rest are not: rate limit).
    pub(crate) denied_logged: u32,
}

impl CallState {
    /// Charge the guest's CPU time so far; `true` when the budget is used up.
    pub(crate) fn cpu_charge(&mut self) -> bool {
        self.cpu.charge()
    }

    /// The guest resumes now, after a host call that waited.
    pub(crate) fn cpu_resume(&self) {
        self.cpu.resume();
    }

    /// The trap for a used-up CPU budget.
    pub(crate) fn cpu_budget_error(&self) -> wasmtime::Error {
        self.cpu.budget_error()
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The limits of one call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CallLimits {
    pub(crate) memory_bytes: usize,
    pub(crate) cpu: Duration,
    pub(crate) wall: Duration,
    pub(crate) max_requests: u32,
}

impl CallLimits {
    pub(crate) fn from_config(cfg: &crate::config::PluginsConfig) -> Self {
        Self {
            memory_bytes: usize::try_from(cfg.memory_bytes).unwrap_or(usize::MAX),
            cpu: Duration::from_millis(cfg.cpu_ms.max(1)),
            wall: Duration::from_secs(cfg.call_timeout_secs),
            max_requests: cfg.max_http_requests,
        }
    }
}

/// CPU time the calling thread has used (`CLOCK_THREAD_CPUTIME_ID`).
#[allow(unsafe_code)]
pub(crate) fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// Where and when the guest last started running: the thread and its CPU clock then.
type Sample = Arc<std::sync::Mutex<Option<(std::thread::ThreadId, Duration)>>>;

fn take_sample(sample: &Sample) {
    if let Ok(mut s) = sample.lock() {
        *s = Some((std::thread::current().id(), thread_cpu()));
    }
}

/// Linear memories one component instance may have (a Rust connector has one).
pub const MAX_MEMORIES: usize = 2;
/// Tables one component instance may have (a Rust connector and its shims have a few).
pub const MAX_TABLES: usize = 16;
/// Core instances one component instance may have.
pub const MAX_CORE_INSTANCES: usize = 16;
/// Elements one table may have (function references; far beyond any real connector).
pub const MAX_TABLE_ELEMENTS: usize = 1_000_000;

/// The memory limit of one call: the sum of every linear memory of the instance, not each one.
struct MemoryLimiter {
    limit: usize,
    /// Bytes of all memories of this call so far.
    total: usize,
    exceeded: bool,
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.total.saturating_sub(current).saturating_add(desired);
        if total > self.limit {
            self.exceeded = true;
            wasmtime::bail!("memory limit of {} bytes reached", self.limit);
        }
        self.total = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }

    fn instances(&self) -> usize {
        MAX_CORE_INSTANCES
    }

    fn tables(&self) -> usize {
        MAX_TABLES
    }

    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

pub(crate) struct CpuMeter {
    used: Duration,
    budget: Duration,
    exhausted: bool,
    sample: Sample,
}

impl CpuMeter {
    /// Charge the guest CPU time since the last sample (on this thread; at most two ticks) and
    /// start a new sample. `true` when the budget is used up.
    pub(crate) fn charge(&mut self) -> bool {
        let now = thread_cpu();
        let here = std::thread::current().id();
        if let Ok(mut s) = self.sample.lock() {
            if let Some((thread, at)) = s.take()
                && thread == here
            {
                self.used += now.saturating_sub(at).min(TICK * 2);
            }
            *s = Some((here, now));
        }
        if self.used > self.budget {
            self.exhausted = true;
        }
        self.exhausted
    }

    /// The guest resumes on this thread now (after a host call that waited).
    pub(crate) fn resume(&self) {
        take_sample(&self.sample);
    }

    fn budget_error(&self) -> wasmtime::Error {
        wasmtime::format_err!("CPU budget of {} ms used up", self.budget.as_millis())
    }
}

/// The exported interfaces of a loaded component, resolved once at load time.
#[derive(Clone)]
pub(crate) struct Exports {
    pub(crate) connector: connector::GuestIndices,
    pub(crate) oauth: Option<oauth::GuestIndices>,
    pub(crate) auth: Option<auth::GuestIndices>,
}

/// An operation to run in a fresh instance.
pub(crate) enum Op {
    Describe,
    TestConnection,
    ListLibraries,
    ListUsers,
    CreateUser(wit::NewUser),
    FindUser(wit::NewUser),
    DeleteUser(String, wit::DeleteOptions),
    SetEnabled(String, bool),
    SetLibraryAccess(String, wit::LibraryAccess),
    SetPermissions(String, Vec<wit::PermissionValue>),
    SetPassword(String, String),
    StartLink,
    PollLink(String),
    Authenticate(String, String),
}

impl Op {
    /// Whether unauthenticated visitors can start this operation: the `oauth` link (join PIN
    /// polling) and `authenticate` (external admin sign-in). These run under their own budget.
    pub(crate) fn is_public(&self) -> bool {
        matches!(self, Op::StartLink | Op::PollLink(_) | Op::Authenticate(..))
    }

    /// The WIT name, for logs.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Op::Describe => "describe",
            Op::TestConnection => "test-connection",
            Op::ListLibraries => "list-libraries",
            Op::ListUsers => "list-users",
            Op::CreateUser(_) => "create-user",
            Op::FindUser(_) => "find-user",
            Op::DeleteUser(..) => "delete-user",
            Op::SetEnabled(..) => "set-enabled",
            Op::SetLibraryAccess(..) => "set-library-access",
            Op::SetPermissions(..) => "set-permissions",
            Op::SetPassword(..) => "set-password",
            Op::StartLink => "start-link",
            Op::PollLink(_) => "poll-link",
            Op::Authenticate(..) => "authenticate",
        }
    }
}

/// What an operation returned.
pub(crate) enum Reply {
    Manifest(Box<wit::Manifest>),
    ServerInfo(wit::ServerInfo),
    Libraries(Vec<wit::Library>),
    Users(Vec<wit::RemoteUser>),
    Created(wit::CreatedUser),
    MaybeUser(Option<wit::RemoteUser>),
    Unit,
    LinkStart(oauth::LinkStart),
    LinkStatus(oauth::LinkStatus),
    Authenticated(auth::Authenticated),
}

/// Why a call produced no reply (besides a connector error).
#[derive(Debug)]
pub(crate) enum Failure {
    Timeout,
    Crash(CrashKind, String),
    /// The engine's instance pool is full.
    PoolFull,
    /// The operation's interface is not exported.
    NotExported(&'static str),
}

/// Everything a call needs besides the operation.
pub(crate) struct CallSetup<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) pre: &'a InstancePre<CallState>,
    pub(crate) exports: &'a Exports,
    pub(crate) limits: CallLimits,
    pub(crate) io: CallIo,
}

/// A fresh store for one call with every limit applied, and the capture of its stderr.
fn new_store(engine: &Engine, limits: CallLimits, io: CallIo) -> (Store<CallState>, StderrCapture) {
    let stderr = StderrCapture::default();
    let wasi = WasiCtxBuilder::new().stderr(stderr.clone()).build();
    let state = CallState {
        table: ResourceTable::new(),
        wasi,
        limiter: MemoryLimiter {
            limit: limits.memory_bytes,
            total: 0,
            exceeded: false,
        },
        cpu: CpuMeter {
            used: Duration::ZERO,
            budget: limits.cpu,
            exhausted: false,
            sample: Arc::default(),
        },
        io,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(|mut cx| {
        let cpu = &mut cx.data_mut().cpu;
        if cpu.charge() {
            return Ok(UpdateDeadline::Interrupt);
        }
        // Yield to tokio; when the guest resumes (maybe on another thread), sample again there.
        let sample = cpu.sample.clone();
        Ok(UpdateDeadline::YieldCustom(
            1,
            Box::pin(async move {
                tokio::task::yield_now().await;
                take_sample(&sample);
            }),
        ))
    });
    store.data().cpu.resume();
    (store, stderr)
}

/// Create a fresh instance as the host does between calls ([`prepare`]) and drop it without
/// calling anything (the perf bench's breakdown of a call).
pub(crate) async fn instantiate_only(setup: CallSetup<'_>) -> wasmtime::Result<()> {
    prepare(setup).await.map(drop)
}

/// A fresh instance made before the call that takes it, so that making it (and dropping the
/// previous call's) is not on that call's path: see `PluginHost::after_call`. It is used by
/// exactly one call, like one made inside [`run`]: nothing of an earlier call is in it.
pub(crate) struct Spare {
    store: Store<CallState>,
    instance: Instance,
    stderr: StderrCapture,
}

/// Make a [`Spare`] with the limits and I/O of `setup`, within its wall clock. What the
/// instantiation uses (CPU time, requests, log lines) counts against the call that takes it,
/// as it would if that call had made the instance itself.
pub(crate) async fn prepare(setup: CallSetup<'_>) -> wasmtime::Result<Spare> {
    let (mut store, stderr) = new_store(setup.engine, setup.limits, setup.io);
    let instance = tokio::time::timeout(setup.limits.wall, setup.pre.instantiate_async(&mut store))
        .await
        .map_err(|_| wasmtime::format_err!("instantiation did not end in time"))??;
    Ok(Spare {
        store,
        instance,
        stderr,
    })
}

/// What a call produced: a reply, a connector error, or why there was neither.
pub(crate) type Outcome = Result<Result<Reply, wit::ConnectorError>, Failure>;

/// The end of a call: its outcome, and the store it ran in (`instantiated`: whether the
/// instance was made), for the caller to drop, off the path of the reply if it likes.
pub(crate) struct Finished {
    pub(crate) outcome: Outcome,
    pub(crate) store: Store<CallState>,
    pub(crate) instantiated: bool,
}

/// Run `op` with every limit applied, in `spare` when given (made by [`prepare`] with the same
/// setup; only `reach_approved` is taken from this call's), else in an instance made now.
pub(crate) async fn run(
    setup: CallSetup<'_>,
    spare: Option<Spare>,
    server: Option<Arc<ServerContext>>,
    op: Op,
) -> Finished {
    let CallSetup {
        engine,
        pre,
        exports,
        limits,
        io,
    } = setup;
    let (mut store, stderr, ready) = match spare {
        Some(Spare {
            mut store,
            instance,
            stderr,
        }) => {
            // An admin may have approved the plugin's reach since the instance was made.
            store.data_mut().io.reach_approved = io.reach_approved;
            // The epoch moved on while the instance waited: the first tick counts from now.
            store.set_epoch_deadline(1);
            store.data().cpu.resume();
            (store, stderr, Some(instance))
        }
        None => {
            let (store, stderr) = new_store(engine, limits, io);
            (store, stderr, None)
        }
    };
    let mut instantiated = ready.is_some();

    let outcome = tokio::time::timeout(limits.wall, async {
        let instance = match ready {
            Some(instance) => instance,
            None => {
                let instance = pre.instantiate_async(&mut store).await?;
                instantiated = true;
                instance
            }
        };
        let server = match server {
            Some(ctx) => Some(store.data_mut().table.push(ServerHandle { ctx })?),
            None => None,
        };
        invoke(&mut store, &instance, exports, server, op).await
    })
    .await;

    let plugin = store.data().io.plugin_id.clone();
    let text = stderr.text();
    if !text.trim().is_empty() {
        log_stderr(&plugin, &text);
    }
    let outcome = match outcome {
        Err(_elapsed) => Err(Failure::Timeout),
        Ok(Ok(Ok(reply))) => Ok(Ok(reply)),
        Ok(Ok(Err(e))) => Ok(Err(e)),
        Ok(Err(err)) => Err(classify(&err, store.data(), &text)),
    };
    Finished {
        outcome,
        store,
        instantiated,
    }
}

fn classify(err: &wasmtime::Error, state: &CallState, stderr: &str) -> Failure {
    if let Some(NotExported(interface)) = err.downcast_ref::<NotExported>() {
        return Failure::NotExported(interface);
    }
    if state.cpu.exhausted {
        let ms = state.cpu.budget.as_millis();
        return Failure::Crash(
            CrashKind::CpuBudget,
            format!("ran for more than {ms} ms of CPU time"),
        );
    }
    if state.limiter.exceeded {
        let mib = state.limiter.limit / (1024 * 1024);
        return Failure::Crash(
            CrashKind::Memory,
            format!("tried to use more than {mib} MiB of memory"),
        );
    }
    if err
        .downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
        .is_some()
    {
        return Failure::PoolFull;
    }
    if let Some(message) = panic_message(stderr) {
        return Failure::Crash(CrashKind::Panic, message);
    }
    let detail = match err.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => format!("wasm trap: {trap}"),
        None => format!("{err:#}"),
    };
    Failure::Crash(
        CrashKind::Trap,
        super::host_log::escape(super::host_log::clip(&detail, 2000)).into_owned(),
    )
}

#[derive(Debug)]
struct NotExported(&'static str);

impl std::fmt::Display for NotExported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the `{}` interface is not exported", self.0)
    }
}

impl std::error::Error for NotExported {}

async fn invoke(
    store: &mut Store<CallState>,
    instance: &Instance,
    exports: &Exports,
    server: Option<Resource<ServerHandle>>,
    op: Op,
) -> wasmtime::Result<Result<Reply, wit::ConnectorError>> {
    // Exports take `borrow<server>`: lend the host-owned handle for the duration of the call.
    let srv = || match &server {
        Some(r) => Ok(Resource::<ServerHandle>::new_borrow(r.rep())),
        None => Err(wasmtime::format_err!("operation needs a server")),
    };
    let oauth = |store: &mut Store<CallState>| match &exports.oauth {
        Some(ix) => ix.load(store, instance),
        None => Err(wasmtime::Error::new(NotExported("oauth"))),
    };
    let auth = |store: &mut Store<CallState>| match &exports.auth {
        Some(ix) => ix.load(store, instance),
        None => Err(wasmtime::Error::new(NotExported("auth"))),
    };

    let c = exports.connector.load(&mut *store, instance)?;
    Ok(match op {
        Op::Describe => {
            // Type-check the optional interfaces too, so a mismatch is a load error rather
            // than a failure of the first real call.
            if exports.oauth.is_some() {
                oauth(store)?;
            }
            if exports.auth.is_some() {
                auth(store)?;
            }
            Ok(Reply::Manifest(Box::new(
                c.call_describe(&mut *store).await?,
            )))
        }
        Op::TestConnection => c
            .call_test_connection(&mut *store, srv()?)
            .await?
            .map(Reply::ServerInfo),
        Op::ListLibraries => c
            .call_list_libraries(&mut *store, srv()?)
            .await?
            .map(Reply::Libraries),
        Op::ListUsers => c
            .call_list_users(&mut *store, srv()?)
            .await?
            .map(Reply::Users),
        Op::CreateUser(user) => c
            .call_create_user(&mut *store, srv()?, &user)
            .await?
            .map(Reply::Created),
        Op::FindUser(user) => c
            .call_find_user(&mut *store, srv()?, &user)
            .await?
            .map(Reply::MaybeUser),
        Op::DeleteUser(id, options) => c
            .call_delete_user(&mut *store, srv()?, &id, options)
            .await?
            .map(|()| Reply::Unit),
        Op::SetEnabled(id, enabled) => c
            .call_set_enabled(&mut *store, srv()?, &id, enabled)
            .await?
            .map(|()| Reply::Unit),
        Op::SetLibraryAccess(id, access) => c
            .call_set_library_access(&mut *store, srv()?, &id, &access)
            .await?
            .map(|()| Reply::Unit),
        Op::SetPermissions(id, permissions) => c
            .call_set_permissions(&mut *store, srv()?, &id, &permissions)
            .await?
            .map(|()| Reply::Unit),
        Op::SetPassword(id, password) => c
            .call_set_password(&mut *store, srv()?, &id, &password)
            .await?
            .map(|()| Reply::Unit),
        Op::StartLink => oauth(store)?
            .call_start_link(&mut *store, srv()?)
            .await?
            .map(Reply::LinkStart),
        Op::PollLink(pin) => oauth(store)?
            .call_poll_link(&mut *store, srv()?, &pin)
            .await?
            .map(Reply::LinkStatus),
        Op::Authenticate(user, password) => auth(store)?
            .call_authenticate(&mut *store, srv()?, &user, &password)
            .await?
            .map(Reply::Authenticated),
    })
}
