//! wrk on loopback, for the HTTP benchmarks: its rate, latency and failures, read from
//! its report.

/// What one wrk run measured.
pub struct Load {
    /// Requests completed.
    pub requests: u64,
    pub requests_per_second: f64,
    /// As wrk prints it, e.g. `3.04ms`.
    pub p99: String,
    pub non_2xx: u64,
}

/// Runs `wrk -t2 -c{connections} -d{seconds}s` with a Lua script against `url`.
pub fn wrk(url: &str, script: &std::path::Path, connections: u32, seconds: u32) -> Load {
    let out = std::process::Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--latency",
            "-s",
        ])
        .arg(script)
        .arg(url)
        .output()
        .expect("wrk runs (scripts/bench.sh installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find(|l| l.starts_with(prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    };
    Load {
        requests: text
            .lines()
            .find(|l| l.contains(" requests in "))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no request count in wrk's output:\n{text}")),
        requests_per_second: field("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no rate in wrk's output:\n{text}")),
        p99: field("99%").unwrap_or_default(),
        non_2xx: field("Non-2xx or 3xx responses:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    }
}

/// Writes wrk's Lua script into `dir`, runs it against the bare baseline, stops the
/// baseline (so the two never share the cores), then runs it against Debrief.
pub async fn baseline_then_debrief<F: std::future::Future<Output = ()>>(
    dir: &std::path::Path,
    script: &str,
    baseline_url: &str,
    // Called only once the baseline is measured: actix's `stop` acts when called.
    stop_baseline: impl FnOnce() -> F,
    debrief_url: &str,
    connections: u32,
    seconds: u32,
) -> (Load, Load) {
    let path = write_script(dir, "load.lua", script);
    let baseline = wrk(baseline_url, &path, connections, seconds);
    stop_baseline().await;
    let debrief = wrk(debrief_url, &path, connections, seconds);
    (baseline, debrief)
}

/// A bare actix-web server on a free loopback port, with only the routes `configure`
/// adds: the baseline a benchmark measures Debrief against. Gives its URL and a handle
/// to stop it, so that it never shares the cores with the server measured after it.
pub fn bare_server(
    workers: usize,
    configure: fn(&mut actix_web::web::ServiceConfig),
) -> (String, actix_web::dev::ServerHandle) {
    let port = crate::smtp::free_port();
    let server = actix_web::HttpServer::new(move || actix_web::App::new().configure(configure))
        .workers(workers)
        .bind(("127.0.0.1", port))
        .expect("bind")
        .run();
    let handle = server.handle();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}"), handle)
}

/// Writes a wrk Lua script into `dir`; gives its path.
pub fn write_script(dir: &std::path::Path, name: &str, script: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, script).expect("wrk's script");
    path
}

/// Debrief as the HTTP benchmarks run it: on SQLite in `dir`, on a free loopback port,
/// with `extra` settings.
pub async fn bench_app(
    dir: &std::path::Path,
    extra: &[(&str, &str)],
) -> debrief_server::app::Application {
    let mut vars: std::collections::HashMap<String, String> = [
        ("DEBRIEF_BIND", "127.0.0.1:0".to_owned()),
        (
            "DEBRIEF_DATABASE_URL",
            format!("sqlite://{}/bench.db", dir.display()),
        ),
        ("DEBRIEF_DATA_DIR", dir.display().to_string()),
        ("DEBRIEF_COMPANY_NAME", "Acme Analytics".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in extra {
        vars.insert((*k).to_owned(), (*v).to_owned());
    }
    let settings = debrief_server::app::config::Settings::from_vars(vars).expect("settings");
    debrief_server::app::Application::build(settings)
        .await
        .expect("the app starts")
}

/// A benchmark's knob: the number in environment variable `name`, else `default` (also
/// when it is not a number).
pub fn knob<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// `DEBRIEF_BENCH_SECONDS`, 10 by default: how long wrk runs against each server.
pub fn seconds() -> u32 {
    knob("DEBRIEF_BENCH_SECONDS", 10)
}

/// The benchmark's table: both servers' rate and p99, and Debrief's ratio to the baseline.
/// Fails when any request of either run got an error.
pub fn report(unit: &str, debrief_does: &str, baseline: &Load, debrief: &Load) {
    report_rows(unit, baseline, &[(debrief_does, debrief)]);
}

/// As [`report`], with a row for each of Debrief's runs (one per engine, say).
pub fn report_rows(unit: &str, baseline: &Load, runs: &[(&str, &Load)]) {
    let failed: u64 = runs.iter().map(|(_, load)| load.non_2xx).sum();
    assert_eq!(baseline.non_2xx + failed, 0, "every request succeeded");
    println!("| server | {unit} | p99 | ratio to baseline |");
    println!("|---|---:|---:|---:|");
    println!(
        "| bare actix-web handler, parse only (baseline) | {:.0} | {} | 1.00 |",
        baseline.requests_per_second, baseline.p99
    );
    for (debrief_does, debrief) in runs {
        println!(
            "| Debrief: {debrief_does} | {:.0} | {} | {:.3} |",
            debrief.requests_per_second,
            debrief.p99,
            debrief.requests_per_second / baseline.requests_per_second
        );
    }
}
