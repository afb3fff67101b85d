//! Staff API keys. A key is `dbk_` + 256 random bits; only its SHA-256 is stored, and each
//! key carries one role that decides what it may do. A key may name its holder, a staff
//! member with an address: an account manager's key must, since the accounts they see
//! and act on are those whose deals name them (see [`Accounts`]).

use crate::platform::db::{self, time::to_db, Db};
use crate::text_enum;
use crate::web::error::ApiError;
use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};
use anyhow::Context;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures_util::future::LocalBoxFuture;
use rand::RngCore;
use sha2::{Digest, Sha256};

text_enum! {
    /// What a staff member does in the program.
    pub enum Role {
        Admin = "admin",
        ProgramOwner = "program_owner",
        AccountManager = "account_manager",
        Analyst = "analyst",
        /// A machine: the CRM connector that posts decided deals.
        Integration = "integration",
    }
}

/// Things a key may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    RecordDecisions,
    ReadParticipation,
    /// See dead jobs and replay them.
    ManageDelivery,
    /// Read the program's definition and its versions.
    ReadProgram,
    /// Change the program, and preview it.
    ManageProgram,
    /// List, add and lift suppressions.
    ManageSuppressions,
    /// See earned incentives, export payouts, mark them fulfilled.
    ManageIncentives,
    /// See interviewers, their availability and free slots.
    ReadInterviewers,
    /// Publish any interviewer's availability (each publishes their own whatever their
    /// role).
    ManageInterviewers,
    /// See a deal's interview candidates and invite them (an account manager, on the
    /// accounts they manage).
    InviteToInterview,
    /// Read the interview guide, and interviews' notes (an account manager, of the
    /// accounts they manage).
    ReadInterviews,
    /// Note, close or call off any interview (each interviewer does so for theirs).
    ManageInterviews,
    /// Read the taxonomy and coded insights (an account manager, of the accounts they
    /// manage).
    ReadInsights,
    /// Code buyers' text, and read the coding queue, lexicons and agreement.
    CodeInsights,
    /// Change the driver taxonomy and the lexicons.
    ManageTaxonomy,
    /// Read alert rules and firings; acknowledge and snooze firings.
    ReadAlerts,
    /// Write alert rules, and evaluate them now.
    ManageAlerts,
    /// Keep the digest's readers, preview and send digests.
    ManageDigests,
}

impl Permission {
    fn describe(self) -> &'static str {
        match self {
            Permission::RecordDecisions => "record decided deals",
            Permission::ReadParticipation => "read participation",
            Permission::ManageDelivery => "manage delivery",
            Permission::ReadProgram => "read the program",
            Permission::ManageProgram => "change or preview the program",
            Permission::ManageSuppressions => "manage the suppression list",
            Permission::ManageIncentives => "manage incentives and payouts",
            Permission::ReadInterviewers => "see interviewers and their availability",
            Permission::ManageInterviewers => "publish interviewers' availability",
            Permission::InviteToInterview => "invite buyers to interviews",
            Permission::ReadInterviews => "read interviews and their guide",
            Permission::ManageInterviews => "note, close or call off interviews",
            Permission::ReadInsights => "read coded insights",
            Permission::CodeInsights => "code buyers' answers",
            Permission::ManageTaxonomy => "change the driver taxonomy and lexicons",
            Permission::ReadAlerts => "read and acknowledge alerts",
            Permission::ManageAlerts => "change alert rules",
            Permission::ManageDigests => "manage the monthly digests",
        }
    }
}

impl Role {
    pub fn can(self, permission: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match permission {
            RecordDecisions => matches!(self, Admin | ProgramOwner | Integration),
            ReadParticipation => matches!(self, Admin | ProgramOwner | Analyst),
            ManageDelivery | ManageProgram | ManageSuppressions | ManageIncentives
            | ManageInterviewers | ManageInterviews => matches!(self, Admin | ProgramOwner),
            ReadInterviews | ReadInsights => {
                matches!(self, Admin | ProgramOwner | Analyst | AccountManager)
            }
            CodeInsights | ManageTaxonomy | ReadAlerts => {
                matches!(self, Admin | ProgramOwner | Analyst)
            }
            ManageAlerts | ManageDigests => matches!(self, Admin | ProgramOwner),
            // Account managers pick an interviewer when they invite a buyer.
            ReadInterviewers | InviteToInterview => {
                matches!(self, Admin | ProgramOwner | AccountManager)
            }
            ReadProgram => matches!(self, Admin | ProgramOwner | Analyst),
        }
    }
}

/// SHA-256, hex. Used for API keys and buyer tokens alike: both are high-entropy random
/// strings, so a fast unsalted hash is enough to make a leaked table useless.
pub fn hash_secret(secret: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(secret.as_bytes());
    // Every request with a token hashes it: no formatting machinery per byte.
    let mut hex = String::with_capacity(digest.len() * 2);
    for b in digest {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    hex
}

/// 256 random bits, URL-safe base64 (43 characters).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

const KEY_PREFIX: &str = "dbk_";

/// A staff member, as a key names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub name: String,
    /// Lower-cased.
    pub email: String,
    /// Their calendar's time zone, for interviewers (IANA name).
    pub time_zone: Option<chrono_tz::Tz>,
}

impl Member {
    /// Checks a member as given to the command line or the API; names the field at fault.
    pub fn new(name: &str, email: &str, time_zone: Option<&str>) -> Result<Member, ApiError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ApiError::field("name", "must be 1 to 200 characters"));
        }
        let email = email.trim().to_lowercase();
        if email.parse::<lettre::Address>().is_err() {
            return Err(ApiError::field("email", "must be an email address"));
        }
        let time_zone = time_zone
            .map(|tz| {
                tz.parse::<chrono_tz::Tz>()
                    .map_err(|_| ApiError::field("time_zone", "must be an IANA time zone"))
            })
            .transpose()?;
        Ok(Member {
            name: name.to_owned(),
            email,
            time_zone,
        })
    }
}

/// Creates or updates a staff member by address; their id. A member given without a time
/// zone keeps the one they had: their interviews' pages and emails need it.
pub async fn upsert_member(db: &Db, member: &Member) -> anyhow::Result<String> {
    let stamp = to_db(chrono::Utc::now());
    let (id,): (String,) = sqlx::query_as(
        "insert into staff (id, email, name, time_zone, created_at, updated_at) \
         values ($1, $2, $3, $4, $5, $5) \
         on conflict (email) do update set name = excluded.name, \
         time_zone = coalesce(excluded.time_zone, staff.time_zone), \
         updated_at = excluded.updated_at returning id",
    )
    .bind(db::new_id())
    .bind(&member.email)
    .bind(&member.name)
    .bind(member.time_zone.map(|tz| tz.name().to_owned()))
    .bind(stamp)
    .fetch_one(db.pool())
    .await
    .context("storing the staff member")?;
    Ok(id)
}

/// Creates a key and returns it in clear: the only time it exists outside the caller. An
/// account manager's key needs its holder.
pub async fn create_key(
    db: &Db,
    name: &str,
    role: Role,
    holder: Option<&Member>,
) -> anyhow::Result<String> {
    if role == Role::AccountManager && holder.is_none() {
        anyhow::bail!("an account manager's key needs their email address (--email)");
    }
    let staff_id = match holder {
        Some(member) => Some(upsert_member(db, member).await?),
        None => None,
    };
    let key = format!("{KEY_PREFIX}{}", random_secret());
    sqlx::query(
        "insert into api_keys (id, name, role, key_hash, created_at, staff_id) \
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(db::new_id())
    .bind(name)
    .bind(role.as_str())
    .bind(hash_secret(&key))
    .bind(to_db(chrono::Utc::now()))
    .bind(staff_id)
    .execute(db.pool())
    .await
    .context("storing the API key")?;
    Ok(key)
}

pub async fn active_key_count(db: &Db) -> anyhow::Result<i64> {
    let (n,): (i64,) = sqlx::query_as("select count(*) from api_keys where revoked_at is null")
        .fetch_one(db.pool())
        .await?;
    Ok(n)
}

/// The caller of a staff endpoint, authenticated by `Authorization: Bearer <key>`.
#[derive(Debug, Clone)]
pub struct Staff {
    pub role: Role,
    /// The key's name, recorded on what its holder changes.
    pub name: String,
    /// The key's holder, when it names one: their id and address.
    pub member: Option<(String, String)>,
}

/// The accounts a caller sees and acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accounts {
    All,
    /// Those managed by this address (`accounts.manager_email`).
    ManagedBy(String),
    /// None: an account manager's key stored without its holder.
    None,
}

impl Accounts {
    /// Whether an account managed by `manager_email` is among them.
    pub fn include(&self, manager_email: Option<&str>) -> bool {
        match self {
            Accounts::All => true,
            Accounts::ManagedBy(email) => manager_email == Some(email.as_str()),
            Accounts::None => false,
        }
    }
}

impl Staff {
    /// The accounts this caller may see and act on: an account manager's own, everyone
    /// else's all (what they may do with them is their role's).
    pub fn accounts(&self) -> Accounts {
        match (self.role, &self.member) {
            (Role::AccountManager, Some((_, email))) => Accounts::ManagedBy(email.clone()),
            // Refused at creation; should one be stored, it sees no account.
            (Role::AccountManager, None) => Accounts::None,
            _ => Accounts::All,
        }
    }

    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.role.can(permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                role: self.role.to_string(),
                action: permission.describe(),
            })
        }
    }
}

impl FromRequest for Staff {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = req
            .headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|k| k.trim().to_owned())
            .filter(|k| k.starts_with(KEY_PREFIX) && k.len() < 128);
        let db = req.app_data::<web::Data<Db>>().cloned();
        Box::pin(async move {
            let (Some(key), Some(db)) = (key, db) else {
                return Err(ApiError::Unauthorized);
            };
            let row: Option<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
                "select k.role, k.name, s.id, s.email from api_keys k \
                 left join staff s on s.id = k.staff_id \
                 where k.key_hash = $1 and k.revoked_at is null",
            )
            .bind(hash_secret(&key))
            .fetch_optional(db.pool())
            .await?;
            let (role, name, staff_id, email) = row.ok_or(ApiError::Unauthorized)?;
            let role = role
                .parse()
                .map_err(|e: String| anyhow::anyhow!("stored role: {e}"))?;
            Ok(Staff {
                role,
                name,
                member: staff_id.zip(email),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_distinct() {
        let a = random_secret();
        let b = random_secret();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn hashes_are_stable_hex_and_hide_the_secret() {
        let h = hash_secret("dbk_example");
        assert_eq!(h.len(), 64);
        assert_eq!(h, hash_secret("dbk_example"));
        assert!(!h.contains("example"));
        // What every stored key and link hash was written as: SHA-256 in lowercase hex.
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn an_account_manager_sees_only_the_accounts_they_manage() {
        let manager = Staff {
            role: Role::AccountManager,
            name: "Ana".into(),
            member: Some(("s1".into(), "ana@acme.example".into())),
        };
        let scope = manager.accounts();
        assert!(scope.include(Some("ana@acme.example")));
        assert!(!scope.include(Some("bob@acme.example")));
        assert!(!scope.include(None));
        let holderless = Staff {
            member: None,
            ..manager
        };
        assert!(!holderless.accounts().include(Some("")));
        let owner = Staff {
            role: Role::ProgramOwner,
            name: "Olga".into(),
            member: None,
        };
        assert!(owner.accounts().include(Some("bob@acme.example")));
    }

    #[test]
    fn a_member_is_checked_field_by_field() {
        let member = Member::new(" Ana Duarte ", "Ana@Acme.example", Some("America/New_York"))
            .expect("valid");
        assert_eq!(member.email, "ana@acme.example");
        assert_eq!(member.name, "Ana Duarte");
        assert_eq!(member.time_zone, Some(chrono_tz::America::New_York));
        let field = |name: &str, email: &str, time_zone: Option<&str>| match Member::new(
            name, email, time_zone,
        )
        .expect_err("refused")
        {
            ApiError::Validation(fields) => fields[0].field.clone(),
            other => panic!("not a validation error: {other:?}"),
        };
        assert_eq!(field("", "a@b.example", None), "name");
        assert_eq!(field("A", "not an address", None), "email");
        assert_eq!(field("A", "a@b.example", Some("Mars/Olympus")), "time_zone");
    }

    #[test]
    fn an_analyst_reads_participation_but_cannot_post_deals() {
        assert!(Role::Analyst.can(Permission::ReadParticipation));
        assert!(!Role::Analyst.can(Permission::RecordDecisions));
        assert!(Role::Integration.can(Permission::RecordDecisions));
        assert!(!Role::Integration.can(Permission::ReadParticipation));
    }
}
