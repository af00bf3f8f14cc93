//! The logic tier's binary: `logic --help` lists its commands and every setting it reads.

use anyhow::{Context, Result, bail};
use axum_server::accept::NoDelayAcceptor;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use clap::{Parser, Subcommand};
use logic::AppState;
use logic::config::{Listen, Settings};

/// What the log keeps unless `RUST_LOG` says otherwise.
const LOG_FILTER: &str = "info,sqlx=warn,tower_http=info";

/// Every setting, read from the environment (`config.rs`); the help prints them.
const ENVIRONMENT: &str = "\
Settings come from the environment:
  BANK_DATABASE_URL          the database (required; serve wants sslmode=verify-full with
                             sslrootcert); libpq's PG* variables fill what the URL leaves out
  BANK_LISTEN_ADDR           where to listen (127.0.0.1:8081)
  BANK_TLS_CERT_FILE         the certificate chain (PEM) the API is served over HTTPS with
  BANK_TLS_KEY_FILE          its private key (PEM); serve wants both
  BANK_DEV_PLAIN_HTTP=1      development only: with neither file set, serve plain HTTP and
                             accept a database URL that does not verify the server
  BANK_PATRONI_URLS          Patroni's REST APIs, comma-separated, for the cluster page (none:
                             the page shows no nodes)
  BANK_CA_FILE               the authority their certificates must come from (the system's
                             roots when unset)
  BANK_SECRETS_KEY_FILE      the server key that seals second-factor secrets and attests the
                             audit chain's checkpoints (required by serve, seed-demo and
                             seal-secrets; verify-ledger checks the checkpoints with it)
  BANK_AUDIT_ANCHOR_FILE     where this instance keeps the newest audit record it vouched for,
                             off the database, beside the other instances' (none: the
                             database's checkpoints alone)
  BANK_AUDIT_ANCHORS         verify-ledger: the directory of the instances' anchor files, each
                             held against the chain
  BANK_LOG_FORMAT            text (default) or json (a line written inside a trace begins with
                             its trace_id and span_id); RUST_LOG filters
                             (info,sqlx=warn,tower_http=info)
  OTEL_EXPORTER_OTLP_ENDPOINT
                             an OpenTelemetry collector (OTLP over HTTP, e.g. http://host:4318)
                             that each request's spans, and a span per SQL statement, are sent to
                             (nothing is sent when unset); OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
                             OTEL_SERVICE_NAME (bank-logic), OTEL_TRACES_SAMPLER (every trace) and
                             the other OTEL_* variables as OpenTelemetry defines them
  BANK_DB_CONNECTIONS_MAX    pool size (20); BANK_DB_ACQUIRE_TIMEOUT_MS (2000) and
                             BANK_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS (2000) bound its waits
  BANK_RETRY_BUDGET_MS       how long a request retries a failover (30000)
  BANK_SESSION_TTL_S         a session's lifetime (28800); BANK_SESSION_IDLE_S its idle limit (900)
  BANK_APPROVAL_TTL_S        how long an approval request waits for a supervisor (28800)
  BANK_SIGN_IN_UNKNOWN_DEVICE_CHECKS_PER_MINUTE
                             password checks a minute for sign-ins from devices the user has not
                             used before, per instance (300)
  BANK_STAFF_SECOND_FACTOR   required (default) or optional for staff
  BANK_GROUP_COMMIT          on (default) or off; BANK_GROUP_COMMIT_WINDOW_US (1000),
                             BANK_GROUP_COMMIT_MAX_BATCH (100), BANK_GROUP_COMMIT_WORKERS (1)

Exit status: 0 done (serve: drained after SIGTERM); 1 failed (the error says why; verify-ledger:
the ledger does not hold); 2 usage.";

/// The bank's business-logic tier: the REST API and its operations.
#[derive(Debug, Parser)]
#[command(name = "logic", version, after_help = ENVIRONMENT)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the API (the default)
    Serve,
    /// Bring the schema up to date (as the schema's owner)
    Migrate,
    /// Seed the demo bank unless it has users already
    SeedDemo,
    /// Register a calling service and print its credential, once
    CreateServiceKey {
        /// The service's name
        name: String,
    },
    /// Seal second-factor secrets stored in the clear under the server key
    /// (BANK_SECRETS_KEY_FILE)
    SealSecrets,
    /// Check the audit chain and the ledger end to end, offline; exits 1 and says where if
    /// anything does not hold
    VerifyLedger,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let settings = Settings::from_env()?;
    // The offline check reads whole tables on purpose: sqlx's warnings of slow statements would
    // only bury its report.
    let filter = match cli.command {
        Some(Command::VerifyLedger) => "warn,sqlx=error",
        _ => LOG_FILTER,
    };
    let _telemetry = bank_api::telemetry::init("bank-logic", settings.log_json, filter)?;
    let pool = data::pool::connect_lazy(settings.database_url.expose(), &settings.database)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(pool, settings).await,
        Command::Migrate => {
            data::pool::migrate(&pool).await.context("migrate")?;
            println!("schema is up to date");
            Ok(())
        }
        Command::SeedDemo => {
            // Run after `migrate`, by the migration owner; this runs as the runtime role.
            let state = AppState::new(pool, settings).await?;
            if logic::seed::seed_demo(&state).await? {
                println!("seeded the demo bank");
            } else {
                println!("the database already has users; left it as it is");
            }
            Ok(())
        }
        Command::CreateServiceKey { name } => {
            let key = logic::auth::secrets::generate("bsk");
            let id = uuid::Uuid::now_v7();
            // The credential and its audit record commit together: no key the log does not name.
            let mut tx = pool.begin().await?;
            data::sessions::insert_service_client(
                &mut tx,
                id,
                &name,
                &logic::auth::secrets::digest(&key),
            )
            .await
            .with_context(|| format!("register service {name}"))?;
            // An operator's act at the command line, not the logic tier's own: the audit record
            // names the command and the operating-system user who ran it.
            let who = std::env::var("SUDO_USER")
                .or_else(|_| std::env::var("USER"))
                .unwrap_or_default();
            data::audit::append(
                &mut tx,
                &data::audit::NewAuditRecord {
                    actor_user_id: None,
                    actor_service: Some("logic create-service-key"),
                    action: "service_client.create",
                    subject_type: "service_client",
                    subject_id: id.to_string(),
                    before: None,
                    after: Some(serde_json::json!({
                        "name": name,
                        "acts_for_users": true,
                        "os_user": who,
                    })),
                    request_id: None,
                },
            )
            .await
            .context("audit the new credential")?;
            tx.commit().await?;
            println!("{key}");
            Ok(())
        }
        Command::SealSecrets => {
            let state = AppState::new(pool, settings).await?;
            let sealed = logic::security::seal_unsealed_secrets(&state)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("sealed the second-factor secrets of {sealed} users stored in the clear");
            Ok(())
        }
        Command::VerifyLedger => {
            if !data::pool::verifies_server(settings.database_url.expose()) {
                eprintln!(
                    "warning: the database's certificate is not checked (the URL does not ask for \
                     sslmode=verify-full): whoever answers in its place could show a ledger that \
                     verifies"
                );
            }
            let key = settings
                .server_key_file
                .as_deref()
                .map(logic::auth::server_key::ServerKey::from_file)
                .transpose()?;
            let anchors = match std::env::var_os("BANK_AUDIT_ANCHORS") {
                Some(dir) => logic::audit::read_anchors(std::path::Path::new(&dir))
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
                None => Vec::new(),
            };
            verify_ledger(&pool, key.as_ref(), &anchors).await
        }
    }
}

async fn verify_ledger(
    pool: &data::PgPool,
    key: Option<&logic::auth::server_key::ServerKey>,
    anchors: &[logic::audit::Vouched],
) -> Result<()> {
    // One snapshot: a checkpoint the janitor takes meanwhile is not read against an older chain.
    let mut snapshot = pool.begin().await.context("connect to the database")?;
    data::set_snapshot_isolation(&mut snapshot)
        .await
        .context("read the ledger")?;
    let report = logic::audit::verify_ledger(&mut snapshot, key, anchors)
        .await
        .context("read the ledger")?;
    snapshot.rollback().await.context("read the ledger")?;
    println!("audit records checked: {}", report.audit_records_checked);
    match report.audit_chain_broken_at {
        None => println!("audit chain: intact"),
        Some(id) => println!("audit chain: BROKEN at record {id}"),
    }
    match (report.audit_anchored_through, report.audit_anchored_at) {
        (Some(id), Some(at)) => println!(
            "audit chain: anchored through record {id} by a checkpoint taken {}; {} records since",
            at.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
            report.audit_records_unanchored
        ),
        _ => println!(
            "audit chain: no checkpoint vouches for any record yet ({} records)",
            report.audit_records_unanchored
        ),
    }
    if report.audit_checkpoints_authenticated {
        println!("audit chain: every checkpoint's HMAC checked under the server key");
    } else {
        println!(
            "audit chain: checkpoints held against the chain only; their HMACs were not checked \
             (BANK_SECRETS_KEY_FILE names the server key)"
        );
    }
    for id in &report.audit_checkpoints_failed {
        println!(
            "audit chain: CHECKPOINT OF RECORD {id} DOES NOT HOLD (forged, naming a record the \
             chain lacks, or contradicted by a record rewritten after it)"
        );
    }
    let unlisted =
        report.audit_checkpoints_failed_count - report.audit_checkpoints_failed.len() as i64;
    if unlisted > 0 {
        println!("audit chain: {unlisted} MORE CHECKPOINTS DO NOT HOLD");
    }
    for id in &report.audit_checkpoints_contradicted {
        println!(
            "audit chain: RECORD {id} WAS REWRITTEN after the bank vouched for it (its checkpoint \
             under the server key no longer matches)"
        );
    }
    match report.audit_anchors_checked {
        0 => println!(
            "audit chain: no instance's anchor held against it (BANK_AUDIT_ANCHORS names their \
             directory)"
        ),
        n => println!(
            "audit chain: {} of {n} instances' anchors, kept off the database, name records as \
             they are",
            n - report.audit_anchors_failed.len() as i64
        ),
    }
    for name in &report.audit_anchors_failed {
        println!(
            "audit chain: THE ANCHOR OF {name} NAMES A RECORD THE CHAIN NO LONGER HAS AS IT WAS \
             (rewritten or removed after it was vouched for)"
        );
    }
    if report.transfers_unbalanced.is_empty() {
        println!("transfers: every transfer's entries are its two legs and sum to zero");
    }
    for id in &report.transfers_unbalanced {
        println!(
            "transfers: ENTRIES DO NOT MATCH transfer {id} (they do not balance, are not its two \
             legs, or it is missing)"
        );
    }
    if report.accounts_mismatched.is_empty() {
        println!(
            "balances: every balance equals the sum of its entries, none below its floor, and \
             every entry states the balance after it"
        );
    }
    for number in &report.accounts_mismatched {
        println!(
            "balances: MISMATCH on account {number} (its balance, its floor or an entry's balance \
             after it)"
        );
    }
    if report.feed_misreported.is_empty() {
        println!(
            "event feed: every transfer and pending transfer has its events, which say what it \
             did, and every event is one the bank wrote"
        );
    }
    for id in &report.feed_misreported {
        println!(
            "event feed: MISREPORTS {id} (a transfer or pending transfer with no event, more \
             than one, or one that says otherwise; or an event the bank did not write)"
        );
    }
    match report.feed_positions_missing {
        0 => println!("event feed: positions follow one another with no gap"),
        n => println!(
            "event feed: {n} POSITIONS MISSING (a reader resuming after one may miss events)"
        ),
    }
    if report.intact {
        println!("ledger verified");
        Ok(())
    } else {
        println!("ledger NOT verified");
        std::process::exit(1);
    }
}

async fn serve(pool: data::PgPool, settings: Settings) -> Result<()> {
    let addr = settings.listen_addr;
    let listen = settings.listen.clone();
    if listen == Listen::Unconfigured {
        bail!(
            "BANK_TLS_CERT_FILE and BANK_TLS_KEY_FILE are not set: the API is served over HTTPS \
             only (BANK_DEV_PLAIN_HTTP=1 serves plain HTTP, for development)"
        );
    }
    if listen != Listen::PlainHttpForDevelopment
        && !data::pool::verifies_server(settings.database_url.expose())
    {
        bail!(
            "BANK_DATABASE_URL must ask for sslmode=verify-full (with sslrootcert): the database \
             is reached over TLS with its certificate checked (BANK_DEV_PLAIN_HTTP=1 allows \
             otherwise, for development)"
        );
    }
    let state = AppState::new(pool, settings).await?;
    logic::janitor::spawn(state.clone());
    let app = logic::router(state).into_make_service();
    let handle = axum_server::Handle::new();
    tokio::spawn(drain_on_signal(handle.clone()));
    match listen {
        Listen::Https {
            cert_file,
            key_file,
        } => {
            let tls = RustlsConfig::from_pem_file(&cert_file, &key_file)
                .await
                .with_context(|| {
                    format!("read {} and {}", cert_file.display(), key_file.display())
                })?;
            tracing::info!(%addr, "logic tier listening (HTTPS)");
            // Answers leave as soon as they are written (TCP_NODELAY): an answer longer than one TLS
            // record (a batch's) would otherwise wait up to 40 ms for the balancer's acknowledgement.
            axum_server::bind(addr)
                .acceptor(RustlsAcceptor::new(tls).acceptor(NoDelayAcceptor::new()))
                .handle(handle)
                .serve(app)
                .await
                .with_context(|| format!("serve on {addr}"))?;
        }
        Listen::PlainHttpForDevelopment => {
            tracing::warn!(%addr, "logic tier listening over plain HTTP (development only)");
            axum_server::bind(addr)
                .acceptor(NoDelayAcceptor::new())
                .handle(handle)
                .serve(app)
                .await
                .with_context(|| format!("serve on {addr}"))?;
        }
        Listen::Unconfigured => unreachable!("refused above"),
    }
    tracing::info!("drained; exiting");
    Ok(())
}

/// On SIGTERM or Ctrl-C the server stops accepting and drains in-flight requests (up to 30 s,
/// the retry budget of a request).
async fn drain_on_signal(handle: axum_server::Handle<std::net::SocketAddr>) {
    shutdown_signal().await;
    handle.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutdown requested; draining");
}
