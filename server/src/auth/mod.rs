//! Who may do what. Machines call the API with keys ([`keys`]: `dbk_` + 256 random bits,
//! stored as SHA-256); people sign in to the console by an emailed one-time link
//! ([`links`]) or a password ([`passwords`]), which starts a session ([`sessions`]). Both
//! end as a [`Staff`] with one [`Role`], checked by the same table ([`roles`]). An account
//! manager sees and acts on the accounts whose deals name them only (see [`Accounts`]),
//! which is why their key must name its holder.

pub mod keys;
pub mod links;
pub mod members;
pub mod passwords;
pub mod roles;
pub mod secrets;
pub mod sessions;
pub mod staff;

pub use keys::{active_key_count, create_key};
pub use members::{upsert_member, Member};
pub use roles::{Permission, Role};
pub use secrets::{hash_secret, random_secret};
pub use staff::{Accounts, Staff};
