//! The part a buyer played in a decision, read from the role their CRM gave them. Planning
//! picks a segment's "deciders" by it, and interview candidates are ranked by it.

use crate::text_enum;

text_enum! {
    /// The part a contact played in the decision, read from the role the CRM gave them.
    pub enum BuyingRole {
        /// Made the final call.
        DecisionMaker = "decision_maker",
        /// Held the budget, and so the price and terms.
        EconomicBuyer = "economic_buyer",
        /// Compared the products hands-on.
        Evaluator = "evaluator",
        Other = "other",
    }
}

impl BuyingRole {
    /// Reads a role as CRMs write them: the buying role's own name first ("Economic
    /// buyer", "decision-maker"), then common titles. Unknown or missing: other.
    pub fn read(role: Option<&str>) -> BuyingRole {
        let Some(role) = role else {
            return BuyingRole::Other;
        };
        let text: String = role
            .to_lowercase()
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect();
        let words: Vec<&str> = text.split_whitespace().collect();
        let has = |phrase: &str| {
            let phrase: Vec<&str> = phrase.split(' ').collect();
            words.windows(phrase.len()).any(|w| w == phrase.as_slice())
        };
        // A champion argued for a product but did not decide: not one of these.
        const NAMED: [(&str, BuyingRole); 5] = [
            ("decision maker", BuyingRole::DecisionMaker),
            ("economic buyer", BuyingRole::EconomicBuyer),
            ("evaluator", BuyingRole::Evaluator),
            ("technical buyer", BuyingRole::Evaluator),
            ("decider", BuyingRole::DecisionMaker),
        ];
        const TITLES: [(&str, BuyingRole); 14] = [
            ("ceo", BuyingRole::DecisionMaker),
            ("founder", BuyingRole::DecisionMaker),
            ("president", BuyingRole::DecisionMaker),
            ("general manager", BuyingRole::DecisionMaker),
            ("managing director", BuyingRole::DecisionMaker),
            ("cfo", BuyingRole::EconomicBuyer),
            ("finance", BuyingRole::EconomicBuyer),
            ("budget", BuyingRole::EconomicBuyer),
            ("procurement", BuyingRole::EconomicBuyer),
            ("purchasing", BuyingRole::EconomicBuyer),
            ("engineer", BuyingRole::Evaluator),
            ("architect", BuyingRole::Evaluator),
            ("analyst", BuyingRole::Evaluator),
            ("admin", BuyingRole::Evaluator),
        ];
        NAMED
            .iter()
            .chain(TITLES.iter())
            .find(|(phrase, _)| has(phrase))
            .map_or(BuyingRole::Other, |(_, role)| *role)
    }

    /// Who best explains the final choice: lower first.
    pub fn rank(self) -> u8 {
        match self {
            BuyingRole::DecisionMaker => 0,
            BuyingRole::EconomicBuyer => 1,
            BuyingRole::Evaluator => 2,
            BuyingRole::Other => 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_read_by_name_then_by_title() {
        let read = |r: &str| BuyingRole::read(Some(r));
        assert_eq!(read("Economic buyer"), BuyingRole::EconomicBuyer);
        assert_eq!(read("decision-maker"), BuyingRole::DecisionMaker);
        assert_eq!(read("Technical evaluator"), BuyingRole::Evaluator);
        assert_eq!(read("CFO"), BuyingRole::EconomicBuyer);
        assert_eq!(read("Co-founder & CEO"), BuyingRole::DecisionMaker);
        assert_eq!(read("Solutions Architect"), BuyingRole::Evaluator);
        // Whole words only: "Procurement" is the budget's, "Financed" is nobody's.
        assert_eq!(read("Head of Procurement"), BuyingRole::EconomicBuyer);
        assert_eq!(read("Sales contact"), BuyingRole::Other);
        assert_eq!(read("Champion"), BuyingRole::Other);
        assert_eq!(read("Financed projects lead"), BuyingRole::Other);
        assert_eq!(BuyingRole::read(None), BuyingRole::Other);
    }
}
