//! `vcr-local`: a local stand-in for the vCR API (IAM token endpoint and both
//! regions, and a Docker registry per region). See `docs/guides/vcr-local.md`.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use vcr_provider::local::{self, LocalConfig};

/// A local stand-in for VNG Cloud vContainer Registry: the IAM token endpoint,
/// the vCR API of regions HCM and HAN, and each region's Docker registry, in
/// one process.
///
/// At start it prints the settings a provider and docker need (VCR_TOKEN_URL,
/// VCR_ENDPOINT_HCM, VCR_ENDPOINT_HAN, VCR_REGISTRY_HCM, VCR_REGISTRY_HAN,
/// VCR_CLIENT_ID, VCR_CLIENT_SECRET), one per line on stdout. Logs go to
/// stderr (RUST_LOG sets the level).
///
/// It listens on this machine only (loopback addresses) unless given
/// --allow-remote: its test controls under /_local/ have no authentication.
/// Scripts should use --listen 127.0.0.1:0 (free ports) and read the lines
/// printed. Give a client secret through VCR_LOCAL_CLIENT_SECRET rather than
/// --client-secret, which every user of the machine sees in the process list.
///
/// In a container (the image `make image` builds), it listens on 0.0.0.0 with
/// --allow-remote, and `vcr-local health` is the health check.
#[derive(Debug, Parser)]
#[command(name = "vcr-local", version)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,

    /// Address to listen on, a loopback one unless --allow-remote (port 0
    /// picks a free port: the way for scripts).
    #[arg(long, env = "VCR_LOCAL_LISTEN", default_value = local::DEFAULT_LISTEN)]
    listen: SocketAddr,

    /// Allow --listen, --registry-hcm and --registry-han to be addresses other
    /// machines can reach (0.0.0.0, a LAN address). Anyone who can reach them
    /// can then use the unauthenticated /_local/ controls; a warning names the
    /// real bind addresses.
    #[arg(long)]
    allow_remote: bool,

    /// A host name to answer to besides localhost and the listen addresses
    /// (repeat it, or give several separated by commas): the name clients use
    /// to reach vcr-local, such as a CI service's. Requests for any other name
    /// are refused, so that a web page on a name rebound to this machine
    /// cannot use vcr-local.
    #[arg(
        long = "allow-host",
        env = "VCR_LOCAL_ALLOW_HOSTS",
        value_name = "NAME",
        value_delimiter = ','
    )]
    allow_hosts: Vec<String>,
    /// The host name clients reach vcr-local by, when it is not the listen
    /// address: a container's service name, as `vcr-local`. The registries'
    /// token realm, their `registryUrl` and the printed settings use it (with
    /// the bound ports), so that docker's login follows the name it was given.
    #[arg(long, env = "VCR_LOCAL_PUBLIC_HOST", value_name = "HOST")]
    public_host: Option<String>,

    /// Where region HCM's Docker registry listens [default: the --listen host,
    /// port 5080, or a free port when --listen's port is 0].
    #[arg(long, env = "VCR_LOCAL_REGISTRY_HCM", value_name = "ADDR")]
    registry_hcm: Option<SocketAddr>,

    /// Where region HAN's Docker registry listens [default: the --listen host,
    /// port 5081, or a free port when --listen's port is 0].
    #[arg(long, env = "VCR_LOCAL_REGISTRY_HAN", value_name = "ADDR")]
    registry_han: Option<SocketAddr>,

    /// Keep the state (records and image blobs) in this directory, created
    /// private (0700) if missing and locked while this vcr-local runs; it
    /// survives a restart and a crash.
    #[arg(
        long,
        env = "VCR_LOCAL_DATA",
        value_name = "DIR",
        conflicts_with = "in_memory"
    )]
    data: Option<PathBuf>,

    /// Keep the state in memory only (the default when --data is not given).
    #[arg(long)]
    in_memory: bool,

    /// The account id, prefix of every backendName.
    #[arg(long, env = "VCR_LOCAL_ACCOUNT_ID", default_value_t = local::DEFAULT_ACCOUNT_ID)]
    account_id: u64,

    /// The IAM client id to accept.
    #[arg(long, env = "VCR_LOCAL_CLIENT_ID", default_value = local::DEFAULT_CLIENT_ID)]
    client_id: String,

    /// The IAM client secret to accept. Prefer setting VCR_LOCAL_CLIENT_SECRET:
    /// a command-line argument shows in the process list.
    #[arg(long, env = "VCR_LOCAL_CLIENT_SECRET", hide_env_values = true, default_value = local::DEFAULT_CLIENT_SECRET)]
    client_secret: String,

    /// How long an access token lives, in seconds.
    #[arg(long, env = "VCR_LOCAL_TOKEN_TTL", default_value_t = 1800, value_parser = clap::value_parser!(u64).range(1..))]
    token_ttl_secs: u64,

    /// How many bytes count as one GB of quota, for tests: vCR's 1073741824 (a GiB)
    /// unless given. With 1048576, a test fills a 1 GB quota with one MiB; every
    /// figure vcr-local reports (quotaUsed, the sizes in quota errors) is then in
    /// that unit. From 1024 to 1073741824.
    #[arg(long, env = "VCR_LOCAL_QUOTA_UNIT_BYTES", value_name = "BYTES", default_value_t = local::QuotaUnit::GIB.bytes(), value_parser = parse_quota_unit)]
    quota_unit_bytes: u64,
}

fn parse_quota_unit(text: &str) -> Result<u64, String> {
    let bytes: u64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number of bytes"))?;
    local::QuotaUnit::new(bytes).map(|_| bytes).ok_or_else(|| {
        format!(
            "{bytes} is outside {} to {}",
            local::QuotaUnit::MIN_BYTES,
            local::QuotaUnit::GIB.bytes()
        )
    })
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Asks the vcr-local listening at --listen (VCR_LOCAL_LISTEN) whether it
    /// serves: GET /_local/health on that port of this machine. Exits 0 when it
    /// answers 200, 1 otherwise (the reason on stderr), within 5 seconds: the
    /// health check of a container, whose image has no shell or curl.
    Health,
}

#[tokio::main]
async fn main() -> ExitCode {
    cap_malloc_arenas();
    let args = Args::parse();
    if let Some(Command::Health) = args.command {
        return match health(args.listen).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("vcr-local health: {e}");
                ExitCode::FAILURE
            }
        };
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();

    let config = LocalConfig {
        listen: args.listen,
        registry_hcm: args.registry_hcm,
        registry_han: args.registry_han,
        data_dir: if args.in_memory { None } else { args.data },
        account_id: args.account_id,
        client_id: args.client_id,
        client_secret: args.client_secret,
        token_ttl: Duration::from_secs(args.token_ttl_secs),
        allow_remote: args.allow_remote,
        limits: local::ConnectionLimits::default(),
        // The name clients are told to use is one the listeners answer to.
        allowed_hosts: args
            .allow_hosts
            .into_iter()
            .chain(args.public_host.clone())
            .collect(),
        public_host: args.public_host,
        quota_unit: local::QuotaUnit::new(args.quota_unit_bytes).expect("checked when parsed"),
    };
    let server = match local::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vcr-local: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(warning) = server.remote_warning() {
        eprintln!("vcr-local: {warning}");
    }
    {
        let mut out = std::io::stdout().lock();
        for (k, v) in server.settings() {
            let _ = writeln!(out, "{k}={v}");
        }
        let _ = out.flush();
    }

    wait_for_signal().await;
    tracing::info!("stopping");
    server.shutdown().await;
    ExitCode::SUCCESS
}

/// `GET /_local/health` from the vcr-local listening at `listen` (on this
/// machine: loopback for an unspecified address, as /_local/ wants).
async fn health(listen: SocketAddr) -> Result<(), String> {
    use axum::http::{header, Request};
    let ip = match listen.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let addr = SocketAddr::new(ip, listen.port());
    let ask = async {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| format!("{addr}: {e}"))?;
        tokio::spawn(conn);
        let request = Request::get("/_local/health")
            .header(header::HOST, addr.to_string())
            .body(axum::body::Body::empty())
            .map_err(|e| e.to_string())?;
        let answer = sender
            .send_request(request)
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        match answer.status().as_u16() {
            200 => Ok(()),
            status => Err(format!("http://{addr}/_local/health answered {status}")),
        }
    };
    tokio::time::timeout(Duration::from_secs(5), ask)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "http://{addr}/_local/health did not answer within 5 s"
            ))
        })
}

/// Returns on SIGINT (Ctrl-C) or, on Unix, SIGTERM.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Store work runs on whichever worker thread asks (`block_in_place`), and glibc gives
/// each thread that allocates at once an arena of its own that it keeps: with 16
/// registry clients that was a third more resident memory (BENCHMARKS.md, "The
/// registry beside distribution"). With two (the setting measured there), 16 clients
/// pushed and pulled at about the same ratios to distribution 2.8 (within that run's
/// noise) for 68 MiB instead of 92.
fn cap_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before the server starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
