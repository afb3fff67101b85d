//! Settings, read once at start-up from `DEBRIEF_*` environment variables. Every setting
//! has a default that runs on one machine with no set-up: SQLite under `./data`, email
//! written to files, the service on 127.0.0.1:8080.

use crate::jobs::runner::RunnerSettings;
use crate::outreach::schedule::BusinessHours;
use anyhow::{bail, Context};
use chrono::Duration;
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port (tests use it).
    pub bind: String,
    /// Base of the links in emails. `None`: derived from the address actually bound.
    pub public_url: Option<String>,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// Where the built widget (`embed.js` and its content-hashed script and wasm) is served from.
    pub widget_dir: PathBuf,
    /// The vendor's name, shown to buyers: "How likely are you to recommend Acme?"
    pub company_name: String,
    pub mail: MailSettings,
    pub outreach: OutreachSettings,
    pub jobs: RunnerSettings,
    /// The key buyer links derive from (URL-safe base64, 32 bytes or more). Unset: one is
    /// made on first start and kept in the database.
    pub secret_key: Option<Secret>,
    /// Let webhooks reach private and loopback addresses (`DEBRIEF_WEBHOOKS_ALLOW_PRIVATE`
    /// = `true`): off by default, so that a receiver URL cannot probe the network the
    /// server runs in.
    pub webhooks_allow_private: bool,
    /// Reverse proxies in front of the service (`DEBRIEF_TRUSTED_PROXIES`, comma-separated
    /// addresses), whose `X-Forwarded-For` names the client for the sign-in throttle.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

#[derive(Debug, Clone)]
pub struct MailSettings {
    /// RFC 5322 mailbox, e.g. `Acme Win-Loss <winloss@acme.example>`.
    pub from: String,
    pub transport: MailTransport,
}

#[derive(Clone)]
pub enum MailTransport {
    /// Write each message as an `.eml` file: the embedded default, so nothing is sent by
    /// accident from a laptop.
    Files { dir: PathBuf },
    Smtp {
        host: String,
        port: u16,
        tls: SmtpTls,
        credentials: Option<(String, String)>,
    },
}

// Hand-written so the SMTP password can never reach a log through `{:?}`.
impl std::fmt::Debug for MailTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailTransport::Files { dir } => f.debug_struct("Files").field("dir", dir).finish(),
            MailTransport::Smtp {
                host,
                port,
                tls,
                credentials,
            } => f
                .debug_struct("Smtp")
                .field("host", host)
                .field("port", port)
                .field("tls", tls)
                .field("username", &credentials.as_ref().map(|(u, _)| u))
                .finish(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain SMTP: only for a relay on the same host or a test server.
    None,
    StartTls,
    /// Implicit TLS (SMTPS, usually port 465).
    Tls,
}

#[derive(Debug, Clone)]
pub struct OutreachSettings {
    /// Minimum wait between the decision and the first email.
    pub delay_after_decision: Duration,
    /// When, in the buyer's own time zone, emails may arrive.
    pub business_hours: BusinessHours,
}

/// A secret from the environment, kept out of `Debug` output.
#[derive(Clone)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Settings {
    /// The base of links, as the command line prints them: `DEBRIEF_PUBLIC_URL`, else the
    /// address the server listens on (the server itself refuses to start without the
    /// former on a non-loopback address).
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
    }

    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_vars(std::env::vars().collect())
    }

    /// Reads from an explicit map, so tests configure an app without touching the
    /// process environment.
    pub fn from_vars(vars: HashMap<String, String>) -> anyhow::Result<Self> {
        let get = |key: &str| {
            vars.get(&format!("DEBRIEF_{key}"))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        // Every number has a sane range: a negative validity or a lease of zero would
        // silently break delivery, and a huge one would overflow date arithmetic.
        let parse_in = |key: &str,
                        default: i64,
                        range: std::ops::RangeInclusive<i64>|
         -> anyhow::Result<i64> {
            let value = get(key).map_or(Ok(default), |v| {
                v.parse::<i64>()
                    .with_context(|| format!("DEBRIEF_{key} must be a whole number, got {v:?}"))
            })?;
            if !range.contains(&value) {
                bail!(
                    "DEBRIEF_{key} must be from {} to {}, got {value}",
                    range.start(),
                    range.end()
                );
            }
            Ok(value)
        };

        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = get("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}/debrief.db", data_dir.display()));

        let transport = match get("SMTP_HOST") {
            None => MailTransport::Files {
                dir: get("OUTBOX_DIR")
                    .map(PathBuf::from)
                    .unwrap_or_else(|| data_dir.join("outbox")),
            },
            Some(host) => {
                let tls = match get("SMTP_TLS").as_deref().unwrap_or("starttls") {
                    "none" => SmtpTls::None,
                    "starttls" => SmtpTls::StartTls,
                    "tls" => SmtpTls::Tls,
                    other => bail!("DEBRIEF_SMTP_TLS must be none, starttls or tls, got {other:?}"),
                };
                let default_port = match tls {
                    SmtpTls::None => 25,
                    SmtpTls::StartTls => 587,
                    SmtpTls::Tls => 465,
                };
                let port = parse_in("SMTP_PORT", default_port, 1..=65_535)?;
                let port = u16::try_from(port)
                    .with_context(|| format!("DEBRIEF_SMTP_PORT out of range: {port}"))?;
                let credentials = match (get("SMTP_USERNAME"), get("SMTP_PASSWORD")) {
                    (Some(u), Some(p)) => Some((u, p)),
                    (None, None) => None,
                    _ => bail!(
                        "set both DEBRIEF_SMTP_USERNAME and DEBRIEF_SMTP_PASSWORD, or neither"
                    ),
                };
                MailTransport::Smtp {
                    host,
                    port,
                    tls,
                    credentials,
                }
            }
        };

        let business_hours = BusinessHours::parse(
            get("BUSINESS_HOURS").as_deref().unwrap_or("09:00-17:00"),
            get("BUSINESS_DAYS").as_deref().unwrap_or("mon-fri"),
        )
        .map_err(anyhow::Error::msg)
        .context("DEBRIEF_BUSINESS_HOURS / DEBRIEF_BUSINESS_DAYS")?;

        let max_attempts = u32::try_from(parse_in("MAX_ATTEMPTS", 8, 1..=100)?)
            .context("DEBRIEF_MAX_ATTEMPTS must be positive")?;
        let poll_ms = u64::try_from(parse_in("POLL_INTERVAL_MS", 1_000, 10..=3_600_000)?)
            .context("DEBRIEF_POLL_INTERVAL_MS must be positive")?;

        Ok(Settings {
            bind: get("BIND").unwrap_or_else(|| "127.0.0.1:8080".into()),
            public_url: get("PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned()),
            widget_dir: get("WIDGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("widget/dist")),
            company_name: get("COMPANY_NAME").unwrap_or_else(|| "Debrief Demo Co".into()),
            mail: MailSettings {
                from: get("MAIL_FROM")
                    .unwrap_or_else(|| "Win-Loss Team <winloss@debrief.localhost>".into()),
                transport,
            },
            outreach: OutreachSettings {
                delay_after_decision: Duration::minutes(parse_in(
                    "DELAY_MINUTES",
                    60,
                    0..=60 * 24 * 30,
                )?),
                business_hours,
            },
            jobs: RunnerSettings {
                poll_interval: std::time::Duration::from_millis(poll_ms),
                max_attempts,
                base_backoff: Duration::seconds(parse_in("RETRY_BASE_SECONDS", 30, 0..=86_400)?),
                lease: Duration::seconds(parse_in("LEASE_SECONDS", 120, 30..=3_600)?),
                batch: parse_in("JOB_BATCH", 256, 1..=5_000)?,
                shutdown_grace: std::time::Duration::from_secs(u64::try_from(parse_in(
                    "SHUTDOWN_GRACE_SECONDS",
                    10,
                    1..=600,
                )?)?),
            },
            secret_key: get("SECRET_KEY").map(Secret),
            webhooks_allow_private: match get("WEBHOOKS_ALLOW_PRIVATE").as_deref() {
                None | Some("false") => false,
                Some("true") => true,
                Some(other) => {
                    bail!("DEBRIEF_WEBHOOKS_ALLOW_PRIVATE must be true or false, got {other:?}")
                }
            },
            trusted_proxies: get("TRUSTED_PROXIES")
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    s.parse().with_context(|| {
                        format!("DEBRIEF_TRUSTED_PROXIES must list IP addresses, got {s:?}")
                    })
                })
                .collect::<anyhow::Result<_>>()?,
            data_dir,
            database_url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn with_nothing_set_it_runs_on_sqlite_and_writes_mail_to_files() {
        let s = Settings::from_vars(HashMap::new()).expect("defaults");
        assert_eq!(s.database_url, "sqlite://data/debrief.db");
        assert!(matches!(s.mail.transport, MailTransport::Files { .. }));
        assert_eq!(s.bind, "127.0.0.1:8080");
    }

    #[test]
    fn smtp_settings_pick_the_port_from_the_tls_mode() {
        let s = Settings::from_vars(vars(&[
            ("DEBRIEF_SMTP_HOST", "mail.example"),
            ("DEBRIEF_SMTP_TLS", "tls"),
        ]))
        .expect("valid");
        match s.mail.transport {
            MailTransport::Smtp { port, tls, .. } => {
                assert_eq!((port, tls), (465, SmtpTls::Tls));
            }
            other => panic!("expected SMTP, got {other:?}"),
        }
    }

    #[test]
    fn the_smtp_password_never_shows_in_debug_output() {
        let s = Settings::from_vars(vars(&[
            ("DEBRIEF_SMTP_HOST", "mail.example"),
            ("DEBRIEF_SMTP_USERNAME", "bot"),
            ("DEBRIEF_SMTP_PASSWORD", "hunter2-secret"),
        ]))
        .expect("valid");
        assert!(!format!("{s:?}").contains("hunter2-secret"));
    }

    #[test]
    fn out_of_range_numbers_are_refused() {
        for (key, value) in [
            ("DEBRIEF_JOB_BATCH", "0"),
            ("DEBRIEF_LEASE_SECONDS", "0"),
            ("DEBRIEF_DELAY_MINUTES", "999999999999"),
        ] {
            let err = Settings::from_vars(vars(&[(key, value)])).expect_err("refused");
            assert!(err.to_string().contains(key), "{err}");
        }
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = Settings::from_vars(vars(&[
            ("DEBRIEF_SMTP_HOST", "h"),
            ("DEBRIEF_SMTP_TLS", "ssl"),
        ]))
        .expect_err("invalid");
        assert!(err.to_string().contains("DEBRIEF_SMTP_TLS"), "{err}");
    }
}
