//! Outgoing webhooks, sent only from the job runner: signed per the Standard Webhooks
//! specification (<https://www.standardwebhooks.com>), and never to a private or loopback
//! address unless the operator allows it (`DEBRIEF_WEBHOOKS_ALLOW_PRIVATE`): a receiver URL
//! is staff input, and the server must not become a way into the network it runs in.
//!
//! The address is checked when a receiver is saved and again at each send, on the
//! addresses the name resolves to then; the request goes to the address checked, so a
//! name that resolves elsewhere a second later (DNS rebinding) changes nothing.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The signing secret's prefix, as the specification writes it.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new signing secret: 256 random bits.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// Whether `secret` is one this module can sign with.
pub fn valid_secret(secret: &str) -> bool {
    secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|s| STANDARD.decode(s).ok())
        .is_some_and(|key| (24..=64).contains(&key.len()))
}

/// The `webhook-signature` header's value for a message: `v1,` and the base64 HMAC-SHA256
/// of `{id}.{timestamp}.{body}` under the secret's key.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> anyhow::Result<String> {
    let key = secret
        .strip_prefix(SECRET_PREFIX)
        .and_then(|s| STANDARD.decode(s).ok())
        .ok_or_else(|| anyhow::anyhow!("the receiver's secret is not a whsec_ secret"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Addresses no webhook may reach by default: loopback, private (RFC 1918, unique
/// local), link-local (cloud metadata lives there), carrier-grade NAT, unspecified,
/// multicast, broadcast and documentation ranges.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || a >= 240
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
                || (a == 198 && (b == 18 || b == 19))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let segments = v6.segments();
            // IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::/96) carry an IPv4 address.
            let embedded = std::net::Ipv4Addr::new(
                (segments[6] >> 8) as u8,
                segments[6] as u8,
                (segments[7] >> 8) as u8,
                segments[7] as u8,
            );
            if segments[..6] == [0; 6] || segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return is_private(IpAddr::V4(embedded));
            }
            let first = segments[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8
        }
    }
}

/// Why a receiver URL is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Not an absolute http(s) URL with a host, or with credentials in it.
    Malformed(&'static str),
    /// It resolves to a private or loopback address.
    Private(IpAddr),
    /// Its name does not resolve.
    Unresolved,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Malformed(why) => write!(f, "{why}"),
            // The address itself is not echoed: staff could map internal names with it.
            Refused::Private(_) => write!(
                f,
                "reaches a private or loopback address (an operator may allow these with \
                 DEBRIEF_WEBHOOKS_ALLOW_PRIVATE)"
            ),
            Refused::Unresolved => write!(f, "names a host that does not resolve"),
        }
    }
}

/// A receiver URL, parsed: scheme, host, port, and the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub https: bool,
    pub host: String,
    pub port: u16,
    pub url: String,
}

impl Url {
    /// Parses an absolute `http`/`https` URL, at most 2,000 characters, with a host and no
    /// user or password. Parsed by the same parser (WHATWG URL, the `url` crate) that
    /// sends it, so the host checked is the host reached.
    pub fn parse(url: &str) -> Result<Url, Refused> {
        if url.len() > 2_000 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Refused::Malformed(
                "must be a URL of at most 2,000 characters",
            ));
        }
        let parsed = reqwest::Url::parse(url)
            .map_err(|_| Refused::Malformed("must be an absolute http(s) URL"))?;
        let https = match parsed.scheme() {
            "https" => true,
            "http" => false,
            _ => return Err(Refused::Malformed("must start with https:// or http://")),
        };
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(Refused::Malformed("must not carry a user or password"));
        }
        let host = match parsed.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_ascii_lowercase(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => return Err(Refused::Malformed("must name a host")),
        };
        let port = parsed
            .port_or_known_default()
            .ok_or(Refused::Malformed("must name a port or a known scheme"))?;
        Ok(Url {
            https,
            host,
            port,
            url: parsed.to_string(),
        })
    }

    /// The address to send to: the first the host resolves to, if none of them is private
    /// (or private ones are allowed).
    pub async fn resolve(&self, allow_private: bool) -> Result<SocketAddr, Refused> {
        let addrs: Vec<SocketAddr> = match self.host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, self.port)],
            Err(_) => tokio::net::lookup_host((self.host.as_str(), self.port))
                .await
                .map_err(|_| Refused::Unresolved)?
                .collect(),
        };
        if !allow_private {
            if let Some(private) = addrs.iter().find(|a| is_private(a.ip())) {
                return Err(Refused::Private(private.ip()));
            }
        }
        addrs.into_iter().next().ok_or(Refused::Unresolved)
    }
}

/// One webhook message: its body and, when signed, its id, timestamp and secret.
pub struct Message<'a> {
    pub url: &'a Url,
    pub body: String,
    /// `(webhook-id, secret)`: a Standard Webhooks receiver; none for Slack and Teams.
    pub signed: Option<(&'a str, &'a str)>,
    /// Unix seconds, the `webhook-timestamp` of this attempt.
    pub timestamp: i64,
}

/// How a send ended when it did not succeed.
#[derive(Debug)]
pub enum SendError {
    /// Worth retrying: a network error, a timeout, a 5xx, 408 or 429.
    Temporary(String),
    /// Not worth retrying: refused address, or a 4xx.
    Permanent(String),
}

/// Posts `message`, to the address checked just now, within 10 seconds.
pub async fn send(message: Message<'_>, allow_private: bool) -> Result<(), SendError> {
    let addr = message
        .url
        .resolve(allow_private)
        .await
        .map_err(|e| SendError::Permanent(format!("the receiver URL {e}")))?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        // A proxy would resolve the name itself, past the address checked.
        .no_proxy()
        .resolve(&message.url.host, addr)
        .build()
        .map_err(|e| SendError::Temporary(format!("cannot build an HTTP client: {e}")))?;
    let mut request = client
        .post(&message.url.url)
        .header("content-type", "application/json")
        .header("user-agent", "Debrief-Webhooks/1");
    if let Some((id, secret)) = message.signed {
        let signature = sign(secret, id, message.timestamp, &message.body)
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        request = request
            .header("webhook-id", id)
            .header("webhook-timestamp", message.timestamp.to_string())
            .header("webhook-signature", signature);
    }
    let response = request
        .body(message.body)
        .send()
        .await
        // Without the URL: a Slack or Teams URL is a credential, and this text is kept on
        // the job for staff to read.
        .map_err(|e| {
            SendError::Temporary(format!("the receiver did not answer: {}", e.without_url()))
        })?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
        Err(SendError::Temporary(format!(
            "the receiver answered {status}"
        )))
    } else {
        Err(SendError::Permanent(format!(
            "the receiver answered {status}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_matches_the_specifications_example() {
        // The example of the Standard Webhooks specification (its test vector).
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).ok(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".to_owned())
        );
    }

    #[test]
    fn private_and_loopback_addresses_are_recognised() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::10.0.0.5",
            "64:ff9b::a00:5",
            "240.0.0.1",
        ] {
            assert!(is_private(private.parse().expect("ip")), "{private}");
        }
        for public in ["93.184.216.34", "1.1.1.1", "2606:4700::1111"] {
            assert!(!is_private(public.parse().expect("ip")), "{public}");
        }
    }

    #[test]
    fn receiver_urls_are_parsed_strictly() {
        let url = Url::parse("https://hooks.example.com/services/T0/B0").expect("url");
        assert_eq!(
            (url.host.as_str(), url.port, url.https),
            ("hooks.example.com", 443, true)
        );
        let url = Url::parse("http://127.0.0.1:8099/hook").expect("url");
        assert_eq!((url.host.as_str(), url.port), ("127.0.0.1", 8099));
        let url = Url::parse("http://[::1]:9000/x").expect("url");
        assert_eq!((url.host.as_str(), url.port), ("::1", 9000));
        // A backslash ends the host, as the sending parser reads it.
        let url = Url::parse("http://169.254.169.254\\x.example.com/").expect("url");
        assert_eq!(url.host, "169.254.169.254");
        for bad in [
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "https://example.com:port/",
            "https://exa mple.com/",
            "mailto:someone@example.com",
        ] {
            assert!(Url::parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn a_loopback_receiver_is_refused_unless_allowed() {
        let url = Url::parse("http://127.0.0.1:9/hook").expect("url");
        assert_eq!(
            url.resolve(false).await,
            Err(Refused::Private("127.0.0.1".parse().expect("ip")))
        );
        assert!(url.resolve(true).await.is_ok());
        let named = Url::parse("http://localhost:9/hook").expect("url");
        assert!(matches!(
            named.resolve(false).await,
            Err(Refused::Private(_))
        ));
    }
}
