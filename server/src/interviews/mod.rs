//! Interviews: the qualitative half of the program. Account managers invite their buyers
//! personally; buyers book a slot in an interviewer's published availability; the
//! interview is noted against the program's guide.

pub mod availability;
pub mod booking;
pub mod candidates;
pub mod emails;
pub mod guide;
pub mod interviewers;
pub mod lifecycle;
pub mod notes;
pub mod page;
pub mod personal;
pub mod routes;
pub mod staff;
