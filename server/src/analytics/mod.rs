//! Analytics for program owners: how many buyers took part, and what they said.

pub mod drivers;
pub mod filter;
pub mod funnel;
pub mod interviews;
pub mod nps;
pub mod participation;
pub mod rollups;
