//! A throwaway PostgreSQL for integration tests: one cluster per test process, made with `initdb`
//! on a free loopback port, and a fresh database per test cloned from a migrated template.
//!
//! The cluster runs as the `postgres` user when the tests run as root (PostgreSQL refuses root),
//! and receives SIGQUIT when the test process ends, so nothing outlives the run. Set
//! `BANK_TEST_SERVER_URL` to use an already running server instead (a superuser's URL).
//!
//! The roles are production's: the schema belongs to `bank_owner`, which migrates it, and a test
//! database's pool logs in as `bank`, a member of `bank_runtime`, with only the runtime's
//! privileges, so a test fails where the runtime would lack one.

#[cfg(feature = "test-harness")]
pub mod tls;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};

const TEMPLATE_DATABASE: &str = "bank_template";
/// The schema's owner, which runs the migrations.
pub const OWNER: &str = "bank_owner";
/// The logic tier's login, a member of `bank_runtime`.
pub const RUNTIME: &str = "bank";
/// The test cluster's superuser (`initdb --username`).
const SUPERUSER: &str = "postgres";
/// How long a fresh cluster may take to accept connections; `initdb` plus start-up take about two
/// seconds here, so this only trips when something is really wrong.
const STARTUP_TIMEOUT_MS: u64 = 60_000;

/// A database of its own for one test: `pool` and `url` log in as the runtime role
/// (`empty_database`: as the owner, to migrate it).
#[derive(Debug, Clone)]
pub struct TestDatabase {
    pub pool: PgPool,
    pub url: String,
    /// The same database as the superuser, for what no role of the bank may do (tampering).
    pub superuser_url: String,
}

/// `url` (`postgres://user@host:port/db`) as another user.
pub fn as_user(url: &str, user: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let host = rest.split_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{user}@{host}")
}

/// Creates a new, migrated database on the process's throwaway cluster and connects to it.
pub async fn fresh_database(connections_max: u32) -> TestDatabase {
    let server = server_url();
    TEMPLATE
        .get_or_init(|| async {
            ensure_roles(&server).await;
            let mut admin = admin_connection(&server).await;
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "CREATE DATABASE {TEMPLATE_DATABASE} OWNER {OWNER}"
            )))
            .execute(&mut admin)
            .await
            .expect("create the template database");
            let template = PgPoolOptions::new()
                .max_connections(1)
                .connect(&format!("{}/{TEMPLATE_DATABASE}", as_user(&server, OWNER)))
                .await
                .expect("connect to the template database");
            crate::pool::migrate(&template)
                .await
                .expect("migrate the template database");
            template.close().await;
        })
        .await;
    let name = format!("test_{}", uuid::Uuid::new_v4().simple());
    {
        // PostgreSQL refuses to copy a template that another CREATE DATABASE is copying.
        let _one_at_a_time = CREATE_LOCK.lock().await;
        let mut admin = admin_connection(&server).await;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE DATABASE {name} TEMPLATE {TEMPLATE_DATABASE} OWNER {OWNER}"
        )))
        .execute(&mut admin)
        .await
        .expect("create a test database");
        // A database's own privileges are not copied from its template: revoke here what the
        // migrations revoke on the database they run in (20261130000002_runtime_hardening.sql).
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "REVOKE TEMPORARY ON DATABASE {name} FROM PUBLIC"
        )))
        .execute(&mut admin)
        .await
        .expect("revoke temporary objects");
    }
    let url = format!("{}/{name}", as_user(&server, RUNTIME));
    let pool = PgPoolOptions::new()
        .max_connections(connections_max)
        .connect(&url)
        .await
        .expect("connect to the test database");
    TestDatabase {
        pool,
        url,
        superuser_url: format!("{server}/{name}"),
    }
}

/// The roles production has (deploy/local/up makes them): the owner, the runtime group and the
/// runtime login. Roles belong to the cluster, so the first test database makes them.
async fn ensure_roles(server: &str) {
    ROLES
        .get_or_init(|| async {
            let mut admin = admin_connection(server).await;
            create_roles(&mut admin).await;
        })
        .await;
}

async fn create_roles(admin: &mut PgConnection) {
    for statement in [
        format!("CREATE ROLE {OWNER} LOGIN"),
        "CREATE ROLE bank_runtime NOLOGIN".to_owned(),
        format!("CREATE ROLE {RUNTIME} LOGIN IN ROLE bank_runtime"),
    ] {
        if let Err(error) = sqlx::query(sqlx::AssertSqlSafe(statement.clone()))
            .execute(&mut *admin)
            .await
        {
            // A server given by BANK_TEST_SERVER_URL may have them already.
            let exists = error
                .as_database_error()
                .and_then(|e| e.code())
                .is_some_and(|code| code == "42710");
            assert!(exists, "{statement}: {error}");
        }
    }
}

/// Creates a new database with no schema at all on the process's throwaway cluster, for tests of
/// the migrations themselves.
pub async fn empty_database(connections_max: u32) -> TestDatabase {
    let server = server_url();
    let name = format!("empty_{}", uuid::Uuid::new_v4().simple());
    ensure_roles(&server).await;
    let mut admin = admin_connection(&server).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE DATABASE {name} OWNER {OWNER}"
    )))
    .execute(&mut admin)
    .await
    .expect("create an empty database");
    let url = format!("{}/{name}", as_user(&server, OWNER));
    let pool = PgPoolOptions::new()
        .max_connections(connections_max)
        .connect(&url)
        .await
        .expect("connect to the empty database");
    TestDatabase {
        pool,
        url,
        superuser_url: format!("{server}/{name}"),
    }
}

/// The URL of the process's throwaway server (without a database name), starting it if needed.
pub fn server_url() -> String {
    SERVER
        .get_or_init(|| match std::env::var("BANK_TEST_SERVER_URL") {
            Ok(url) => url.trim_end_matches('/').to_owned(),
            Err(_) => start_cluster(),
        })
        .clone()
}

static SERVER: OnceLock<String> = OnceLock::new();
static TEMPLATE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
static ROLES: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
static CREATE_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn admin_connection(server: &str) -> PgConnection {
    PgConnection::connect(&format!("{server}/postgres"))
        .await
        .expect("connect to the test server")
}

fn start_cluster() -> String {
    let bin = postgres_bin_dir();
    let root = std::env::temp_dir().join(format!("bank-test-pg-{}", std::process::id()));
    remove_stale_clusters(root.parent().unwrap_or(Path::new("/tmp")));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).expect("create the cluster directory");
    let as_root = running_as_root();
    if as_root {
        run(Command::new("chown").arg("postgres:postgres").arg(&root));
    }
    let data = root.join("data");
    run(as_database_user(as_root, &bin.join("initdb"))
        .args([
            "--auth=trust",
            "--username=postgres",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ])
        .arg("-D")
        .arg(&data)
        .stdout(Stdio::null()));
    // TLS as in production, with the test authority's certificate: a client may insist on
    // sslmode=verify-full (the logic binary does); sqlx's default, prefer, uses it too.
    let tls = tls::certificates();
    let (cert, key) = (root.join("server.crt"), root.join("server.key"));
    std::fs::copy(&tls.cert_file, &cert).expect("copy the server certificate");
    std::fs::copy(&tls.key_file, &key).expect("copy the server key");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
            .expect("close the server key");
    }
    if as_root {
        run(Command::new("chown")
            .arg("postgres:postgres")
            .arg(&cert)
            .arg(&key));
    }
    let port = free_port();
    let log = std::fs::File::create(root.join("postgres.log")).expect("create the server log");
    let mut postgres = as_database_user(as_root, &bin.join("postgres"));
    postgres
        .arg("-D")
        .arg(&data)
        .args(["-p", &port.to_string(), "-k"])
        .arg(&root)
        .args(["-c", "listen_addresses=127.0.0.1"])
        // A throwaway cluster needs no durability; tests check logic, not fsync.
        .args([
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ])
        .args(["-c", "max_connections=400", "-c", "shared_buffers=128MB"])
        .args(["-c", "ssl=on"])
        .arg("-c")
        .arg(format!("ssl_cert_file={}", cert.display()))
        .arg("-c")
        .arg(format!("ssl_key_file={}", key.display()))
        .stdout(log.try_clone().expect("clone the log handle"))
        .stderr(log);
    // The server gets SIGQUIT when the thread that started it ends, so it is started from a
    // thread that lives exactly as long as the test process.
    std::thread::spawn(move || {
        let mut child = postgres.spawn().expect("start postgres");
        let _ = child.wait();
    });
    let deadline = Instant::now() + Duration::from_millis(STARTUP_TIMEOUT_MS);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "postgres did not start; see {}",
            root.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Accepting TCP comes slightly before accepting sessions; pg_isready knows the difference.
    while !Command::new(bin.join("pg_isready"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-U",
            SUPERUSER,
            "-d",
            "postgres",
        ])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        assert!(
            Instant::now() < deadline,
            "postgres did not get ready; see {}",
            root.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    format!("postgres://{SUPERUSER}@127.0.0.1:{port}")
}

fn as_database_user(as_root: bool, program: &Path) -> Command {
    let mut command = Command::new("setpriv");
    if as_root {
        command.args(["--reuid=postgres", "--regid=postgres", "--init-groups"]);
    }
    command.args(["--pdeathsig", "SIGQUIT", "--"]).arg(program);
    command
}

fn postgres_bin_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return PathBuf::from(dir);
    }
    let debian = PathBuf::from("/usr/lib/postgresql/15/bin");
    if debian.join("postgres").exists() {
        return debian;
    }
    let out = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .expect("find PostgreSQL");
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// Removes clusters (and test certificates) left by test processes that no longer exist.
fn remove_stale_clusters(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| {
            n.strip_prefix("bank-test-pg-")
                .or_else(|| n.strip_prefix("bank-test-tls-"))
        }) else {
            continue;
        };
        if !Path::new("/proc").join(pid).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn run(command: &mut Command) {
    let status = command
        .status()
        .unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    assert!(status.success(), "{command:?} failed: {status}");
}

/// Terminates every other session of the database at `url`, as a failover or a restarted server
/// would; returns how many it ended.
pub async fn terminate_other_sessions(url: &str) -> i64 {
    let mut conn = PgConnection::connect(url)
        .await
        .expect("connect to the test database");
    sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_one(&mut conn)
    .await
    .expect("terminate sessions")
}

/// A session of its own that locks the account `number`'s row and keeps the transaction open
/// until the returned connection is dropped: a stuck writer elsewhere (a frozen instance, an
/// operator's forgotten transaction), which every posting on that account waits behind.
pub async fn hold_account_lock(url: &str, number: &str) -> PgConnection {
    let mut conn = PgConnection::connect(url)
        .await
        .expect("connect to the test database");
    sqlx::query("BEGIN")
        .execute(&mut conn)
        .await
        .expect("begin");
    let locked: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (SELECT 1 FROM accounts WHERE number = $1 FOR UPDATE) AS locked",
    )
    .bind(number)
    .fetch_one(&mut conn)
    .await
    .expect("lock the account's row");
    assert_eq!(locked, 1, "no account {number}");
    conn
}

/// The database of `url` as the test server's superuser.
pub fn superuser_url(url: &str) -> String {
    let database = url.rsplit('/').next().unwrap_or_default();
    format!("{}/{database}", server_url())
}

/// A user's row locked in a transaction of its own, as a reset of their sign-in holds it while
/// it runs; [`HeldUser::end_sessions`] ends their sessions and commits, as the reset does.
pub struct HeldUser {
    conn: PgConnection,
    username: String,
}

/// Locks `username`'s row (see [`HeldUser`]). `url` is the test database's.
pub async fn hold_user(url: &str, username: &str) -> HeldUser {
    let mut conn = PgConnection::connect(&superuser_url(url))
        .await
        .expect("connect as the superuser");
    sqlx::query("BEGIN")
        .execute(&mut conn)
        .await
        .expect("begin");
    sqlx::query("SELECT 1 FROM users WHERE username = $1 FOR UPDATE")
        .bind(username)
        .fetch_one(&mut conn)
        .await
        .expect("lock the user's row");
    HeldUser {
        conn,
        username: username.to_owned(),
    }
}

impl HeldUser {
    pub async fn end_sessions(mut self) {
        sqlx::query(
            "UPDATE user_sessions SET revoked_at = now()
              WHERE revoked_at IS NULL
                AND user_id = (SELECT id FROM users WHERE username = $1)",
        )
        .bind(&self.username)
        .execute(&mut self.conn)
        .await
        .expect("end the sessions");
        sqlx::query("COMMIT")
            .execute(&mut self.conn)
            .await
            .expect("commit");
    }
}

/// Rewrites the second audit record's `after` behind the append-only trigger's back, as a
/// superuser with direct database access might (no role of the bank can); returns the record's
/// id. For tests of the verifiers. `url` is the test database's.
pub async fn tamper_with_second_audit_row(url: &str) -> i64 {
    let mut conn = PgConnection::connect(&superuser_url(url))
        .await
        .expect("connect as the superuser");
    let conn = &mut conn;
    let id: i64 = sqlx::query_scalar("SELECT id FROM audit_log ORDER BY id OFFSET 1 LIMIT 1")
        .fetch_one(&mut *conn)
        .await
        .expect("an audit record to tamper with");
    sqlx::query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        .execute(&mut *conn)
        .await
        .expect("disable the append-only trigger");
    sqlx::query("UPDATE audit_log SET after = '{\"tampered\": true}' WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .expect("rewrite an audit record");
    sqlx::query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
        .execute(&mut *conn)
        .await
        .expect("enable the append-only trigger");
    id
}

/// Rewrites the second audit record's `after` behind the append-only trigger's back and then
/// recomputes the hash of it and of every record after it, each linked to the one before, as a
/// superuser who knows how the chain is made might: the chain alone then verifies. Returns the
/// record's id. For tests of the checkpoints. `url` is the test database's.
pub async fn rewrite_audit_tail(url: &str) -> i64 {
    let mut conn = PgConnection::connect(&superuser_url(url))
        .await
        .expect("connect as the superuser");
    sqlx::query(
        "DO $$
         DECLARE
             victim bigint := (SELECT id FROM audit_log ORDER BY id OFFSET 1 LIMIT 1);
             prev bytea := (SELECT hash FROM audit_log WHERE id < victim ORDER BY id DESC LIMIT 1);
             r audit_log;
         BEGIN
             ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
             UPDATE audit_log SET after = '{\"tampered\": true}' WHERE id = victim;
             FOR r IN SELECT * FROM audit_log WHERE id >= victim ORDER BY id LOOP
                 UPDATE audit_log
                 SET prev_hash = prev,
                     hash = audit_row_hash(prev, r.id, r.occurred_at, r.actor_user_id,
                         r.actor_service, r.action, r.subject_type, r.subject_id, r.before,
                         r.after, r.request_id)
                 WHERE id = r.id
                 RETURNING hash INTO prev;
             END LOOP;
             ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only;
             PERFORM set_config('bank.victim', victim::text, false);
         END $$",
    )
    .execute(&mut conn)
    .await
    .expect("rewrite the chain's tail");
    let victim: String = sqlx::query_scalar("SELECT current_setting('bank.victim')")
        .fetch_one(&mut conn)
        .await
        .expect("the rewritten record");
    victim.parse().expect("an id")
}

/// Adds `count` checkpoints of the audit chain's newest record, with its real hash but HMACs
/// made up without the server key, as anyone who may write to the database might; returns the
/// record's id. `url` is the test database's.
pub async fn forge_audit_checkpoints(url: &str, count: i64) -> i64 {
    let mut conn = PgConnection::connect(&superuser_url(url))
        .await
        .expect("connect as the superuser");
    let ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO audit_checkpoints (audit_id, audit_hash, mac)
         SELECT head.id, head.hash, sha256(int8send(g))
         FROM (SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1) head,
              generate_series(1, $1) g
         RETURNING audit_id",
    )
    .bind(count)
    .fetch_all(&mut conn)
    .await
    .expect("forge checkpoints");
    ids[0]
}

/// Plants an audit record with id `id` behind the triggers' backs and past the check on its
/// id, as a superuser might (no role of the bank can). `url` is the test database's.
pub async fn plant_audit_record(url: &str, id: i64) {
    let mut conn = PgConnection::connect(&superuser_url(url))
        .await
        .expect("connect as the superuser");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DO $$ BEGIN
             SET LOCAL session_replication_role = replica;
             ALTER TABLE audit_log DROP CONSTRAINT audit_log_id_positive;
             INSERT INTO audit_log (id, occurred_at, action, subject_type, subject_id, prev_hash,
                                    hash)
             VALUES ({id}, now() - interval '1 year', 'account.freeze', 'account', '1000000001',
                     sha256(''), sha256('planted'));
         END $$"
    )))
    .execute(&mut conn)
    .await
    .expect("plant a record");
}

/// Moves the second audit record's date to the same moment before the common era, behind the
/// trigger's back: the text its hash is made of does not show the era. Returns its id.
pub async fn move_audit_record_before_the_era(url: &str) -> i64 {
    let mut conn = PgConnection::connect(&superuser_url(url))
        .await
        .expect("connect as the superuser");
    sqlx::query(
        "DO $$ BEGIN
             SET LOCAL session_replication_role = replica;
             UPDATE audit_log
             SET occurred_at = (to_char(occurred_at AT TIME ZONE 'UTC',
                                        'YYYY-MM-DD HH24:MI:SS.US') || ' BC')::timestamp
                               AT TIME ZONE 'UTC'
             WHERE id = (SELECT id FROM audit_log ORDER BY id OFFSET 1 LIMIT 1);
         END $$",
    )
    .execute(&mut conn)
    .await
    .expect("move a record's date");
    sqlx::query_scalar("SELECT id FROM audit_log ORDER BY id OFFSET 1 LIMIT 1")
        .fetch_one(&mut conn)
        .await
        .expect("the moved record")
}

/// Removes every checkpoint of the audit chain behind the append-only trigger's back, as a
/// superuser covering a rewrite might. `url` is the test database's.
pub async fn remove_audit_checkpoints(url: &str) {
    let mut conn = PgConnection::connect(&superuser_url(url))
        .await
        .expect("connect as the superuser");
    sqlx::query(
        "DO $$ BEGIN
             SET LOCAL session_replication_role = replica;
             DELETE FROM audit_checkpoints;
         END $$",
    )
    .execute(&mut conn)
    .await
    .expect("remove the checkpoints");
}

/// Puts a `transfer.posted` event for a transfer that does not exist into the feed, as a
/// superuser might (no role of the bank can); returns the transfer id it names. For tests of
/// the verifiers. `url` is the test database's.
pub async fn forge_feed_event(url: &str) -> uuid::Uuid {
    let mut conn = PgConnection::connect(&superuser_url(url))
        .await
        .expect("connect as the superuser");
    let made_up = uuid::Uuid::new_v4();
    sqlx::query(
        "INSERT INTO events (type, subject_id, payload)
         VALUES ('transfer.posted', $1, jsonb_build_object('transfer_id', $1::text))",
    )
    .bind(made_up)
    .execute(&mut conn)
    .await
    .expect("forge an event");
    made_up
}

/// Rewrites the amount in every event about `subject` around the events' guard, as a superuser
/// might; returns how many it rewrote. For tests of the verifiers.
pub async fn rewrite_event_amounts(url: &str, subject: uuid::Uuid) -> u64 {
    let mut conn = PgConnection::connect(&superuser_url(url))
        .await
        .expect("connect as the superuser");
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut conn)
        .await
        .expect("write around the triggers");
    sqlx::query(
        "UPDATE events SET payload = jsonb_set(payload, '{amount}', '\"1000000.00\"')
         WHERE subject_id = $1",
    )
    .bind(subject)
    .execute(&mut conn)
    .await
    .expect("rewrite the events")
    .rows_affected()
}

/// A user's second factor as the database stores it: the TOTP secret and the digests of the
/// recovery codes, read as the superuser (what a stolen backup would show).
pub async fn stored_second_factor(url: &str, username: &str) -> (Option<Vec<u8>>, Vec<Vec<u8>>) {
    let mut conn = PgConnection::connect(&superuser_url(url))
        .await
        .expect("connect as the superuser");
    let secret: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT totp_secret FROM users WHERE username = $1")
            .bind(username)
            .fetch_one(&mut conn)
            .await
            .expect("the user");
    let codes: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT r.code_hash FROM recovery_codes r JOIN users u ON u.id = r.user_id
         WHERE u.username = $1",
    )
    .bind(username)
    .fetch_all(&mut conn)
    .await
    .expect("the recovery codes");
    (secret, codes)
}

/// Overwrites a user's stored TOTP secret, as someone who can write to the database would.
pub async fn overwrite_totp_secret(url: &str, username: &str, stored: &[u8]) {
    let mut conn = PgConnection::connect(&superuser_url(url))
        .await
        .expect("connect as the superuser");
    sqlx::query("UPDATE users SET totp_secret = $2 WHERE username = $1")
        .bind(username)
        .bind(stored)
        .execute(&mut conn)
        .await
        .expect("overwrite the TOTP secret");
}

/// The labels of a PostgreSQL enumeration type, in their declared order.
pub async fn enum_labels(conn: &mut PgConnection, type_name: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT e.enumlabel::text FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
         WHERE t.typname = $1 ORDER BY e.enumsortorder",
    )
    .bind(type_name)
    .fetch_all(conn)
    .await
    .expect("read an enumeration's labels")
}

/// Runs a server binary that must refuse to start and returns what it wrote to standard error.
/// Panics if it is still running after 30 s (it started when it should not have); it is killed
/// first, so a broken refusal fails the test instead of hanging it.
pub fn refusal(mut command: Command) -> String {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the binary");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the binary") {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!("it started, and was still running after 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("piped"), &mut stderr)
        .expect("read its error output");
    assert!(!status.success(), "it exited successfully: {stderr}");
    stderr
}

/// A server-key file for the logic tier (64 hexadecimal characters, mode 0600), made once per
/// test process beside its certificates.
pub fn server_key_file() -> &'static Path {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = tls::certificates()
            .ca_file
            .parent()
            .expect("the certificates' directory")
            .to_path_buf();
        let path = dir.join("server-secrets.key");
        let key = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        std::fs::write(&path, key).expect("write the server key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .expect("close the server key to others");
        }
        path
    })
}

/// The numbers of the bank's own accounts (vault, capital, drawers, over/short).
pub async fn internal_account_numbers(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT number FROM accounts WHERE kind = 'internal' ORDER BY number")
        .fetch_all(pool)
        .await
        .expect("read the internal accounts")
}

/// A session of its own that stores an answer under `key` of `principal` (for a request other
/// than any a test sends: its hash is all sevens) and keeps the transaction open: a request
/// under the key still under way elsewhere. [`commit_held`] lets it finish.
pub async fn hold_idempotency_key(url: &str, principal: uuid::Uuid, key: &str) -> PgConnection {
    let mut conn = PgConnection::connect(url)
        .await
        .expect("connect to the test database");
    sqlx::query("BEGIN")
        .execute(&mut conn)
        .await
        .expect("begin");
    sqlx::query(
        "INSERT INTO idempotency_records (principal_id, idempotency_key, request_hash,
                                          response_status, response_body)
         VALUES ($1, $2, $3, 201, '{}')",
    )
    .bind(principal)
    .bind(key)
    .bind([7u8; 32].as_slice())
    .execute(&mut conn)
    .await
    .expect("store an answer under the key");
    conn
}

/// Commits the transaction a `hold_*` helper left open.
pub async fn commit_held(mut conn: PgConnection) {
    sqlx::query("COMMIT")
        .execute(&mut conn)
        .await
        .expect("commit");
}

/// The timestamps of the transfers (of kind `transfer`) from or to account `number`, one per
/// transfer: transfers that share one are of one transaction.
pub async fn transfer_stamps(pool: &PgPool, number: &str) -> Vec<time::OffsetDateTime> {
    sqlx::query_scalar(
        "SELECT t.created_at FROM transfers t
         JOIN accounts d ON d.id = t.debit_account_id
         JOIN accounts c ON c.id = t.credit_account_id
         WHERE (d.number = $1 OR c.number = $1) AND t.kind = 'transfer'",
    )
    .bind(number)
    .fetch_all(pool)
    .await
    .expect("read the transfers' timestamps")
}

/// The entries of account `number`, oldest first: (amount, balance after).
pub async fn entries_of(
    pool: &PgPool,
    number: &str,
) -> Vec<(rust_decimal::Decimal, rust_decimal::Decimal)> {
    sqlx::query_as(
        "SELECT e.amount, e.balance_after FROM ledger_entries e
         JOIN accounts a ON a.id = e.account_id
         WHERE a.number = $1 ORDER BY e.id",
    )
    .bind(number)
    .fetch_all(pool)
    .await
    .expect("read the entries")
}

/// What the customer has sent others, over every day and currency.
pub async fn outflow_total(pool: &PgPool, customer: uuid::Uuid) -> rust_decimal::Decimal {
    sqlx::query_scalar("SELECT coalesce(sum(total), 0) FROM daily_outflows WHERE customer_id = $1")
        .bind(customer)
        .fetch_one(pool)
        .await
        .expect("read the running totals")
}
