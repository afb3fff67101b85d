//! The survey's state as a pure reducer: every transition is a plain function, tested with
//! native `cargo test`, no browser needed. What must reach the server is said as a
//! [`Command`] with a sequence number; the component runs each command once.
//!
//! The rules are the shared ones (`debrief_common::survey`): the same validator and the
//! same walk through the pages (`flow`) as the no-JS form and the server.

use debrief_common::map::Map;
use debrief_common::survey::definition::OTHER;
use debrief_common::survey::flow;
use debrief_common::survey::validate::answer_index;
use debrief_common::survey::{
    validate_answers, Answer, AnswerItem, AnswerValue, Answers, Completeness, Definition, Hidden,
    Question, QuestionKind, SurveyContext, SurveyDocument, Text,
};
use debrief_common::{FieldError, Locale, NpsScore};
use std::rc::Rc;
use yew::Reducible;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Loading,
    /// Loading failed for a reason that may pass (the network).
    LoadFailed,
    Open,
    /// The last page was sent; waiting for the server to record the response.
    Finishing,
    Done,
    AlreadyAnswered,
    /// Unknown link.
    Invalid,
    /// Expired, or the buyer opted out.
    Closed,
}

impl Phase {
    /// As the host element's `data-debrief-state` shows it to the page around: a portal
    /// can style or wait on it, and a benchmark can time the widget taking over.
    pub fn code(self) -> &'static str {
        match self {
            Phase::Loading => "loading",
            Phase::LoadFailed => "failed",
            Phase::Open => "open",
            Phase::Finishing => "finishing",
            Phase::Done => "done",
            Phase::AlreadyAnswered => "answered",
            Phase::Invalid => "invalid",
            Phase::Closed => "closed",
        }
    }
}

/// Why a question is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Required, shown and not answered.
    Missing,
    /// The answer was refused.
    Invalid,
}

/// What the component must do for the state: each one once, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `PUT …/answers` with these answers.
    Save(Vec<AnswerItem>),
    /// `POST …/complete` with the answers not saved yet.
    Complete(Vec<AnswerItem>),
    /// Dispatch [`Action::Retry`] after this many milliseconds.
    RetryIn(u32),
    /// Move the focus to the page's heading (a new page) or to the list of faults.
    Focus(FocusTarget),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FocusTarget {
    Page,
    Faults,
}

/// The survey as loaded: the version the buyer answers, the deal its texts read, and the
/// words around the questions.
#[derive(Debug, PartialEq)]
pub struct Survey {
    pub definition: Definition,
    pub context: SurveyContext,
    pub sentences: Map<String, String>,
}

impl Survey {
    /// A sentence of the catalogue; its key when the server sent none.
    pub fn sentence<'a>(&'a self, key: &'a str) -> &'a str {
        self.sentences.get(key).map_or(key, String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SurveyState {
    pub phase: Phase,
    pub locale: Locale,
    pub survey: Option<Rc<Survey>>,
    /// Every answer shown, checked by the shared validator.
    pub answers: Answers,
    /// What the buyer is typing, by field name, before it becomes an answer (on leaving
    /// the field): the text is shown as typed, not as the validator trims it.
    pub drafts: Map<String, String>,
    pub page: usize,
    /// Answers the server has not acknowledged, by question: the newest of each.
    pub unsaved: Map<String, AnswerItem>,
    /// Answers on their way to the server.
    pub in_flight: Vec<AnswerItem>,
    /// Failed attempts in a row; the buyer is told while it is not zero.
    pub failures: u32,
    pub faults: Map<String, Fault>,
    /// The question holding a score clicked in the email: shown ticked, and saved only
    /// once the buyer does something on the page (a scanner's visit confirms nothing).
    pub provisional: Option<String>,
    pub command: Option<(u32, Command)>,
    seq: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// The survey loaded; `preselect` is the score clicked in the email, if any, and
    /// `fields` what the buyer gave in the server-rendered form before the widget took
    /// over, as the form would post it.
    Loaded {
        document: SurveyDocument,
        preselect: Option<NpsScore>,
        fields: Vec<(String, String)>,
    },
    LoadFailed,
    LinkInvalid,
    Closed,
    AlreadyAnswered,
    /// An answer given directly: the tests' way to answer without a form (the page
    /// answers through [`Action::Changed`]), left out of the widget as shipped.
    #[cfg(test)]
    Answer(AnswerItem),
    /// The buyer changed a field of the page (picked, ticked, or left a text field):
    /// `field` is its name, `fields` the page's form as the browser would post it. The
    /// answer is read from the form as the no-JS form's is, so a second click before the
    /// page is drawn again is never lost.
    Changed {
        field: String,
        fields: Vec<(String, String)>,
    },
    /// The buyer is typing in a text field.
    Draft {
        field: String,
        text: String,
    },
    Next,
    Back,
    Saved,
    Completed,
    /// The server refused answers: the fields name them by their place in what was sent.
    Refused(Vec<FieldError>),
    NetworkFailed,
    Retry,
}

/// The wait before the `n`th retry, in milliseconds: 1 s, 2 s, 4 s… up to 30 s.
pub fn backoff(failures: u32) -> u32 {
    1_000u32
        .saturating_mul(1 << failures.saturating_sub(1).min(5))
        .min(30_000)
}

impl SurveyState {
    pub fn new(locale: Locale) -> Self {
        SurveyState {
            phase: Phase::Loading,
            locale,
            survey: None,
            answers: Answers::new(),
            drafts: Map::new(),
            page: 0,
            unsaved: Map::new(),
            in_flight: Vec::new(),
            failures: 0,
            faults: Map::new(),
            provisional: None,
            command: None,
            seq: 0,
        }
    }

    /// A text of the survey in the buyer's language, with the deal's attributes filled in.
    pub fn text(&self, text: &Text) -> String {
        match &self.survey {
            Some(s) => debrief_common::survey::logic::fill(
                text.get(self.locale, s.definition.default_locale),
                &s.context,
            ),
            None => String::new(),
        }
    }

    /// The questions of the current page that the answers show.
    pub fn questions(&self) -> Vec<&Question> {
        let Some(s) = &self.survey else {
            return Vec::new();
        };
        s.definition
            .pages
            .get(self.page)
            .map_or_else(Vec::new, |p| {
                p.questions
                    .iter()
                    .filter(|q| flow::shown(q, &self.answers, &s.context))
                    .collect()
            })
    }

    /// Whether the current page is the last one the buyer will see.
    pub fn is_last_page(&self) -> bool {
        self.survey.as_ref().is_none_or(|s| {
            flow::next_page(&s.definition, self.page, &self.answers, &s.context).is_none()
        })
    }

    pub fn can_go_back(&self) -> bool {
        self.survey.as_ref().is_some_and(|s| {
            flow::previous_page(&s.definition, self.page, &self.answers, &s.context).is_some()
        })
    }

    /// The text shown in a field: what is being typed, else what was saved.
    pub fn field_text(&self, field: &str, saved: Option<&str>) -> String {
        self.drafts
            .get(field)
            .cloned()
            .unwrap_or_else(|| saved.unwrap_or_default().to_owned())
    }

    /// Whether answers wait to reach the server.
    pub fn saving(&self) -> bool {
        !self.unsaved.is_empty() || !self.in_flight.is_empty()
    }

    pub fn apply(&self, action: Action) -> SurveyState {
        let mut next = self.clone();
        next.command = None;
        match action {
            Action::Loaded {
                document,
                preselect,
                fields,
            } => {
                next.load(document, preselect);
                next.take_over(&fields);
            }
            Action::LoadFailed => next.phase = Phase::LoadFailed,
            Action::LinkInvalid => next.phase = Phase::Invalid,
            Action::Closed => next.phase = Phase::Closed,
            Action::AlreadyAnswered => next.phase = Phase::AlreadyAnswered,
            #[cfg(test)]
            Action::Answer(item) if self.phase == Phase::Open => next.answered(item),
            // Read as the answer it makes; a field of no question shown changes nothing.
            Action::Changed { field, fields } if self.phase == Phase::Open => {
                let item = self
                    .questions()
                    .into_iter()
                    .find(|q| is_field_of(q, &field))
                    .and_then(|q| changed_item(q, &field, fields));
                if let Some(item) = item {
                    next.answered(item);
                }
            }
            Action::Draft { field, text } if self.phase == Phase::Open => {
                next.drafts.insert(field, text);
            }
            Action::Next if self.phase == Phase::Open => next.go_next(),
            Action::Back if self.phase == Phase::Open => {
                if let Some(s) = &self.survey {
                    if let Some(p) =
                        flow::previous_page(&s.definition, self.page, &self.answers, &s.context)
                    {
                        next.page = p;
                        next.faults.clear();
                        next.issue(Command::Focus(FocusTarget::Page));
                    }
                }
            }
            Action::Saved => {
                next.in_flight.clear();
                next.failures = 0;
                next.send();
            }
            Action::Completed => {
                next.in_flight.clear();
                next.failures = 0;
                next.phase = Phase::Done;
            }
            Action::Refused(errors) => next.refused(&errors),
            Action::NetworkFailed => {
                // What was on its way is kept, unless the buyer changed it since.
                for item in std::mem::take(&mut next.in_flight) {
                    next.unsaved
                        .get_or_insert_with(item.question.clone(), || item);
                }
                next.failures = next.failures.saturating_add(1);
                next.issue(Command::RetryIn(backoff(next.failures)));
            }
            Action::Retry => next.send(),
            // Input after the survey closed (a late click while finishing) changes nothing.
            #[cfg(test)]
            Action::Answer(_) => {}
            Action::Changed { .. } | Action::Draft { .. } | Action::Next | Action::Back => {}
        }
        next
    }

    fn issue(&mut self, command: Command) {
        self.seq = self.seq.wrapping_add(1);
        self.command = Some((self.seq, command));
    }

    fn load(&mut self, document: SurveyDocument, preselect: Option<NpsScore>) {
        self.locale = document.locale;
        if document.complete {
            self.phase = Phase::AlreadyAnswered;
            return;
        }
        // The saved answers as the validator reads them: a question since hidden is left
        // out, as the server leaves it out.
        let answers = validate_answers(
            &document.definition,
            &document.context,
            &Answers::new(),
            &document.answers,
            Completeness::Partial,
            Hidden::Drop,
        )
        .unwrap_or_default();
        let nps = document
            .definition
            .questions()
            .map(|(_, q)| q)
            .find(|q| matches!(q.kind, QuestionKind::Nps))
            .map(|q| q.id.clone());
        self.answers = answers;
        if let (Some(score), Some(id)) = (preselect, nps) {
            if !self.answers.contains_key(&id) {
                self.answers
                    .insert(id.clone(), Answer::Score(i64::from(score.value())));
                self.provisional = Some(id);
            }
        }
        self.page = flow::resume_page(&document.definition, &self.answers, &document.context);
        self.survey = Some(Rc::new(Survey {
            definition: document.definition,
            context: document.context,
            sentences: document.sentences,
        }));
        self.phase = Phase::Open;
    }

    /// Answers the buyer gave in the server-rendered form before the widget loaded. A
    /// field that only repeats what the page showed (the score from the email, ticked for
    /// the buyer to confirm) changes nothing.
    fn take_over(&mut self, fields: &[(String, String)]) {
        let Some(s) = self.survey.clone() else {
            return;
        };
        if self.phase != Phase::Open || fields.is_empty() {
            return;
        }
        for (_, q) in s.definition.questions() {
            let Some(item) = flow::item_from_fields(q, fields) else {
                continue;
            };
            if self.answers.get(&q.id).map(|a| a.to_item(&q.id)) != Some(item.clone()) {
                self.confirm_provisional();
                self.answer(item);
            }
        }
        self.send();
    }

    /// The buyer answered: the answer is checked and sent, and the score brought from the
    /// email is theirs now too.
    fn answered(&mut self, item: AnswerItem) {
        self.confirm_provisional();
        self.answer(item);
        self.send();
    }

    /// The buyer acted on the page: the score brought from the email is now theirs.
    fn confirm_provisional(&mut self) {
        if let Some(id) = self.provisional.take() {
            if let Some(answer) = self.answers.get(&id) {
                let item = answer.to_item(&id);
                self.unsaved.insert(id, item);
            }
        }
    }

    /// Checks one answer against the shared rules, with the others as they stand.
    fn answer(&mut self, item: AnswerItem) {
        let Some(s) = self.survey.clone() else {
            return;
        };
        let id = item.question.clone();
        let checked = validate_answers(
            &s.definition,
            &s.context,
            &self.answers,
            std::slice::from_ref(&item),
            Completeness::Partial,
            Hidden::Drop,
        );
        match checked {
            Ok(answers) => {
                // Answers that this one hides are dropped here, as the server drops them.
                self.answers = answers;
                self.faults.remove(&id);
                self.unsaved.insert(id, item);
            }
            Err(_) => {
                self.faults.insert(id, Fault::Invalid);
            }
        }
    }

    /// The text fields of the current page that differ from their answers, as answers.
    fn commit_drafts(&mut self) {
        let questions: Vec<Question> = self.questions().into_iter().cloned().collect();
        for q in &questions {
            if let Some(item) = draft_item(q, &self.drafts, self.answers.get(&q.id)) {
                if self.answers.get(&q.id).map(|a| a.to_item(&q.id)) != Some(item.clone()) {
                    self.answer(item);
                }
            }
        }
    }

    fn go_next(&mut self) {
        let Some(s) = self.survey.clone() else {
            return;
        };
        self.confirm_provisional();
        self.commit_drafts();
        let missing = flow::missing_required(&s.definition, self.page, &self.answers, &s.context);
        let invalid = self.faults.values().any(|f| *f == Fault::Invalid);
        if !missing.is_empty() || invalid {
            for id in missing {
                self.faults.insert(id.to_owned(), Fault::Missing);
            }
            self.send();
            self.issue_after_send(Command::Focus(FocusTarget::Faults));
            return;
        }
        match flow::next_page(&s.definition, self.page, &self.answers, &s.context) {
            Some(p) => {
                self.page = p;
                self.send();
                self.issue_after_send(Command::Focus(FocusTarget::Page));
            }
            None => {
                self.phase = Phase::Finishing;
                self.send();
            }
        }
    }

    /// Focus moves only when no request is to start: a request's command wins, and the
    /// buyer's focus stays where it is, which is harmless.
    fn issue_after_send(&mut self, command: Command) {
        if self.command.is_none() {
            self.issue(command);
        }
    }

    /// Starts the next request when none is on its way.
    fn send(&mut self) {
        if !self.in_flight.is_empty() {
            return;
        }
        let batch: Vec<AnswerItem> = std::mem::take(&mut self.unsaved).into_values().collect();
        if self.phase == Phase::Finishing {
            self.in_flight = batch.clone();
            self.issue(Command::Complete(batch));
        } else if !batch.is_empty() {
            self.in_flight = batch.clone();
            self.issue(Command::Save(batch));
        }
    }

    /// A 422: each refused answer is marked; the survey goes back to the first page with
    /// a mark.
    fn refused(&mut self, errors: &[FieldError]) {
        let sent = std::mem::take(&mut self.in_flight);
        let mut marked = false;
        for e in errors {
            if let Some(item) = answer_index(&e.field).and_then(|i| sent.get(i)) {
                self.faults.insert(item.question.clone(), Fault::Invalid);
                marked = true;
            }
        }
        if self.phase == Phase::Finishing {
            self.phase = Phase::Open;
            if let Some(page) = self.first_page_at_fault() {
                self.page = page;
                marked = true;
            }
        }
        if marked {
            self.issue(Command::Focus(FocusTarget::Faults));
        }
        self.send();
    }

    /// Marks the required questions left blank on every page ("question x is required":
    /// the server saw a gap the page did not) and gives the first page with a mark.
    fn first_page_at_fault(&mut self) -> Option<usize> {
        let s = self.survey.clone()?;
        let d = &s.definition;
        (0..d.pages.len()).find(|&p| {
            for id in flow::missing_required(d, p, &self.answers, &s.context) {
                self.faults.insert(id.to_owned(), Fault::Missing);
            }
            d.pages[p]
                .questions
                .iter()
                .any(|q| self.faults.contains_key(&q.id))
        })
    }
}

/// The answer a text field's draft gives, if the buyer typed in it: free text, the
/// "other" note of a choice, or the times that suit an interview.
fn draft_item(
    q: &Question,
    drafts: &Map<String, String>,
    answer: Option<&Answer>,
) -> Option<AnswerItem> {
    let name = flow::field_name(&q.id);
    match &q.kind {
        QuestionKind::FreeText { .. } => {
            let text = drafts.get(&name)?;
            Some(AnswerItem {
                question: q.id.clone(),
                value: AnswerValue::Text(text.clone()),
                text: None,
            })
        }
        QuestionKind::SingleChoice { .. }
        | QuestionKind::MultipleChoice { .. }
        | QuestionKind::InterviewOptIn => {
            let note = drafts.get(&note_field(q))?;
            let mut item = answer?.to_item(&q.id);
            item.text = Some(note.clone()).filter(|t| !t.trim().is_empty());
            Some(item)
        }
        _ => None,
    }
}

/// Whether `field` is one of `q`'s: `q.<id>`, or `q.<id>.<note or driver>`.
fn is_field_of(q: &Question, field: &str) -> bool {
    field
        .strip_prefix("q.")
        .and_then(|rest| rest.strip_prefix(q.id.as_str()))
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// What a change to `field` makes of `q`'s answer, read from the page's fields as the no-JS
/// form reads them. A note typed beside "other" picks "other", and times typed for an
/// interview say yes: the buyer plainly meant it. A text emptied, or the last box
/// unticked, clears the answer.
fn changed_item(
    q: &Question,
    field: &str,
    mut fields: Vec<(String, String)>,
) -> Option<AnswerItem> {
    let note = note_field(q);
    let typed_note = field == note
        && fields
            .iter()
            .any(|(k, v)| *k == note && !v.trim().is_empty());
    let name = flow::field_name(&q.id);
    if typed_note {
        let meant = match q.kind {
            QuestionKind::InterviewOptIn => "yes",
            _ => OTHER,
        };
        if !matches!(q.kind, QuestionKind::MultipleChoice { .. }) {
            fields.retain(|(k, _)| *k != name);
        }
        if !fields.iter().any(|(k, v)| *k == name && v == meant) {
            fields.push((name.clone(), meant.to_owned()));
        }
    }
    // A note belongs to "other": a pick without it leaves the note out of the answer (it
    // stays in its field, and comes back with "other").
    if !matches!(q.kind, QuestionKind::InterviewOptIn)
        && !fields.iter().any(|(k, v)| *k == name && v == OTHER)
    {
        fields.retain(|(k, _)| *k != note);
    }
    flow::item_from_fields(q, &fields).or_else(|| {
        let cleared = match q.kind {
            QuestionKind::MultipleChoice { .. } => AnswerValue::List(Vec::new()),
            QuestionKind::FreeText { .. } => AnswerValue::Text(String::new()),
            QuestionKind::Consent => AnswerValue::Flag(false),
            _ => return None,
        };
        Some(AnswerItem {
            question: q.id.clone(),
            value: cleared,
            text: None,
        })
    })
}

/// The field of a question's note: "other, please say", or the times for an interview.
pub fn note_field(q: &Question) -> String {
    let mut name = flow::field_name(&q.id);
    name.push_str(match q.kind {
        QuestionKind::InterviewOptIn => ".times",
        _ => ".other",
    });
    name
}

impl Reducible for SurveyState {
    type Action = Action;
    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        Rc::new(self.apply(action))
    }
}

#[cfg(test)]
mod tests;
