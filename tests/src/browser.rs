//! Real headless Chromium, driven over WebDriver by chromedriver (Debian's `chromium` and
//! `chromium-driver`, installed by scripts/setup.sh).

use fantoccini::{Client, ClientBuilder};
use serde_json::json;
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    /// On a console sign-in link's page: presses its button, and waits until the console
    /// shows its menu.
    pub async fn confirm_sign_in(&self) {
        let c = &self.client;
        c.find(fantoccini::Locator::Css("button.primary"))
            .await
            .expect("continue")
            .click()
            .await
            .expect("click");
        c.wait()
            .for_element(fantoccini::Locator::Css("nav[aria-label]"))
            .await
            .expect("signed in, the console's menu shows");
    }

    /// Starts chromedriver and a headless Chromium window `width` CSS pixels wide.
    pub async fn start(width: u32, height: u32) -> Browser {
        Self::start_with(width, height, true).await
    }

    /// As [`Browser::start`], with JavaScript turned off as a locked-down corporate
    /// browser has it (the page's own scripts; WebDriver still drives the window).
    pub async fn without_javascript(width: u32, height: u32) -> Browser {
        Self::start_with(width, height, false).await
    }

    async fn start_with(width: u32, height: u32, javascript: bool) -> Browser {
        let port = free_port();
        let driver_path =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let driver = Command::new(&driver_path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {driver_path}: {e} (scripts/setup.sh installs it)")
            });
        let profile = tempfile::tempdir().expect("profile dir");
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        // The flags keep Chromium off the (closed) network and usable as root in CI.
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--window-size={width},{height}")
                ],
                "prefs": {
                    "profile.managed_default_content_settings.javascript":
                        if javascript { 1 } else { 2 }
                }
            }
        });
        let capabilities = match capabilities {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("a JSON object"),
        };
        let url = format!("http://127.0.0.1:{port}");
        // chromedriver takes a moment to listen; poll its port rather than sleep blindly.
        let mut last_error = None;
        for _ in 0..100 {
            match ClientBuilder::native()
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        driver,
                        _profile: profile,
                    }
                }
                Err(e) => {
                    last_error = Some(e);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        panic!("could not start headless Chromium: {last_error:?}");
    }

    /// What axe-core (the accessibility engine, installed by scripts/setup.sh) finds wrong
    /// with the page as it stands: each violation's rule, impact and elements.
    pub async fn axe_violations(&self) -> Vec<serde_json::Value> {
        let modules = std::env::var("DEBRIEF_NODE_MODULES").unwrap_or_else(|_| {
            format!(
                "{}/.cache/debrief/tools/npm/node_modules",
                std::env::var("HOME").unwrap_or_default()
            )
        });
        let path = format!("{modules}/axe-core/axe.min.js");
        let axe = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e} (scripts/setup.sh installs axe-core)"));
        let script = format!(
            "{axe}\n;const done = arguments[arguments.length - 1];\n\
             axe.run(document).then(r => done(r.violations.map(v => ({{\n\
               id: v.id, impact: v.impact,\n\
               nodes: v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary) }}))),\n\
               e => done([{{ id: 'axe-error', impact: String(e), nodes: [] }}]));"
        );
        let found = self
            .client
            .execute_async(&script, vec![])
            .await
            .expect("run axe-core");
        found.as_array().cloned().unwrap_or_default()
    }

    /// Sends a Chrome DevTools Protocol command through chromedriver (its
    /// `goog/cdp/execute` extension): CPU throttling and caching, which WebDriver has no
    /// words for. Gives the command's result.
    pub async fn devtools(&self, cmd: &str, params: serde_json::Value) -> serde_json::Value {
        self.client
            .issue_cmd(DevTools {
                cmd: cmd.to_owned(),
                params,
            })
            .await
            .unwrap_or_else(|e| panic!("DevTools {cmd}: {e}"))
    }

    /// Puts the browser in time zone `zone` (IANA), as a buyer's device there would be.
    pub async fn set_time_zone(&self, zone: &str) {
        self.devtools(
            "Emulation.setTimezoneOverride",
            serde_json::json!({ "timezoneId": zone }),
        )
        .await;
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill().await;
    }
}

/// A DevTools command as chromedriver takes it.
#[derive(Debug)]
struct DevTools {
    cmd: String,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}
