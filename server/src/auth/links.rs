//! One-time sign-in links. Asking for a link records it and queues its email; the link's
//! token is made only when the email goes out ([`issue`]), so it is never stored in clear,
//! not even in the outbox's payload. A link works once, for [`VALID_FOR`], and only for a
//! member who still has a role and is not disabled.

use super::secrets::{hash_secret, random_secret};
use crate::jobs::{self, JobKind, NewJob};
use crate::platform::db::{self, time::to_db, Db};
use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How long a link works once sent.
pub const VALID_FOR: Duration = Duration::minutes(15);

/// At most this many links per member per hour, whoever asks: asking again and again
/// fills nobody's inbox. Each network asks for at most [`Throttle::PER_ADDRESS`] of them,
/// so one stranger cannot spend a member's whole quota.
const PER_HOUR: i64 = 20;

/// Link requests per client network and hour, counted in memory by each instance: for an
/// address ([`Throttle::PER_ADDRESS`]) and for any ([`Throttle::PER_NETWORK`]). Counted
/// whether or not the address has an account, so that a refusal tells nothing.
#[derive(Debug, Default)]
pub struct Throttle {
    seen: std::sync::Mutex<std::collections::HashMap<String, Vec<DateTime<Utc>>>>,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`DEBRIEF_TRUSTED_PROXIES`).
    /// Behind one, every request's peer is the proxy: without this, all clients would
    /// share one network's count.
    trusted_proxies: Vec<std::net::IpAddr>,
}

impl Throttle {
    pub const PER_ADDRESS: usize = 5;
    pub const PER_NETWORK: usize = 30;

    pub fn behind(trusted_proxies: Vec<std::net::IpAddr>) -> Self {
        Self {
            seen: Default::default(),
            trusted_proxies: trusted_proxies
                .into_iter()
                .map(|ip| ip.to_canonical())
                .collect(),
        }
    }

    /// The network a request comes from: its peer's, unless the peer is a trusted proxy;
    /// then the nearest address in `X-Forwarded-For` that is not one of ours (the entries
    /// left of it were written by the client, who can write anything).
    pub fn client_network(&self, peer: Option<std::net::IpAddr>, forwarded_for: &[&str]) -> String {
        let Some(mut client) = peer.map(|ip| ip.to_canonical()) else {
            return "unknown".to_owned();
        };
        let hops = forwarded_for
            .iter()
            .flat_map(|header| header.split(','))
            .rev()
            .map(|hop| hop_address(hop.trim()));
        for hop in hops {
            if !self.trusted_proxies.contains(&client) {
                break;
            }
            match hop {
                Some(ip) => client = ip,
                // A hop that is not an address: count the request against the proxy's
                // own network rather than trust what lies beyond it.
                None => break,
            }
        }
        network(client)
    }

    /// Whether `network` may ask for a link for `email` now; counts the request if so.
    pub fn allow(&self, network: &str, email: &str, now: DateTime<Utc>) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        let since = now - Duration::hours(1);
        // Forget what is more than an hour old, now and then: memory stays bounded by
        // the last hour's requests.
        if seen.len() > 10_000 {
            seen.retain(|_, times| times.iter().any(|t| *t > since));
        }
        let keys = [
            (format!("net:{network}"), Self::PER_NETWORK),
            (format!("addr:{network}:{email}"), Self::PER_ADDRESS),
        ];
        let full = keys.iter().any(|(key, limit)| {
            seen.get(key)
                .is_some_and(|times| times.iter().filter(|t| **t > since).count() >= *limit)
        });
        if full {
            return false;
        }
        for (key, _) in keys {
            let times = seen.entry(key).or_default();
            times.retain(|t| *t > since);
            times.push(now);
        }
        true
    }
}

/// An address as proxies write it in `X-Forwarded-For`: bare, or with a port
/// (`203.0.113.5:41234`, `[2001:db8::1]:443`), as some load balancers do.
fn hop_address(hop: &str) -> Option<std::net::IpAddr> {
    let ip = hop
        .parse::<std::net::IpAddr>()
        .or_else(|_| hop.parse::<std::net::SocketAddr>().map(|a| a.ip()))
        .or_else(|_| hop.trim_start_matches('[').trim_end_matches(']').parse())
        .ok()?;
    Some(ip.to_canonical())
}

/// The client's network, as requests are throttled: an IPv4 address's /24, an IPv6
/// address's /64 (a home or an office, not one device).
pub fn network(addr: std::net::IpAddr) -> String {
    // An IPv4 client seen on a dual-stack socket (::ffff:a.b.c.d) is an IPv4 client.
    match addr.to_canonical() {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// The payload of a `sign_in_email` job.
#[derive(Debug, Serialize, Deserialize)]
pub struct LinkJob {
    pub link_id: String,
}

/// Records a sign-in link for the member with address `email` and queues its email, if
/// that member may sign in; says nothing either way, so that the form does not tell who
/// has an account.
pub async fn request(db: &Db, email: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
    let member: Option<(String,)> = sqlx::query_as(
        "select id from staff where email = $1 and role is not null and disabled_at is null",
    )
    .bind(email.trim().to_lowercase())
    .fetch_optional(db.pool())
    .await
    .context("finding the member")?;
    let Some((staff_id,)) = member else {
        return Ok(());
    };
    let (recent,): (i64,) = sqlx::query_as(
        "select count(*) from staff_sign_in_links where staff_id = $1 and created_at > $2",
    )
    .bind(&staff_id)
    .bind(to_db(now - Duration::hours(1)))
    .fetch_one(db.pool())
    .await?;
    if recent >= PER_HOUR {
        tracing::info!("sign-in link not sent: too many asked for this hour");
        return Ok(());
    }
    let link_id = db::new_id();
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "insert into staff_sign_in_links (id, staff_id, created_at, expires_at)
         values ($1, $2, $3, $4)",
    )
    .bind(&link_id)
    .bind(&staff_id)
    .bind(to_db(now))
    .bind(to_db(now + VALID_FOR))
    .execute(&mut *tx)
    .await
    .context("recording the sign-in link")?;
    let job = NewJob::new(
        JobKind::SignInEmail,
        format!("sign_in:{link_id}"),
        &LinkJob {
            link_id: link_id.clone(),
        },
        now,
    )?;
    jobs::enqueue_many(&mut tx, vec![job], now).await?;
    tx.commit().await?;
    Ok(())
}

/// The member a link is for, as its email needs them.
#[derive(Debug, sqlx::FromRow)]
pub struct Recipient {
    pub email: String,
    pub name: String,
    pub locale: String,
}

/// Makes the token of link `link_id` as its email is sent: the member and the token, or
/// none when the link can no longer be used (expired, used, or its member disabled). A
/// retried email gets a new token, and the earlier one stops working.
pub async fn issue(
    db: &Db,
    link_id: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<(Recipient, String)>> {
    let token = random_secret();
    let updated = sqlx::query(
        "update staff_sign_in_links set token_hash = $1
         where id = $2 and used_at is null and expires_at > $3",
    )
    .bind(hash_secret(&token))
    .bind(link_id)
    .bind(to_db(now))
    .execute(db.pool())
    .await
    .context("making the link's token")?;
    if updated.rows_affected() == 0 {
        return Ok(None);
    }
    let recipient: Option<Recipient> = sqlx::query_as(
        "select s.email, s.name, s.locale from staff_sign_in_links l
         join staff s on s.id = l.staff_id
         where l.id = $1 and s.role is not null and s.disabled_at is null",
    )
    .bind(link_id)
    .fetch_optional(db.pool())
    .await?;
    Ok(recipient.map(|r| (r, token)))
}

/// Why a link does not sign anyone in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Unknown, already used, or expired: the same answer for all three.
    NotValid,
}

/// Uses the link of `token`: the member it signs in, once.
pub async fn redeem(
    db: &Db,
    token: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Result<String, Refused>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(Err(Refused::NotValid));
    }
    // One statement: two tabs opening the same link cannot both use it.
    let used: Option<(String,)> = sqlx::query_as(
        "update staff_sign_in_links set used_at = $1
         where token_hash = $2 and used_at is null and expires_at > $1
           and staff_id in (select id from staff where role is not null and disabled_at is null)
         returning staff_id",
    )
    .bind(to_db(now))
    .bind(hash_secret(token))
    .fetch_optional(db.pool())
    .await
    .context("using the sign-in link")?;
    Ok(used.map(|(id,)| id).ok_or(Refused::NotValid))
}

/// A link made on the command line rather than emailed: the first admin's, before the
/// mail is set up, and the demo's members'. The token, to print.
pub async fn mint(db: &Db, staff_id: &str, now: DateTime<Utc>) -> anyhow::Result<String> {
    let token = random_secret();
    sqlx::query(
        "insert into staff_sign_in_links (id, staff_id, token_hash, created_at, expires_at)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(db::new_id())
    .bind(staff_id)
    .bind(hash_secret(&token))
    .bind(to_db(now))
    .bind(to_db(now + VALID_FOR))
    .execute(db.pool())
    .await
    .context("recording the sign-in link")?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_network_asks_for_a_few_links_an_hour() {
        let throttle = Throttle::default();
        let now = Utc::now();
        let asks = |net: &str, email: &str, at| throttle.allow(net, email, at);
        for _ in 0..Throttle::PER_ADDRESS {
            assert!(asks("203.0.113.0/24", "olga@acme.example", now));
        }
        assert!(!asks("203.0.113.0/24", "olga@acme.example", now));
        // Another network still may: one stranger does not lock Olga out.
        assert!(asks("198.51.100.0/24", "olga@acme.example", now));
        // Any address counts towards the network's own cap.
        let mut allowed = Throttle::PER_ADDRESS + 1;
        for n in 0..40 {
            if asks("192.0.2.0/24", &format!("m{n}@acme.example"), now) {
                allowed += 1;
            }
        }
        assert_eq!(allowed - Throttle::PER_ADDRESS - 1, Throttle::PER_NETWORK);
        // An hour later, it starts afresh.
        assert!(asks(
            "203.0.113.0/24",
            "olga@acme.example",
            now + Duration::minutes(61)
        ));
    }

    #[test]
    fn networks_are_a_home_or_an_office() {
        assert_eq!(
            network("203.0.113.77".parse().expect("ip")),
            "203.0.113.0/24"
        );
        assert_eq!(
            network("2001:db8:1:2:3:4:5:6".parse().expect("ip")),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            network("::ffff:203.0.113.77".parse().expect("ip")),
            "203.0.113.0/24"
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_client_is_the_forwarded_address() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().expect("ip");
        let direct = Throttle::default();
        // Not behind a proxy: the header is anyone's to write and is ignored.
        assert_eq!(
            direct.client_network(Some(ip("198.51.100.9")), &["203.0.113.5"]),
            "198.51.100.0/24"
        );
        let proxied = Throttle::behind(vec![ip("10.0.0.2"), ip("10.0.0.3")]);
        assert_eq!(
            proxied.client_network(Some(ip("10.0.0.2")), &["203.0.113.5"]),
            "203.0.113.0/24"
        );
        // Two proxies of ours; what the client wrote before them is not believed.
        assert_eq!(
            proxied.client_network(
                Some(ip("::ffff:10.0.0.2")),
                &["192.0.2.1, 203.0.113.5", "10.0.0.3"]
            ),
            "203.0.113.0/24"
        );
        // Load balancers that add the client's port.
        assert_eq!(
            proxied.client_network(Some(ip("10.0.0.2")), &["203.0.113.5:41234"]),
            "203.0.113.0/24"
        );
        assert_eq!(
            proxied.client_network(Some(ip("10.0.0.2")), &["[2001:db8:1:2::9]:443"]),
            "2001:db8:1:2::/64"
        );
        // A request that reaches a proxy's address without the header counts as the proxy.
        assert_eq!(
            proxied.client_network(Some(ip("10.0.0.2")), &[]),
            "10.0.0.0/24"
        );
        assert_eq!(
            proxied.client_network(Some(ip("10.0.0.2")), &["not-an-address"]),
            "10.0.0.0/24"
        );
    }
}
