//! Roles and what each may do: one table, read by the API's keys and the console's
//! sessions alike, so that a page never lets someone do what the API would refuse them.

use crate::text_enum;

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
    pub(super) fn describe(self) -> &'static str {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_analyst_reads_participation_but_cannot_post_deals() {
        assert!(Role::Analyst.can(Permission::ReadParticipation));
        assert!(!Role::Analyst.can(Permission::RecordDecisions));
        assert!(Role::Integration.can(Permission::RecordDecisions));
        assert!(!Role::Integration.can(Permission::ReadParticipation));
    }
}
