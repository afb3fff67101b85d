//! Reports for the people who act on the program: the monthly digest each department
//! reads by email, and the quarterly report, a printable page. Both are made from the
//! same figures as the dashboards ([`facts`]).

pub mod digest;
pub mod facts;
pub mod quarterly;
pub mod routes;
pub mod subscribers;
