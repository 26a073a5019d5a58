//! What a course, a lesson and an assessment are, how a submission is scored and when a course is complete: pure
//! rules, no I/O.

use std::collections::{HashMap, HashSet};

use agon_kit::{FieldError, text::Lines};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::{DESCRIPTION_MAX_CHARS, TITLE_MAX_CHARS};

pub const LEVELS: &[&str] = &["beginner", "intermediate", "advanced"];
/// Course and assessment categories. Adding one is a line here (stored as its name).
pub const CATEGORIES: &[&str] = &[
    "fitness",
    "nutrition",
    "health",
    "coaching",
    "technical",
    "business",
    "personal",
    "other",
];
pub const QUESTION_KINDS: &[&str] = &["multiple_choice", "true_false", "text"];
pub const DEFAULT_PASS_MARK: i64 = 70;
pub const MAX_QUESTIONS: usize = 200;
pub const MAX_OPTIONS: usize = 20;
pub const MAX_POINTS: i64 = 100;
pub const QUESTION_MAX_CHARS: usize = 1000;
pub const ANSWER_MAX_CHARS: usize = 1000;
pub const CONTENT_MAX_CHARS: usize = 50_000;
pub const MAX_LESSON_MEDIA: usize = 8;
/// The longest a lesson or an assessment may take, in minutes: a day. A course may state up to 30 of them.
pub const MAX_MINUTES: i64 = 24 * 60;
pub const MAX_COURSE_MINUTES: i64 = 30 * MAX_MINUTES;
/// A price's upper bound in minor units: a million in major units.
pub const MAX_PRICE_MINOR: i64 = 100_000_000;
pub const NAME_MAX_CHARS: usize = 100;

/// A course as its instructor writes it, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct CourseDraft {
    pub title: String,
    pub description: String,
    pub level: String,
    pub category: String,
    pub price_minor: i64,
    /// ISO 4217, uppercase; empty when the course is free.
    pub currency: String,
    pub duration_minutes: i64,
    pub active: bool,
}

/// A partial edit of a course: only the fields given change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CourseEdit {
    pub title: Option<String>,
    pub description: Option<String>,
    pub level: Option<String>,
    pub category: Option<String>,
    pub price_minor: Option<i64>,
    pub currency: Option<String>,
    pub duration_minutes: Option<i64>,
    pub active: Option<bool>,
}

impl CourseDraft {
    pub fn edited(&self, e: CourseEdit) -> Result<CourseDraft, Vec<FieldError>> {
        check_course(CourseDraft {
            title: e.title.unwrap_or_else(|| self.title.clone()),
            description: e.description.unwrap_or_else(|| self.description.clone()),
            level: e.level.unwrap_or_else(|| self.level.clone()),
            category: e.category.unwrap_or_else(|| self.category.clone()),
            price_minor: e.price_minor.unwrap_or(self.price_minor),
            currency: e.currency.unwrap_or_else(|| self.currency.clone()),
            duration_minutes: e.duration_minutes.unwrap_or(self.duration_minutes),
            active: e.active.unwrap_or(self.active),
        })
    }
}

/// Checks a whole course, trimming and lowercasing its names; every problem is reported.
pub fn check_course(d: CourseDraft) -> Result<CourseDraft, Vec<FieldError>> {
    let mut problems = Vec::new();
    let title = agon_kit::text::required(
        "title",
        d.title,
        TITLE_MAX_CHARS,
        Lines::Single,
        &mut problems,
    );
    let description = agon_kit::text::checked(
        "description",
        d.description,
        DESCRIPTION_MAX_CHARS,
        Lines::Multi,
        &mut problems,
    );
    let level = one_of("level", &d.level, LEVELS, &mut problems);
    let category = one_of("category", &d.category, CATEGORIES, &mut problems);
    if !(0..=MAX_PRICE_MINOR).contains(&d.price_minor) {
        problems.push(FieldError::new(
            "price_minor",
            "must be from 0 to 100000000 minor units",
        ));
    }
    let currency = d.currency.trim().to_uppercase();
    let is_code = currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase());
    if d.price_minor > 0 && !is_code {
        problems.push(FieldError::new(
            "currency",
            "must be an ISO 4217 code (EUR, USD…) when the course has a price",
        ));
    } else if d.price_minor == 0 && !currency.is_empty() && !is_code {
        problems.push(FieldError::new(
            "currency",
            "must be an ISO 4217 code (EUR, USD…)",
        ));
    }
    minutes(
        "duration_minutes",
        d.duration_minutes,
        0,
        MAX_COURSE_MINUTES,
        &mut problems,
    );
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(CourseDraft {
        title,
        description,
        level,
        category,
        currency: if d.price_minor == 0 {
            String::new()
        } else {
            currency
        },
        ..d
    })
}

/// A lesson as its instructor writes it, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct LessonDraft {
    pub title: String,
    /// Markdown.
    pub content: String,
    pub media: Vec<String>,
    pub duration_minutes: i64,
}

/// A partial edit of a lesson.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LessonEdit {
    pub title: Option<String>,
    pub content: Option<String>,
    pub media: Option<Vec<String>>,
    pub duration_minutes: Option<i64>,
}

impl LessonDraft {
    pub fn edited(&self, e: LessonEdit) -> Result<LessonDraft, Vec<FieldError>> {
        check_lesson(LessonDraft {
            title: e.title.unwrap_or_else(|| self.title.clone()),
            content: e.content.unwrap_or_else(|| self.content.clone()),
            media: e.media.unwrap_or_else(|| self.media.clone()),
            duration_minutes: e.duration_minutes.unwrap_or(self.duration_minutes),
        })
    }
}

pub fn check_lesson(d: LessonDraft) -> Result<LessonDraft, Vec<FieldError>> {
    let mut problems = Vec::new();
    let title = agon_kit::text::required(
        "title",
        d.title,
        TITLE_MAX_CHARS,
        Lines::Single,
        &mut problems,
    );
    let content = agon_kit::text::checked(
        "content",
        d.content,
        CONTENT_MAX_CHARS,
        Lines::Multi,
        &mut problems,
    );
    let media = agon_kit::text::media("media", d.media, MAX_LESSON_MEDIA, &mut problems);
    minutes(
        "duration_minutes",
        d.duration_minutes,
        0,
        MAX_MINUTES,
        &mut problems,
    );
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(LessonDraft {
        title,
        content,
        media,
        duration_minutes: d.duration_minutes,
    })
}

/// A question as an author writes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuestionDraft {
    pub question: String,
    /// `multiple_choice` (the answer is one of `options`), `true_false` or `text` (compared without case and
    /// surrounding or repeated spaces).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub options: Vec<String>,
    pub correct_answer: String,
    /// 1 to 100; 1 when absent.
    pub points: Option<i64>,
}

/// A question as stored: with its id, which submissions answer by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Question {
    pub id: Uuid,
    pub question: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub options: Vec<String>,
    pub correct_answer: String,
    pub points: i64,
}

/// An assessment as its author writes it, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct AssessmentDraft {
    pub title: String,
    pub description: String,
    pub category: String,
    pub difficulty: String,
    pub duration_minutes: i64,
    /// Percent of the points needed to pass, 0 to 100.
    pub pass_mark: i64,
    pub questions: Vec<Question>,
}

/// What an author sends for an assessment, new or replacing one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessmentInput {
    /// On creation, the course it becomes the last step of; none for an assessment standing alone. A
    /// replacement leaves it out or names the same course: an assessment does not move.
    pub course_id: Option<Uuid>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// One of the course categories; `other` when absent.
    pub category: Option<String>,
    /// `beginner` (default), `intermediate` or `advanced`.
    pub difficulty: Option<String>,
    /// 1 to 1440; 30 when absent.
    pub duration_minutes: Option<i64>,
    /// 0 to 100; 70 when absent.
    pub pass_mark: Option<i64>,
    /// 1 to 200 questions, in order.
    pub questions: Vec<QuestionDraft>,
}

/// Checks an assessment, giving each question a new id; every problem is reported.
pub fn check_assessment(a: AssessmentInput) -> Result<AssessmentDraft, Vec<FieldError>> {
    let mut problems = Vec::new();
    let title = agon_kit::text::required(
        "title",
        a.title,
        TITLE_MAX_CHARS,
        Lines::Single,
        &mut problems,
    );
    let description = agon_kit::text::checked(
        "description",
        a.description,
        DESCRIPTION_MAX_CHARS,
        Lines::Multi,
        &mut problems,
    );
    let category = one_of(
        "category",
        a.category.as_deref().unwrap_or("other"),
        CATEGORIES,
        &mut problems,
    );
    let difficulty = one_of(
        "difficulty",
        a.difficulty.as_deref().unwrap_or("beginner"),
        LEVELS,
        &mut problems,
    );
    let duration_minutes = a.duration_minutes.unwrap_or(30);
    minutes(
        "duration_minutes",
        duration_minutes,
        1,
        MAX_MINUTES,
        &mut problems,
    );
    let pass_mark = a.pass_mark.unwrap_or(DEFAULT_PASS_MARK);
    if !(0..=100).contains(&pass_mark) {
        problems.push(FieldError::new("pass_mark", "must be from 0 to 100"));
    }
    if a.questions.is_empty() || a.questions.len() > MAX_QUESTIONS {
        problems.push(FieldError::new("questions", "must hold 1 to 200 questions"));
    }
    let questions = a
        .questions
        .into_iter()
        .enumerate()
        .map(|(i, q)| check_question(i, q, &mut problems))
        .collect();
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(AssessmentDraft {
        title,
        description,
        category,
        difficulty,
        duration_minutes,
        pass_mark,
        questions,
    })
}

fn check_question(i: usize, q: QuestionDraft, problems: &mut Vec<FieldError>) -> Question {
    let field = |name: &str| format!("questions.{i}.{name}");
    let question = agon_kit::text::required(
        &field("question"),
        q.question,
        QUESTION_MAX_CHARS,
        Lines::Multi,
        problems,
    );
    let kind = one_of(&field("type"), &q.kind, QUESTION_KINDS, problems);
    let mut options = Vec::with_capacity(q.options.len());
    for (j, option) in q.options.into_iter().enumerate() {
        let name = field(&format!("options.{j}"));
        options.push(agon_kit::text::required(
            &name,
            option,
            ANSWER_MAX_CHARS,
            Lines::Single,
            problems,
        ));
    }
    let mut correct_answer = q.correct_answer.trim().to_owned();
    match kind.as_str() {
        "multiple_choice" => {
            let distinct: HashSet<&String> = options.iter().collect();
            if !(2..=MAX_OPTIONS).contains(&options.len()) || distinct.len() != options.len() {
                problems.push(FieldError::new(
                    &field("options"),
                    "must be 2 to 20 distinct options",
                ));
            } else if !options.contains(&correct_answer) {
                problems.push(FieldError::new(
                    &field("correct_answer"),
                    "must be one of the options",
                ));
            }
        }
        "true_false" => match truth(&correct_answer) {
            Some(t) if options.is_empty() => correct_answer = t.to_string(),
            Some(_) => problems.push(FieldError::new(
                &field("options"),
                "a true/false question has none",
            )),
            None => problems.push(FieldError::new(
                &field("correct_answer"),
                "must be true or false",
            )),
        },
        "text" => {
            correct_answer = agon_kit::text::required(
                &field("correct_answer"),
                correct_answer,
                ANSWER_MAX_CHARS,
                Lines::Single,
                problems,
            );
            if !options.is_empty() {
                problems.push(FieldError::new(
                    &field("options"),
                    "a text question has none",
                ));
            }
        }
        _ => {}
    }
    let points = q.points.unwrap_or(1);
    if !(1..=MAX_POINTS).contains(&points) {
        problems.push(FieldError::new(&field("points"), "must be from 1 to 100"));
    }
    Question {
        id: Uuid::new_v4(),
        question,
        kind,
        options,
        correct_answer,
        points,
    }
}

/// The outcome of one submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub score: i64,
    pub total: i64,
    pub passed: bool,
}

impl Outcome {
    /// The score as a percentage of the total, to two decimals.
    pub fn percentage(&self) -> f64 {
        percentage(self.score, self.total)
    }
}

pub fn percentage(score: i64, total: i64) -> f64 {
    if total == 0 {
        return 0.0;
    }
    // Points are at most 200 × 100, far inside f64's exact integers.
    #[allow(clippy::cast_precision_loss)]
    let hundredths = (score * 10_000 / total) as f64;
    hundredths / 100.0
}

/// Checks a member's answers against the questions: every answered question must exist, and each answer is
/// bounded. Unanswered questions score nothing.
pub fn check_answers(
    questions: &[Question],
    answers: &HashMap<Uuid, String>,
) -> Result<(), Vec<FieldError>> {
    let known: HashSet<Uuid> = questions.iter().map(|q| q.id).collect();
    let mut problems = Vec::new();
    for (id, answer) in answers {
        if !known.contains(id) {
            problems.push(FieldError::new(
                &format!("answers.{id}"),
                "is not a question of this assessment",
            ));
        } else if answer.chars().count() > ANSWER_MAX_CHARS {
            problems.push(FieldError::new(
                &format!("answers.{id}"),
                "must be at most 1000 characters",
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Scores answers: a question's points are earned when its answer is right; the member passes when the points
/// earned are at least `pass_mark` percent of the total (compared in integers, so 70 % of 10 points is 7 exactly).
pub fn score(questions: &[Question], answers: &HashMap<Uuid, String>, pass_mark: i64) -> Outcome {
    let total: i64 = questions.iter().map(|q| q.points).sum();
    let score = questions
        .iter()
        .filter(|q| answers.get(&q.id).is_some_and(|a| is_right(q, a)))
        .map(|q| q.points)
        .sum();
    Outcome {
        score,
        total,
        passed: total > 0 && score * 100 >= pass_mark * total,
    }
}

fn is_right(q: &Question, answer: &str) -> bool {
    match q.kind.as_str() {
        "multiple_choice" => answer.trim() == q.correct_answer,
        "true_false" => truth(answer).is_some_and(|t| t.to_string() == q.correct_answer),
        _ => loose(answer) == loose(&q.correct_answer),
    }
}

/// Text compared without case, surrounding spaces or repeated inner spaces.
fn loose(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn truth(text: &str) -> Option<bool> {
    match text.trim().to_lowercase().as_str() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Where a member stands in a course.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub lessons: i64,
    pub lessons_done: i64,
    pub assessments: i64,
    pub assessments_passed: i64,
}

impl Standing {
    /// Complete when the course has steps and the member finished every lesson and passed every assessment.
    pub fn complete(&self) -> bool {
        self.lessons + self.assessments > 0
            && self.lessons_done >= self.lessons
            && self.assessments_passed >= self.assessments
    }
}

/// The name printed on a certificate, when a member chooses one.
pub fn check_name(name: Option<String>) -> Result<Option<String>, Vec<FieldError>> {
    let Some(name) = name else { return Ok(None) };
    let mut problems = Vec::new();
    let name = agon_kit::text::required(
        "certificate_name",
        name,
        NAME_MAX_CHARS,
        Lines::Single,
        &mut problems,
    );
    if problems.is_empty() {
        Ok(Some(name))
    } else {
        Err(problems)
    }
}

fn one_of(field: &str, value: &str, allowed: &[&str], problems: &mut Vec<FieldError>) -> String {
    let value = value.trim().to_lowercase();
    if !allowed.contains(&value.as_str()) {
        problems.push(FieldError::new(
            field,
            &format!("must be one of {}", allowed.join(", ")),
        ));
    }
    value
}

fn minutes(field: &str, value: i64, min: i64, max: i64, problems: &mut Vec<FieldError>) {
    if !(min..=max).contains(&value) {
        problems.push(FieldError::new(
            field,
            &format!("must be from {min} to {max}"),
        ));
    }
}

#[cfg(test)]
mod tests;
