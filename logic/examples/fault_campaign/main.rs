//! The fault campaign's clients, nemesis and checker (driven by `deploy/local/fault-campaign`,
//! which builds a throwaway topology for it).
//!
//! Clients move money between the accounts of one customer through the API with an API key,
//! each transfer under its own Idempotency-Key, retried with that key until the bank gives a
//! definite answer or the client gives up; readers read every account in one request (one
//! snapshot) all the time; a seeded nemesis breaks one thing at a time, in a random order, at
//! random times, through `deploy/local/nemesis`. After the last fault is healed the checker asks
//! the bank what became of every operation (see `history.rs`) and prints the verdict.
//!
//! ```text
//! fault_campaign setup --url U --service-key K --out BANK.json
//! fault_campaign run --url U --portal-url P --bank BANK.json --nemesis deploy/local/nemesis \
//!     [--seed N] [--seconds S] [--faults kind,kind,...] [--count N] --history FILE.jsonl
//! ```
//! `run` exits 1 if a guarantee did not hold.

// A test driver panics on setup failures: there is nothing to recover.
#![allow(
    clippy::unwrap_used,
    reason = "an operator's campaign stops at the first broken setup step, with its message"
)]

mod history;
#[path = "../../tools/staff_sign_in.rs"]
mod staff_sign_in;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use history::{FaultRecord, Operation, Outcome, Posted, SnapshotRead};

/// Accounts the clients move money between.
const ACCOUNTS: usize = 8;
/// Money put into each account at the start: little enough that transfers of up to 20.00 drain
/// accounts now and then, so refusals (insufficient funds) happen and are checked too.
const OPENING_BALANCE: &str = "200.00";
/// How long one attempt may take: longer than HAProxy's server timeout for the API (45 s), so
/// the balancer, not the client, ends an attempt that hangs.
const ATTEMPT_TIMEOUT_MS: u64 = 50_000;
/// How long a client keeps retrying one transfer (same key) before it records it as unknown.
const OPERATION_BUDGET_MS: u64 = 60_000;
/// Pause between two attempts of one transfer.
const RETRY_PAUSE_MS: u64 = 200;

#[derive(Parser)]
#[command(about = "The fault campaign: clients, a seeded nemesis and a history checker")]
struct Cli {
    /// The certificate authority (PEM) the API's and the portal's certificates must come from.
    #[arg(long, global = true)]
    ca_file: Option<PathBuf>,
    #[command(subcommand)]
    command: Commands,
}

/// A client that trusts only the authority in `ca_file` (the deployment's own), when given.
fn http_client(ca_file: Option<&std::path::Path>) -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder();
    match ca_file {
        Some(file) => {
            let pem = std::fs::read(file).unwrap();
            builder.tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        }
        None => builder,
    }
}

#[derive(Subcommand)]
enum Commands {
    /// Creates the campaign's customer with funded accounts and an API key; writes them to --out.
    Setup {
        #[arg(long)]
        url: String,
        /// The operator's service credential (`.run/secrets/cli.key`), for the staff sign-ins.
        #[arg(long)]
        service_key: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Runs the clients and the nemesis, then checks the history.
    Run(RunArgs),
}

#[derive(clap::Args, Clone)]
struct RunArgs {
    /// The API through its load balancer.
    #[arg(long)]
    url: String,
    /// The portal through its load balancer (a prober reads it during the faults).
    #[arg(long)]
    portal_url: String,
    #[arg(long)]
    bank: PathBuf,
    /// The command that injects and heals faults: `NEMESIS inject KIND`, `NEMESIS heal KIND`
    /// (which heals every fault), `NEMESIS wait-healthy`.
    #[arg(long)]
    nemesis: PathBuf,
    /// The seed of the nemesis's choices; printed, so a run can be replayed.
    #[arg(long)]
    seed: Option<u64>,
    /// Time after which no new fault starts.
    #[arg(long, default_value_t = 300)]
    seconds: u64,
    /// The kinds of fault to choose from (default: every kind this topology supports).
    #[arg(long, value_delimiter = ',')]
    faults: Vec<String>,
    /// Stop after this many faults, even with time left.
    #[arg(long)]
    count: Option<usize>,
    /// Clients doing transfers.
    #[arg(long, default_value_t = 12)]
    clients: usize,
    /// Readers reading every account in one request.
    #[arg(long, default_value_t = 2)]
    readers: usize,
    /// Where the history goes, one JSON object a line.
    #[arg(long)]
    history: PathBuf,
    /// Where the acknowledged transfers go (key, transfer id, amount; CSV), for a check straight
    /// against the ledger's tables.
    #[arg(long)]
    acknowledged: PathBuf,
    /// Whether the topology can cut a node off the network (database nodes in namespaces).
    #[arg(long)]
    partitions: bool,
}

/// Every kind of fault, with how long it is held before it is healed (0: a kill or a switchover,
/// healed by the supervisor or by Patroni itself).
const FAULTS: &[(&str, u64)] = &[
    ("switchover", 0),
    ("primary-kill", 0),
    // Longer than Patroni's ttl (20 s): another node takes over while this one is stopped.
    ("primary-pause", 30),
    ("primary-partition", 30),
    ("sync-standby-kill", 0),
    ("sync-standby-pause", 15),
    ("replicas-kill", 0),
    ("etcd-member-kill", 0),
    ("etcd-member-pause", 15),
    ("etcd-leader-kill", 0),
    ("etcd-leader-pause", 15),
    // Two of three members: no quorum, so writes stop until they return; nothing may be lost.
    ("etcd-quorum-loss", 15),
    ("logic-kill", 0),
    ("logic-freeze", 20),
    ("portal-kill", 0),
    ("portal-freeze", 20),
    ("haproxy-kill", 0),
];

struct Api {
    http: reqwest::Client,
    url: String,
    key: String,
}

impl Api {
    fn new(url: &str, key: &str, ca_file: Option<&std::path::Path>) -> Self {
        Self {
            http: http_client(ca_file)
                .timeout(Duration::from_millis(ATTEMPT_TIMEOUT_MS))
                .build()
                .unwrap(),
            url: url.trim_end_matches('/').to_owned(),
            key: key.to_owned(),
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        idem: Option<&str>,
    ) -> Result<(u16, Value), String> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.url))
            .header("x-api-key", &self.key);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(key) = idem {
            request = request.header("idempotency-key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| error_chain(&e))?;
        let status = response.status().as_u16();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// A call that must succeed with `want`, retried through faults (for setup and checks).
    async fn must(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        idem: Option<&str>,
        want: &[u16],
    ) -> Value {
        let mut last = String::new();
        for _ in 0..300 {
            match self.call(method.clone(), path, token, body, idem).await {
                Ok((status, body)) if want.contains(&status) => return body,
                Ok((status, body)) if status < 500 => panic!("{method} {path}: {status} {body}"),
                Ok((status, body)) => last = format!("{status} {body}"),
                Err(error) => last = error,
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!("{method} {path}: no answer: {last}")
    }

    /// Signs a member of staff in, enrolling their second factor at the first sign-in (its
    /// secret kept beside the campaign's other state) and answering its challenge after.
    async fn sign_in(
        &self,
        username: &str,
        password: &str,
        secrets_dir: &std::path::Path,
    ) -> String {
        staff_sign_in::sign_in(
            &self.http,
            &self.url,
            &self.key,
            (username, password),
            secrets_dir,
        )
        .await
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let ca_file = cli.ca_file.as_deref();
    match cli.command {
        Commands::Setup {
            url,
            service_key,
            out,
        } => setup(&Api::new(&url, &service_key, ca_file), &out).await,
        Commands::Run(args) => {
            if !run(args, ca_file).await {
                std::process::exit(1);
            }
        }
    }
}

async fn setup(api: &Api, out: &PathBuf) {
    use reqwest::Method;
    let secrets = out
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join("secrets/totp");
    let teller = api
        .sign_in("tom.teller", "teller-demo-pass", &secrets)
        .await;
    let admin = api.sign_in("ada.admin", "admin-demo-pass", &secrets).await;
    // The admin's cluster page shows the real cluster: three nodes, one primary, a synchronous
    // standby.
    let cluster = api
        .must(
            Method::GET,
            "/v1/admin/cluster",
            Some(&admin),
            None,
            None,
            &[200],
        )
        .await;
    let members = cluster["members"].as_array().cloned().unwrap_or_default();
    let shown: Vec<String> = members
        .iter()
        .map(|m| format!("{} {} {}", m["name"], m["role"], m["state"]).replace('"', ""))
        .collect();
    println!("cluster page: {}", shown.join(", "));
    let primaries = members.iter().filter(|m| m["role"] == "primary").count();
    assert!(
        members.len() == 3 && primaries == 1 && members.iter().any(|m| m["role"] == "sync_standby"),
        "the cluster page does not show one primary, a synchronous standby and three nodes: {members:?}"
    );
    let run = uuid::Uuid::new_v4().simple().to_string();
    let customer = api
        .must(
            Method::POST,
            "/v1/customers",
            Some(&teller),
            Some(&json!({
                "full_name": "Campaign Customer",
                "email": format!("campaign-{}@example.org", &run[..12]),
                "date_of_birth": "1985-06-15",
                "address": "1 Campaign Road, Leeds LS1 1AA",
                "id_document": format!("C-{}", run[..12].to_uppercase()),
                "id_document_kind": "passport",
                "id_document_country": "GB",
                "id_document_expires": "2036-12-31",
            })),
            None,
            &[201],
        )
        .await;
    // Cash is paid in at the teller's drawer: open it (empty) unless it is open already.
    api.must(
        Method::POST,
        "/v1/drawers",
        Some(&teller),
        Some(&json!({ "currency": "EUR", "opening_float": "0" })),
        Some(&format!("campaign-{run}-drawer")),
        &[201, 409],
    )
    .await;
    let mut accounts = Vec::new();
    for n in 0..ACCOUNTS {
        let account = api
            .must(
                Method::POST,
                "/v1/accounts",
                Some(&teller),
                Some(&json!({ "customer_id": customer["id"], "product": "current", "currency": "EUR" })),
                None,
                &[201],
            )
            .await;
        let number = account["number"].as_str().unwrap().to_owned();
        api.must(
            Method::POST,
            "/v1/cash/deposits",
            Some(&teller),
            Some(&json!({ "account": number, "amount": OPENING_BALANCE, "currency": "EUR" })),
            Some(&format!("campaign-{run}-deposit-{n}")),
            &[201],
        )
        .await;
        accounts.push(number);
    }
    let key = api
        .must(
            Method::POST,
            "/v1/admin/api-keys",
            Some(&admin),
            Some(&json!({
                "name": format!("campaign-{}", &run[..8]),
                "scopes": ["accounts:read", "transfers:read", "transfers:write"],
                "rate_limit_per_minute": 100_000,
            })),
            None,
            &[201],
        )
        .await;
    let bank = json!({
        "customer_id": customer["id"],
        "accounts": accounts,
        "api_key": key["secret"],
    });
    std::fs::write(out, serde_json::to_vec_pretty(&bank).unwrap()).unwrap();
    println!(
        "customer {} with {ACCOUNTS} accounts of {OPENING_BALANCE} EUR",
        customer["id"]
    );
}

/// Everything the clients, readers and nemesis recorded.
#[derive(Default)]
struct Recorded {
    operations: Vec<Operation>,
    reads: Vec<SnapshotRead>,
    read_errors: usize,
    faults: Vec<FaultRecord>,
    portal_ok_ms: Vec<u64>,
}

struct Campaign {
    api: Api,
    portal: reqwest::Client,
    portal_url: String,
    customer_id: String,
    accounts: Vec<String>,
    started: Instant,
    stop: AtomicBool,
    recorded: Mutex<Recorded>,
}

impl Campaign {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Every account of the customer in one request: one snapshot.
    async fn read_all(&self) -> Result<Vec<Decimal>, String> {
        let (status, body) = self
            .api
            .call(
                reqwest::Method::GET,
                &format!("/v1/accounts?customer_id={}&limit=100", self.customer_id),
                None,
                None,
                None,
            )
            .await?;
        if status != 200 {
            return Err(format!("{status} {body}"));
        }
        let by_number: HashMap<&str, Decimal> = body["accounts"]
            .as_array()
            .ok_or("no accounts in the answer")?
            .iter()
            .map(|a| {
                (
                    a["number"].as_str().unwrap_or(""),
                    a["ledger_balance"]
                        .as_str()
                        .unwrap_or("x")
                        .parse()
                        .unwrap_or(Decimal::MIN),
                )
            })
            .collect();
        Ok(self
            .accounts
            .iter()
            .filter_map(|n| by_number.get(n.as_str()).copied())
            .collect())
    }
}

async fn run(args: RunArgs, ca_file: Option<&std::path::Path>) -> bool {
    let bank: Value = serde_json::from_slice(&std::fs::read(&args.bank).unwrap()).unwrap();
    let seed = args.seed.unwrap_or_else(rand::random);
    println!("seed {seed} (replay with --seed {seed})");
    let campaign = Arc::new(Campaign {
        api: Api::new(&args.url, bank["api_key"].as_str().unwrap(), ca_file),
        portal: http_client(ca_file)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
        portal_url: args.portal_url.trim_end_matches('/').to_owned(),
        customer_id: bank["customer_id"].as_str().unwrap().to_owned(),
        accounts: bank["accounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect(),
        started: Instant::now(),
        stop: AtomicBool::new(false),
        recorded: Mutex::new(Recorded::default()),
    });
    let opening = campaign.read_all().await.unwrap();
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();

    let mut tasks = Vec::new();
    for client in 0..args.clients {
        let campaign = campaign.clone();
        let run_id = run_id.clone();
        tasks.push(tokio::spawn(async move {
            writer(&campaign, client, &run_id, seed).await;
        }));
    }
    for reader in 0..args.readers {
        let campaign = campaign.clone();
        tasks.push(tokio::spawn(async move {
            snapshot_reader(&campaign, reader).await;
        }));
    }
    {
        let campaign = campaign.clone();
        tasks.push(tokio::spawn(async move {
            portal_prober(&campaign).await;
        }));
    }

    let kinds: Vec<(&'static str, u64)> = FAULTS
        .iter()
        .copied()
        .filter(|(kind, _)| args.faults.is_empty() || args.faults.iter().any(|f| f == kind))
        .filter(|(kind, _)| args.partitions || *kind != "primary-partition")
        .collect();
    assert!(!kinds.is_empty(), "no fault kind to choose from");
    nemesis(&campaign, &args, &kinds, seed).await;
    // Let the clients see the healed topology for a while, then stop them.
    tokio::time::sleep(Duration::from_secs(5)).await;
    campaign.stop.store(true, Ordering::SeqCst);
    for task in tasks {
        task.await.unwrap();
    }
    // No attempt a client abandoned may still be on its way when the bank is asked.
    let args_quiet = args.clone();
    tokio::task::spawn_blocking(move || nemesis_command(&args_quiet, &["wait-quiet"], 0))
        .await
        .unwrap();
    check_history(&campaign, &args, &opening).await
}

/// One client: transfers between random accounts, each under its own key, retried with that
/// key until the bank answers definitely or the operation's budget is spent.
async fn writer(campaign: &Campaign, client: usize, run_id: &str, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed ^ (client as u64 + 1).wrapping_mul(0x9E37_79B9));
    let mut n = 0u64;
    while !campaign.stop.load(Ordering::SeqCst) {
        let debit = rng.random_range(0..ACCOUNTS);
        let credit = (debit + rng.random_range(1..ACCOUNTS)) % ACCOUNTS;
        let amount = Decimal::new(rng.random_range(1..=2_000), 2);
        let key = format!("campaign-{run_id}-{client}-{n}");
        n += 1;
        let body = json!({
            "debit_account": campaign.accounts[debit],
            "credit_account": campaign.accounts[credit],
            "amount": amount.to_string(),
            "currency": "EUR",
            // The key again, so a transfer posted twice under two keys would show in the ledger.
            "memo": key,
        });
        let sent_ms = campaign.now_ms();
        let mut attempts = 0;
        let outcome = loop {
            attempts += 1;
            let answer = campaign
                .api
                .call(
                    reqwest::Method::POST,
                    "/v1/transfers",
                    None,
                    Some(&body),
                    Some(&key),
                )
                .await;
            let last_error = match answer {
                Ok((200 | 201, body)) => {
                    break Outcome::Ok {
                        transfer_id: body["id"].as_str().unwrap_or("").to_owned(),
                    };
                }
                Ok((status, body))
                    if (400..500).contains(&status) && status != 408 && status != 429 =>
                {
                    break Outcome::Refused {
                        status,
                        code: body["code"].as_str().unwrap_or("").to_owned(),
                    };
                }
                Ok((status, body)) => format!("{status} {}", body["code"].as_str().unwrap_or("")),
                Err(error) => error,
            };
            if campaign.now_ms() - sent_ms > OPERATION_BUDGET_MS {
                break Outcome::Unknown { last_error };
            }
            tokio::time::sleep(Duration::from_millis(RETRY_PAUSE_MS)).await;
        };
        let answered_ms = campaign.now_ms();
        campaign
            .recorded
            .lock()
            .unwrap()
            .operations
            .push(Operation {
                client,
                key,
                debit,
                credit,
                amount,
                sent_ms,
                answered_ms,
                attempts,
                outcome,
            });
    }
}

async fn snapshot_reader(campaign: &Campaign, reader: usize) {
    while !campaign.stop.load(Ordering::SeqCst) {
        let answer = campaign.read_all().await;
        let at_ms = campaign.now_ms();
        {
            let mut recorded = campaign.recorded.lock().unwrap();
            match answer {
                Ok(balances) => recorded.reads.push(SnapshotRead {
                    reader,
                    at_ms,
                    balances,
                }),
                Err(_) => recorded.read_errors += 1,
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Loads a portal page that needs the logic tier behind it, to see the portal's own gaps.
async fn portal_prober(campaign: &Campaign) {
    while !campaign.stop.load(Ordering::SeqCst) {
        let ok = campaign
            .portal
            .get(format!("{}/readyz", campaign.portal_url))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok {
            let at = campaign.now_ms();
            campaign.recorded.lock().unwrap().portal_ok_ms.push(at);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn nemesis_command(args: &RunArgs, action: &[&str], seed: u64) -> String {
    let output = Command::new(&args.nemesis)
        .args(action)
        .env("NEMESIS_SEED", (seed % 32_768).to_string())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", args.nemesis.display()));
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(
        output.status.success(),
        "nemesis {action:?} failed: {stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Injects faults one at a time in a random order (every kind once per round, shuffled), with a
/// random quiet time before each, holds each for its time, heals it and waits for the whole
/// topology to be healthy before the next.
async fn nemesis(
    campaign: &Arc<Campaign>,
    args: &RunArgs,
    kinds: &[(&'static str, u64)],
    seed: u64,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut round: Vec<(&'static str, u64)> = Vec::new();
    let mut done = 0;
    loop {
        if args.count.is_some_and(|count| done >= count)
            || campaign.started.elapsed() >= Duration::from_secs(args.seconds)
        {
            break;
        }
        if round.is_empty() {
            round = kinds.to_vec();
            round.shuffle(&mut rng);
        }
        let (kind, hold_s) = round.pop().unwrap();
        let quiet_ms = rng.random_range(3_000..8_000);
        tokio::time::sleep(Duration::from_millis(quiet_ms)).await;
        let started_ms = campaign.now_ms();
        let args_inject = args.clone();
        let fault_seed = rng.random::<u64>();
        let target = tokio::task::spawn_blocking(move || {
            nemesis_command(&args_inject, &["inject", kind], fault_seed)
        })
        .await
        .unwrap();
        println!("{:>7} s  {kind}: {target}", seconds(started_ms));
        tokio::time::sleep(Duration::from_secs(hold_s)).await;
        let args_heal = args.clone();
        tokio::task::spawn_blocking(move || nemesis_command(&args_heal, &["heal", kind], 0))
            .await
            .unwrap();
        let healed_ms = campaign.now_ms();
        let args_wait = args.clone();
        tokio::task::spawn_blocking(move || nemesis_command(&args_wait, &["wait-healthy"], 0))
            .await
            .unwrap();
        let recovered_ms = campaign.now_ms();
        println!(
            "{:>7} s  {kind}: healed after {} s, whole and healthy again {} s later",
            seconds(recovered_ms),
            seconds(healed_ms - started_ms),
            seconds(recovered_ms - healed_ms)
        );
        campaign.recorded.lock().unwrap().faults.push(FaultRecord {
            kind: kind.to_owned(),
            target,
            started_ms,
            healed_ms,
            recovered_ms,
        });
        done += 1;
    }
}

/// After the faults: what became of every operation, by its key; the history to a file; the
/// verdict.
async fn check_history(campaign: &Campaign, args: &RunArgs, opening: &[Decimal]) -> bool {
    let recorded = std::mem::take(&mut *campaign.recorded.lock().unwrap());
    let closing = campaign.read_all().await.unwrap();
    let mut posted: HashMap<String, Option<Posted>> = HashMap::new();
    // Ask in parallel, a few at a time.
    let keys: Vec<&str> = recorded
        .operations
        .iter()
        .map(|op| op.key.as_str())
        .collect();
    for chunk in keys.chunks(16) {
        let answers = futures::future::join_all(chunk.iter().map(|key| async move {
            let body = campaign
                .api
                .must(
                    reqwest::Method::GET,
                    &format!("/v1/transfers?idempotency_key={key}"),
                    None,
                    None,
                    None,
                    &[200, 404],
                )
                .await;
            let found = body["id"].as_str().map(|id| Posted {
                transfer_id: id.to_owned(),
                amount: body["amount"]
                    .as_str()
                    .unwrap_or("0")
                    .parse()
                    .unwrap_or_default(),
            });
            ((*key).to_owned(), found)
        }))
        .await;
        posted.extend(answers);
    }
    let verdict = history::check(
        &recorded.operations,
        &recorded.reads,
        &posted,
        opening,
        &closing,
    );
    let gaps = history::write_gaps_ms(&history::ack_times(&recorded.operations), &recorded.faults);
    let mut portal_ok_ms = recorded.portal_ok_ms.clone();
    portal_ok_ms.sort_unstable();
    let portal_gaps = history::write_gaps_ms(&portal_ok_ms, &recorded.faults);
    write_history(&args.history, &recorded);
    write_acknowledged(&args.acknowledged, &recorded.operations);

    let errors_seen: usize = recorded
        .operations
        .iter()
        .map(|op| op.attempts as usize - 1)
        .sum();
    println!();
    println!(
        "faults: {} ({})",
        recorded.faults.len(),
        summarise_kinds(&recorded.faults)
    );
    println!(
        "operations: {} acknowledged, {} lost, {} wrong, {} refused with a definite 4xx, such as insufficient funds ({} of them posted), {} unknown ({} of them posted once, {} not posted); {} attempts retried",
        verdict.acknowledged,
        verdict.lost.len(),
        verdict.wrong.len(),
        verdict.refused,
        verdict.refused_but_applied.len(),
        verdict.unknown,
        verdict.unknown_applied,
        verdict.unknown - verdict.unknown_applied,
        errors_seen,
    );
    println!(
        "snapshot reads: {} checked, {} bad, {} failed to answer",
        verdict.reads_checked,
        verdict.bad_reads.len(),
        recorded.read_errors
    );
    println!(
        "balances: {}",
        if verdict.balance_mismatches.is_empty() {
            "every closing balance is its opening balance plus exactly the transfers posted"
        } else {
            "MISMATCH"
        }
    );
    println!("longest write gap per fault kind (API transfers / portal pages):");
    for (kind, gap) in &gaps {
        println!(
            "  {kind:<20} {:>6} s / {:>6} s",
            seconds(*gap),
            seconds(portal_gaps.get(kind).copied().unwrap_or(0))
        );
    }
    for problem in verdict
        .lost
        .iter()
        .map(|p| format!("LOST {p}"))
        .chain(verdict.wrong.iter().map(|p| format!("WRONG {p}")))
        .chain(
            verdict
                .refused_but_applied
                .iter()
                .map(|p| format!("REFUSED BUT POSTED {p}")),
        )
        .chain(verdict.bad_reads.iter().map(|p| format!("BAD READ {p}")))
        .chain(
            verdict
                .balance_mismatches
                .iter()
                .map(|p| format!("BALANCE {p}")),
        )
        .take(50)
    {
        println!("  {problem}");
    }
    // A run in which nothing was acknowledged, or nothing refused, checked too little.
    let holds = verdict.holds() && verdict.acknowledged > 0 && verdict.refused > 0;
    println!(
        "verdict: {}",
        if holds {
            "every guarantee held"
        } else {
            "A GUARANTEE DID NOT HOLD"
        }
    );
    holds
}

/// Milliseconds as seconds with one decimal, for people.
fn seconds(ms: u64) -> String {
    format!("{}.{}", ms / 1000, ms % 1000 / 100)
}

fn summarise_kinds(faults: &[FaultRecord]) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for fault in faults {
        *counts.entry(fault.kind.as_str()).or_default() += 1;
    }
    counts
        .iter()
        .map(|(kind, n)| format!("{kind} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_acknowledged(path: &PathBuf, operations: &[Operation]) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for op in operations {
        if let Outcome::Ok { transfer_id } = &op.outcome {
            writeln!(file, "{},{transfer_id},{}", op.key, op.amount).unwrap();
        }
    }
}

fn write_history(path: &PathBuf, recorded: &Recorded) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for fault in &recorded.faults {
        writeln!(file, "{}", json!({ "fault": fault })).unwrap();
    }
    for op in &recorded.operations {
        writeln!(file, "{}", json!({ "operation": op })).unwrap();
    }
    for read in &recorded.reads {
        writeln!(file, "{}", json!({ "read": read })).unwrap();
    }
}
