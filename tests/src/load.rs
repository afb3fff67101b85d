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
    /// Where the machine's time went meanwhile, where `/proc` says (Linux).
    pub cpu: Option<CpuUse>,
}

/// The CPU a run used, per request: steadier than the rate on a shared machine, whose
/// speed moves from hour to hour, and it tells whether the cores or a wait were the limit.
#[derive(Debug, Clone, Copy)]
pub struct CpuUse {
    /// This process's CPU time (the servers measured run in it, but not PostgreSQL's
    /// own processes), in µs per request.
    pub server_us: f64,
    /// wrk's, in µs per request.
    pub wrk_us: f64,
    /// The share of the machine's cores left idle.
    pub idle: f64,
}

/// CPU counters from `/proc`, in USER_HZ ticks (100 a second on Linux).
#[derive(Debug, Clone, Copy)]
struct Ticks {
    /// This process's user and system time.
    own: u64,
    /// Its waited-for children's (wrk, once it has exited).
    children: u64,
    /// The machine's idle and I/O-wait time, and its total.
    idle: u64,
    total: u64,
}

impl Ticks {
    fn now() -> Option<Ticks> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command's name, which is in parentheses and may hold spaces:
        // utime, stime, cutime and cstime are the 12th to 15th.
        let fields: Vec<u64> = stat
            .rsplit_once(')')?
            .1
            .split_whitespace()
            .skip(11)
            .take(4)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        let machine = std::fs::read_to_string("/proc/stat").ok()?;
        let cpu: Vec<u64> = machine
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        Some(Ticks {
            own: fields.first()? + fields.get(1)?,
            children: fields.get(2)? + fields.get(3)?,
            idle: cpu.get(3)? + cpu.get(4)?,
            total: cpu.iter().sum(),
        })
    }

    fn since(self, before: Ticks, requests: u64) -> Option<CpuUse> {
        const TICK_US: f64 = 10_000.0;
        let per_request = |ticks: u64| ticks as f64 * TICK_US / requests.max(1) as f64;
        let total = self.total.checked_sub(before.total).filter(|t| *t > 0)?;
        Some(CpuUse {
            server_us: per_request(self.own.checked_sub(before.own)?),
            wrk_us: per_request(self.children.checked_sub(before.children)?),
            idle: self.idle.checked_sub(before.idle)? as f64 / total as f64,
        })
    }
}

/// Runs `wrk -t2 -c{connections} -d{seconds}s` with a Lua script against `url`.
pub fn wrk(url: &str, script: &std::path::Path, connections: u32, seconds: u32) -> Load {
    let before = Ticks::now();
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
    let after = Ticks::now();
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
    let requests = text
        .lines()
        .find(|l| l.contains(" requests in "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk's output:\n{text}"));
    Load {
        requests,
        requests_per_second: field("Requests/sec:")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no rate in wrk's output:\n{text}")),
        p99: field("99%").unwrap_or_default(),
        non_2xx: field("Non-2xx or 3xx responses:")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        cpu: after.zip(before).and_then(|(a, b)| a.since(b, requests)),
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
    println!(
        "| server | {unit} | p99 | ratio to baseline | server CPU per request | wrk's | cores idle |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    println!(
        "| bare actix-web handler, parse only (baseline) | {:.0} | {} | 1.00 | {} |",
        baseline.requests_per_second,
        baseline.p99,
        cpu_cells(baseline.cpu)
    );
    for (debrief_does, debrief) in runs {
        println!(
            "| Debrief: {debrief_does} | {:.0} | {} | {:.3} | {} |",
            debrief.requests_per_second,
            debrief.p99,
            debrief.requests_per_second / baseline.requests_per_second,
            cpu_cells(debrief.cpu)
        );
    }
}

/// The CPU columns of a row: µs per request for the servers and wrk, and the idle share.
fn cpu_cells(cpu: Option<CpuUse>) -> String {
    match cpu {
        Some(c) => format!(
            "{:.0} µs | {:.0} µs | {:.0}%",
            c.server_us,
            c.wrk_us,
            c.idle * 100.0
        ),
        None => "n/a | n/a | n/a".to_owned(),
    }
}
