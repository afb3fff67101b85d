//! Email-out benchmark: invitations rendered, sent and recorded per second by Debrief's
//! outbox into postfix's `smtp-sink` on loopback, against a baseline client that only
//! pushes the same pre-built message into the same sink over as many connections.
//!
//!     scripts/bench.sh email                 # 3 rounds of 20,000 emails each way
//!     DEBRIEF_BENCH_EMAILS=5000 DEBRIEF_BENCH_ROUNDS=5 scripts/bench.sh email

use chrono::Duration;
use debrief_server::app::clock::Clock;
use debrief_server::app::config::Settings;
use debrief_server::app::Application;
use debrief_server::channels::email::mailer::SMTP_CONNECTIONS;
use debrief_server::jobs::runner::Waker;
use debrief_server::outreach::decision::{Decision, DecisionRequest};
use debrief_server::outreach::store::record_decisions;
use debrief_server::platform::db::time::to_db;
use debrief_tests::smtp::{free_port, SmtpServer};
use serde_json::json;
use std::time::Instant;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

fn decisions(count: usize, now: chrono::DateTime<chrono::Utc>) -> Vec<Decision> {
    (0..count)
        .map(|n| {
            let request: DecisionRequest = serde_json::from_value(json!({
                "crm_id": format!("MAIL-{n}"), "outcome": "lost",
                "decided_at": (now - Duration::hours(3)).to_rfc3339(),
                "amount": { "minor_units": 2_400_000, "currency": "EUR" }, "sales_cycle_days": 60,
                "account": { "crm_id": format!("ACC-{n}"), "name": format!("Account {n}"),
                             "manager": { "name": "Ana Duarte", "email": "ana@acme.example" } },
                "contacts": [{ "name": "Camille Martin", "email": format!("buyer{n}@globex.example"),
                               "role": "Economic buyer", "locale": "fr-FR", "time_zone": "Europe/Paris" }]
            }))
            .expect("bench deal parses");
            request.parse(now).expect("bench deal is valid")
        })
        .collect()
}

/// Debrief on a fresh SQLite database, sending to `smtp_port` at any hour.
async fn debrief(smtp_port: u16, dir: &std::path::Path, clock: Clock) -> Application {
    let vars = [
        ("DEBRIEF_BIND", "127.0.0.1:0".to_owned()),
        (
            "DEBRIEF_DATABASE_URL",
            format!("sqlite://{}/bench.db", dir.display()),
        ),
        ("DEBRIEF_DATA_DIR", dir.display().to_string()),
        ("DEBRIEF_SMTP_HOST", "127.0.0.1".to_owned()),
        ("DEBRIEF_SMTP_PORT", smtp_port.to_string()),
        ("DEBRIEF_SMTP_TLS", "none".to_owned()),
        ("DEBRIEF_BUSINESS_HOURS", "00:00-24:00".to_owned()),
        ("DEBRIEF_BUSINESS_DAYS", "mon-sun".to_owned()),
        ("DEBRIEF_COMPANY_NAME", "Acme Analytics".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Application::build_with_clock(Settings::from_vars(vars).expect("settings"), clock)
        .await
        .expect("app starts")
}

/// Queues `count` survey invitations, due now.
async fn queue(app: &Application, clock: &Clock, count: usize) {
    let now = clock.now();
    record_decisions(app.db(), app.planner(), &decisions(count, now), now)
        .await
        .expect("deals recorded");
    clock.advance(Duration::hours(2));
}

/// What one SMTP reply line says: its code, and whether more lines follow.
async fn reply(lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> u16 {
    let mut line = String::new();
    loop {
        line.clear();
        lines.read_line(&mut line).await.expect("SMTP reply");
        let code = line
            .get(..3)
            .and_then(|c| c.parse().ok())
            .expect("SMTP code");
        if line.as_bytes().get(3) != Some(&b'-') {
            return code;
        }
    }
}

/// The baseline: one connection pushing the same bytes `count` times, reading each reply
/// as a careful client does (no pipelining, as lettre does not pipeline either).
async fn push(port: u16, message: std::sync::Arc<Vec<u8>>, count: usize) {
    let stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    assert_eq!(reply(&mut lines).await, 220);
    write
        .write_all(b"EHLO bench.localhost\r\n")
        .await
        .expect("write");
    assert_eq!(reply(&mut lines).await, 250);
    for _ in 0..count {
        write
            .write_all(b"MAIL FROM:<surveys@acme.example>\r\n")
            .await
            .expect("write");
        assert_eq!(reply(&mut lines).await, 250);
        write
            .write_all(b"RCPT TO:<buyer@globex.example>\r\n")
            .await
            .expect("write");
        assert_eq!(reply(&mut lines).await, 250);
        write.write_all(b"DATA\r\n").await.expect("write");
        assert_eq!(reply(&mut lines).await, 354);
        write.write_all(&message).await.expect("write");
        write.write_all(b"\r\n.\r\n").await.expect("write");
        assert_eq!(reply(&mut lines).await, 250);
    }
    write.write_all(b"QUIT\r\n").await.expect("write");
}

/// A real invitation as Debrief renders it, caught by the tests' own SMTP server, with
/// dot-stuffing applied again for the wire.
async fn one_real_message(dir: &std::path::Path) -> Vec<u8> {
    let mut catcher = SmtpServer::start().await;
    let clock = Clock::manual(chrono::Utc::now());
    let app = debrief(catcher.port, dir, clock.clone()).await;
    queue(&app, &clock, 1).await;
    app.runner().run_once().await.expect("pass");
    let data = catcher.next_mail().await.data;
    let text = String::from_utf8(data).expect("an invitation is UTF-8");
    text.split("\r\n")
        .map(|l| {
            if l.starts_with('.') {
                format!(".{l}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
        .into_bytes()
}

struct Sink(std::process::Child);

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_sink(port: u16) -> Sink {
    let mut command = std::process::Command::new("smtp-sink");
    // It refuses to run as root without a user to drop to.
    if is_root() {
        command.args(["-u", "nobody"]);
    }
    // Owned by the guard at once: killed and reaped however this function ends.
    let sink = Sink(
        command
            .args([&format!("127.0.0.1:{port}"), "1024"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("smtp-sink runs (scripts/bench.sh installs postfix)"),
    );
    // Ready when it accepts a connection.
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return sink;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("smtp-sink did not start on port {port}");
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count: usize = debrief_tests::load::knob("DEBRIEF_BENCH_EMAILS", 20_000);
    let port = free_port();
    let _sink = start_sink(port);

    let dir = tempfile::tempdir().expect("temp dir");
    let message = std::sync::Arc::new(one_real_message(&dir.path().join("catch")).await);
    // DEBRIEF_BENCH_DUMP=path keeps the message, to see what is sent.
    if let Ok(path) = std::env::var("DEBRIEF_BENCH_DUMP") {
        std::fs::write(path, message.as_slice()).expect("message written");
    }

    // The machine is shared: a neighbour's burst can land on one run and not the other.
    // So the two alternate, round after round, and each side's median counts.
    let rounds: usize = debrief_tests::load::knob("DEBRIEF_BENCH_ROUNDS", 3);
    let per = count / SMTP_CONNECTIONS;
    let (mut baselines, mut debriefs) = (Vec::new(), Vec::new());
    println!("| round | raw SMTP client, pre-built bytes (emails/s) | Debrief outbox: render, send, record (emails/s) | ratio |");
    println!("|---:|---:|---:|---:|");
    for round in 1..=rounds {
        let baseline = baseline_rate(port, &message, per).await;
        let debrief = debrief_rate(port, &dir.path().join(format!("run{round}")), count).await;
        println!(
            "| {round} | {baseline:.0} | {debrief:.0} | {:.2} |",
            debrief / baseline
        );
        baselines.push(baseline);
        debriefs.push(debrief);
    }
    let (baseline, debrief) = (median(&mut baselines), median(&mut debriefs));
    println!(
        "| median | {baseline:.0} | {debrief:.0} | {:.2} |",
        debrief / baseline
    );
    println!(
        "{count} emails a round, message size: {} bytes, {} connections",
        message.len(),
        SMTP_CONNECTIONS
    );
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Emails/s of the baseline: pre-built bytes, over as many connections as Debrief keeps.
async fn baseline_rate(port: u16, message: &std::sync::Arc<Vec<u8>>, per: usize) -> f64 {
    let start = Instant::now();
    let pushes: Vec<_> = (0..SMTP_CONNECTIONS)
        .map(|_| tokio::spawn(push(port, message.clone(), per)))
        .collect();
    for p in pushes {
        p.await.expect("push");
    }
    (per * SMTP_CONNECTIONS) as f64 / start.elapsed().as_secs_f64()
}

/// Emails/s of Debrief on a fresh database: claim, load, check the contact policy,
/// render, send, record.
async fn debrief_rate(port: u16, dir: &std::path::Path, count: usize) -> f64 {
    let clock = Clock::manual(chrono::Utc::now());
    let app = debrief(port, dir, clock.clone()).await;
    queue(&app, &clock, count).await;
    // The runner's own loop, as the server runs it, until every invitation is recorded sent.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let start = Instant::now();
    let running = tokio::spawn(app.runner().run(Waker::default(), async {
        let _ = stopped.await;
    }));
    // Done when no invitation job is due any more: each one recorded has moved on to its
    // first reminder, days ahead. The look walks the due-jobs index to its first entry, so
    // polling takes nothing from the runner (counting 20,000 invitations every 50 ms took
    // a tenth of the database thread).
    let due_now = to_db(clock.now());
    loop {
        let due: Option<(i64,)> =
            sqlx::query_as("select 1 from jobs where status = 'pending' and run_at <= $1 limit 1")
                .bind(&due_now)
                .fetch_optional(app.db().pool())
                .await
                .expect("look");
        if due.is_none() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    let _ = stop.send(());
    running.await.expect("runner stops");
    let (sent,): (i64,) = sqlx::query_as("select count(*) from invitations where status = 'sent'")
        .fetch_one(app.db().pool())
        .await
        .expect("count");
    assert_eq!(
        sent as usize, count,
        "every invitation was sent and recorded"
    );
    let (failed,): (i64,) =
        sqlx::query_as("select count(*) from jobs where last_error is not null")
            .fetch_one(app.db().pool())
            .await
            .expect("count");
    assert_eq!(failed, 0, "no send failed");
    count as f64 / secs
}
