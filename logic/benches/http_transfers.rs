//! Load generator for `deploy/local/bench`: concurrent clients moving money through the logic
//! tier's HTTP API for a fixed time each run, then transfers/s and latency percentiles.
//!
//! ```text
//! cargo bench -p logic --bench http_transfers -- --url https://127.0.0.1:8081 \
//!     --service-key bsk_… [--sweep 1,4,16,64] [--seconds 20] [--hot-clients 16] \
//!     [--batch-clients 4] [--batch-size 100]
//! ```
//! It signs in as the demo teller, onboards `--customers` customers of its own (10 unless told)
//! with ten funded accounts each, and runs, one after the other:
//! - `uniform`, once per client count of the sweep: each transfer is a random customer's,
//!   between a random pair of that customer's accounts: two of a hundred accounts locked per
//!   transfer (a transfer between one customer's own accounts counts against no daily limit),
//!   less contended than TPC-B at scale 10, where every transaction updates one of ten branches;
//! - `hot` (unless `--hot-clients 0`): every transfer touches the first customer's first
//!   account (a merchant's till), alternately paying into it and out of it;
//! - `batch` (unless `--batch-clients 0`): a service (its key issued by the demo admin) posts
//!   atomic batches of `--batch-size` transfers between random pairs of one customer's
//!   accounts, each client its own customer's while there are no more clients than customers
//!   (a sweeping service working for several firms); transfers/s counts legs.
//!
//! Each transfer or batch carries a fresh idempotency key. Progress goes to stderr each second;
//! each run ends with a line `result <run> <clients> <transfers/s> <p50 ms> <p99 ms> <posted>
//! <refused> <errors>` on stdout (latency is per request: per batch for `batch`).

// A load generator panics on setup failures: there is nothing to recover.
#![allow(
    clippy::unwrap_used,
    reason = "a benchmark that cannot set up has nothing to measure: it stops"
)]

#[path = "../tools/staff_sign_in.rs"]
mod staff_sign_in;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ACCOUNTS: usize = 10;
/// Cash paid into each bench account; small enough that repeated runs leave the demo vault cash.
const DEPOSIT: &str = "2000.00";

struct Options {
    url: String,
    /// The certificate authority (PEM) the server's certificate must come from.
    ca_file: Option<std::path::PathBuf>,
    service_key: String,
    /// Client counts of the uniform runs, one run each.
    sweep: Vec<usize>,
    seconds: u64,
    hot_clients: usize,
    batch_clients: usize,
    batch_size: usize,
    /// Customers of the bench's own, ten accounts each.
    customers: usize,
    /// Transfers per second all clients of a uniform run send together, at most; 0 for as fast
    /// as they can.
    rate: u64,
    /// After the sweep, a uniform run at its peak's client count and half its peak rate.
    half_peak: bool,
    teller: (String, String),
    admin: (String, String),
    /// Where staff's second-factor secrets are kept (enrolled at the bench's first sign-in).
    secrets_dir: std::path::PathBuf,
}

fn options() -> Options {
    let mut options = Options {
        url: "https://127.0.0.1:8081".into(),
        ca_file: None,
        service_key: String::new(),
        sweep: vec![16],
        seconds: 20,
        hot_clients: 0,
        batch_clients: 0,
        batch_size: 100,
        customers: 10,
        rate: 0,
        half_peak: false,
        teller: ("tom.teller".into(), "teller-demo-pass".into()),
        admin: ("ada.admin".into(), "admin-demo-pass".into()),
        secrets_dir: ".run/secrets/totp".into(),
    };
    let mut args = std::env::args().skip(1);
    let pair = |value: String| {
        let (user, password) = value.split_once(':').unwrap();
        (user.to_owned(), password.to_owned())
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--url" => options.url = args.next().unwrap(),
            "--ca-file" => options.ca_file = Some(args.next().unwrap().into()),
            "--service-key" => options.service_key = args.next().unwrap(),
            "--clients" => options.sweep = vec![args.next().unwrap().parse().unwrap()],
            "--sweep" => {
                options.sweep = args
                    .next()
                    .unwrap()
                    .split(',')
                    .map(|n| n.trim().parse().unwrap())
                    .collect();
            }
            "--seconds" => options.seconds = args.next().unwrap().parse().unwrap(),
            "--hot-clients" => options.hot_clients = args.next().unwrap().parse().unwrap(),
            "--batch-clients" => options.batch_clients = args.next().unwrap().parse().unwrap(),
            "--batch-size" => options.batch_size = args.next().unwrap().parse().unwrap(),
            "--customers" => options.customers = args.next().unwrap().parse().unwrap(),
            "--rate" => options.rate = args.next().unwrap().parse().unwrap(),
            "--half-peak" => options.half_peak = true,
            "--secrets-dir" => options.secrets_dir = args.next().unwrap().into(),
            "--teller" => options.teller = pair(args.next().unwrap()),
            "--admin" => options.admin = pair(args.next().unwrap()),
            // cargo bench passes --bench to every bench binary.
            "--bench" => {}
            other => panic!("unknown option {other}"),
        }
    }
    assert!(!options.service_key.is_empty(), "--service-key is required");
    assert!(
        (1..=100).contains(&options.batch_size),
        "--batch-size is 1 to 100"
    );
    assert!(options.customers >= 1, "--customers is at least 1");
    options
}

struct Api {
    http: reqwest::Client,
    url: String,
    key: String,
}

/// Who a request is sent as: a signed-in user through the portal's credential, or a service by
/// its own API key.
#[derive(Clone)]
enum Caller {
    User(String),
    Service(String),
}

impl Api {
    async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: Value,
        idem: Option<String>,
    ) -> (u16, Value) {
        let caller = token.map(|token| Caller::User(token.to_owned()));
        self.send(path, caller.as_ref(), body, idem).await
    }

    async fn send(
        &self,
        path: &str,
        caller: Option<&Caller>,
        body: Value,
        idem: Option<String>,
    ) -> (u16, Value) {
        let mut request = self.http.post(format!("{}{path}", self.url)).json(&body);
        request = match caller {
            Some(Caller::Service(key)) => request.header("x-api-key", key),
            Some(Caller::User(token)) => request.header("x-api-key", &self.key).bearer_auth(token),
            None => request.header("x-api-key", &self.key),
        };
        if let Some(key) = idem {
            request = request.header("idempotency-key", key);
        }
        match request.send().await {
            Ok(response) => (
                response.status().as_u16(),
                response.json().await.unwrap_or(Value::Null),
            ),
            Err(_) => (0, Value::Null),
        }
    }

    async fn sign_in(&self, username: &str, password: &str) -> String {
        let (status, body) = self
            .post(
                "/v1/sessions",
                None,
                json!({ "username": username, "password": password }),
                None,
            )
            .await;
        assert_eq!(status, 201, "sign in as {username}: {body}");
        body["token"].as_str().unwrap().to_owned()
    }
}

/// What the clients of a run send.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Workload {
    /// Transfers between random pairs of accounts.
    Uniform,
    /// The same, at half the peak rate of the sweep.
    HalfPeak,
    /// Transfers into and out of the first account, alternately.
    Hot,
    /// Atomic batches of this many transfers between random pairs.
    Batch(usize),
}

impl Workload {
    fn name(self) -> String {
        match self {
            Workload::Uniform => "uniform".into(),
            Workload::HalfPeak => "halfpeak".into(),
            Workload::Hot => "hot".into(),
            Workload::Batch(size) => format!("batch{size}"),
        }
    }
}

/// What a run measured.
struct Stats {
    latencies_us: Vec<u64>,
    transfers: u64,
    refused: u64,
    errors: u64,
    elapsed_ms: u64,
}

#[tokio::main]
async fn main() {
    let options = options();
    let most = options
        .sweep
        .iter()
        .copied()
        .chain([options.hot_clients, options.batch_clients])
        .max()
        .unwrap_or(1);
    let api = std::sync::Arc::new(Api {
        http: http_client(options.ca_file.as_deref())
            .pool_max_idle_per_host(most)
            .build()
            .unwrap(),
        url: options.url.trim_end_matches('/').to_owned(),
        key: options.service_key.clone(),
    });
    let teller = staff_sign_in::sign_in(
        &api.http,
        &api.url,
        &api.key,
        (&options.teller.0, &options.teller.1),
        &options.secrets_dir,
    )
    .await;
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut holders = Vec::new();
    for customer in 0..options.customers {
        holders.push(onboard(&api, &teller, &run, customer).await);
    }
    eprintln!(
        "{} customers of {ACCOUNTS} funded accounts each onboarded",
        holders.len()
    );
    let holders = std::sync::Arc::new(holders);
    let mut peak = (0, 0);
    for &clients in &options.sweep {
        let workload = Workload::Uniform;
        let stats = measure(
            &api,
            &holders,
            None,
            (workload, clients, options.rate),
            &options,
            &run,
        )
        .await;
        let per_s = report(workload, clients, &stats);
        if per_s > peak.1 {
            peak = (clients, per_s);
        }
    }
    if options.half_peak && peak.1 > 0 {
        let (clients, rate) = (peak.0, (peak.1 / 2).max(1));
        println!("half-peak rate {rate} transfers/s with {clients} clients");
        let workload = Workload::HalfPeak;
        let stats = measure(
            &api,
            &holders,
            None,
            (workload, clients, rate),
            &options,
            &run,
        )
        .await;
        report(workload, clients, &stats);
    }
    if options.hot_clients > 0 {
        let (workload, clients) = (Workload::Hot, options.hot_clients);
        let stats = measure(&api, &holders, None, (workload, clients, 0), &options, &run).await;
        report(workload, clients, &stats);
    }
    if options.batch_clients > 0 {
        let service = Caller::Service(issue_service_key(&api, &options, &run).await);
        let (workload, clients) = (Workload::Batch(options.batch_size), options.batch_clients);
        let stats = measure(
            &api,
            &holders,
            Some(&service),
            (workload, clients, 0),
            &options,
            &run,
        )
        .await;
        report(workload, clients, &stats);
    }
}

/// A customer of the bench's own: their session and their accounts.
struct Holder {
    caller: Caller,
    accounts: Vec<String>,
}

/// Onboards the bench's customer number `index` with ten funded accounts.
async fn onboard(api: &Api, teller: &str, run: &str, index: usize) -> Holder {
    let username = format!("bench-{}-{index}", &run[..12]);
    // Nothing of the name in it: a password built from the username is refused.
    let password = format!("lantern-orchard-{}", &run[12..20]);
    let (status, customer) = api
        .post(
            "/v1/customers",
            Some(teller),
            json!({
                "full_name": "Benchmark Customer",
                "email": format!("{username}@example.org"),
                "date_of_birth": "1985-06-15",
                "address": "1 Benchmark Road, Leeds LS1 1AA",
                "id_document": format!("B-{}-{index}", run[..12].to_uppercase()),
                "id_document_kind": "passport",
                "id_document_country": "GB",
                "id_document_expires": "2036-12-31",
                "login": { "username": username, "password": password },
            }),
            None,
        )
        .await;
    assert_eq!(status, 201, "onboard the bench customer: {customer}");
    // Cash is paid in at the teller's drawer: open it (empty) unless it is open already.
    let (status, body) = api
        .post(
            "/v1/drawers",
            Some(teller),
            json!({ "currency": "EUR", "opening_float": "0" }),
            Some(format!("bench-{run}-drawer-{index}")),
        )
        .await;
    assert!(status == 201 || status == 409, "open the drawer: {body}");
    let mut accounts = Vec::new();
    for n in 0..ACCOUNTS {
        let (status, account) = api
            .post(
                "/v1/accounts",
                Some(teller),
                json!({ "customer_id": customer["id"], "product": "current", "currency": "EUR" }),
                None,
            )
            .await;
        assert_eq!(status, 201, "open a bench account: {account}");
        let number = account["number"].as_str().unwrap().to_owned();
        let (status, body) = api
            .post(
                "/v1/cash/deposits",
                Some(teller),
                json!({ "account": number, "amount": DEPOSIT, "currency": "EUR" }),
                Some(format!("bench-{run}-deposit-{index}-{n}")),
            )
            .await;
        assert_eq!(status, 201, "fund a bench account: {body}");
        accounts.push(number);
    }
    let token = api.sign_in(&username, &password).await;
    // The teller chose the first password: the customer replaces it before anything else.
    let (status, body) = api
        .post(
            "/v1/me/password",
            Some(&token),
            json!({ "current_password": password, "new_password": format!("{password}-of-her-own") }),
            None,
        )
        .await;
    assert_eq!(status, 204, "replace the first password: {body}");
    Holder {
        caller: Caller::User(token),
        accounts,
    }
}

/// An API key for a service of the bench's own that may move money, issued by the demo admin.
async fn issue_service_key(api: &Api, options: &Options, run: &str) -> String {
    let admin = staff_sign_in::sign_in(
        &api.http,
        &api.url,
        &api.key,
        (&options.admin.0, &options.admin.1),
        &options.secrets_dir,
    )
    .await;
    let (status, body) = api
        .post(
            "/v1/admin/api-keys",
            Some(&admin),
            json!({
                "name": format!("bench-{}", &run[..12]),
                "scopes": ["transfers:write", "transfers:read"],
                "rate_limit_per_minute": 100_000,
            }),
            None,
        )
        .await;
    assert_eq!(status, 201, "issue the bench service's key: {body}");
    body["secret"].as_str().unwrap().to_owned()
}

/// Runs `clients` clients sending `workload` as the customers in `holders` (or as `service`) for the configured time (together at
/// most `rate` requests a second, unless 0), printing progress to stderr: each second, or each
/// minute in a run of more than two minutes.
async fn measure(
    api: &std::sync::Arc<Api>,
    holders: &std::sync::Arc<Vec<Holder>>,
    service: Option<&Caller>,
    (workload, clients, rate): (Workload, usize, u64),
    options: &Options,
    run: &str,
) -> Stats {
    use std::sync::atomic::{AtomicU64, Ordering};
    let posted = std::sync::Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let started = Instant::now();
    let label = workload.name();
    let handles: Vec<_> = (0..clients)
        .map(|client| {
            let (api, holders, service, posted) =
                (api.clone(), holders.clone(), service.cloned(), posted.clone());
            let prefix = format!("bench-{run}-{label}-{clients}-{client}");
            // Each client paced to its share of the rate, its first request offset so that the
            // clients do not send in step.
            let pace = (rate > 0).then(|| Duration::from_micros(clients as u64 * 1_000_000 / rate));
            tokio::spawn(async move {
                let mut ticks = pace.map(|every| {
                    let offset = every * u32::try_from(client).unwrap_or(0) / u32::try_from(clients).unwrap_or(1);
                    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + offset, every);
                    // A late request keeps its place in the schedule, and its latency counts from when it
                    // should have been sent: a slow answer is not hidden by sending the next one later.
                    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                    ticks
                });
                let mut state = (client as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                let mut next = move |bound: u64| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state % bound
                };
                // Whose accounts a request moves money between: a random customer's, the
                // first's for the hot account, each batch client's own.
                let customers = holders.len() as u64;
                let whose = |next: &mut dyn FnMut(u64) -> u64| match workload {
                    Workload::Uniform | Workload::HalfPeak => next(customers) as usize,
                    Workload::Hot => 0,
                    Workload::Batch(_) => client % holders.len(),
                };
                let pair = |next: &mut dyn FnMut(u64) -> u64, n: u64| match workload {
                    Workload::Hot => {
                        let other = 1 + next(ACCOUNTS as u64 - 1) as usize;
                        if n.is_multiple_of(2) { (other, 0) } else { (0, other) }
                    }
                    _ => {
                        let from = next(ACCOUNTS as u64) as usize;
                        (from, (from + 1 + next(ACCOUNTS as u64 - 1) as usize) % ACCOUNTS)
                    }
                };
                let (mut latencies_us, mut refused, mut errors) = (Vec::new(), 0u64, 0u64);
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let mut scheduled = None;
                    if let Some(ticks) = ticks.as_mut() {
                        scheduled = Some(ticks.tick().await.into_std());
                        if Instant::now() >= deadline {
                            break;
                        }
                    }
                    let legs = match workload {
                        Workload::Batch(size) => size,
                        _ => 1,
                    };
                    let holder = &holders[whose(&mut next)];
                    let transfers: Vec<Value> = (0..legs)
                        .map(|leg| {
                            let (from, to) = pair(&mut next, n + leg as u64);
                            let accounts = &holder.accounts;
                            // Small amounts: a batch's legs rarely find an account short.
                            let amount = format!("0.{:02}", 1 + (n + leg as u64) % 99);
                            json!({ "debit_account": accounts[from], "credit_account": accounts[to], "amount": amount, "currency": "EUR" })
                        })
                        .collect();
                    let (path, body) = match workload {
                        Workload::Batch(_) => ("/v1/transfer-batches", json!({ "transfers": transfers })),
                        _ => ("/v1/transfers", transfers.into_iter().next().unwrap()),
                    };
                    let sent = scheduled.unwrap_or_else(Instant::now);
                    let (status, _) = api
                        .send(path, Some(service.as_ref().unwrap_or(&holder.caller)), body, Some(format!("{prefix}-{n}")))
                        .await;
                    let elapsed = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                    match status {
                        201 => {
                            latencies_us.push(elapsed);
                            posted.fetch_add(legs as u64, Ordering::Relaxed);
                        }
                        422 => refused += 1,
                        _ => errors += 1,
                    }
                    n += 1;
                }
                (latencies_us, refused, errors)
            })
        })
        .collect();
    let progress = {
        let (posted, label) = (posted.clone(), label.clone());
        let every = if options.seconds > 120 { 60 } else { 1 };
        tokio::spawn(async move {
            let mut last = 0;
            loop {
                tokio::time::sleep(Duration::from_secs(every)).await;
                let now = posted.load(Ordering::Relaxed);
                eprintln!(
                    "  {label}, {clients} clients, {:>4} s: {now} transfers, {}/s",
                    started.elapsed().as_secs(),
                    (now - last) / every
                );
                last = now;
            }
        })
    };
    let (mut latencies_us, mut refused, mut errors) = (Vec::new(), 0, 0);
    for handle in handles {
        let (l, r, e) = handle.await.unwrap();
        latencies_us.extend(l);
        refused += r;
        errors += e;
    }
    progress.abort();
    latencies_us.sort_unstable();
    Stats {
        latencies_us,
        transfers: posted.load(Ordering::Relaxed),
        refused,
        errors,
        elapsed_ms: u64::try_from(started.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1),
    }
}

/// Prints a run's figures, the last line machine-readable; gives its whole transfers a second.
fn report(workload: Workload, clients: usize, stats: &Stats) -> u64 {
    let percentile = |p: usize| {
        stats
            .latencies_us
            .get(stats.latencies_us.len() * p / 100)
            .copied()
            .unwrap_or(0)
    };
    let tenths_per_s = stats.transfers * 10_000 / stats.elapsed_ms;
    let ms = |us: u64| format!("{}.{}", us / 1000, (us % 1000) / 100);
    println!(
        "api {}: {clients} clients, {} transfers posted, {} refused for funds, {} errors; p50 {} ms, p99 {} ms; {}.{} transfers/s",
        workload.name(),
        stats.transfers,
        stats.refused,
        stats.errors,
        ms(percentile(50)),
        ms(percentile(99)),
        tenths_per_s / 10,
        tenths_per_s % 10
    );
    println!(
        "result api-{} {clients} {}.{} {} {} {} {} {}",
        workload.name(),
        tenths_per_s / 10,
        tenths_per_s % 10,
        ms(percentile(50)),
        ms(percentile(99)),
        stats.transfers,
        stats.refused,
        stats.errors
    );
    tenths_per_s / 10
}

/// A client builder that trusts only the authority in `ca_file` (the deployment's own), when given.
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
