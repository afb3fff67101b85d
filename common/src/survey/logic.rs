//! Conditions on earlier answers and on the deal, and the deal's attributes in texts. Pure
//! functions: the widget, the no-JS form and the server decide alike what a buyer sees.

use super::answers::Answer;
use crate::map::Map;
use serde::{Deserialize, Serialize};

/// `{"answer": "nps", "at_most": 6}`, `{"deal": "outcome", "any_of": ["lost"]}`,
/// `{"all": […]}`, `{"any": […]}` or `{"not": {…}}`. Loose on purpose: the validator
/// names the path of a condition that has no subject, two subjects or the wrong test,
/// which a strict enum could only report as "did not match any variant".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub all: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub any: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<Condition>>,
    /// The id of an earlier question.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deal: Option<DealAttribute>,
    /// A score or rating at most this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_most: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_least: Option<i64>,
    /// A choice (or any of several chosen), or a deal attribute, among these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any_of: Option<Vec<String>>,
    /// An interview opt-in or a consent answered so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is: Option<bool>,
    /// Answered at all (or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<bool>,
}

/// What a survey may read of the deal, frozen with each response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DealAttribute {
    Outcome,
    Segment,
    Competitor,
    Region,
    Persona,
    ProductLine,
    CompanyType,
}

impl DealAttribute {
    pub const ALL: [DealAttribute; 7] = [
        DealAttribute::Outcome,
        DealAttribute::Segment,
        DealAttribute::Competitor,
        DealAttribute::Region,
        DealAttribute::Persona,
        DealAttribute::ProductLine,
        DealAttribute::CompanyType,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DealAttribute::Outcome => "outcome",
            DealAttribute::Segment => "segment",
            DealAttribute::Competitor => "competitor",
            DealAttribute::Region => "region",
            DealAttribute::Persona => "persona",
            DealAttribute::ProductLine => "product_line",
            DealAttribute::CompanyType => "company_type",
        }
    }
}

/// The deal as the survey sees it, plus the vendor's name for "{company}".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SurveyContext {
    pub company: String,
    /// By attribute; the competitor is the one the deal was decided against, if any.
    #[serde(default)]
    pub deal: Map<DealAttribute, String>,
}

/// Answers given so far, by question id.
pub type Answers = Map<String, Answer>;

impl Condition {
    /// Whether it holds. A condition on a question not answered (or hidden) fails, except
    /// `answered: false`.
    pub fn holds(&self, answers: &Answers, context: &SurveyContext) -> bool {
        if !self.all.is_empty() {
            return self.all.iter().all(|c| c.holds(answers, context));
        }
        if !self.any.is_empty() {
            return self.any.iter().any(|c| c.holds(answers, context));
        }
        if let Some(inner) = &self.not {
            return !inner.holds(answers, context);
        }
        if let Some(attribute) = self.deal {
            let value = context.deal.get(&attribute);
            return match (&self.any_of, self.answered) {
                (Some(list), _) => value.is_some_and(|v| list.iter().any(|l| l == v)),
                (None, Some(wanted)) => value.is_some() == wanted,
                (None, None) => false,
            };
        }
        let Some(question) = &self.answer else {
            return false;
        };
        let answer = answers.get(question);
        if let Some(wanted) = self.answered {
            return answer.is_some() == wanted;
        }
        let Some(answer) = answer else {
            return false;
        };
        let number = answer.number();
        if let Some(max) = self.at_most {
            return number.is_some_and(|n| n <= max);
        }
        if let Some(min) = self.at_least {
            return number.is_some_and(|n| n >= min);
        }
        if let Some(list) = &self.any_of {
            return answer.chosen().iter().any(|c| list.iter().any(|l| l == c));
        }
        if let Some(wanted) = self.is {
            return answer.flag() == Some(wanted);
        }
        false
    }
}

/// Replaces `{company}` and `{attribute}` with the context's values; an attribute the
/// deal does not have becomes empty. Anything else in braces stays as written.
pub fn fill(text: &str, context: &SurveyContext) -> String {
    fill_with(text, |name| placeholder(name, context))
}

/// `text` with each `{name}` that `value` knows replaced by its value; the others stay
/// as written.
pub fn fill_with<'a>(text: &str, value: impl Fn(&str) -> Option<&'a str>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match value(name) {
                    Some(value) => out.push_str(value),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn placeholder<'a>(name: &str, context: &'a SurveyContext) -> Option<&'a str> {
    if name == "company" {
        return Some(&context.company);
    }
    let attribute = DealAttribute::ALL.into_iter().find(|a| a.name() == name)?;
    Some(
        context
            .deal
            .get(&attribute)
            .map(String::as_str)
            .unwrap_or(""),
    )
}

/// The names a text may use in braces.
pub fn is_placeholder(name: &str) -> bool {
    name == "company" || DealAttribute::ALL.iter().any(|a| a.name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::survey::tests::lost_to_northwind as context;

    fn cond(json: &str) -> Condition {
        serde_json::from_str(json).expect("condition")
    }

    #[test]
    fn a_low_score_shows_the_follow_up_and_a_high_one_does_not() {
        let low: Answers = [("nps".to_owned(), Answer::Score(4))].into_iter().collect();
        let high: Answers = [("nps".to_owned(), Answer::Score(9))].into_iter().collect();
        let c = cond(r#"{"answer": "nps", "at_most": 6}"#);
        assert!(c.holds(&low, &context()));
        assert!(!c.holds(&high, &context()));
        assert!(!c.holds(&Answers::new(), &context()), "not answered yet");
    }

    #[test]
    fn price_among_the_reasons_asks_what_else() {
        let answers: Answers = [(
            "reasons".to_owned(),
            Answer::Choices {
                choices: vec!["features".into(), "price".into()],
                other: None,
            },
        )]
        .into_iter()
        .collect();
        let c = cond(r#"{"answer": "reasons", "any_of": ["price"]}"#);
        assert!(c.holds(&answers, &context()));
        let c = cond(r#"{"not": {"answer": "reasons", "any_of": ["price"]}}"#);
        assert!(!c.holds(&answers, &context()));
    }

    #[test]
    fn deal_attributes_decide_and_fill_texts() {
        let lost = cond(
            r#"{"all": [{"deal": "outcome", "any_of": ["lost", "no_decision"]},
                                    {"deal": "competitor", "answered": true}]}"#,
        );
        assert!(lost.holds(&Answers::new(), &context()));
        let won = cond(r#"{"deal": "outcome", "any_of": ["won"]}"#);
        assert!(!won.holds(&Answers::new(), &context()));
        assert_eq!(
            fill(
                "Why did you choose {competitor} over {company}? {unknown} {",
                &context()
            ),
            "Why did you choose Northwind over Acme? {unknown} {"
        );
        assert_eq!(fill("Region: {region}.", &context()), "Region: .");
    }
}
